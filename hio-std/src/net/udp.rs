//! [`Peer`]: a UDP socket with bounded datagram queues both ways, served by
//! a [`PeerDoer`].

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;

use hio_core::{Cx, Doer, Fault, FaultKind, Step, Tock, Waker};
use mio::net::UdpSocket;
use mio::{Interest, Token};

use super::NetError;
use crate::reactor::Reactor;

/// One datagram and the address it came from or goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The peer's address.
    pub addr: SocketAddr,
    /// The payload.
    pub bytes: Vec<u8>,
}

/// How a [`Peer`] buffers.
///
/// ```
/// use hio_std::net::PeerConfig;
/// let c = PeerConfig::default().max_datagram(512);
/// assert_eq!(c.max_datagram, 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerConfig {
    /// The largest datagram taken, bytes. A larger one received is dropped
    /// and counted (`oversize`), never handed on cut short; a larger one to
    /// send is refused with [`NetError::TooLong`].
    pub max_datagram: usize,
    /// Datagrams held for the application at most. When full, the doer
    /// stops reading (they wait in the socket, which drops past its own
    /// buffer, as UDP does).
    pub rx_queue: usize,
    /// Datagrams waiting to be sent at most.
    pub tx_queue: usize,
    /// Datagrams read per pass at most.
    pub read_budget: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            max_datagram: 2048,
            rx_queue: 64,
            tx_queue: 64,
            read_budget: 64,
        }
    }
}

impl PeerConfig {
    /// With this largest datagram.
    pub const fn max_datagram(mut self, bytes: usize) -> Self {
        self.max_datagram = bytes;
        self
    }

    /// With these queue lengths (receive, send), datagrams.
    pub const fn queues(mut self, rx: usize, tx: usize) -> Self {
        self.rx_queue = rx;
        self.tx_queue = tx;
        self
    }
}

/// Counters of a peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerStats {
    /// Datagrams received and queued.
    pub received: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams received larger than `max_datagram`, dropped.
    pub oversize: u64,
    /// Sends refused (too long, or the queue full).
    pub refused: u64,
    /// Datagrams the system would not send (dropped, logged).
    pub send_errors: u64,
    /// Receive errors (an ICMP error from an earlier send, mostly).
    pub recv_errors: u64,
}

/// A UDP endpoint: bounded queues of [`Datagram`]s both ways. A received
/// datagram larger than [`PeerConfig::max_datagram`] is dropped and counted
/// (it is read into a buffer one byte larger, so a cut one is always
/// seen), never delivered truncated.
///
/// ```no_run
/// use hio_std::net::{Peer, PeerConfig, PeerDoer};
/// use hio_std::reactor::Reactor;
/// let reactor = Reactor::new()?;
/// let peer = Peer::bind(&reactor, "127.0.0.1:0".parse().unwrap(), PeerConfig::default())?;
/// peer.send_to("127.0.0.1:9".parse().unwrap(), b"ping")?;
/// let doer = PeerDoer::new(&peer)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Peer<'r> {
    reactor: &'r Reactor,
    socket: RefCell<Option<UdpSocket>>,
    token: Cell<Option<Token>>,
    local: SocketAddr,
    config: PeerConfig,
    rx: RefCell<VecDeque<Datagram>>,
    tx: RefCell<VecDeque<Datagram>>,
    buf: RefCell<Box<[u8]>>,
    rx_blocked: Cell<bool>,
    waker: Cell<Option<Waker>>,
    app: Cell<Option<Waker>>,
    stats: Cell<PeerStats>,
}

