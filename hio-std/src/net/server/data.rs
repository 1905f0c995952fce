//! The application's side of a [`Server`]: receiving, sending, closing.

use std::io;
use std::time::Instant;

use mio::net::TcpStream;

use super::{CloseReason, ConnId, Io, Server, Shut, Slot};
use crate::net::ring::{Filled, Ring};
use crate::net::tls::session::ReadNow;
use crate::net::NetError;

impl Server<'_> {
    /// Reads received bytes of `id` into `out`; returns how many (0 when
    /// there are none: see [`is_eof`](Server::is_eof)).
    ///
    /// # Errors
    ///
    /// [`NetError::Closed`] if `id` is closed.
    pub fn recv(&self, id: ConnId, out: &mut [u8]) -> Result<usize, NetError> {
        let (n, came) = self.with_io(id, |io, s| {
            let n = io.rx.pop(out);
            let rest = out.get_mut(n..).unwrap_or(&mut []);
            let direct = self.read_through(io, s, rest);
            // what did not go straight to `out` may refill the buffer
            let refilled = self.refill(io, s);
            (n + direct, direct + refilled)
        })?;
        if came > 0 {
            self.count(|st| st.bytes_in += came as u64);
        }
        Ok(n)
    }

    /// After the receive buffer is emptied into `out`: if it had stopped
    /// reading for lack of room (so more is likely waiting), read the
    /// socket straight into the rest of `out` — a stream then moves in
    /// large reads, not buffer-sized ones. Returns the bytes read; an end
    /// or an error is kept for the remoter, which is woken.
    fn read_through(&self, io: &mut Io, s: &Slot, out: &mut [u8]) -> usize {
        if !io.rx_blocked || !io.rx.is_empty() || out.is_empty() {
            return 0;
        }
        if let (Some(stream), Some(session)) = (io.stream.as_mut(), io.tls.as_mut()) {
            // plaintext straight from the session; the remoter pumps the
            // rest (ends, errors, what did not fit)
            let done = session.read_now(stream, out);
            if done > 0 {
                io.last_active = Instant::now();
            }
            if done < out.len() {
                // all there was: the remoter reads on from readiness
                io.rx_blocked = false;
                if let Some(w) = s.waker.get() {
                    w.wake();
                }
            }
            return done;
        }
        let Some(stream) = io.stream.as_mut() else {
            return 0;
        };
        let mut done = 0;
        while done < out.len() {
            match std::io::Read::read(stream, out.get_mut(done..).unwrap_or(&mut [])) {
                Ok(0) => {
                    io.rx_blocked = false;
                    io.rx_eof = true;
                    break;
                }
                Ok(k) => done += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    io.rx_blocked = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    io.rx_blocked = false;
                    io.broken = Some(reason_of(&e));
                    if let Some(w) = s.waker.get() {
                        w.wake();
                    }
                    break;
                }
            }
        }
        if done > 0 {
            io.last_active = Instant::now();
        }
        done
    }

    /// Takes the next line of `id` (without its `\n`, and without a `\r`
    /// before it) into `line`, replacing its contents; `Ok(false)` when no
    /// whole line is there. At the peer's end of data, a last line without
    /// `\n` is handed over too.
    ///
    /// # Errors
    ///
    /// [`NetError::Closed`] if `id` is closed; [`NetError::TooLong`] once
    /// for each line longer than the receive buffer, which is dropped up to
    /// its `\n` (counted in `overlong`); the next line comes on the next
    /// call.
    pub fn recv_line(&self, id: ConnId, line: &mut Vec<u8>) -> Result<bool, NetError> {
        let (r, refilled) = self.with_io(id, |io, s| {
            let mut total = 0;
            loop {
                let r = take_line(&mut io.rx, &mut io.discarding, io.rx_eof, line);
                let n = self.refill(io, s);
                total += n;
                // nothing whole yet, but more came in: look again
                if r != Ok(false) || n == 0 {
                    return (r, total);
                }
            }
        })?;
        if refilled > 0 {
            self.count(|st| st.bytes_in += refilled as u64);
        }
        if r == Err(NetError::TooLong) {
            self.count(|s| s.overlong += 1);
            log::warn!("server: {id}: line longer than the receive buffer, dropped");
        }
        r
    }

    /// The receive buffer had stopped reading for lack of room: now that
    /// the application made some, read the socket into it at once (a
    /// stream then flows without waiting for the remoter's next pass).
    /// Returns the bytes read; an end or an error is left for the remoter,
    /// which is woken.
    fn refill(&self, io: &mut Io, s: &Slot) -> usize {
        if !io.rx_blocked || io.rx.is_full() {
            return 0;
        }
        if let (Some(stream), Some(session)) = (io.stream.as_mut(), io.tls.as_mut()) {
            let room = io.rx.free();
            let (_, n) = io.rx.read_from(
                &mut ReadNow {
                    session,
                    sock: stream,
                },
                room,
            );
            if n > 0 {
                io.last_active = Instant::now();
            }
            if !io.rx.is_full() {
                // all there was: the remoter reads on from readiness
                io.rx_blocked = false;
                if let Some(w) = s.waker.get() {
                    w.wake();
                }
            }
            return n;
        }
        let Some(stream) = io.stream.as_mut() else {
            return 0;
        };
        let room = io.rx.free();
        let (r, n) = io.rx.read_from(stream, room);
        if n > 0 {
            io.last_active = Instant::now();
        }
        match r {
            Ok(Filled::Full | Filled::Budget) => {}
            Ok(Filled::Drained) => io.rx_blocked = false,
            Ok(Filled::Eof) => {
                io.rx_blocked = false;
                io.rx_eof = true;
            }
            Err(e) => {
                io.rx_blocked = false;
                io.broken = Some(reason_of(&e));
                if let Some(w) = s.waker.get() {
                    w.wake();
                }
            }
        }
        n
    }

    /// Sends as much of `bytes` on `id` as the socket and the send buffer
    /// take; returns how many. Less than all means the buffer is full: a
    /// [`ServerEvent::Ready`](super::ServerEvent::Ready) comes when there is room again.
    ///
    /// # Errors
    ///
    /// [`NetError::Closed`] if `id` is closed or its sending side shut.
    pub fn send(&self, id: ConnId, bytes: &[u8]) -> Result<usize, NetError> {
        let (n, wrote, failed) = self.with_io(id, |io, s| {
            if io.shut != Shut::Open || io.closing {
                return Err(NetError::Closed);
            }
            let mut wrote = 0;
            let mut failed = None;
            // straight to the socket when nothing waits before it
            if io.tx.is_empty() {
                if let (Some(stream), Some(session)) = (io.stream.as_mut(), io.tls.as_mut()) {
                    match session.send_now(stream, bytes) {
                        Ok(k) => wrote = k,
                        Err(k) => failed = Some(io::Error::from(k)),
                    }
                } else if let Some(stream) = io.stream.as_mut() {
                    match write_some(stream, bytes) {
                        Ok(k) => wrote = k,
                        Err(e) => failed = Some(e),
                    }
                }
            }
            if let Some(e) = &failed {
                // the error is reported once: keep it for the remoter
                io.broken = Some(reason_of(e));
            }
            let rest = bytes.get(wrote..).unwrap_or(&[]);
            let queued = if failed.is_none() {
                io.tx.push(rest)
            } else {
                0
            };
            if wrote + queued < bytes.len() {
                io.tx_blocked = true;
            }
            if wrote > 0 {
                io.last_active = Instant::now();
            }
            if queued > 0 || failed.is_some() {
                if let Some(w) = s.waker.get() {
                    w.wake();
                }
            }
            Ok((wrote + queued, wrote, failed))
        })??;
        if wrote > 0 {
            self.count(|s| s.bytes_out += wrote as u64);
        }
        if let Some(e) = failed {
            // the remoter, woken, finds the error again and closes
            log::debug!("server: {id}: send failed: {e}");
        }
        Ok(n)
    }

    /// Asks for a [`ServerEvent::Ready`](super::ServerEvent::Ready) when
    /// `id`'s send buffer has room again: for an application that found
    /// [`tx_free`](Server::tx_free) at 0 and sent nothing (a refused send
    /// asks by itself).
    ///
    /// # Errors
    ///
    /// [`NetError::Closed`] if `id` is closed.
    pub fn wait_for_room(&self, id: ConnId) -> Result<(), NetError> {
        self.with_io(id, |io, _| io.tx_blocked = true)
    }

    /// Shuts the sending side of `id` once its send buffer is empty (a
    /// half-close: the peer reads its end of data; reading goes on).
    ///
    /// # Errors
    ///
    /// [`NetError::Closed`] if `id` is closed.
    pub fn shutdown_write(&self, id: ConnId) -> Result<(), NetError> {
        self.with_io(id, |io, s| {
            if io.shut == Shut::Open {
                io.shut = Shut::Requested;
            }
            if let Some(w) = s.waker.get() {
                w.wake();
            }
        })
    }

    /// Closes `id` once its send buffer is empty (what was sent is still
    /// delivered).
    ///
    /// # Errors
    ///
    /// [`NetError::Closed`] if `id` is already closed.
    pub fn close(&self, id: ConnId) -> Result<(), NetError> {
        self.with_io(id, |io, s| {
            io.closing = true;
            if let Some(w) = s.waker.get() {
                w.wake();
            }
        })
    }
}

