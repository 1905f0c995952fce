//! The application-doer pattern for line protocols: [`LineServer`] turns
//! connections into request lines on a Deck and answers with the reply
//! lines of another; [`LineService`] is the logic doer between them, which
//! never touches a socket.
//!
//! ```text
//!  TCP <-> [ServerDoer] <-> [LineServer] --requests Deck--> [LineService]
//!                                 ^                               |
//!                                 +--------replies Deck-----------+
//! ```

use std::collections::VecDeque;
use std::fmt;

use hio_core::{Cx, Deck, Doer, Fault, FaultKind, Step, Tock, Waker};

use super::server::{ConnId, Server, ServerEvent};
use super::NetError;

/// One line of one connection, without its newline: a request on its way
/// to the logic doer, or a reply on its way back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The connection.
    pub id: ConnId,
    /// The line's bytes.
    pub bytes: Vec<u8>,
}

/// Requests a connection may have waiting for replies at once: past it,
/// its further lines wait in its receive buffer (and then in TCP).
pub const IN_FLIGHT: u32 = 16;

#[derive(Debug, Default)]
struct ConnState {
    id: Option<ConnId>,
    in_flight: u32,
    /// Replies that did not fit the send buffer yet.
    outbox: VecDeque<Vec<u8>>,
    /// A request that did not fit the requests Deck yet.
    stalled: Option<Vec<u8>>,
    /// In `todo`.
    queued: bool,
}

/// Reads lines from every connection of a [`Server`] into a requests Deck
/// and writes the lines of a replies Deck back to their connections, each
/// followed by `\n`. Every request MUST get exactly one reply (an empty
/// one is a blank line); a connection whose peer has ended its data is
/// closed once all its requests are answered and sent.
///
/// Bounded everywhere: at most [`IN_FLIGHT`] requests per connection, a
/// line longer than the server's receive buffer is dropped (counted in
/// `overlong`), a reply that does not fit the send buffer waits (and that
/// connection's reading with it) without holding up the others.
///
/// Parked until a server event, a reply, or room in the requests Deck.
pub struct LineServer<'a, const R: usize, const P: usize> {
    server: &'a Server<'a>,
    requests: &'a Deck<Line, R>,
    replies: &'a Deck<Line, P>,
    waker: Waker,
    conns: Vec<ConnState>,
    todo: VecDeque<usize>,
    line: Vec<u8>,
}

impl<'a, const R: usize, const P: usize> LineServer<'a, R, P> {
    /// A line server for `server`, pushing requests into `requests` and
    /// taking replies from `replies`.
    ///
    /// # Errors
    ///
    /// [`NetError::NoWaker`] if the reactor's board is full.
    pub fn new(
        server: &'a Server<'a>,
        requests: &'a Deck<Line, R>,
        replies: &'a Deck<Line, P>,
    ) -> Result<Self, NetError> {
        let waker = server.reactor().waker()?;
        let conns = (0..server.config().max_conns)
            .map(|_| ConnState::default())
            .collect();
        Ok(LineServer {
            server,
            requests,
            replies,
            waker,
            conns,
            todo: VecDeque::new(),
            line: Vec::new(),
        })
    }

    fn queue(&mut self, slot: usize) {
        if let Some(c) = self.conns.get_mut(slot) {
            if !c.queued && c.id.is_some() {
                c.queued = true;
                self.todo.push_back(slot);
            }
        }
    }

    /// Serves one connection as far as it can go now.
    fn serve(&mut self, slot: usize) {
        let server = self.server;
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        c.queued = false;
        let Some(id) = c.id else { return };
        if !server.is_open(id) {
            return;
        }
        // replies first, in order
        while let Some(reply) = c.outbox.front() {
            if server.tx_free(id) < reply.len() + 1 {
                return; // a Ready comes when there is room
            }
            let _ = server.send(id, reply);
            let _ = server.send(id, b"\n");
            c.outbox.pop_front();
        }
        // then requests
        loop {
            if c.in_flight >= IN_FLIGHT {
                return;
            }
            let bytes = match c.stalled.take() {
                Some(b) => b,
                None => match server.recv_line(id, &mut self.line) {
                    Ok(true) => std::mem::take(&mut self.line),
                    Ok(false) => break,
                    Err(NetError::TooLong) => continue,
                    Err(_) => return,
                },
            };
            match self.requests.push(Line { id, bytes }) {
                Ok(()) => c.in_flight += 1,
                Err(line) => {
                    // the Deck is full: it wakes us when pulled from
                    c.stalled = Some(line.bytes);
                    return;
                }
            }
        }
        if c.in_flight == 0 && c.outbox.is_empty() && server.is_eof(id) && server.rx_len(id) == 0 {
            let _ = server.close(id);
        }
    }
}