impl<'r> Peer<'r> {
    /// Binds `addr` (port 0 picks one: see [`local_addr`](Peer::local_addr)).
    ///
    /// # Errors
    ///
    /// The address is taken or not local.
    pub fn bind(reactor: &'r Reactor, addr: SocketAddr, config: PeerConfig) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let local = socket.local_addr()?;
        log::info!("udp: bound to {local}");
        Ok(Peer {
            reactor,
            socket: RefCell::new(Some(socket)),
            token: Cell::new(None),
            local,
            config,
            rx: RefCell::new(VecDeque::new()),
            tx: RefCell::new(VecDeque::new()),
            buf: RefCell::new(vec![0; config.max_datagram.saturating_add(1)].into_boxed_slice()),
            rx_blocked: Cell::new(false),
            waker: Cell::new(None),
            app: Cell::new(None),
            stats: Cell::new(PeerStats::default()),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Its counters.
    pub fn stats(&self) -> PeerStats {
        self.stats.get()
    }

    fn count(&self, f: impl FnOnce(&mut PeerStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Wakes `waker` when a datagram is queued into the empty queue.
    pub fn wake_on_rx(&self, waker: Option<Waker>) {
        self.app.set(waker);
    }

    /// The next received datagram, if any.
    pub fn recv(&self) -> Option<Datagram> {
        let d = self.rx.borrow_mut().pop_front();
        if d.is_some() && self.rx_blocked.replace(false) {
            if let Some(w) = self.waker.get() {
                w.wake();
            }
        }
        d
    }

    /// Datagrams waiting to be taken.
    pub fn rx_len(&self) -> usize {
        self.rx.borrow().len()
    }

    /// Datagrams waiting to be sent.
    pub fn tx_len(&self) -> usize {
        self.tx.borrow().len()
    }

    /// Sends `bytes` to `addr`: at once if nothing waits before it and the
    /// socket takes it, else queued.
    ///
    /// # Errors
    ///
    /// [`NetError::TooLong`] past `max_datagram`, [`NetError::Full`] when
    /// the queue is full (both counted in `refused`).
    pub fn send_to(&self, addr: SocketAddr, bytes: &[u8]) -> Result<(), NetError> {
        if bytes.len() > self.config.max_datagram {
            self.count(|s| s.refused += 1);
            return Err(NetError::TooLong);
        }
        let mut tx = self.tx.borrow_mut();
        if tx.is_empty() {
            if let Some(sock) = self.socket.borrow().as_ref() {
                match sock.send_to(bytes, addr) {
                    Ok(_) => {
                        drop(tx);
                        self.count(|s| s.sent += 1);
                        return Ok(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        drop(tx);
                        self.count(|s| s.send_errors += 1);
                        log::warn!("udp: send to {addr} failed: {e}");
                        return Err(NetError::from_io(&e));
                    }
                }
            }
        }
        if tx.len() >= self.config.tx_queue {
            drop(tx);
            self.count(|s| s.refused += 1);
            return Err(NetError::Full);
        }
        tx.push_back(Datagram {
            addr,
            bytes: bytes.to_vec(),
        });
        drop(tx);
        if let Some(w) = self.waker.get() {
            w.wake();
        }
        Ok(())
    }

    fn start(&self, waker: Waker) -> io::Result<()> {
        self.waker.set(Some(waker));
        let mut s = self.socket.borrow_mut();
        let Some(sock) = s.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let token = self
            .reactor
            .register(sock, Interest::READABLE | Interest::WRITABLE, waker)?;
        self.token.set(Some(token));
        Ok(())
    }

    fn stop(&self) {
        if let Some(mut s) = self.socket.borrow_mut().take() {
            if let Some(t) = self.token.take() {
                self.reactor.deregister(&mut s, t);
            }
        }
        self.waker.set(None);
    }

    /// Receives and sends what is ready; returns the doer's next tock.
    fn service(&self) -> Tock {
        let sock = self.socket.borrow();
        let Some(sock) = sock.as_ref() else {
            return Tock::NEVER;
        };
        let mut more = false;
        let mut got = 0usize;
        let max = self.config.max_datagram;
        {
            let mut buf = self.buf.borrow_mut();
            for k in 0..=self.config.read_budget {
                if self.rx.borrow().len() >= self.config.rx_queue {
                    self.rx_blocked.set(true);
                    break;
                }
                if k == self.config.read_budget {
                    more = true;
                    break;
                }
                match sock.recv_from(&mut buf) {
                    Ok((n, addr)) if n > max => {
                        self.count(|s| s.oversize += 1);
                        log::warn!("udp: datagram from {addr} longer than {max} bytes, dropped");
                    }
                    Ok((n, addr)) => {
                        let bytes = buf.get(..n).unwrap_or(&[]).to_vec();
                        self.rx.borrow_mut().push_back(Datagram { addr, bytes });
                        self.count(|s| s.received += 1);
                        got += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.count(|s| s.recv_errors += 1);
                        log::debug!("udp: receive error: {e}");
                    }
                }
            }
        }
        loop {
            let front = self.tx.borrow().front().cloned();
            let Some(d) = front else { break };
            match sock.send_to(&d.bytes, d.addr) {
                Ok(_) => self.count(|s| s.sent += 1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.count(|s| s.send_errors += 1);
                    log::warn!("udp: send to {} failed: {e}", d.addr);
                }
            }
            self.tx.borrow_mut().pop_front();
        }
        if got > 0 {
            if let Some(w) = self.app.get() {
                w.wake();
            }
        }
        if more {
            Tock::ZERO
        } else {
            Tock::NEVER
        }
    }
}

impl fmt::Debug for Peer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer")
            .field("local", &self.local)
            .field("stats", &self.stats.get())
            .finish_non_exhaustive()
    }
}

/// Serves a [`Peer`]: parked until the socket is ready or a send is
/// queued; reads at most `read_budget` datagrams per pass.
pub struct PeerDoer<'a> {
    peer: &'a Peer<'a>,
    waker: Waker,
    tock: Cell<Tock>,
}

impl<'a> PeerDoer<'a> {
    /// A doer for `peer`.
    ///
    /// # Errors
    ///
    /// [`NetError::NoWaker`] if the reactor's board is full.
    pub fn new(peer: &'a Peer<'a>) -> Result<Self, NetError> {
        Ok(PeerDoer {
            peer,
            waker: peer.reactor.waker()?,
            tock: Cell::new(Tock::NEVER),
        })
    }
}

impl Doer for PeerDoer<'_> {
    fn name(&self) -> &str {
        "udp-peer"
    }

    fn tock(&self) -> Tock {
        self.tock.get()
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "udp-peer: no waker"))?;
        self.peer.start(self.waker).map_err(|e| {
            log::error!("udp: cannot register: {e}");
            Fault::new(FaultKind::Io, "udp-peer: cannot register the socket")
        })?;
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.tock.set(self.peer.service());
        cx.retock();
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.peer.stop();
        self.peer.reactor.release(self.waker);
    }
}

