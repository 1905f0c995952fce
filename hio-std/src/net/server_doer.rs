//! The doers of a [`Server`]: [`ServerDoer`] (an acceptor and one remoter
//! that serves every ready connection, in a lazy DoDoer) and
//! [`EchoServerDoer`].

use std::cell::Cell;
use std::fmt;

use hio_core::{Cx, DoDoer, Doer, Fault, FaultKind, Group, Step, Tock, Waker};

use super::server::{CloseReason, Server, ServerEvent};
use super::NetError;

/// Accepts connections and hands each to a free slot (the remoter serves
/// it). Parked until the listener is ready.
pub struct Acceptor<'a> {
    server: &'a Server<'a>,
    waker: Waker,
    tock: Cell<Tock>,
}

impl Doer for Acceptor<'_> {
    fn name(&self) -> &str {
        "acceptor"
    }

    fn tock(&self) -> Tock {
        self.tock.get()
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "acceptor: no waker"))?;
        self.server.start_listening(self.waker).map_err(|e| {
            log::error!("server: cannot listen: {e}");
            Fault::new(FaultKind::Io, "acceptor: cannot register the listener")
        })?;
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.tock.set(self.server.service_accept());
        cx.retock();
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.server.stop_listening();
        self.server.reactor().release(self.waker);
    }
}

impl fmt::Debug for Acceptor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

/// Serves the connections of a [`Server`]: moves bytes between each socket
/// and its slot's buffers, closes a connection when it ends. One doer for
/// all of them: the reactor queues the connections that became ready, in
/// the order they did, and the remoter serves those (and those the
/// application asked for) once each per pass — first come, first served,
/// and no cost per idle connection. Parked while it waits; with an idle or
/// handshake timeout it is due when the earliest runs out.
pub struct Remoter<'a> {
    server: &'a Server<'a>,
    waker: Waker,
    tock: Cell<Tock>,
}

impl Doer for Remoter<'_> {
    fn name(&self) -> &str {
        "remoter"
    }

    fn tock(&self) -> Tock {
        self.tock.get()
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "remoter: no waker"))?;
        self.server.set_remoter(Some(self.waker));
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.tock.set(self.server.serve_ready());
        cx.retock();
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.server.set_remoter(None);
        for slot in 0..self.server.slot_count() {
            self.server.close_slot(slot, CloseReason::Stopped);
        }
        self.server.reactor().release(self.waker);
    }
}

impl fmt::Debug for Remoter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remoter").finish_non_exhaustive()
    }
}

/// The doers of a [`Server`], stored apart from the [`ServerDoer`] that
/// runs them (a DoDoer borrows its children): an [`Acceptor`] and a
/// [`Remoter`].
pub struct ServerParts<'a> {
    acceptor: Acceptor<'a>,
    remoter: Remoter<'a>,
}

impl<'a> ServerParts<'a> {
    /// The doers of `server`, each with a waker of its reactor.
    ///
    /// # Errors
    ///
    /// [`NetError::NoWaker`] if the reactor's board has no room for them.
    pub fn new(server: &'a Server<'a>) -> Result<Self, NetError> {
        let reactor = server.reactor();
        let acceptor = Acceptor {
            server,
            waker: reactor.waker()?,
            tock: Cell::new(Tock::NEVER),
        };
        let waker = match reactor.waker() {
            Ok(w) => w,
            Err(_) => {
                reactor.release(acceptor.waker);
                return Err(NetError::NoWaker);
            }
        };
        let remoter = Remoter {
            server,
            waker,
            tock: Cell::new(Tock::NEVER),
        };
        Ok(ServerParts { acceptor, remoter })
    }

    /// How many doers it holds (the acceptor and the remoter).
    pub fn len(&self) -> usize {
        2
    }

    /// Whether it holds none (never).
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Debug for ServerParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerParts").finish_non_exhaustive()
    }
}

