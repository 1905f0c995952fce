//! The networking behind the `hio` command line (`hio echo`, `hio send`,
//! `hio udp-echo`), as functions that tests and benchmarks call too.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hio_core::{Cx, Doer, Doist, End, Fault, FaultKind, Report, Step, StopFlag, Tock, Waker};

use super::client::tock_of;
use super::tls::{ClientTls, ServerTls};
use super::{
    Client, ClientConfig, ClientDoer, ClientState, EchoServerDoer, NetError, Peer, PeerConfig,
    PeerDoer, Server, ServerConfig, ServerDoer, ServerParts, UdpEchoDoer,
};
use crate::reactor::{Reactor, NET_TOCK};

/// The most connections `hio echo` serves (`--max-conns` at most this).
pub const MAX_CONNS: usize = 4096;

/// Why a tool run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolError {
    /// Could not listen or bind at the address.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        kind: io::ErrorKind,
    },
    /// Could not connect.
    Connect {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: NetError,
    },
    /// The connection ended before every reply came.
    Closed {
        /// Replies received.
        replies: u64,
        /// Lines sent.
        sent: u64,
        /// Why it ended, if known.
        error: Option<NetError>,
    },
    /// No reply within the timeout.
    Timeout {
        /// Replies received.
        replies: u64,
        /// Lines sent.
        sent: u64,
    },
    /// `--max-conns` is out of range.
    MaxConns(usize),
    /// The reactor or the output failed.
    Io(io::ErrorKind),
    /// The run ended in a fault.
    Fault(Fault),
    /// Stopped (Ctrl-C) before it was done.
    Stopped,
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Bind { addr, kind } => write!(f, "cannot listen on {addr}: {kind}"),
            ToolError::Connect { addr, error } => write!(f, "cannot connect to {addr}: {error}"),
            ToolError::Closed {
                replies,
                sent,
                error,
            } => {
                write!(f, "the connection ended after {replies} of {sent} replies")?;
                match error {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
            ToolError::Timeout { replies, sent } => write!(
                f,
                "no reply within the timeout ({replies} of {sent} replies came)"
            ),
            ToolError::MaxConns(n) => {
                write!(f, "--max-conns {n} is out of range: give 1 to {MAX_CONNS}")
            }
            ToolError::Io(k) => write!(f, "i/o error: {k}"),
            ToolError::Fault(fault) => write!(f, "{fault}"),
            ToolError::Stopped => f.write_str("stopped before it was done"),
        }
    }
}

impl std::error::Error for ToolError {}

