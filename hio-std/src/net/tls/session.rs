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
    /// The reads took all there was on the socket (it would block, or a
    /// short read with `short_drains`): nothing more comes before the poll
    /// reports it readable.
    pub drained: bool,
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
    /// The bound of the TLS bytes it buffers for sending.
    limit: usize,
}

/// TLS bytes a [`Session::send_now`] may encrypt before it writes them out:
/// four full records and their overhead, so that a 64 KiB send goes out in
/// one write (as many records as the socket takes at once), not four.
const SEND_BATCH: usize = 4 * (RECORD + OVERHEAD);

/// The most plaintext one TLS record carries.
pub(crate) const RECORD: usize = 16 * 1024;

/// The most a record adds to its plaintext (header, tag, padding), as
/// this module counts it.
const OVERHEAD: usize = 256;

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
        let limit = tx_limit.max(RECORD + OVERHEAD);
        conn.set_buffer_limit(Some(limit));
        Session {
            conn,
            deadline: Instant::now().checked_add(timeout),
            close_sent: false,
            limit,
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
        self.pump_stream(sock, rx, tx, budget, false, true)
    }

    /// [`pump`](Session::pump) on a socket whose readiness is
    /// edge-triggered: with `short_drains`, a read of the socket that
    /// returns less than asked for took all there was, and the pump reads
    /// no further (not while the peer's end was reported: that comes after
    /// a short read). Without `may_read` it reads nothing, only writes what
    /// waits: a socket whose last read took all there was has nothing more
    /// before the poll reports it readable again.
    pub(crate) fn pump_stream<S: Read + Write>(
        &mut self,
        sock: &mut S,
        rx: &mut Ring,
        tx: &mut Ring,
        budget: usize,
        short_drains: bool,
        may_read: bool,
    ) -> Pumped {
        let mut p = Pumped::default();
        let was_handshaking = self.conn.is_handshaking();
        if was_handshaking && self.deadline.is_some_and(|d| Instant::now() >= d) {
            p.failed = Some(Broken::Tls(TlsFailure::HandshakeTimeout));
            return p;
        }
        let budget = may_read.then_some(budget);
        p = self.pump_io(sock, rx, tx, budget, short_drains, p);
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
        budget: Option<usize>,
        short_drains: bool,
        mut p: Pumped,
    ) -> Pumped {
        // plaintext left from the last pump
        if let Err(b) = self.exchange(sock, rx, tx, &mut p) {
            p.failed = Some(b);
            return p;
        }
        // (`None`: the socket is not read, only written)
        if let Some(budget) = budget {
            if let Err(b) = self.read_in(sock, rx, tx, (budget, short_drains), &mut p) {
                p.failed = Some(b);
                return p;
            }
        }
        // plaintext may wait behind a full ring (with the socket's end
        // already read, no readiness comes for it): pump again once the
        // application made room
        p.rx_full = !p.peer_closed && rx.is_full();
        p
    }

    /// Reads records from `sock` while the session wants them, up to
    /// `budget` bytes, and exchanges plaintext after each read (see
    /// [`pump_stream`](Session::pump_stream) for `short_drains`).
    fn read_in<S: Read + Write>(
        &mut self,
        sock: &mut S,
        rx: &mut Ring,
        tx: &mut Ring,
        (budget, short_drains): (usize, bool),
        p: &mut Pumped,
    ) -> Result<(), Broken> {
        loop {
            if !self.conn.wants_read() {
                // plaintext waits for room, or the peer has closed
                return Ok(());
            }
            if p.wire_in >= budget.max(1) {
                p.more = true;
                return Ok(());
            }
            let mut edge = Edge::new(sock);
            let read = self.conn.read_tls(&mut edge);
            let drained = short_drains && edge.short_read;
            let (got, eof) = match read {
                Ok(0) => (0, true),
                Ok(n) => (n, false),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    p.drained = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // a record or handshake message past rustls' bounds
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(Broken::Tls(TlsFailure::Protocol))
                }
                Err(e) => return Err(Broken::Io(e.kind())),
            };
            p.wire_in += got;
            if let Err(e) = self.conn.process_new_packets() {
                // rustls queued an alert for the peer: try to send it
                let _ = self.flush(sock, p);
                return Err(Broken::Tls(TlsFailure::from_rustls(&e)));
            }
            // the plaintext, answers to the handshake, and what waited for it
            self.exchange(sock, rx, tx, p)?;
            if eof || p.peer_closed || drained {
                p.drained = drained;
                return Ok(());
            }
        }
    }

    /// Plaintext read out into `rx`, plaintext from `tx` encrypted, and
    /// the records waiting written to `sock`.
    fn exchange<S: Write>(
        &mut self,
        sock: &mut S,
        rx: &mut Ring,
        tx: &mut Ring,
        p: &mut Pumped,
    ) -> Result<(), Broken> {
        self.drain(rx, p)?;
        self.feed(tx, p);
        self.flush(sock, p)
    }

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

    /// The session's TLS records to `sock`, until it would block (a short
    /// write says it would: the socket took all it had room for).
    fn flush<S: Write>(&mut self, sock: &mut S, p: &mut Pumped) -> Result<(), Broken> {
        while self.conn.wants_write() {
            let mut edge = Edge::new(sock);
            match self.conn.write_tls(&mut edge) {
                Ok(0) => return Err(Broken::Io(io::ErrorKind::WriteZero)),
                Ok(n) if edge.short_write => {
                    p.wire_out += n;
                    break;
                }
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
    /// Up to 64 KiB are encrypted before the records go out together (one
    /// write); what the socket does not take of them stays in the session,
    /// which takes nothing more until it is below its bound again: at most
    /// about 64 KiB wait there, whatever the connection's buffer size.
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
        // batches of records while the socket takes them: a large send
        // goes out at once, as on plain TCP
        let batch = self.limit.max(SEND_BATCH);
        loop {
            let Some(rest) = bytes.get(taken..).filter(|r| !r.is_empty()) else {
                break Ok(taken);
            };
            self.conn.set_buffer_limit(Some(batch));
            let n = self.conn.writer().write(rest).unwrap_or(0);
            self.conn.set_buffer_limit(Some(self.limit));
            taken += n;
            match self.flush(sock, &mut p) {
                Ok(()) => {}
                Err(Broken::Io(k)) => break Err(k),
                Err(Broken::Tls(_)) => break Err(io::ErrorKind::InvalidData),
            }
            if n == 0 || self.conn.wants_write() {
                break Ok(taken); // the session is full, or the socket would block
            }
        }
    }

    /// Reads plaintext straight into `out`: what the session holds, then
    /// what the socket has, until `out` is full or nothing more is there
    /// now. Returns how many bytes. Ends, errors and handshake messages
    /// are left for the next [`pump`](Session::pump) to find (the caller
    /// has the connection's doer pump it).
    pub fn read_now<S: Read + Write>(&mut self, sock: &mut S, out: &mut [u8]) -> usize {
        self.read_into(sock, out, false).0
    }

    /// [`read_now`](Session::read_now), telling why it stopped; with
    /// `short_drains`, a short read of the socket took all there was (an
    /// edge-triggered socket whose end was not reported).
    pub(crate) fn read_into<S: Read + Write>(
        &mut self,
        sock: &mut S,
        out: &mut [u8],
        short_drains: bool,
    ) -> (usize, ReadStop) {
        let mut done = 0;
        let mut drained = false;
        loop {
            let Some(rest) = out.get_mut(done..).filter(|r| !r.is_empty()) else {
                // the socket gave all it had, and no plaintext is left over:
                // nothing more to read now
                let left = self.conn.process_new_packets();
                if drained && left.is_ok_and(|s| s.plaintext_bytes_to_read() == 0) {
                    return (done, ReadStop::Drained);
                }
                return (done, ReadStop::Full);
            };
            match self.conn.reader().read(rest) {
                Ok(0) => return (done, ReadStop::Pump), // close_notify
                Ok(n) => {
                    done += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {} // nothing held
                Err(_) => return (done, ReadStop::Pump), // the end without close_notify
            }
            if drained {
                return (done, ReadStop::Drained);
            }
            if self.conn.is_handshaking() || !self.conn.wants_read() {
                return (done, ReadStop::Pump);
            }
            let mut edge = Edge::new(sock);
            let read = self.conn.read_tls(&mut edge);
            drained = short_drains && edge.short_read;
            match read {
                Ok(0) => return (done, ReadStop::Pump), // the socket's end
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return (done, ReadStop::Drained)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return (done, ReadStop::Failed(Broken::Tls(TlsFailure::Protocol)))
                }
                Err(e) => return (done, ReadStop::Failed(Broken::Io(e.kind()))),
            }
            if let Err(e) = self.conn.process_new_packets() {
                // rustls queued an alert for the peer: try to send it
                let _ = self.flush(sock, &mut Pumped::default());
                return (
                    done,
                    ReadStop::Failed(Broken::Tls(TlsFailure::from_rustls(&e))),
                );
            }
            if self.conn.wants_write() {
                // an answer to send (a key update): the pump's work, after
                // the plaintext that came with it
                let n = self
                    .conn
                    .reader()
                    .read(out.get_mut(done..).unwrap_or(&mut []));
                done += n.unwrap_or(0);
                return (done, ReadStop::Pump);
            }
        }
    }

    /// Feeds the send ring into the session and writes its records out,
    /// reading nothing: for a connection whose application reads the
    /// socket itself ([`read_into`](Session::read_into)) once the
    /// handshake is done.
    pub(crate) fn pump_out<S: Write>(&mut self, sock: &mut S, tx: &mut Ring) -> Pumped {
        let mut p = Pumped::default();
        self.feed(tx, &mut p);
        if let Err(b) = self.flush(sock, &mut p) {
            p.failed = Some(b);
        }
        p
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

/// Why a [`Session::read_into`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadStop {
    /// The buffer is full: more may be waiting.
    Full,
    /// All there was is read: wait for readiness.
    Drained,
    /// Something for the connection's pump: the peer's end or close_notify,
    /// a handshake message, an answer to send.
    Pump,
    /// The session failed (an alert was sent if one could be).
    Failed(Broken),
}

/// A socket that tells whether its last read or write was short (took or
/// gave less than asked): on an edge-triggered non-blocking socket, all
/// there was to read, or all the room there was to write.
struct Edge<'a, S> {
    sock: &'a mut S,
    short_read: bool,
    short_write: bool,
}

impl<'a, S> Edge<'a, S> {
    fn new(sock: &'a mut S) -> Self {
        Edge {
            sock,
            short_read: false,
            short_write: false,
        }
    }
}

impl<S: Read> Read for Edge<'_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(out)?;
        self.short_read = n < out.len();
        Ok(n)
    }
}

impl<S: Write> Write for Edge<'_, S> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.sock.write(b)?;
        self.short_write = n < b.len();
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.sock.write_vectored(bufs)?;
        let want: usize = bufs.iter().map(|b| b.len()).sum();
        // a sink without vectored writes takes the first buffer only:
        // exactly that much is not taken as short
        let first = bufs.iter().map(|b| b.len()).find(|&l| l > 0).unwrap_or(0);
        self.short_write = n < want && n != first;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// [`Session::read_into`] as a [`Read`] (for [`Ring::read_from`]):
/// would-block when nothing is there now; `stop` tells why the last read
/// stopped.
pub(crate) struct ReadNow<'a, S> {
    pub(crate) session: &'a mut Session,
    pub(crate) sock: &'a mut S,
    pub(crate) short_drains: bool,
    pub(crate) stop: ReadStop,
}

impl<S: Read + Write> Read for ReadNow<'_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.stop != ReadStop::Full {
            // the last read found the end of what is there now
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let (n, why) = self.session.read_into(self.sock, out, self.short_drains);
        self.stop = why;
        match n {
            0 => Err(io::ErrorKind::WouldBlock.into()),
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