/// Runs a [`Server`]: a lazy, `always` DoDoer of up to `N` doers (the
/// acceptor and the remoter, so `N` ≥ 2) in which both are parked until a
/// socket is ready or the application asks. A thousand idle connections
/// cost nothing per pass, and an idle server makes no wake-ups.
///
/// ```no_run
/// use hio_core::Doist;
/// use hio_std::net::{Server, ServerConfig, ServerDoer, ServerParts, EchoServerDoer};
/// use hio_std::reactor::{Reactor, NET_TOCK};
///
/// let reactor = Reactor::new()?;
/// let server = Server::bind(&reactor, "127.0.0.1:0".parse().unwrap(), ServerConfig::default())?;
/// let mut parts = ServerParts::new(&server)?;
/// let mut serve: ServerDoer<'_, 1025> = ServerDoer::new("server", &mut parts)?;
/// let mut echo = EchoServerDoer::new(&server)?;
/// let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK).unwrap();
/// doist.wakes(reactor.board());
/// doist.add(&mut serve).unwrap();
/// doist.add(&mut echo).unwrap();
/// println!("listening on {}", server.local_addr());
/// doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ServerDoer<'a, const N: usize> {
    pool: DoDoer<'a, N>,
}

impl<'a, const N: usize> ServerDoer<'a, N> {
    /// A server doer named `name` running `parts`.
    ///
    /// # Errors
    ///
    /// [`NetError::Capacity`] if `N` is less than `parts.len()`.
    pub fn new<'s: 'a>(name: &'a str, parts: &'a mut ServerParts<'s>) -> Result<Self, NetError> {
        if parts.len() > N {
            return Err(NetError::Capacity);
        }
        let mut pool = DoDoer::new(name).lazy(true).always(true);
        pool.add(&mut parts.acceptor)
            .map_err(|_| NetError::Capacity)?;
        pool.add(&mut parts.remoter)
            .map_err(|_| NetError::Capacity)?;
        Ok(ServerDoer { pool })
    }
}

impl<const N: usize> Doer for ServerDoer<'_, N> {
    fn name(&self) -> &str {
        self.pool.name()
    }
    fn tock(&self) -> Tock {
        self.pool.tock()
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.pool.enter(cx)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.pool.recur(cx)
    }
    fn clean(&mut self, cx: &mut Cx<'_>) {
        self.pool.clean(cx)
    }
    fn cease(&mut self, cx: &mut Cx<'_>) {
        self.pool.cease(cx)
    }
    fn abort(&mut self, cx: &mut Cx<'_>) {
        self.pool.abort(cx)
    }
    fn exit(&mut self, cx: &mut Cx<'_>) {
        self.pool.exit(cx)
    }
    fn as_group(&self) -> Option<&dyn Group> {
        self.pool.as_group()
    }
}

impl<const N: usize> fmt::Debug for ServerDoer<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerDoer")
            .field("pool", &self.pool)
            .finish()
    }
}

/// Echoes every byte back on the connection it came from, and closes a
/// connection once the peer has ended its data and everything is echoed.
/// Parked until the server has an event.
///
/// Backpressure: it echoes what the send buffer takes and leaves the rest
/// in the receive buffer, so a peer that writes without reading fills its
/// own TCP window, not the server's memory.
pub struct EchoServerDoer<'a> {
    server: &'a Server<'a>,
    waker: Waker,
    buf: Box<[u8]>,
    /// Connections that used up their budget: served again next pass.
    again: Vec<super::ConnId>,
    /// Bytes received but not yet taken by a send (a connection whose peer
    /// reads slower than it writes): at most one scratch buffer's worth per
    /// such connection, sent first when it is ready again.
    held: Vec<(super::ConnId, Vec<u8>)>,
    tock: Tock,
}