impl From<ToolError> for io::Error {
    fn from(e: ToolError) -> io::Error {
        let kind = match e {
            ToolError::Bind { kind, .. } | ToolError::Io(kind) => kind,
            ToolError::Connect { error, .. } => error.kind(),
            ToolError::Timeout { .. } => io::ErrorKind::TimedOut,
            ToolError::MaxConns(_) => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

fn io_err(e: &io::Error) -> ToolError {
    ToolError::Io(e.kind())
}

fn ended(report: Report) -> Result<(), ToolError> {
    match report.end {
        End::Fault(f) => Err(ToolError::Fault(f)),
        _ => Ok(()),
    }
}

/// Runs a TCP echo server on `listen` until `stop` (or, with `signals`,
/// SIGINT or SIGTERM) stops it. `ready` gets the bound address and the
/// stop flag once the server accepts.
///
/// # Errors
///
/// [`ToolError::Bind`] if it cannot listen there; [`ToolError::MaxConns`]
/// past [`MAX_CONNS`].
pub fn echo(
    listen: SocketAddr,
    config: ServerConfig,
    signals: bool,
    ready: &mut dyn FnMut(SocketAddr, &'static StopFlag),
) -> Result<Report, ToolError> {
    echo_with(listen, config, None, signals, ready)
}

/// [`echo`], speaking TLS with `tls` if given (`hio echo --tls-cert`).
///
/// # Errors
///
/// As [`echo`].
pub fn echo_with(
    listen: SocketAddr,
    config: ServerConfig,
    tls: Option<ServerTls>,
    signals: bool,
    ready: &mut dyn FnMut(SocketAddr, &'static StopFlag),
) -> Result<Report, ToolError> {
    if config.max_conns == 0 || config.max_conns > MAX_CONNS {
        return Err(ToolError::MaxConns(config.max_conns));
    }
    let reactor = reactor(signals)?;
    let mut server = Server::bind(&reactor, listen, config).map_err(|e| ToolError::Bind {
        addr: listen,
        kind: e.kind(),
    })?;
    if let Some(tls) = tls {
        server = server.with_tls(tls);
    }
    let mut parts = ServerParts::new(&server).map_err(|e| ToolError::Io(e.kind()))?;
    let mut serve: ServerDoer<'_, { MAX_CONNS + 1 }> =
        ServerDoer::new("server", &mut parts).map_err(|e| ToolError::Io(e.kind()))?;
    let mut echo = EchoServerDoer::new(&server).map_err(|e| ToolError::Io(e.kind()))?;
    let mut doist: Doist<'_, 3> =
        Doist::new(NET_TOCK).map_err(|_| ToolError::Io(io::ErrorKind::InvalidInput))?;
    doist.wakes(reactor.board());
    // the log writer first: ceased last, it writes what the others log
    let mut logs = log_doer(&reactor);
    if let Some(l) = logs.as_mut() {
        let _ = doist.add(l);
    }
    let _ = doist.add(&mut serve);
    let _ = doist.add(&mut echo);
    ready(server.local_addr(), reactor.stop_flag());
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    log::info!("echo: ended {} ({:?})", report.end.as_str(), server.stats());
    ended(report).map(|()| report)
}

/// Runs a UDP echo peer on `bind` until stopped (see [`echo`]).
///
/// # Errors
///
/// [`ToolError::Bind`] if it cannot bind there.
pub fn udp_echo(
    bind: SocketAddr,
    config: PeerConfig,
    signals: bool,
    ready: &mut dyn FnMut(SocketAddr, &'static StopFlag),
) -> Result<Report, ToolError> {
    let reactor = reactor(signals)?;
    let peer = Peer::bind(&reactor, bind, config).map_err(|e| ToolError::Bind {
        addr: bind,
        kind: e.kind(),
    })?;
    let mut doer = PeerDoer::new(&peer).map_err(|e| ToolError::Io(e.kind()))?;
    let mut echo = UdpEchoDoer::new(&peer).map_err(|e| ToolError::Io(e.kind()))?;
    let mut doist: Doist<'_, 3> =
        Doist::new(NET_TOCK).map_err(|_| ToolError::Io(io::ErrorKind::InvalidInput))?;
    doist.wakes(reactor.board());
    let mut logs = log_doer(&reactor);
    if let Some(l) = logs.as_mut() {
        let _ = doist.add(l);
    }
    let _ = doist.add(&mut doer);
    let _ = doist.add(&mut echo);
    ready(peer.local_addr(), reactor.stop_flag());
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    log::info!(
        "udp-echo: ended {} ({:?})",
        report.end.as_str(),
        peer.stats()
    );
    ended(report).map(|()| report)
}

/// Lines read from the input on a thread of their own, handed over through
/// a bounded channel with a wake of the doer that takes them (a wake from
/// another thread, which ends the reactor's poll).
struct Input {
    rx: mpsc::Receiver<Option<Vec<u8>>>,
    done: bool,
}

fn spawn_input(input: Box<dyn BufRead + Send>, waker: Waker) -> io::Result<Input> {
    let (tx, rx) = mpsc::sync_channel::<Option<Vec<u8>>>(64);
    std::thread::Builder::new()
        .name("hio-stdin".into())
        .spawn(move || {
            let mut input = input;
            loop {
                let mut line = Vec::new();
                match input.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        waker.wake();
                        return;
                    }
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        if tx.send(Some(line)).is_err() {
                            return;
                        }
                        waker.wake();
                    }
                }
            }
        })?;
    Ok(Input { rx, done: false })
}

/// The application doer of `hio send`: sends each input line, prints each
/// reply line, and closes after the last reply.
struct SendLines<'a> {
    client: &'a Client<'a>,
    waker: Waker,
    input: Option<Input>,
    source: Option<Box<dyn BufRead + Send>>,
    out: &'a mut dyn Write,
    pending: Vec<u8>,
    line: Vec<u8>,
    sent: u64,
    replies: u64,
    timeout: Duration,
    last: Instant,
    result: Cell<Option<Result<(), ToolError>>>,
    tock: Tock,
}

impl SendLines<'_> {
    fn finish(&mut self, r: Result<(), ToolError>) -> Result<Step, Fault> {
        self.result.set(Some(r));
        self.client.close();
        Ok(Step::Done)
    }
}

impl Doer for SendLines<'_> {
    fn name(&self) -> &str {
        "send"
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "send: no waker"))?;
        self.client.wake_on_rx(Some(self.waker));
        if let Some(src) = self.source.take() {
            self.input =
                Some(spawn_input(src, self.waker).map_err(|_| {
                    Fault::new(FaultKind::Io, "send: cannot start the input thread")
                })?);
        }
        self.last = Instant::now();
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes from one recur to the next
        cx.retock();
        let mut progress = false;
        // replies
        loop {
            match self.client.recv_line(&mut self.line) {
                Ok(true) => {
                    self.replies += 1;
                    progress = true;
                    let w = self
                        .out
                        .write_all(&self.line)
                        .and_then(|()| self.out.write_all(b"\n"))
                        .and_then(|()| self.out.flush());
                    if let Err(e) = w {
                        return self.finish(Err(io_err(&e)));
                    }
                }
                Ok(false) => break,
                Err(_) => {
                    // an overlong reply: counted as one, not printed
                    self.replies += 1;
                    progress = true;
                }
            }
        }
        // requests
        loop {
            if !self.pending.is_empty() {
                match self.client.send(&self.pending) {
                    Ok(n) => {
                        self.pending.drain(..n);
                        progress |= n > 0;
                    }
                    Err(_) => break,
                }
                if !self.pending.is_empty() {
                    break; // woken when the client has sent some
                }
            }
            let Some(input) = self.input.as_mut() else {
                break;
            };
            if input.done {
                break;
            }
            match input.rx.try_recv() {
                Ok(Some(mut line)) => {
                    line.push(b'\n');
                    self.pending = line;
                    self.sent += 1;
                    progress = true;
                }
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => input.done = true,
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        let input_done = self.input.as_ref().is_none_or(|i| i.done);
        if input_done && self.pending.is_empty() && self.replies >= self.sent {
            return self.finish(Ok(()));
        }
        match self.client.state() {
            ClientState::Closed => {
                let error = self.client.last_error();
                let stats = self.client.stats();
                let tls_refused =
                    matches!(error, Some(NetError::Tls(_))) && stats.tls_handshakes == 0;
                let r = if stats.connects == 0 || tls_refused {
                    Err(ToolError::Connect {
                        addr: self.client.remote(),
                        error: error.unwrap_or(NetError::Closed),
                    })
                } else {
                    Err(ToolError::Closed {
                        replies: self.replies,
                        sent: self.sent,
                        error,
                    })
                };
                return self.finish(r);
            }
            _ if self.client.is_eof() && self.client.rx_len() == 0 => {
                return self.finish(Err(ToolError::Closed {
                    replies: self.replies,
                    sent: self.sent,
                    error: None,
                }));
            }
            _ => {}
        }
        // the timeout runs while replies are owed
        if progress {
            self.last = Instant::now();
        }
        if self.replies < self.sent || !self.pending.is_empty() {
            let left = self.timeout.saturating_sub(self.last.elapsed());
            if left.is_zero() {
                return self.finish(Err(ToolError::Timeout {
                    replies: self.replies,
                    sent: self.sent,
                }));
            }
            self.tock = tock_of(left);
        } else {
            self.tock = Tock::NEVER;
        }
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.client.wake_on_rx(None);
    }
}