impl fmt::Debug for PeerDoer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerDoer")
            .field("peer", &self.peer)
            .finish()
    }
}

/// Sends every datagram of a [`Peer`] back to where it came from. Parked
/// until one arrives.
pub struct UdpEchoDoer<'a> {
    peer: &'a Peer<'a>,
    waker: Waker,
}

impl<'a> UdpEchoDoer<'a> {
    /// An echo doer for `peer`.
    ///
    /// # Errors
    ///
    /// [`NetError::NoWaker`] if the reactor's board is full.
    pub fn new(peer: &'a Peer<'a>) -> Result<Self, NetError> {
        Ok(UdpEchoDoer {
            peer,
            waker: peer.reactor.waker()?,
        })
    }
}

impl Doer for UdpEchoDoer<'_> {
    fn name(&self) -> &str {
        "udp-echo"
    }

    fn tock(&self) -> Tock {
        Tock::NEVER
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "udp-echo: no waker"))?;
        self.peer.wake_on_rx(Some(self.waker));
        Ok(Step::Continue)
    }

    fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
        while let Some(d) = self.peer.recv() {
            // a full send queue drops the echo, counted in `refused`
            let _ = self.peer.send_to(d.addr, &d.bytes);
        }
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.peer.wake_on_rx(None);
        self.peer.reactor.release(self.waker);
    }
}

impl fmt::Debug for UdpEchoDoer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpEchoDoer").finish_non_exhaustive()
    }
}