impl<'a> EchoServerDoer<'a> {
    /// An echo doer for `server`.
    ///
    /// # Errors
    ///
    /// [`NetError::NoWaker`] if the reactor's board is full.
    pub fn new(server: &'a Server<'a>) -> Result<Self, NetError> {
        let waker = server.reactor().waker()?;
        // one scratch buffer for all connections: large, so that a stream
        // moves in large reads (see `Server::recv`)
        let size = server.config().rx_capacity.max(64 * 1024);
        Ok(EchoServerDoer {
            server,
            waker,
            buf: vec![0; size].into_boxed_slice(),
            again: Vec::new(),
            held: Vec::new(),
            tock: Tock::NEVER,
        })
    }

    /// Echoes what `id` has, up to the read budget; returns whether it
    /// stopped at the budget (more may be waiting).
    fn echo(&mut self, id: super::ConnId) -> bool {
        let server = self.server;
        // what an earlier send did not take goes first
        if let Some(pos) = self.held.iter().position(|(h, _)| *h == id) {
            let Some((_, bytes)) = self.held.get_mut(pos) else {
                return false;
            };
            match server.send(id, bytes) {
                Ok(k) => {
                    bytes.drain(..k.min(bytes.len()));
                }
                Err(_) => {
                    self.held.swap_remove(pos);
                    return false;
                }
            }
            if !bytes.is_empty() {
                return false; // a Ready comes when there is room
            }
            self.held.swap_remove(pos);
        }
        let mut budget = server.config().read_budget.max(1);
        // over TLS, a record at a time: the first goes back while the rest
        // of a large message is still on its way, so both ends work at once
        // (TLS bulk echo about 8 % faster than taking 64 KiB before sending)
        let most = if server.is_tls() {
            super::tls::session::RECORD
        } else {
            usize::MAX
        };
        loop {
            if budget == 0 {
                return true;
            }
            // with nothing queued before it, a send goes straight to the
            // socket: take a scratch buffer's worth at once, and hold back
            // what the send does not take
            let room = if server.tx_len(id) == 0 {
                self.buf.len()
            } else {
                server.tx_free(id).min(self.buf.len())
            }
            .min(budget)
            .min(most);
            if room == 0 {
                // a Ready when there is room (the last send may have taken
                // everything, and not asked for one)
                let _ = server.wait_for_room(id);
                return false;
            }
            let Some(chunk) = self.buf.get_mut(..room) else {
                break;
            };
            let n = match server.recv(id, chunk) {
                Ok(n) => n,
                Err(_) => return false,
            };
            if n == 0 {
                break;
            }
            budget = budget.saturating_sub(n);
            let got = chunk.get(..n).unwrap_or(&[]);
            match server.send(id, got) {
                Ok(k) if k < n => {
                    self.held.push((id, got.get(k..).unwrap_or(&[]).to_vec()));
                    return false; // a Ready comes when there is room
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        if server.is_eof(id) && server.rx_len(id) == 0 {
            let _ = server.close(id);
        }
        false
    }
}

impl Doer for EchoServerDoer<'_> {
    fn name(&self) -> &str {
        "echo"
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "echo: no waker"))?;
        self.server.wake_on_event(Some(self.waker));
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes between 0 and never
        cx.retock();
        let mut next = Vec::new();
        for id in std::mem::take(&mut self.again) {
            if self.echo(id) {
                next.push(id);
            }
        }
        while let Some(ev) = self.server.next_event() {
            match ev {
                ServerEvent::Ready(id) => {
                    let again = self.echo(id);
                    if again && !next.contains(&id) {
                        next.push(id);
                    }
                }
                ServerEvent::Closed { id, .. } => self.held.retain(|(h, _)| *h != id),
                _ => {}
            }
        }
        self.tock = if next.is_empty() {
            Tock::NEVER
        } else {
            Tock::ZERO
        };
        self.again = next;
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.server.wake_on_event(None);
        self.server.reactor().release(self.waker);
    }
}

impl fmt::Debug for EchoServerDoer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchoServerDoer").finish_non_exhaustive()
    }
}
