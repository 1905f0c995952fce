//! [`Server`]: a TCP listener and a fixed pool of connection slots,
//! shared by reference between the server's doers and the
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

mod data;
mod slots;

use data::reason_of;
pub(crate) use data::take_line;

use super::config::ServerConfig;
use super::ring::{Filled, Ring};
use super::tls::{Broken, ServerTls, Session, TlsFailure};
use super::NetError;
use crate::reactor::{Reactor, Readiness, ReadyQueue};

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
    /// send. Queued at most once per connection until taken. The bytes
    /// may still be in the socket ([`Server::recv`] reads them straight
    /// into the application's buffer), and may turn out to be none: read
    /// until `recv` gives 0.
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
    /// The socket may hold more to read: the receive buffer filled up
    /// (reading stopped there), or readiness came while the application
    /// reads the socket itself. The application's receive reads the
    /// socket straight into its buffer.
    rx_blocked: bool,
    /// The poll reported the peer's end (or an error): a short read no
    /// longer means all was read, the end comes after it.
    rx_closed: bool,
    /// A read of the application found something for the TLS pump (an
    /// end, a close_notify, a message to answer): the remoter pumps.
    tls_pump: bool,
    /// A send was refused for lack of room: tell the app when there is.
    tx_blocked: bool,
    /// Dropping the rest of an overlong line.
    discarding: bool,
    /// A send of the application found the connection broken.
    broken: Option<CloseReason>,
    last_active: Instant,
    /// The TLS session, on a TLS server.
    tls: Option<Box<Session>>,
    /// The TLS pump's last read took all there was, and the poll has not
    /// reported the socket readable since: the pump does not read it (a
    /// wake for room to write, such as the one a new socket gets, costs no
    /// read that would block).
    rx_idle: bool,
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
            rx_closed: false,
            tls_pump: false,
            tx_blocked: false,
            discarding: false,
            broken: None,
            last_active: Instant::now(),
            tls: None,
            rx_idle: false,
        }
    }
}

/// One connection slot, served by the server's remoter.
#[derive(Debug)]
struct Slot {
    /// Its place in the pool.
    index: u32,
    io: RefCell<Io>,
    /// It waits in the remoter's work list.
    queued: Cell<bool>,
    /// Readiness taken from the reactor, not yet served.
    ready: Cell<Readiness>,
    gen: Cell<u32>,
    open: Cell<bool>,
    /// A `Ready` event is queued for it.
    notified: Cell<bool>,
}

/// A TCP server: a non-blocking listener and a fixed pool of connection
/// slots, each with bounded receive and send [`Ring`]s, served by a
/// [`ServerDoer`](crate::net::ServerDoer) (an acceptor and a remoter, both
/// parked while they wait; the remoter serves the connections in the order
/// they became ready).
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
    /// The remoter's waker, while it runs.
    remoter: Cell<Option<Waker>>,
    /// Where the reactor queues the connections that became ready.
    queue: ReadyQueue,
    /// Slots the remoter serves next, in order (each once: `queued`).
    work: RefCell<Vec<u32>>,
    /// The same, taken for a round (kept for its allocation).
    round: RefCell<Vec<u32>>,
    /// What the reactor's queue held (kept for its allocation).
    taken: RefCell<Vec<(u32, Readiness)>>,
    /// No idle or handshake timeout runs out before this (a lower bound:
    /// activity only moves them later).
    next_expiry: Cell<Option<Instant>>,
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
            .map(|i| Slot {
                index: i as u32,
                io: RefCell::new(Io::new()),
                queued: Cell::new(false),
                ready: Cell::new(Readiness::NONE),
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
            remoter: Cell::new(None),
            queue: reactor.ready_queue(),
            work: RefCell::new(Vec::new()),
            round: RefCell::new(Vec::new()),
            taken: RefCell::new(Vec::new()),
            next_expiry: Cell::new(None),
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

    /// Bytes waiting to be read on `id` in its receive buffer (more may
    /// wait in the socket: [`recv`](Server::recv) until it gives 0).
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
}

impl fmt::Debug for Server<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.local)
            .field("stats", &self.stats.get())
            .finish_non_exhaustive()
    }
}
