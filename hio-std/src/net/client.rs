//! [`Client`]: one outgoing TCP connection with bounded buffers, a connect
//! timeout and optional reconnects, served by a [`ClientDoer`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use hio_core::{Cx, Doer, Fault, FaultKind, Step, Tock, Waker};
use mio::net::TcpStream;
use mio::{Interest, Token};

use super::config::ClientConfig;
use super::ring::{Filled, Ring};
use super::server::take_line;
use super::tls::{Broken, ClientTls, Session};
use super::NetError;
use crate::reactor::Reactor;

/// Where a [`Client`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientState {
    /// Its doer has not started it yet.
    Idle,
    /// A connect is under way.
    Connecting,
    /// Connected.
    Connected,
    /// Waiting to reconnect.
    Backoff,
    /// Closed for good: see [`Client::last_error`] for why, if not by the
    /// application.
    Closed,
}

/// Counters of a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Connects that succeeded.
    pub connects: u64,
    /// Connects that failed (refused, timed out, unreachable).
    pub failures: u64,
    /// Connections that ended by the peer (end of data or reset).
    pub drops: u64,
    /// Lines longer than the receive buffer, dropped.
    pub overlong: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting { since: Instant },
    Connected,
    Backoff { until: Instant },
    Closed,
}

#[derive(Debug)]
struct Io {
    phase: Phase,
    stream: Option<TcpStream>,
    token: Option<Token>,
    rx: Ring,
    tx: Ring,
    rx_eof: bool,
    shut_requested: bool,
    shut_done: bool,
    closing: bool,
    rx_blocked: bool,
    discarding: bool,
    failures: u32,
    last_error: Option<NetError>,
    local: Option<SocketAddr>,
    /// The TLS session while connected, on a TLS client.
    tls: Option<Box<Session>>,
}

/// An outgoing TCP connection: a non-blocking connect with a timeout,
/// reconnects with backoff (after a failed connect and after the peer
/// closes) if configured, bounded receive and send [`Ring`]s, half-close,
/// and resets told apart from orderly closes.
///
/// The application reads and writes through `&Client` (it is shared by
/// reference with its [`ClientDoer`]) and parks until something happens
/// with [`wake_on_rx`](Client::wake_on_rx).
///
/// ```no_run
/// use hio_core::{Doist, End};
/// use hio_std::net::{Client, ClientConfig, ClientDoer};
/// use hio_std::reactor::{Reactor, NET_TOCK};
///
/// let reactor = Reactor::new()?;
/// let client = Client::new(&reactor, "127.0.0.1:7000".parse().unwrap(), ClientConfig::default());
/// client.send(b"hello\n")?; // buffered until connected
/// let mut doer = ClientDoer::new(&client)?;
/// let mut doist: Doist<'_, 1> = Doist::new(NET_TOCK).unwrap();
/// doist.wakes(reactor.board());
/// doist.add(&mut doer).unwrap();
/// doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Client<'r> {
    reactor: &'r Reactor,
    remote: SocketAddr,
    config: ClientConfig,
    io: RefCell<Io>,
    waker: Cell<Option<Waker>>,
    app: Cell<Option<Waker>>,
    stats: Cell<ClientStats>,
    tls: Option<ClientTls>,
}

impl<'r> Client<'r> {
    /// A client of `remote`; it connects when its [`ClientDoer`] enters.
    pub fn new(reactor: &'r Reactor, remote: SocketAddr, config: ClientConfig) -> Self {
        Client {
            reactor,
            remote,
            config,
            io: RefCell::new(Io {
                phase: Phase::Idle,
                stream: None,
                token: None,
                rx: Ring::new(config.rx_capacity),
                tx: Ring::new(config.tx_capacity),
                rx_eof: false,
                shut_requested: false,
                shut_done: false,
                closing: false,
                rx_blocked: false,
                discarding: false,
                failures: 0,
                last_error: None,
                local: None,
                tls: None,
            }),
            waker: Cell::new(None),
            app: Cell::new(None),
            stats: Cell::new(ClientStats::default()),
            tls: None,
        }
    }