impl fmt::Debug for SendLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendLines")
            .field("sent", &self.sent)
            .field("replies", &self.replies)
            .finish_non_exhaustive()
    }
}

/// Sends each line of `input` to the TCP server at `connect` and writes each
/// reply line to `out`; returns once every line has its reply.
///
/// # Errors
///
/// [`ToolError::Connect`] if the connect fails, [`ToolError::Closed`] if the
/// server closes first, [`ToolError::Timeout`] if no reply comes within
/// `timeout`, [`ToolError::Stopped`] on Ctrl-C (with `signals`).
pub fn send(
    connect: SocketAddr,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    timeout: Duration,
    signals: bool,
) -> Result<(), ToolError> {
    send_with(connect, None, input, out, timeout, signals)
}

/// [`send`], speaking TLS with `tls` if given (`hio send --tls-ca`).
///
/// # Errors
///
/// As [`send`]; a failed TLS handshake is a [`ToolError::Connect`] with
/// [`NetError::Tls`].
pub fn send_with(
    connect: SocketAddr,
    tls: Option<ClientTls>,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    timeout: Duration,
    signals: bool,
) -> Result<(), ToolError> {
    let reactor = reactor(signals)?;
    let config = ClientConfig::default()
        .connect_timeout(timeout)
        .buffers(64 * 1024, 64 * 1024);
    let mut client = Client::new(&reactor, connect, config);
    if let Some(tls) = tls {
        client = client.with_tls(tls);
    }
    let mut doer = ClientDoer::new(&client).map_err(|e| ToolError::Io(e.kind()))?;
    let mut app = SendLines {
        client: &client,
        waker: reactor
            .waker()
            .map_err(|_| ToolError::Io(io::ErrorKind::OutOfMemory))?,
        input: None,
        source: Some(input),
        out,
        pending: Vec::new(),
        line: Vec::new(),
        sent: 0,
        replies: 0,
        timeout,
        last: Instant::now(),
        result: Cell::new(None),
        tock: Tock::NEVER,
    };
    let mut doist: Doist<'_, 2> =
        Doist::new(NET_TOCK).map_err(|_| ToolError::Io(io::ErrorKind::InvalidInput))?;
    doist.wakes(reactor.board());
    let _ = doist.add(&mut doer);
    let _ = doist.add(&mut app);
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    ended(report)?;
    match app.result.take() {
        Some(r) => r,
        None => Err(ToolError::Stopped),
    }
}

