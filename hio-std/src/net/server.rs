//! [`Server`]: a TCP listener and a fixed pool of connection slots
//! (remoters), shared by reference between the server's doers and the
//! application's.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use hio_core::{Tock, Waker};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Token};

use super::config::ServerConfig;
use super::ring::{Filled, Ring};
use super::tls::session::ReadNow;
use super::tls::{Broken, ServerTls, Session, TlsFailure};
use super::NetError;
use crate::reactor::Reactor;

/// One connection of a [`Server`]: its slot and the generation of the slot,
/// so an id of a closed connection never reaches the next one in the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    slot: u32,
    gen: u32,
}

impl ConnId {
    /// The slot (0 ≤ slot < `max_conns`): an index for per-connection state
    /// of the application.
    pub const fn slot(&self) -> usize {
        self.slot as usize
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.slot, self.gen)
    }
}

/// Why a connection was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application closed it ([`Server::close`]).
    Local,
    /// The peer closed it (its end of data, and nothing left to send).
    Peer,
    /// The peer reset it, or a write found it gone.
    Reset,
    /// Nothing in or out for the idle timeout.
    Idle,
    /// The server stopped.
    Stopped,
    /// Another error of the system.
    Error(io::ErrorKind),
    /// TLS failed: the handshake, a bad record, a missing close_notify.
    Tls(TlsFailure),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Local => f.write_str("closed by the application"),
            CloseReason::Peer => f.write_str("closed by the peer"),
            CloseReason::Reset => f.write_str("reset by the peer"),
            CloseReason::Idle => f.write_str("idle timeout"),
            CloseReason::Stopped => f.write_str("server stopped"),
            CloseReason::Error(k) => write!(f, "error: {k}"),
            CloseReason::Tls(t) => write!(f, "TLS: {t}"),
        }
    }
}

/// What a [`Server`] tells its application ([`Server::next_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A connection was accepted.
    Opened {
        /// Its id.
        id: ConnId,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// Something to do on a connection: bytes to read, the peer's end of
    /// data ([`Server::is_eof`]), or room to send again after a refused
    /// send. Queued at most once per connection until taken.
    Ready(ConnId),
    /// A connection was closed and its slot freed.
    Closed {
        /// Its id (no longer valid).
        id: ConnId,
        /// Why.
        reason: CloseReason,
    },
}

/// Counters of a server. Every fault a peer can cause is counted here; none
/// stops the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections accepted past the limit and closed at once.
    pub refused: u64,
    /// Connections closed (any reason).
    pub closed: u64,
    /// Of those, reset by the peer.
    pub resets: u64,
    /// Of those, closed for idling.
    pub idle_closed: u64,
    /// Accept errors (out of file descriptors and the like).
    pub accept_errors: u64,
    /// Lines longer than the receive buffer, dropped.
    pub overlong: u64,
    /// Events dropped because the application's queue was full.
    pub events_dropped: u64,
    /// Bytes received (plaintext, with TLS).
    pub bytes_in: u64,
    /// Bytes sent (plaintext, with TLS).
    pub bytes_out: u64,
    /// Connections open now.
    pub open: usize,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// Connections closed for a TLS failure (any: the next two too).
    pub tls_failures: u64,
    /// Of those, handshakes that did not finish within their timeout.
    pub tls_timeouts: u64,
    /// Of those, peers that closed TCP without a close_notify.
    pub tls_truncated: u64,
}

/// How far the sending side of a connection is shut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shut {
    Open,
    /// Shut it once the send buffer is empty.
    Requested,
    Done,
}

/// The I/O state of a slot.
#[derive(Debug)]
struct Io {
    stream: Option<TcpStream>,
    token: Option<Token>,
    peer: Option<SocketAddr>,
    rx: Ring,
    tx: Ring,
    rx_eof: bool,
    shut: Shut,
    /// Close once the send buffer is empty.
    closing: bool,
    /// Reading stopped because the receive buffer was full.
    rx_blocked: bool,
    /// A send was refused for lack of room: tell the app when there is.
    tx_blocked: bool,
    /// Dropping the rest of an overlong line.
    discarding: bool,
    /// A send of the application found the connection broken.
    broken: Option<CloseReason>,
    last_active: Instant,
    /// The TLS session, on a TLS server.
    tls: Option<Box<Session>>,
}

