//! The application's side of a [`Server`]: receiving, sending, closing.

use std::io;

use mio::net::TcpStream;

use super::{CloseReason, ConnId, Io, Server, Shut, Slot};
use crate::net::ring::{Filled, Ring};
use crate::net::tls::session::{ReadNow, ReadStop};
use crate::net::tls::Broken;
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
            (n + direct, direct)
        })?;
        if came > 0 {
            self.count(|st| st.bytes_in += came as u64);
        }
        Ok(n)
    }

    /// Once the receive buffer is emptied into `out`: if the socket may
    /// hold more (readiness came, or the buffer had filled up), read it
    /// straight into the rest of `out` — no copy through the buffer, and
    /// a stream moves in large reads. A short read took all there was (the
    /// socket is edge-triggered), so it stops there without asking again.
    /// Returns the bytes read; an end is noted, an error kept for the
    /// remoter, which is woken.
    fn read_through(&self, io: &mut Io, s: &Slot, out: &mut [u8]) -> usize {
        if !io.rx_blocked || !io.rx.is_empty() || out.is_empty() {
            return 0;
        }
        let short_drains = !io.rx_closed;
        if let (Some(stream), Some(session)) = (io.stream.as_mut(), io.tls.as_mut()) {
            // plaintext straight from the session; the remoter pumps what
            // is not plaintext (ends, handshake messages, answers)
            let (done, why) = session.read_into(stream, out, short_drains);
            if done > 0 {
                self.touch(&mut io.last_active);
            }
            self.tls_read_stopped(io, s, why);
            return done;
        }
        let Some(stream) = io.stream.as_mut() else {
            return 0;
        };
        let mut done = 0;
        while let Some(rest) = out.get_mut(done..).filter(|r| !r.is_empty()) {
            let want = rest.len();
            match std::io::Read::read(stream, rest) {
                Ok(0) => {
                    io.rx_blocked = false;
                    io.rx_eof = true;
                    log::debug!("server: end of data from the peer");
                    break;
                }
                Ok(k) => {
                    done += k;
                    if k < want && short_drains {
                        io.rx_blocked = false;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    io.rx_blocked = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    io.rx_blocked = false;
                    io.broken = Some(reason_of(&e));
                    self.poke(s);
                    break;
                }
            }
        }
        if done > 0 {
            self.touch(&mut io.last_active);
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
                if r != Ok(false) {
                    return (r, total);
                }
                let eof = io.rx_eof;
                let n = self.refill(io, s);
                total += n;
                // nothing whole yet, but more came in (or the end, which
                // hands over a last line without `\n`): look again
                if n == 0 && io.rx_eof == eof {
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

    /// The socket may hold more (the receive buffer had filled up, or
    /// readiness came while the application reads the socket itself): read
    /// it into the buffer's room now. Returns the bytes read; an end is
    /// noted, an error left for the remoter, which is woken.
    fn refill(&self, io: &mut Io, s: &Slot) -> usize {
        if !io.rx_blocked || io.rx.is_full() {
            return 0;
        }
        if let (Some(stream), Some(session)) = (io.stream.as_mut(), io.tls.as_mut()) {
            let room = io.rx.free();
            let mut src = ReadNow {
                session,
                sock: stream,
                short_drains: !io.rx_closed,
                stop: ReadStop::Full,
            };
            let (_, n) = io.rx.read_from(&mut src, room);
            let why = src.stop;
            if n > 0 {
                self.touch(&mut io.last_active);
            }
            self.tls_read_stopped(io, s, why);
            return n;
        }
        let Some(stream) = io.stream.as_mut() else {
            return 0;
        };
        let room = io.rx.free();
        let (r, n) = io.rx.read_from_stream(stream, room, io.rx_closed);
        if n > 0 {
            self.touch(&mut io.last_active);
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
                self.poke(s);
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
                self.touch(&mut io.last_active);
            }
            if queued > 0 || failed.is_some() {
                self.poke(s);
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
            self.poke(s);
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
            self.poke(s);
        })
    }

    /// After a read of the application through the TLS session stopped for
    /// `why`: what the socket still holds, and what the remoter must do.
    fn tls_read_stopped(&self, io: &mut Io, s: &Slot, why: ReadStop) {
        match why {
            ReadStop::Full => {}
            ReadStop::Drained => io.rx_blocked = false,
            ReadStop::Pump => {
                io.rx_blocked = false;
                io.tls_pump = true;
                self.poke(s);
            }
            ReadStop::Failed(b) => {
                io.rx_blocked = false;
                io.broken = Some(match b {
                    Broken::Tls(f) => CloseReason::Tls(f),
                    Broken::Io(k) => reason_of(&k.into()),
                });
                self.poke(s);
            }
        }
    }
}

/// Why a connection ends after `e`.
pub(super) fn reason_of(e: &io::Error) -> CloseReason {
    match NetError::from_io(e) {
        NetError::Reset => CloseReason::Reset,
        _ => CloseReason::Error(e.kind()),
    }
}

/// Writes what the socket takes now: until it would block, or a short
/// write says it would (it took all it had room for; its readiness comes
/// when there is more).
pub(super) fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<usize> {
    use std::io::Write;
    let mut done = 0;
    while let Some(rest) = bytes.get(done..).filter(|r| !r.is_empty()) {
        match stream.write(rest) {
            Ok(0) => break,
            Ok(k) if k < rest.len() => return Ok(done + k),
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