impl<const R: usize, const P: usize> Doer for LineServer<'_, R, P> {
    fn name(&self) -> &str {
        "line-server"
    }

    fn tock(&self) -> Tock {
        Tock::NEVER
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "line-server: no waker"))?;
        self.server.wake_on_event(Some(self.waker));
        self.replies.wake_on_push(Some(self.waker));
        self.requests.wake_on_pull(Some(self.waker));
        Ok(Step::Continue)
    }

    fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
        while let Some(ev) = self.server.next_event() {
            match ev {
                ServerEvent::Opened { id, .. } => {
                    if let Some(c) = self.conns.get_mut(id.slot()) {
                        *c = ConnState {
                            id: Some(id),
                            ..ConnState::default()
                        };
                    }
                }
                ServerEvent::Ready(id) => self.queue(id.slot()),
                ServerEvent::Closed { id, .. } => {
                    if let Some(c) = self.conns.get_mut(id.slot()) {
                        if c.id == Some(id) {
                            *c = ConnState::default();
                        }
                    }
                }
            }
        }
        while let Some(reply) = self.replies.pull() {
            let slot = reply.id.slot();
            let Some(c) = self.conns.get_mut(slot) else {
                continue;
            };
            if c.id != Some(reply.id) {
                continue; // its connection is gone
            }
            c.in_flight = c.in_flight.saturating_sub(1);
            c.outbox.push_back(reply.bytes);
            self.queue(slot);
        }
        // connections stalled on a full requests Deck
        if !self.requests.is_full() {
            let stalled: Vec<usize> = (0..self.conns.len())
                .filter(|&k| self.conns.get(k).is_some_and(|c| c.stalled.is_some()))
                .collect();
            for k in stalled {
                self.queue(k);
            }
        }
        let mut rounds = self.todo.len();
        while rounds > 0 {
            rounds -= 1;
            let Some(slot) = self.todo.pop_front() else {
                break;
            };
            self.serve(slot);
        }
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.server.wake_on_event(None);
        self.replies.wake_on_push(None);
        self.requests.wake_on_pull(None);
        self.server.reactor().release(self.waker);
    }
}

impl<const R: usize, const P: usize> fmt::Debug for LineServer<'_, R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineServer")
            .field("todo", &self.todo.len())
            .finish_non_exhaustive()
    }
}

/// The logic doer of a line protocol: takes each request [`Line`], answers
/// it with `answer`, and pushes the reply. It knows nothing of sockets, so
/// it runs as well under simulated time in a test.
///
/// ```
/// use hio_std::net::{Line, LineService};
/// use hio_core::Deck;
/// let (requests, replies) = (Deck::<Line, 8>::new(), Deck::<Line, 8>::new());
/// let mut upper = LineService::new(&requests, &replies, |line: &[u8]| line.to_ascii_uppercase());
/// # let _ = &mut upper;
/// ```
pub struct LineService<'a, F, const R: usize, const P: usize> {
    requests: &'a Deck<Line, R>,
    replies: &'a Deck<Line, P>,
    answer: F,
    held: Option<Line>,
    waker: Option<Waker>,
}

impl<'a, F, const R: usize, const P: usize> LineService<'a, F, R, P>
where
    F: FnMut(&[u8]) -> Vec<u8>,
{
    /// A service answering the lines of `requests` into `replies`.
    pub fn new(requests: &'a Deck<Line, R>, replies: &'a Deck<Line, P>, answer: F) -> Self {
        LineService {
            requests,
            replies,
            answer,
            held: None,
            waker: None,
        }
    }

    /// Parks between requests, woken by `waker` (give it a waker of the
    /// Doist's board). Without one it runs every pass.
    pub fn with_waker(mut self, waker: Waker) -> Self {
        self.waker = Some(waker);
        self
    }
}

impl<F, const R: usize, const P: usize> Doer for LineService<'_, F, R, P>
where
    F: FnMut(&[u8]) -> Vec<u8>,
{
    fn name(&self) -> &str {
        "line-service"
    }

    fn tock(&self) -> Tock {
        if self.waker.is_some() {
            Tock::NEVER
        } else {
            Tock::ZERO
        }
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if let Some(w) = self.waker {
            cx.attach(w)
                .map_err(|_| Fault::new(FaultKind::Capacity, "line-service: no waker"))?;
            self.requests.wake_on_push(Some(w));
            self.replies.wake_on_pull(Some(w));
        }
        Ok(Step::Continue)
    }

    fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
        loop {
            let reply = match self.held.take() {
                Some(r) => r,
                None => match self.requests.pull() {
                    Some(req) => Line {
                        id: req.id,
                        bytes: (self.answer)(&req.bytes),
                    },
                    None => break,
                },
            };
            if let Err(r) = self.replies.push(reply) {
                self.held = Some(r);
                break;
            }
        }
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        if self.waker.is_some() {
            self.requests.wake_on_push(None);
            self.replies.wake_on_pull(None);
        }
    }
}

impl<F, const R: usize, const P: usize> fmt::Debug for LineService<'_, F, R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineService")
            .field("held", &self.held.is_some())
            .finish_non_exhaustive()
    }
}