impl Io {
    fn new() -> Self {
        Io {
            stream: None,
            token: None,
            peer: None,
            rx: Ring::default(),
            tx: Ring::default(),
            rx_eof: false,
            shut: Shut::Open,
            closing: false,
            rx_blocked: false,
            tx_blocked: false,
            discarding: false,
            broken: None,
            last_active: Instant::now(),
            tls: None,
        }
    }
}

/// One connection slot: served by one remoter doer.
#[derive(Debug)]
struct Slot {
    io: RefCell<Io>,
    waker: Cell<Option<Waker>>,
    gen: Cell<u32>,
    open: Cell<bool>,
    /// A `Ready` event is queued for it.
    notified: Cell<bool>,
}

/// A TCP server: a non-blocking listener and a fixed pool of connection
/// slots, each with bounded receive and send [`Ring`]s, served by a
/// [`ServerDoer`](crate::net::ServerDoer) (an acceptor and one parked
/// remoter doer per slot, in a lazy DoDoer).
///
/// The application sees connections through events
/// ([`next_event`](Server::next_event), woken with
/// [`wake_on_event`](Server::wake_on_event)) and reads and writes them by
/// [`ConnId`]. A connection past [`ServerConfig::max_conns`] is accepted
/// and closed at once. Closed connections (by the peer, a reset, the idle
/// timeout, or [`close`](Server::close)) free their slot and are reported
/// with [`ServerEvent::Closed`].
///
/// A connection whose peer has ended its data ([`is_eof`](Server::is_eof))
/// stays open for the application to finish its replies: the application
/// closes it (the [`EchoServerDoer`](crate::net::EchoServerDoer) and
/// [`LineServer`](crate::net::LineServer) do once they have answered
/// everything), or the idle timeout does. A server without an application
/// (no [`wake_on_event`](Server::wake_on_event)) closes it at once.
pub struct Server<'r> {
    reactor: &'r Reactor,
    config: ServerConfig,
    listener: RefCell<Option<TcpListener>>,
    listener_token: Cell<Option<Token>>,
    local: SocketAddr,
    slots: Box<[Slot]>,
    free: RefCell<Vec<u32>>,
    events: RefCell<VecDeque<ServerEvent>>,
    event_waker: Cell<Option<Waker>>,
    stats: Cell<ServerStats>,
    tls: Option<ServerTls>,
}

impl<'r> Server<'r> {
    /// Listens on `addr` (port 0 picks a free port: see
    /// [`local_addr`](Server::local_addr)).
    ///
    /// # Errors
    ///
    /// The address is taken, not local, or the system refused a socket.
    pub fn bind(
        reactor: &'r Reactor,
        addr: SocketAddr,
        config: ServerConfig,
    ) -> io::Result<Server<'r>> {
        let domain = socket2::Domain::for_address(addr);
        let socket = socket2::Socket::new(domain, socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(config.backlog)?;
        let std_listener: std::net::TcpListener = socket.into();
        let listener = TcpListener::from_std(std_listener);
        let local = listener.local_addr()?;
        let n = config.max_conns.min(u32::MAX as usize);
        let slots = (0..n)
            .map(|_| Slot {
                io: RefCell::new(Io::new()),
                waker: Cell::new(None),
                gen: Cell::new(0),
                open: Cell::new(false),
                notified: Cell::new(false),
            })
            .collect();
        let free = (0..n as u32).rev().collect();
        log::info!("server: listening on {local}");
        Ok(Server {
            reactor,
            config,
            listener: RefCell::new(Some(listener)),
            listener_token: Cell::new(None),
            local,
            slots,
            free: RefCell::new(free),
            events: RefCell::new(VecDeque::new()),
            event_waker: Cell::new(None),
            stats: Cell::new(ServerStats::default()),
            tls: None,
        })
    }