/// The application doer of `hio send --udp`: one datagram per line, each
/// answered before the next goes.
struct SendDatagrams<'a> {
    peer: &'a Peer<'a>,
    to: SocketAddr,
    waker: Waker,
    input: Option<Input>,
    source: Option<Box<dyn BufRead + Send>>,
    out: &'a mut dyn Write,
    waiting: bool,
    sent: u64,
    replies: u64,
    timeout: Duration,
    since: Instant,
    result: Option<Result<(), ToolError>>,
    tock: Tock,
    stop: &'static StopFlag,
}

impl SendDatagrams<'_> {
    /// Ends the run (the peer doer with it) with `r`.
    fn finish(&mut self, r: Result<(), ToolError>) -> Result<Step, Fault> {
        self.result = Some(r);
        self.stop.stop();
        Ok(Step::Done)
    }
}

impl Doer for SendDatagrams<'_> {
    fn name(&self) -> &str {
        "send-udp"
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "send-udp: no waker"))?;
        self.peer.wake_on_rx(Some(self.waker));
        if let Some(src) = self.source.take() {
            self.input = Some(spawn_input(src, self.waker).map_err(|_| {
                Fault::new(FaultKind::Io, "send-udp: cannot start the input thread")
            })?);
        }
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes from one recur to the next
        cx.retock();
        while let Some(d) = self.peer.recv() {
            if d.addr != self.to || !self.waiting {
                continue; // not ours, or a late duplicate
            }
            self.waiting = false;
            self.replies += 1;
            let w = self
                .out
                .write_all(&d.bytes)
                .and_then(|()| self.out.write_all(b"\n"))
                .and_then(|()| self.out.flush());
            if let Err(e) = w {
                return self.finish(Err(io_err(&e)));
            }
        }
        if self.waiting {
            let left = self.timeout.saturating_sub(self.since.elapsed());
            if left.is_zero() {
                return self.finish(Err(ToolError::Timeout {
                    replies: self.replies,
                    sent: self.sent,
                }));
            }
            self.tock = tock_of(left);
            return Ok(Step::Continue);
        }
        self.tock = Tock::NEVER;
        let Some(input) = self.input.as_mut() else {
            return Ok(Step::Continue);
        };
        match input.rx.try_recv() {
            Ok(Some(line)) => {
                if let Err(e) = self.peer.send_to(self.to, &line) {
                    return self.finish(Err(ToolError::Connect {
                        addr: self.to,
                        error: e,
                    }));
                }
                self.sent += 1;
                self.waiting = true;
                self.since = Instant::now();
                self.tock = tock_of(self.timeout);
            }
            Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                return self.finish(Ok(()));
            }
            Err(mpsc::TryRecvError::Empty) => {}
        }
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.peer.wake_on_rx(None);
    }
}