    /// Speaks TLS on every connection, with `tls` (see
    /// [`tls`](crate::net::tls)): the application reads and writes
    /// plaintext as before; what it sends before the handshake is done
    /// waits in the send buffer. The server's certificate is checked
    /// against the configuration's server name, or the IP address
    /// connected to.
    pub fn with_tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Whether the TLS handshake is done (`false` without TLS).
    pub fn is_handshaken(&self) -> bool {
        self.io
            .borrow()
            .tls
            .as_ref()
            .is_some_and(|s| !s.is_handshaking())
    }

    /// The application protocol (ALPN) agreed on, once handshaken.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        self.io
            .borrow()
            .tls
            .as_ref()
            .and_then(|s| s.alpn().map(<[u8]>::to_vec))
    }

    /// The address it connects to.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Its local address while connected.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.io.borrow().local
    }

    /// Where it is.
    pub fn state(&self) -> ClientState {
        match self.io.borrow().phase {
            Phase::Idle => ClientState::Idle,
            Phase::Connecting { .. } => ClientState::Connecting,
            Phase::Connected => ClientState::Connected,
            Phase::Backoff { .. } => ClientState::Backoff,
            Phase::Closed => ClientState::Closed,
        }
    }

    /// Whether it is connected.
    pub fn is_connected(&self) -> bool {
        self.state() == ClientState::Connected
    }

    /// Why the last connect or connection failed, if one did.
    pub fn last_error(&self) -> Option<NetError> {
        self.io.borrow().last_error
    }

    /// Its counters.
    pub fn stats(&self) -> ClientStats {
        self.stats.get()
    }

    fn count(&self, f: impl FnOnce(&mut ClientStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Wakes `waker` when bytes arrive, the peer ends its data, the send
    /// buffer makes room, or the state changes.
    pub fn wake_on_rx(&self, waker: Option<Waker>) {
        self.app.set(waker);
    }

    fn tell_app(&self) {
        if let Some(w) = self.app.get() {
            w.wake();
        }
    }

    fn wake_doer(&self) {
        if let Some(w) = self.waker.get() {
            w.wake();
        }
    }

    /// Whether the peer has ended its data on this connection (what it
    /// sent may still be in the receive buffer).
    pub fn is_eof(&self) -> bool {
        self.io.borrow().rx_eof
    }

    /// Bytes waiting to be read.
    pub fn rx_len(&self) -> usize {
        self.io.borrow().rx.len()
    }

    /// Bytes waiting to be sent.
    pub fn tx_len(&self) -> usize {
        self.io.borrow().tx.len()
    }

    /// Reads received bytes into `out`; returns how many.
    pub fn recv(&self, out: &mut [u8]) -> usize {
        let mut io = self.io.borrow_mut();
        let n = io.rx.pop(out);
        self.unblock(&mut io);
        n
    }

    /// Takes the next whole line (see
    /// [`Server::recv_line`](crate::net::Server::recv_line)).
    ///
    /// # Errors
    ///
    /// [`NetError::TooLong`] once for each line longer than the receive
    /// buffer (dropped, counted in `overlong`).
    pub fn recv_line(&self, line: &mut Vec<u8>) -> Result<bool, NetError> {
        let r = {
            let mut io = self.io.borrow_mut();
            let io = &mut *io;
            let r = take_line(&mut io.rx, &mut io.discarding, io.rx_eof, line);
            self.unblock(io);
            r
        };
        if r == Err(NetError::TooLong) {
            self.count(|s| s.overlong += 1);
            log::warn!(
                "client {}: line longer than the receive buffer, dropped",
                self.remote
            );
        }
        r
    }

    fn unblock(&self, io: &mut Io) {
        if io.rx_blocked && !io.rx.is_full() {
            io.rx_blocked = false;
            self.wake_doer();
        }
    }

    /// Queues as much of `bytes` as the send buffer takes (written at once
    /// when connected and nothing waits before it); returns how many.
    /// While connecting or waiting to reconnect, bytes wait in the buffer.
    ///
    /// # Errors
    ///
    /// [`NetError::Closed`] once closed for good or after
    /// [`shutdown_write`](Client::shutdown_write).
    pub fn send(&self, bytes: &[u8]) -> Result<usize, NetError> {
        let mut io = self.io.borrow_mut();
        if io.phase == Phase::Closed || io.shut_requested || io.closing {
            return Err(NetError::Closed);
        }
        let mut wrote = 0;
        if io.phase == Phase::Connected && io.tx.is_empty() {
            let io = &mut *io;
            if let (Some(stream), Some(session)) = (io.stream.as_mut(), io.tls.as_mut()) {
                // an error is found again by the doer
                wrote = session.send_now(stream, bytes).unwrap_or(0);
            } else if let Some(stream) = io.stream.as_mut() {
                wrote = write_some(stream, bytes);
            }
        }
        let queued = io.tx.push(bytes.get(wrote..).unwrap_or(&[]));
        drop(io);
        if wrote > 0 {
            self.count(|s| s.bytes_out += wrote as u64);
        }
        if queued > 0 {
            self.wake_doer();
        }
        Ok(wrote + queued)
    }

    /// Shuts the sending side once the send buffer is empty (the peer
    /// reads its end of data); receiving goes on.
    pub fn shutdown_write(&self) {
        self.io.borrow_mut().shut_requested = true;
        self.wake_doer();
    }

    /// Closes once the send buffer is empty, for good (no reconnect).
    pub fn close(&self) {
        self.io.borrow_mut().closing = true;
        self.wake_doer();
    }

    // ---- the doer's side ----------------------------------------------

    fn start(&self) {
        let mut io = self.io.borrow_mut();
        io.rx_eof = false;
        io.shut_done = false;
        io.discarding = false;
        let Some(waker) = self.waker.get() else {
            io.phase = Phase::Closed;
            return;
        };
        log::debug!("client: connecting to {}", self.remote);
        match TcpStream::connect(self.remote) {
            Ok(mut stream) => {
                match self.reactor.register(
                    &mut stream,
                    Interest::READABLE | Interest::WRITABLE,
                    waker,
                ) {
                    Ok(token) => {
                        io.token = Some(token);
                        io.stream = Some(stream);
                        io.phase = Phase::Connecting {
                            since: Instant::now(),
                        };
                    }
                    Err(e) => {
                        drop(io);
                        self.fail(NetError::from_io(&e));
                    }
                }
            }
            Err(e) => {
                drop(io);
                self.fail(NetError::from_io(&e));
            }
        }
    }

    /// Drops the stream (deregistered).
    fn drop_stream(&self, io: &mut Io) {
        io.tls = None;
        if let Some(mut s) = io.stream.take() {
            if let Some(t) = io.token.take() {
                self.reactor.deregister(&mut s, t);
            }
        }
        io.local = None;
    }

    /// A connect or a connection failed with `e`: back off or close.
    fn fail(&self, e: NetError) {
        let mut io = self.io.borrow_mut();
        let was_connected = io.phase == Phase::Connected;
        self.drop_stream(&mut io);
        io.last_error = Some(e);
        if was_connected {
            self.count(|s| s.drops += 1);
            log::info!("client: connection to {} ended: {e}", self.remote);
        } else {
            self.count(|s| s.failures += 1);
            log::warn!("client: connect to {} failed: {e}", self.remote);
        }
        let retry = self
            .config
            .reconnect
            .filter(|b| !io.closing && b.attempts.is_none_or(|n| io.failures < n));
        match retry {
            Some(b) => {
                let delay = b.delay(io.failures);
                io.failures = io.failures.saturating_add(1);
                io.phase = Phase::Backoff {
                    until: Instant::now() + delay,
                };
                log::info!("client: reconnecting to {} in {delay:?}", self.remote);
            }
            None => io.phase = Phase::Closed,
        }
        drop(io);
        self.tell_app();
    }

    /// Closes for good (the application asked, or both sides are done).
    fn finish(&self) {
        let mut guard = self.io.borrow_mut();
        let io = &mut *guard;
        if let Some(stream) = io.stream.as_mut() {
            match io.tls.as_mut() {
                Some(session) => session.close(stream, &mut io.tx),
                None => {
                    let _ = io.tx.write_to(stream);
                }
            }
        }
        self.drop_stream(io);
        if io.phase != Phase::Closed {
            log::info!("client: connection to {} closed", self.remote);
        }
        io.phase = Phase::Closed;
        drop(guard);
        self.tell_app();
    }

    /// One service step; returns the doer's next tock.
    fn service(&self) -> Tock {
        let phase = self.io.borrow().phase;
        match phase {
            Phase::Idle => {
                self.start();
                self.after_start()
            }
            Phase::Closed => Tock::NEVER,
            Phase::Backoff { until } => {
                let now = Instant::now();
                if now >= until {
                    self.start();
                    self.after_start()
                } else {
                    tock_of(until - now)
                }
            }
            Phase::Connecting { since } => self.check_connect(since),
            Phase::Connected => self.transfer(),
        }
    }

    fn after_start(&self) -> Tock {
        match self.io.borrow().phase {
            Phase::Connecting { .. } => tock_of(self.config.connect_timeout),
            Phase::Backoff { until } => tock_of(until.saturating_duration_since(Instant::now())),
            _ => Tock::NEVER,
        }
    }

    fn check_connect(&self, since: Instant) -> Tock {
        let status = {
            let io = self.io.borrow();
            match io.stream.as_ref() {
                None => Err(NetError::Closed),
                Some(s) => match s.take_error() {
                    Ok(Some(e)) | Err(e) => Err(NetError::from_io(&e)),
                    Ok(None) => match s.peer_addr() {
                        Ok(_) => Ok(true),
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                        Err(e) => Err(NetError::from_io(&e)),
                    },
                },
            }
        };
        match status {
            Ok(true) => {
                if let Some(tls) = &self.tls {
                    let name = tls.server_name().cloned().unwrap_or_else(|| {
                        rustls::pki_types::ServerName::IpAddress(self.remote.ip().into())
                    });
                    match Session::client(tls, name, self.config.tx_capacity) {
                        Ok(s) => self.io.borrow_mut().tls = Some(Box::new(s)),
                        Err(f) => {
                            self.fail(NetError::Tls(f));
                            return self.after_start();
                        }
                    }
                }
                {
                    let mut io = self.io.borrow_mut();
                    io.phase = Phase::Connected;
                    io.failures = 0;
                    io.last_error = None;
                    if let Some(s) = io.stream.as_ref() {
                        let _ = s.set_nodelay(true);
                        io.local = s.local_addr().ok();
                    }
                }
                self.count(|s| s.connects += 1);
                log::info!("client: connected to {}", self.remote);
                self.tell_app();
                self.transfer()
            }
            Ok(false) => {
                let left = self.config.connect_timeout.saturating_sub(since.elapsed());
                if left.is_zero() {
                    self.fail(NetError::ConnectTimeout);
                    self.after_start()
                } else {
                    tock_of(left)
                }
            }
            Err(e) => {
                self.fail(e);
                self.after_start()
            }
        }
    }

    fn transfer(&self) -> Tock {
        let mut more = false;
        let mut tell = false;
        let mut failed = None;
        let mut done = false;
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        let mut handshaken = false;
        let mut deadline = None;
        {
            let mut guard = self.io.borrow_mut();
            let io = &mut *guard;
            let Some(stream) = io.stream.as_mut() else {
                return Tock::NEVER;
            };
            if let Some(session) = io.tls.as_mut() {
                let p = session.pump(stream, &mut io.rx, &mut io.tx, self.config.read_budget);
                bytes_in = p.plain_in as u64;
                bytes_out = p.plain_out as u64;
                tell |= p.plain_in > 0 || p.plain_out > 0 || p.handshake_done || p.peer_closed;
                more |= p.more;
                io.rx_blocked |= p.rx_full;
                if p.peer_closed && !io.rx_eof {
                    io.rx_eof = true;
                    log::debug!("client: close_notify from {}", self.remote);
                }
                if p.handshake_done {
                    handshaken = true;
                    log::debug!("client: TLS handshake with {} done", self.remote);
                }
                failed = match p.failed {
                    Some(Broken::Tls(f)) => Some(NetError::Tls(f)),
                    Some(Broken::Io(k)) => Some(NetError::from_io(&k.into())),
                    None => None,
                };
                deadline = session.deadline();
            }
            if !io.rx_eof && io.tls.is_none() {
                let (r, n) = io.rx.read_from(stream, self.config.read_budget);
                bytes_in = n as u64;
                tell |= n > 0;
                match r {
                    Ok(Filled::Drained) => {}
                    Ok(Filled::Budget) => more = true,
                    Ok(Filled::Full) => io.rx_blocked = true,
                    Ok(Filled::Eof) => {
                        io.rx_eof = true;
                        tell = true;
                        log::debug!("client: end of data from {}", self.remote);
                    }
                    Err(e) => failed = Some(NetError::from_io(&e)),
                }
            }
            if failed.is_none() && !io.tx.is_empty() && io.tls.is_none() {
                let (r, n) = io.tx.write_to(stream);
                bytes_out = n as u64;
                // room to send again: the application may have more
                tell |= n > 0;
                if let Err(e) = r {
                    failed = Some(NetError::from_io(&e));
                }
            }
            // with TLS, the session's records must be out too
            let sent_all = io.tx.is_empty() && io.tls.as_ref().is_none_or(|t| !t.wants_write());
            if failed.is_none() && sent_all {
                if io.closing {
                    done = true;
                } else if io.shut_requested && !io.shut_done {
                    if let Some(session) = io.tls.as_mut() {
                        session.close(stream, &mut io.tx);
                    }
                    let _ = stream.shutdown(Shutdown::Write);
                    io.shut_done = true;
                }
                if io.rx_eof && io.shut_done {
                    done = true; // both directions ended
                }
            }
        }
        self.count(|s| {
            s.bytes_in += bytes_in;
            s.bytes_out += bytes_out;
            s.tls_handshakes += u64::from(handshaken);
        });
        if let Some(e) = failed {
            self.fail(e);
            return self.after_start();
        }
        if done {
            self.finish();
            return Tock::NEVER;
        }
        let eof = self.io.borrow().rx_eof;
        if eof && self.config.reconnect.is_some() {
            // the peer closed: reconnect (what it sent stays readable)
            self.fail(NetError::Closed);
            self.io.borrow_mut().rx_eof = true;
            return self.after_start();
        }
        if tell {
            self.tell_app();
        }
        if more {
            Tock::ZERO
        } else if let Some(d) = deadline {
            tock_of(d.saturating_duration_since(Instant::now()))
        } else {
            Tock::NEVER
        }
    }
}

/// The tock that waits `d` (at least a nanosecond: a tock of 0 would mean
/// "every pass"); a wait too long for 64 bits of nanoseconds is cut there.
pub(crate) fn tock_of(d: Duration) -> Tock {
    Tock::from_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1))
}

fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut done = 0;
    while done < bytes.len() {
        match stream.write(bytes.get(done..).unwrap_or(&[])) {
            Ok(0) => break,
            Ok(k) => done += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break, // would block, or an error the doer finds again
        }
    }
    done
}

impl fmt::Debug for Client<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("remote", &self.remote)
            .field("state", &self.state())
            .field("stats", &self.stats.get())
            .finish_non_exhaustive()
    }
}

/// Serves a [`Client`]: connects when entered, moves bytes between the
/// socket and the buffers, reconnects as configured, and finishes once the
/// client is closed for good (closed by the application, both directions
/// ended, or a failure without reconnect). Parked while it waits; due when
/// a connect timeout or a backoff runs out.
pub struct ClientDoer<'a> {
    client: &'a Client<'a>,
    waker: Waker,
    tock: Cell<Tock>,
}

impl<'a> ClientDoer<'a> {
    /// A doer for `client`.
    ///
    /// # Errors
    ///
    /// [`NetError::NoWaker`] if the reactor's board is full.
    pub fn new(client: &'a Client<'a>) -> Result<Self, NetError> {
        Ok(ClientDoer {
            client,
            waker: client.reactor.waker()?,
            tock: Cell::new(Tock::NEVER),
        })
    }
}

impl Doer for ClientDoer<'_> {
    fn name(&self) -> &str {
        "client"
    }

    fn tock(&self) -> Tock {
        self.tock.get()
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "client: no waker"))?;
        self.client.waker.set(Some(self.waker));
        self.tock.set(self.client.service());
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.tock.set(self.client.service());
        cx.retock();
        Ok(if self.client.state() == ClientState::Closed {
            Step::Done
        } else {
            Step::Continue
        })
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.client.finish();
        self.client.waker.set(None);
        self.client.reactor.release(self.waker);
    }
}

impl fmt::Debug for ClientDoer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientDoer")
            .field("client", &self.client)
            .finish()
    }
}