    /// Speaks TLS on every connection, with `tls` (see
    /// [`tls`](crate::net::tls)): the application reads and writes
    /// plaintext as before.
    ///
    /// ```no_run
    /// use hio_std::net::{tls::ServerTls, Server, ServerConfig};
    /// use hio_std::reactor::Reactor;
    /// let reactor = Reactor::new()?;
    /// let tls = ServerTls::from_pem_files("server.pem", "server-key.pem")?.build()?;
    /// let server = Server::bind(&reactor, "127.0.0.1:0".parse().unwrap(), ServerConfig::default())?
    ///     .with_tls(tls);
    /// assert!(server.is_tls());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Whether it speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Its configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Its reactor.
    pub fn reactor(&self) -> &'r Reactor {
        self.reactor
    }

    /// Its counters.
    pub fn stats(&self) -> ServerStats {
        self.stats.get()
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.stats.get().open
    }

    fn count(&self, f: impl FnOnce(&mut ServerStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    // ---- events --------------------------------------------------------

    /// Wakes `waker` when an event is queued into the empty queue; from the
    /// first call on, the server queues events (without an application it
    /// queues none).
    pub fn wake_on_event(&self, waker: Option<Waker>) {
        self.event_waker.set(waker);
    }

    /// The next event, if any.
    pub fn next_event(&self) -> Option<ServerEvent> {
        let ev = self.events.borrow_mut().pop_front()?;
        if let ServerEvent::Ready(id) = ev {
            if let Some(s) = self.slot_of(id) {
                s.notified.set(false);
            }
        }
        Some(ev)
    }

    fn has_app(&self) -> bool {
        self.event_waker.get().is_some()
    }

    fn emit(&self, ev: ServerEvent) {
        if !self.has_app() {
            return;
        }
        let mut q = self.events.borrow_mut();
        // at most one Opened, Ready and Closed per slot are queued at once
        if q.len() >= self.slots.len().saturating_mul(4).max(16) {
            drop(q);
            self.count(|s| s.events_dropped += 1);
            log::warn!("server: event queue full, {ev:?} dropped");
            return;
        }
        let was_empty = q.is_empty();
        q.push_back(ev);
        drop(q);
        if was_empty {
            if let Some(w) = self.event_waker.get() {
                w.wake();
            }
        }
    }

    fn ready(&self, slot: usize) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        if s.notified.replace(true) {
            return;
        }
        self.emit(ServerEvent::Ready(ConnId {
            slot: slot as u32,
            gen: s.gen.get(),
        }));
    }

    // ---- the application's side ---------------------------------------

    fn slot_of(&self, id: ConnId) -> Option<&Slot> {
        self.slots
            .get(id.slot as usize)
            .filter(|s| s.open.get() && s.gen.get() == id.gen)
    }

    fn with_io<T>(&self, id: ConnId, f: impl FnOnce(&mut Io, &Slot) -> T) -> Result<T, NetError> {
        let s = self.slot_of(id).ok_or(NetError::Closed)?;
        let mut io = s.io.try_borrow_mut().map_err(|_| NetError::Closed)?;
        Ok(f(&mut io, s))
    }

    /// Whether `id` is open.
    pub fn is_open(&self, id: ConnId) -> bool {
        self.slot_of(id).is_some()
    }

    /// The peer of `id`.
    pub fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        self.with_io(id, |io, _| io.peer).ok().flatten()
    }

    /// Bytes waiting to be read on `id`.
    pub fn rx_len(&self, id: ConnId) -> usize {
        self.with_io(id, |io, _| io.rx.len()).unwrap_or(0)
    }

    /// Bytes waiting to be sent on `id`.
    pub fn tx_len(&self, id: ConnId) -> usize {
        self.with_io(id, |io, _| io.tx.len()).unwrap_or(0)
    }

    /// Room in the send buffer of `id`.
    pub fn tx_free(&self, id: ConnId) -> usize {
        self.with_io(id, |io, _| io.tx.free()).unwrap_or(0)
    }

    /// Whether the peer has ended its data on `id` (everything it sent may
    /// still be in the receive buffer). A closed `id` counts as ended.
    pub fn is_eof(&self, id: ConnId) -> bool {
        self.with_io(id, |io, _| io.rx_eof).unwrap_or(true)
    }

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
    /// [`ServerEvent::Ready`] comes when there is room again.
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

    // ---- the doers' side ----------------------------------------------

    /// How many slots it has (its connection limit).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The remoter of `slot` took on `waker`.
    pub(crate) fn set_slot_waker(&self, slot: usize, waker: Waker) {
        if let Some(s) = self.slots.get(slot) {
            s.waker.set(Some(waker));
        }
    }

    /// Registers the listener: its readiness wakes `waker`.
    pub(crate) fn start_listening(&self, waker: Waker) -> io::Result<()> {
        let mut l = self.listener.borrow_mut();
        let Some(listener) = l.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let token = self.reactor.register(listener, Interest::READABLE, waker)?;
        self.listener_token.set(Some(token));
        Ok(())
    }

    /// Closes the listener (the port is free again).
    pub(crate) fn stop_listening(&self) {
        if let Some(mut l) = self.listener.borrow_mut().take() {
            if let Some(t) = self.listener_token.take() {
                self.reactor.deregister(&mut l, t);
            }
            log::info!("server: {} closed", self.local);
        }
    }

    /// Accepts what is waiting, up to the budget. Returns the acceptor's
    /// next tock: parked when drained, 0 when the budget ran out, a short
    /// retry after an error such as running out of file descriptors.
    pub(crate) fn service_accept(&self) -> Tock {
        for _ in 0..self.config.accept_budget.max(1) {
            let accepted = {
                let l = self.listener.borrow();
                match l.as_ref() {
                    Some(l) => l.accept(),
                    None => return Tock::NEVER,
                }
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Tock::NEVER,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    self.count(|s| s.accept_errors += 1);
                    log::warn!("server: accept failed: {e}; retrying in 10 ms");
                    return Tock::from_millis(10);
                }
            }
        }
        Tock::ZERO
    }

    fn admit(&self, mut stream: TcpStream, peer: SocketAddr) {
        let Some(slot) = self.free.borrow_mut().pop() else {
            self.count(|s| s.refused += 1);
            log::warn!(
                "server: {peer} refused: at the limit of {} connections",
                self.slots.len()
            );
            drop(stream);
            return;
        };
        let Some(s) = self.slots.get(slot as usize) else {
            return;
        };
        let Some(waker) = s.waker.get() else {
            // the remoter is not running (the server is stopping)
            self.free.borrow_mut().push(slot);
            return;
        };
        let session = match &self.tls {
            Some(tls) => match Session::server(tls, self.config.tx_capacity) {
                Ok(session) => Some(Box::new(session)),
                Err(e) => {
                    log::warn!("server: {peer}: no TLS session: {e}");
                    self.free.borrow_mut().push(slot);
                    return;
                }
            },
            None => None,
        };
        let _ = stream.set_nodelay(true);
        let token =
            match self
                .reactor
                .register(&mut stream, Interest::READABLE | Interest::WRITABLE, waker)
            {
                Ok(t) => t,
                Err(e) => {
                    log::warn!("server: {peer}: cannot register: {e}");
                    self.free.borrow_mut().push(slot);
                    return;
                }
            };
        {
            let mut io = s.io.borrow_mut();
            io.rx.reserve(self.config.rx_capacity);
            io.tx.reserve(self.config.tx_capacity);
            io.rx.clear();
            io.tx.clear();
            io.stream = Some(stream);
            io.token = Some(token);
            io.peer = Some(peer);
            io.rx_eof = false;
            io.shut = Shut::Open;
            io.closing = false;
            io.rx_blocked = false;
            io.tx_blocked = false;
            io.discarding = false;
            io.broken = None;
            io.last_active = Instant::now();
            io.tls = session;
        }
        s.gen.set(s.gen.get().wrapping_add(1));
        s.open.set(true);
        s.notified.set(false);
        let id = ConnId {
            slot,
            gen: s.gen.get(),
        };
        self.count(|st| {
            st.accepted += 1;
            st.open += 1;
        });
        log::info!("server: {id} accepted from {peer}");
        self.emit(ServerEvent::Opened { id, peer });
        // it may have sent already: the remoter looks at once
        waker.wake();
    }

    /// Serves slot `slot`: reads, writes, shuts, closes. Returns the
    /// remoter's next tock: parked while it waits for readiness, 0 when
    /// its read budget ran out, the time left to its idle timeout.
    pub(crate) fn service_slot(&self, slot: usize) -> Tock {
        let Some(s) = self.slots.get(slot) else {
            return Tock::NEVER;
        };
        if !s.open.get() {
            return Tock::NEVER;
        }
        let id = ConnId {
            slot: slot as u32,
            gen: s.gen.get(),
        };
        let mut notify = false;
        let mut more = false;
        let mut close;
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        let mut handshaken = false;
        let mut deadline = None;
        {
            let Ok(mut guard) = s.io.try_borrow_mut() else {
                return Tock::ZERO;
            };
            let io = &mut *guard;
            let Some(stream) = io.stream.as_mut() else {
                return Tock::NEVER;
            };
            close = io.broken;
            if let Some(session) = io.tls.as_mut() {
                if close.is_none() {
                    let p = session.pump(stream, &mut io.rx, &mut io.tx, self.config.read_budget);
                    bytes_in = p.plain_in as u64;
                    bytes_out = p.plain_out as u64;
                    if p.wire_in > 0 || p.wire_out > 0 {
                        io.last_active = Instant::now();
                    }
                    notify |= p.plain_in > 0;
                    if p.plain_out > 0 && io.tx_blocked {
                        io.tx_blocked = false;
                        notify = true;
                    }
                    io.rx_blocked |= p.rx_full;
                    more |= p.more;
                    if p.peer_closed && !io.rx_eof {
                        io.rx_eof = true;
                        notify = true;
                        log::debug!("server: {id}: close_notify from the peer");
                    }
                    handshaken = p.handshake_done;
                    close = match p.failed {
                        Some(Broken::Tls(f)) => Some(CloseReason::Tls(f)),
                        Some(Broken::Io(k)) => Some(reason_of(&k.into())),
                        None => None,
                    };
                    deadline = session.deadline();
                }
            }
            // read
            if close.is_none() && !io.rx_eof && !io.closing && io.tls.is_none() {
                let (r, n) = io.rx.read_from(stream, self.config.read_budget);
                bytes_in = n as u64;
                if n > 0 {
                    io.last_active = Instant::now();
                    notify = true;
                }
                match r {
                    Ok(Filled::Drained) => {}
                    Ok(Filled::Budget) => more = true,
                    Ok(Filled::Full) => io.rx_blocked = true,
                    Ok(Filled::Eof) => {
                        io.rx_eof = true;
                        notify = true;
                        log::debug!("server: {id}: end of data from the peer");
                    }
                    Err(e) => close = Some(reason_of(&e)),
                }
            }
            // write
            if close.is_none() && !io.tx.is_empty() && io.tls.is_none() {
                let was_full = io.tx.is_full();
                let (r, n) = io.tx.write_to(stream);
                bytes_out = n as u64;
                if n > 0 {
                    io.last_active = Instant::now();
                }
                if let Err(e) = r {
                    close = Some(reason_of(&e));
                } else if io.tx_blocked && (was_full || io.tx.free() > 0) && n > 0 {
                    io.tx_blocked = false;
                    notify = true;
                }
            }
            // with TLS, the session's records must be out too
            let sent_all = io.tx.is_empty() && io.tls.as_ref().is_none_or(|t| !t.wants_write());
            if close.is_none() && sent_all {
                if io.closing {
                    close = Some(CloseReason::Local);
                } else if io.shut == Shut::Requested {
                    if let Some(session) = io.tls.as_mut() {
                        session.close(stream, &mut io.tx);
                    }
                    let _ = stream.shutdown(Shutdown::Write);
                    io.shut = Shut::Done;
                } else if io.rx_eof && !self.has_app() {
                    close = Some(CloseReason::Peer);
                }
            }
            if close.is_none() {
                if let Some(idle) = self.config.idle_timeout {
                    let quiet = io.last_active.elapsed();
                    if quiet >= idle {
                        close = Some(CloseReason::Idle);
                    }
                }
            }
        }
        if bytes_in > 0 || bytes_out > 0 || handshaken {
            self.count(|st| {
                st.bytes_in += bytes_in;
                st.bytes_out += bytes_out;
                st.tls_handshakes += u64::from(handshaken);
            });
        }
        if handshaken {
            log::debug!("server: {id}: TLS handshake done");
        }
        if let Some(reason) = close {
            self.close_slot(slot, reason);
            return Tock::NEVER;
        }
        if notify {
            self.ready(slot);
        }
        if more {
            return Tock::ZERO;
        }
        let idle_left = self.config.idle_timeout.map(|idle| {
            let quiet = s.io.borrow().last_active.elapsed();
            idle.saturating_sub(quiet)
        });
        let handshake_left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match (idle_left, handshake_left) {
            (None, None) => Tock::NEVER,
            (a, b) => {
                let left = a.into_iter().chain(b).min().unwrap_or_default();
                Tock::from_nanos(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX).max(1))
            }
        }
    }

    /// Closes slot `slot` now (sends what it can first), frees it, and
    /// tells the application.
    pub(crate) fn close_slot(&self, slot: usize, reason: CloseReason) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        if !s.open.replace(false) {
            return;
        }
        let id = ConnId {
            slot: slot as u32,
            gen: s.gen.get(),
        };
        let mut sent = 0;
        {
            let mut io = s.io.borrow_mut();
            let io = &mut *io;
            if let Some(mut stream) = io.stream.take() {
                if let Some(session) = io.tls.as_mut() {
                    // a close_notify, unless the connection is broken
                    if !matches!(
                        reason,
                        CloseReason::Tls(_) | CloseReason::Reset | CloseReason::Error(_)
                    ) {
                        session.close(&mut stream, &mut io.tx);
                    }
                } else if matches!(reason, CloseReason::Stopped | CloseReason::Local) {
                    sent = io.tx.write_to(&mut stream).1;
                }
                if let Some(t) = io.token.take() {
                    self.reactor.deregister(&mut stream, t);
                }
                drop(stream);
            }
            io.rx.clear();
            io.tx.clear();
            io.peer = None;
            io.tls = None;
        }
        s.notified.set(false);
        self.free.borrow_mut().push(slot as u32);
        self.count(|st| {
            st.closed += 1;
            st.open = st.open.saturating_sub(1);
            st.bytes_out += sent as u64;
            match reason {
                CloseReason::Reset => st.resets += 1,
                CloseReason::Idle => st.idle_closed += 1,
                CloseReason::Tls(f) => {
                    st.tls_failures += 1;
                    st.tls_timeouts += u64::from(f == TlsFailure::HandshakeTimeout);
                    st.tls_truncated += u64::from(f == TlsFailure::Truncated);
                }
                _ => {}
            }
        });
        if let CloseReason::Tls(_) = reason {
            log::warn!("server: {id} closed: {reason}");
        } else {
            log::info!("server: {id} closed: {reason}");
        }
        self.emit(ServerEvent::Closed { id, reason });
    }
}

/// Why a connection ends after `e`.
fn reason_of(e: &io::Error) -> CloseReason {
    match NetError::from_io(e) {
        NetError::Reset => CloseReason::Reset,
        _ => CloseReason::Error(e.kind()),
    }
}

/// Writes what the socket takes now.
fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<usize> {
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

impl fmt::Debug for Server<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.local)
            .field("stats", &self.stats.get())
            .finish_non_exhaustive()
    }
}