impl fmt::Debug for SendDatagrams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendDatagrams")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

/// Sends each line of `input` as one datagram to `to`, waits for its reply
/// and writes it to `out` as a line.
///
/// # Errors
///
/// [`ToolError::Timeout`] if a reply does not come within `timeout`.
pub fn send_udp(
    to: SocketAddr,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    timeout: Duration,
    signals: bool,
) -> Result<(), ToolError> {
    let reactor = reactor(signals)?;
    let local: SocketAddr = if to.is_ipv6() {
        SocketAddr::from(([0u16; 8], 0))
    } else {
        SocketAddr::from(([0u8; 4], 0))
    };
    let config = PeerConfig::default().max_datagram(65_507);
    let peer = Peer::bind(&reactor, local, config).map_err(|e| ToolError::Bind {
        addr: local,
        kind: e.kind(),
    })?;
    let mut doer = PeerDoer::new(&peer).map_err(|e| ToolError::Io(e.kind()))?;
    let mut app = SendDatagrams {
        peer: &peer,
        to,
        waker: reactor
            .waker()
            .map_err(|_| ToolError::Io(io::ErrorKind::OutOfMemory))?,
        input: None,
        source: Some(input),
        out,
        waiting: false,
        sent: 0,
        replies: 0,
        timeout,
        since: Instant::now(),
        result: None,
        tock: Tock::NEVER,
        stop: reactor.stop_flag(),
    };
    let mut doist: Doist<'_, 2, 0> =
        Doist::new(NET_TOCK).map_err(|_| ToolError::Io(io::ErrorKind::InvalidInput))?;
    doist.wakes(reactor.board());
    let _ = doist.add(&mut app);
    let _ = doist.add(&mut doer);
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    ended(report)?;
    match app.result.take() {
        Some(r) => r,
        None => Err(ToolError::Stopped),
    }
}

/// A [`LogDoer`](crate::logger::LogDoer) writing the installed logger's
/// lines to stderr, parked until a line is logged, if a logger is
/// installed ([`logger::init`](crate::logger::init)).
fn log_doer(reactor: &Reactor) -> Option<crate::logger::LogDoer<'static>> {
    let logger = crate::logger::installed()?;
    let doer = crate::logger::LogDoer::new(logger);
    Some(match reactor.waker() {
        Ok(w) => doer.with_waker(w),
        Err(_) => doer,
    })
}

/// A reactor, stopped by SIGINT and SIGTERM with `signals`.
fn reactor(signals: bool) -> Result<Reactor, ToolError> {
    let reactor = Reactor::new().map_err(|e| io_err(&e))?;
    if signals {
        reactor.stop_on_signals().map_err(|e| io_err(&e))?;
    }
    Ok(reactor)
}
