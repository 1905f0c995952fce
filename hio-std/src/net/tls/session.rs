//! [`Session`]: one TLS connection (a rustls `Connection`, sans-I/O)
//! driven from a non-blocking socket and the connection's bounded
//! [`Ring`]s, one pump per service pass.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use super::config::{ClientTls, ServerTls};
use super::error::TlsFailure;
use crate::net::ring::{Filled, Ring};

/// Why a [`Session`] ended, as [`Pumped::failed`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Broken {
    /// TLS failed (the handshake, a bad record, a missing close_notify).
    Tls(TlsFailure),
    /// The socket failed (a reset, a broken pipe).
    Io(io::ErrorKind),
}

/// What one [`Session::pump`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pumped {
    /// TLS bytes read from the socket.
    pub wire_in: usize,
    /// TLS bytes written to the socket.
    pub wire_out: usize,
    /// Plaintext bytes put into the receive ring.
    pub plain_in: usize,
    /// Plaintext bytes taken from the send ring.
    pub plain_out: usize,
    /// The handshake finished during this pump.
    pub handshake_done: bool,
    /// The peer sent its close_notify (its end of data); everything
    /// before it is in the receive ring or waits in the session.
    pub peer_closed: bool,
    /// Plaintext waits and the receive ring is full: pump again once the
    /// application made room.
    pub rx_full: bool,
    /// The read budget ran out: more may be waiting on the socket.
    pub more: bool,
    /// The session failed: close the connection.
    pub failed: Option<Broken>,
}

/// One TLS connection, client or server side: rustls' `Connection` (which
/// does no I/O), the deadline of its handshake, and whether it has sent its
/// close_notify. The connection's doer pumps it on every readiness wake;
/// it reads and writes the socket only until it would block, so a slow or
/// stalled peer never holds up another connection.
pub struct Session {
    conn: rustls::Connection,
    deadline: Option<Instant>,
    close_sent: bool,
}

impl Session {
    /// The server side of a new connection; its handshake must finish
    /// within the configuration's timeout. `tx_limit` bounds the TLS bytes
    /// it buffers for sending (the connection's send buffer size).
    ///
    /// # Errors
    ///
    /// [`TlsFailure::Other`] if rustls refuses the configuration.
    pub fn server(tls: &ServerTls, tx_limit: usize) -> Result<Session, TlsFailure> {
        let conn = rustls::ServerConnection::new(tls.rustls().clone())
            .map_err(|e| TlsFailure::from_rustls(&e))?;
        Ok(Session::new(conn.into(), tls.handshake_timeout(), tx_limit))
    }

    /// The client side of a new connection to `name`.
    ///
    /// # Errors
    ///
    /// [`TlsFailure::Other`] if rustls refuses the configuration.
    pub fn client(
        tls: &ClientTls,
        name: ServerName<'static>,
        tx_limit: usize,
    ) -> Result<Session, TlsFailure> {
        let conn = rustls::ClientConnection::new(tls.rustls().clone(), name)
            .map_err(|e| TlsFailure::from_rustls(&e))?;
        Ok(Session::new(conn.into(), tls.handshake_timeout(), tx_limit))
    }

    fn new(mut conn: rustls::Connection, timeout: Duration, tx_limit: usize) -> Session {
        // at least one full record, so a send always makes progress
        conn.set_buffer_limit(Some(tx_limit.max(16 * 1024 + 256)));
        Session {
            conn,
            deadline: Instant::now().checked_add(timeout),
            close_sent: false,
        }
    }