/// Why a connection ends after `e`.
pub(super) fn reason_of(e: &io::Error) -> CloseReason {
    match NetError::from_io(e) {
        NetError::Reset => CloseReason::Reset,
        _ => CloseReason::Error(e.kind()),
    }
}

/// Writes what the socket takes now.
pub(super) fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<usize> {
    use std::io::Write;
    let mut done = 0;
    while done < bytes.len() {
        match stream.write(bytes.get(done..).unwrap_or(&[])) {
            Ok(0) => break,
            Ok(k) => done += k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Takes the next line out of `rx` (see [`Server::recv_line`]).
pub(crate) fn take_line(
    rx: &mut Ring,
    discarding: &mut bool,
    eof: bool,
    line: &mut Vec<u8>,
) -> Result<bool, NetError> {
    loop {
        match rx.find(b'\n') {
            Some(pos) => {
                if *discarding {
                    rx.consume(pos + 1);
                    *discarding = false;
                    continue;
                }
                line.clear();
                line.resize(pos + 1, 0);
                rx.pop(line);
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(true);
            }
            None if rx.is_full() => {
                // longer than the buffer: drop it up to its newline
                rx.clear();
                let first = !*discarding;
                *discarding = true;
                return if first {
                    Err(NetError::TooLong)
                } else {
                    Ok(false)
                };
            }
            None if eof && !rx.is_empty() && !*discarding => {
                line.clear();
                line.resize(rx.len(), 0);
                rx.pop(line);
                return Ok(true);
            }
            None => {
                if *discarding {
                    rx.clear();
                }
                return Ok(false);
            }
        }
    }
}
