//! [`Clients`]: what the [`Hub`](super::Hub) sees of its TCP clients — a
//! [`Server`] in a live run, a recording of one in a replay.

use std::fmt;
use std::net::SocketAddr;

use hio_core::Waker;

use crate::net::{CloseReason, ConnId, Server, ServerEvent};

/// A client, as the hub names it: a connection slot and its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId {
    /// The slot (an index for per-client state).
    pub slot: u32,
    /// The slot's generation.
    pub gen: u32,
}

impl fmt::Display for ClientId {
    /// `#slot.gen`, as [`ConnId`] writes itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.slot, self.gen)
    }
}

/// What happened on the client side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A client connected.
    Opened(ClientId, String),
    /// A client has bytes (or its end of data) to read, or room again.
    Ready(ClientId),
    /// A client left, and why.
    Closed(ClientId, String),
}

/// The hub's view of its clients. Every answer depends on the outside
/// world, so a recording of the answers replays the hub exactly.
pub trait Clients {
    /// The next event, if any.
    fn next_event(&self) -> Option<ClientEvent>;
    /// Sends as much of `bytes` to `id` as its queue takes; `None` if it
    /// is closed.
    fn send(&self, id: ClientId, bytes: &[u8]) -> Option<usize>;
    /// Room in `id`'s queue.
    fn tx_free(&self, id: ClientId) -> usize;
    /// Bytes in `id`'s queue.
    fn tx_len(&self, id: ClientId) -> usize;
    /// Reads what `id` sent into `out`; how many bytes.
    fn recv(&self, id: ClientId, out: &mut [u8]) -> usize;
    /// Whether `id` ended its data.
    fn is_eof(&self, id: ClientId) -> bool;
    /// Bytes `id` sent not yet read.
    fn rx_len(&self, id: ClientId) -> usize;
    /// Closes `id` once its queue is sent.
    fn close(&self, id: ClientId);
    /// Drops `id` now (a client too slow to keep).
    fn drop_now(&self, id: ClientId);
    /// The size of each client's queue, bytes.
    fn queue_capacity(&self) -> usize;
    /// Wakes `waker` when an event comes.
    fn wake_on_event(&self, waker: Option<Waker>);
}

/// The [`Server`]'s connection ids, by slot, to turn a [`ClientId`] back
/// into one.
#[derive(Debug)]
pub struct ServerClients<'a> {
    server: &'a Server<'a>,
    /// By slot: the open connection's id, as the hub names it and as the
    /// server does.
    ids: std::cell::RefCell<Vec<Option<(ClientId, ConnId)>>>,
}

impl<'a> ServerClients<'a> {
    /// The clients of `server`.
    pub fn new(server: &'a Server<'a>) -> Self {
        ServerClients {
            server,
            ids: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The hub's name of the open connection `conn` (named when it
    /// opened: no text made again).
    fn client(&self, conn: ConnId) -> ClientId {
        self.ids
            .borrow()
            .get(conn.slot())
            .copied()
            .flatten()
            .filter(|(_, c)| *c == conn)
            .map_or_else(|| conn.into(), |(id, _)| id)
    }

    fn conn(&self, id: ClientId) -> Option<ConnId> {
        self.ids
            .borrow()
            .get(id.slot as usize)
            .copied()
            .flatten()
            .filter(|(c, _)| *c == id)
            .map(|(_, conn)| conn)
    }
}

impl From<ConnId> for ClientId {
    fn from(c: ConnId) -> ClientId {
        // a ConnId writes itself `#slot.gen`
        let text = c.to_string();
        let gen = text
            .rsplit('.')
            .next()
            .and_then(|g| g.parse().ok())
            .unwrap_or(0);
        ClientId {
            slot: c.slot() as u32,
            gen,
        }
    }
}

fn peer_text(peer: SocketAddr) -> String {
    peer.to_string()
}

fn reason_text(reason: CloseReason) -> String {
    reason.to_string()
}

impl Clients for ServerClients<'_> {
    fn next_event(&self) -> Option<ClientEvent> {
        let ev = self.server.next_event()?;
        Some(match ev {
            ServerEvent::Opened { id, peer } => {
                let mut ids = self.ids.borrow_mut();
                if ids.len() <= id.slot() {
                    ids.resize(id.slot() + 1, None);
                }
                let client = ClientId::from(id);
                if let Some(s) = ids.get_mut(id.slot()) {
                    *s = Some((client, id));
                }
                ClientEvent::Opened(client, peer_text(peer))
            }
            ServerEvent::Ready(id) => ClientEvent::Ready(self.client(id)),
            ServerEvent::Closed { id, reason } => {
                let client = self.client(id);
                if let Some(s) = self.ids.borrow_mut().get_mut(id.slot()) {
                    if s.is_some_and(|(_, c)| c == id) {
                        *s = None;
                    }
                }
                ClientEvent::Closed(client, reason_text(reason))
            }
        })
    }

    fn send(&self, id: ClientId, bytes: &[u8]) -> Option<usize> {
        self.server.send(self.conn(id)?, bytes).ok()
    }

    fn tx_free(&self, id: ClientId) -> usize {
        self.conn(id).map_or(0, |c| self.server.tx_free(c))
    }

    fn tx_len(&self, id: ClientId) -> usize {
        self.conn(id).map_or(0, |c| self.server.tx_len(c))
    }

    fn recv(&self, id: ClientId, out: &mut [u8]) -> usize {
        self.conn(id)
            .and_then(|c| self.server.recv(c, out).ok())
            .unwrap_or(0)
    }

    fn is_eof(&self, id: ClientId) -> bool {
        self.conn(id).is_none_or(|c| self.server.is_eof(c))
    }

    fn rx_len(&self, id: ClientId) -> usize {
        self.conn(id).map_or(0, |c| self.server.rx_len(c))
    }

    fn close(&self, id: ClientId) {
        if let Some(c) = self.conn(id) {
            let _ = self.server.close(c);
        }
    }

    fn drop_now(&self, id: ClientId) {
        if self.conn(id).is_some() {
            self.server.close_slot(id.slot as usize, CloseReason::Local);
        }
    }

    fn queue_capacity(&self) -> usize {
        self.server.config().tx_capacity
    }

    fn wake_on_event(&self, waker: Option<Waker>) {
        self.server.wake_on_event(waker);
    }
}