    /// Whether the handshake is under way.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// When the handshake times out, while it is under way.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.conn.is_handshaking())
    }

    /// The application protocol agreed on (ALPN), once handshaken.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The TLS version agreed on, once handshaken.
    pub fn version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.protocol_version()
    }

    /// Whether the peer presented a certificate.
    pub fn peer_has_certificate(&self) -> bool {
        self.conn.peer_certificates().is_some_and(|c| !c.is_empty())
    }

    /// Whether it has sent its close_notify.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Moves bytes: the send ring into the session, the session's TLS
    /// records to `sock`, TLS records from `sock` (at most about `budget`
    /// bytes) through the session, and its plaintext into the receive
    /// ring. Stops at would-block, a full receive ring, the budget, or a
    /// failure — never waits. Peer input cannot make it panic.
    pub fn pump<S: Read + Write>(
        &mut self,
        sock: &mut S,
        rx: &mut Ring,
        tx: &mut Ring,
        budget: usize,
    ) -> Pumped {
        let mut p = Pumped::default();
        let was_handshaking = self.conn.is_handshaking();
        if was_handshaking && self.deadline.is_some_and(|d| Instant::now() >= d) {
            p.failed = Some(Broken::Tls(TlsFailure::HandshakeTimeout));
            return p;
        }
        p = self.pump_io(sock, rx, tx, budget, p);
        // done even if the same pump then failed (data and an end)
        if was_handshaking && !self.conn.is_handshaking() {
            p.handshake_done = true;
            self.deadline = None;
            if p.failed.is_none() {
                // what the application sent during the handshake
                self.feed(tx, &mut p);
                if let Err(b) = self.flush(sock, &mut p) {
                    p.failed = Some(b);
                }
            }
        }
        p
    }

    fn pump_io<S: Read + Write>(
        &mut self,
        sock: &mut S,
        rx: &mut Ring,
        tx: &mut Ring,
        budget: usize,
        mut p: Pumped,
    ) -> Pumped {
        // plaintext left from the last pump
        if let Err(b) = self.drain(rx, &mut p) {
            p.failed = Some(b);
            return p;
        }
        self.feed(tx, &mut p);
        if let Err(b) = self.flush(sock, &mut p) {
            p.failed = Some(b);
            return p;
        }
        loop {
            if !self.conn.wants_read() {
                // plaintext waits for room, or the peer has closed
                break;
            }
            if p.wire_in >= budget.max(1) {
                p.more = true;
                break;
            }
            let (got, eof) = match self.conn.read_tls(sock) {
                Ok(0) => (0, true),
                Ok(n) => (n, false),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    // a record or handshake message past rustls' bounds
                    p.failed = Some(Broken::Tls(TlsFailure::Protocol));
                    return p;
                }
                Err(e) => {
                    p.failed = Some(Broken::Io(e.kind()));
                    return p;
                }
            };
            p.wire_in += got;
            if let Err(e) = self.conn.process_new_packets() {
                // rustls queued an alert for the peer: try to send it
                let _ = self.flush(sock, &mut p);
                p.failed = Some(Broken::Tls(TlsFailure::from_rustls(&e)));
                return p;
            }
            if let Err(b) = self.drain(rx, &mut p) {
                p.failed = Some(b);
                return p;
            }
            // answers to the handshake, and what waited for it
            self.feed(tx, &mut p);
            if let Err(b) = self.flush(sock, &mut p) {
                p.failed = Some(b);
                return p;
            }
            if eof || p.peer_closed {
                break;
            }
        }
        // plaintext may wait behind a full ring (with the socket's end
        // already read, no readiness comes for it): pump again once the
        // application made room
        p.rx_full = !p.peer_closed && rx.is_full();
        p
    }

    /// Plaintext of the session into `rx`, as much as fits.
    fn drain(&mut self, rx: &mut Ring, p: &mut Pumped) -> Result<(), Broken> {
        if rx.is_full() {
            return Ok(());
        }
        let (r, n) = rx.read_from(&mut self.conn.reader(), usize::MAX);
        p.plain_in += n;
        match r {
            Ok(Filled::Eof) => p.peer_closed = true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(Broken::Tls(if self.conn.is_handshaking() {
                    TlsFailure::HandshakeEof
                } else {
                    TlsFailure::Truncated
                }));
            }
            Err(e) => return Err(Broken::Io(e.kind())),
        }
        Ok(())
    }

    /// The send ring into the session, as much as it takes.
    fn feed(&mut self, tx: &mut Ring, p: &mut Pumped) {
        if tx.is_empty() || self.close_sent {
            return;
        }
        // a full session answers 0: the ring keeps the rest
        let (_, n) = tx.write_to(&mut self.conn.writer());
        p.plain_out += n;
    }

    /// The session's TLS records to `sock`, until it would block.
    fn flush<S: Write>(&mut self, sock: &mut S, p: &mut Pumped) -> Result<(), Broken> {
        while self.conn.wants_write() {
            match self.conn.write_tls(sock) {
                Ok(0) => return Err(Broken::Io(io::ErrorKind::WriteZero)),
                Ok(n) => p.wire_out += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Broken::Io(e.kind())),
            }
        }
        Ok(())
    }

    /// Sends `bytes` at once if the handshake is done and the session has
    /// room: encrypts what it takes and writes what the socket takes.
    /// Returns how many plaintext bytes it took (0 while handshaking).
    ///
    /// # Errors
    ///
    /// The socket's, other than would-block.
    pub fn send_now<S: Write>(
        &mut self,
        sock: &mut S,
        bytes: &[u8],
    ) -> Result<usize, io::ErrorKind> {
        if self.conn.is_handshaking() || self.close_sent {
            return Ok(0);
        }
        let mut taken = 0;
        let mut p = Pumped::default();
        // record by record while the socket takes them: a large send goes
        // out at once, as on plain TCP
        while let Some(rest) = bytes.get(taken..).filter(|r| !r.is_empty()) {
            let n = self.conn.writer().write(rest).unwrap_or(0);
            taken += n;
            match self.flush(sock, &mut p) {
                Ok(()) => {}
                Err(Broken::Io(k)) => return Err(k),
                Err(Broken::Tls(_)) => return Err(io::ErrorKind::InvalidData),
            }
            if n == 0 || self.conn.wants_write() {
                break; // the session is full, or the socket would block
            }
        }
        Ok(taken)
    }

    /// Reads plaintext straight into `out`: what the session holds, then
    /// what the socket has, until `out` is full or nothing more is there
    /// now. Returns how many bytes. Ends, errors and handshake messages
    /// are left for the next [`pump`](Session::pump) to find (the caller
    /// has the connection's doer pump it).
    pub fn read_now<S: Read + Write>(&mut self, sock: &mut S, out: &mut [u8]) -> usize {
        let mut done = 0;
        while let Some(rest) = out.get_mut(done..).filter(|r| !r.is_empty()) {
            match self.conn.reader().read(rest) {
                Ok(0) => break, // close_notify
                Ok(n) => {
                    done += n;
                    continue;
                }
                Err(_) => {} // nothing held, or the end: try the socket
            }
            if self.conn.is_handshaking() || !self.conn.wants_read() {
                break;
            }
            match self.conn.read_tls(sock) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if self.conn.process_new_packets().is_err() || self.conn.wants_write() {
                break; // an alert or an answer to send: the pump's work
            }
        }
        done
    }

    /// Whether TLS bytes wait to be written.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Sends its close_notify (after what is in `tx`, as far as the session
    /// takes it) and writes what the socket takes now. Once only.
    pub fn close<S: Write>(&mut self, sock: &mut S, tx: &mut Ring) {
        if self.close_sent {
            return;
        }
        let mut p = Pumped::default();
        self.feed(tx, &mut p);
        self.conn.send_close_notify();
        self.close_sent = true;
        let _ = self.flush(sock, &mut p);
    }
}

/// [`Session::read_now`] as a [`Read`]: would-block when nothing is there
/// now (for [`Ring::read_from`]).
pub(crate) struct ReadNow<'a, S> {
    pub(crate) session: &'a mut Session,
    pub(crate) sock: &'a mut S,
}

impl<S: Read + Write> Read for ReadNow<'_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.session.read_now(self.sock, out) {
            0 if !out.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("handshaking", &self.conn.is_handshaking())
            .field("close_sent", &self.close_sent)
            .finish_non_exhaustive()
    }
}
