//! [`Hub`]: the bridge's application doer, between the device's Decks and
//! the TCP clients.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;

use hio_core::{Cx, Doer, Fault, FaultKind, Pull, Push, Step, Tock, Tyme, Waker};
use hio_embedded::{Frame, Framer};

use super::clients::{ClientEvent, ClientId, Clients};
use super::wirelog::{Direction, WireLog};
use crate::reactor::Reactor;
use crate::tty::{Cutter, TtyStatus};

/// Bytes taken from one client per pass at most, so one fast client cannot
/// starve the others.
const CLIENT_BUDGET: usize = 64 * 1024;

/// Counters of a bridge. Every fault a client or the device can cause is
/// counted here; none stops the bridge.
#[derive(Debug, Default)]
pub struct BridgeStats {
    /// Clients connected now.
    pub clients: Cell<usize>,
    /// Clients accepted so far.
    pub accepted: Cell<u64>,
    /// Clients dropped because their queue overflowed (too slow).
    pub slow_dropped: Cell<u64>,
    /// Frames from the device (each sent to every client).
    pub from_device: Cell<u64>,
    /// Frames from clients handed to the device.
    pub to_device: Cell<u64>,
    /// Frames from clients that were malformed or too long (dropped).
    pub bad_frames: Cell<u64>,
    /// Frames from clients dropped because the device was away.
    pub device_away: Cell<u64>,
    /// Times a client was held back because the device took frames slower
    /// than they came (its bytes wait in TCP: nothing is lost).
    pub held_back: Cell<u64>,
}

fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get().wrapping_add(n));
}

impl fmt::Display for BridgeStats {
    /// One line of counters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "clients {} accepted {} from-device {} to-device {} slow-dropped {} bad-frames {} device-away {} held-back {}",
            self.clients.get(),
            self.accepted.get(),
            self.from_device.get(),
            self.to_device.get(),
            self.slow_dropped.get(),
            self.bad_frames.get(),
            self.device_away.get(),
            self.held_back.get(),
        )
    }
}

/// One connected client.
struct Client<F> {
    id: ClientId,
    label: String,
    cut: Cutter<F>,
    inbuf: Vec<u8>,
    pos: usize,
    end: usize,
}

/// Moves frames between the device's Decks and every connected client of
/// a [`Clients`] side (a [`Server`](crate::net::Server) live, a recording
/// in a replay): a frame from the device goes to every client (each with a
/// bounded queue: the server's send buffer; a client whose queue
/// overflows is dropped with a log line, and the others and the device go
/// on); a frame from any client goes to the device, in the order the
/// frames came, with backpressure (a client's bytes wait in TCP while the
/// device's Deck is full). Parked until the server has an event, the
/// device a frame, or the device's Deck room.
pub struct Hub<'a, C, F, const M: usize> {
    clients_side: &'a C,
    reactor: &'a Reactor,
    waker: Waker,
    from_dev: &'a dyn Pull<Frame<M>>,
    to_dev: &'a dyn Push<Frame<M>>,
    status: &'a TtyStatus,
    stats: &'a BridgeStats,
    framer: F,
    clients: Vec<Option<Client<F>>>,
    /// Clients with bytes to take: woken, or held back.
    pending: VecDeque<ClientId>,
    out: Vec<u8>,
    /// The frames of a pass for the clients, encoded.
    batch: Vec<u8>,
    wire: Option<&'a RefCell<WireLog>>,
    /// The device was away at the last look (for the log lines).
    away: bool,
    tock: Tock,
    /// Lines are cut a chunk at a time ([`cut_lines`](Hub::cut_lines)).
    lines: bool,
}

impl<'a, C: Clients, F: Framer + Clone, const M: usize> Hub<'a, C, F, M> {
    /// A hub between `server`'s clients and the device's Decks
    /// (`from_dev`: frames from the device; `to_dev`: frames to it), each
    /// frame cut and encoded with `framer`.
    ///
    /// Wire the Decks to its [`waker`](Hub::waker):
    /// `from_dev.wake_on_push` and `to_dev.wake_on_pull`.
    ///
    /// # Errors
    ///
    /// [`hio_core::WakeError`] if the reactor's board has no room.
    pub fn new(
        clients: &'a C,
        reactor: &'a Reactor,
        from_dev: &'a dyn Pull<Frame<M>>,
        to_dev: &'a dyn Push<Frame<M>>,
        framer: F,
        status: &'a TtyStatus,
        stats: &'a BridgeStats,
    ) -> Result<Self, hio_core::WakeError> {
        let waker = reactor.waker()?;
        Ok(Hub {
            clients_side: clients,
            reactor,
            waker,
            from_dev,
            to_dev,
            status,
            stats,
            framer,
            clients: Vec::new(),
            pending: VecDeque::new(),
            out: vec![0; M + M / 254 + 16],
            batch: Vec::new(),
            wire: None,
            away: false,
            tock: Tock::NEVER,
            lines: false,
        })
    }

    /// Its framer is [`Lines`](hio_embedded::Lines) of at most `M` bytes:
    /// the clients' lines are cut a chunk at a time (the same lines,
    /// without feeding the framer byte by byte).
    pub(crate) fn cut_lines(mut self) -> Self {
        self.lines = true;
        self
    }

    /// Records every frame in `wire`.
    pub fn with_wirelog(mut self, wire: &'a RefCell<WireLog>) -> Self {
        self.wire = Some(wire);
        self
    }

    /// Its waker, for the Decks.
    pub fn waker(&self) -> Waker {
        self.waker
    }

    fn client(&mut self, id: ClientId) -> Option<&mut Client<F>> {
        self.clients
            .get_mut(id.slot as usize)
            .and_then(|c| c.as_mut())
            .filter(|c| c.id == id)
    }

    fn events(&mut self, t: Tyme) {
        while let Some(ev) = self.clients_side.next_event() {
            match ev {
                ClientEvent::Opened(id, peer) => {
                    let slot = id.slot as usize;
                    if self.clients.len() <= slot {
                        self.clients.resize_with(slot + 1, || None);
                    }
                    let label = format!("{id} ({peer})");
                    if let Some(slot) = self.clients.get_mut(slot) {
                        *slot = Some(Client {
                            id,
                            label: label.clone(),
                            cut: if self.lines {
                                Cutter::lines(self.framer.clone(), M)
                            } else {
                                Cutter::new(self.framer.clone())
                            },
                            inbuf: vec![0; 4096],
                            pos: 0,
                            end: 0,
                        });
                    }
                    self.stats.clients.set(self.stats.clients.get() + 1);
                    add(&self.stats.accepted, 1);
                    log::info!(
                        "bridge: client {label} connected ({} now)",
                        self.stats.clients.get()
                    );
                    if let Some(w) = self.wire {
                        w.borrow_mut()
                            .event(t, "open", Some(&id.to_string()), Some(&peer));
                    }
                    self.pending.push_back(id);
                }
                ClientEvent::Ready(id) => {
                    if !self.pending.contains(&id) {
                        self.pending.push_back(id);
                    }
                }
                ClientEvent::Closed(id, reason) => {
                    let gone = self
                        .clients
                        .get_mut(id.slot as usize)
                        .and_then(|c| c.take_if(|c| c.id == id));
                    if let Some(c) = gone {
                        self.stats
                            .clients
                            .set(self.stats.clients.get().saturating_sub(1));
                        log::info!("bridge: client {} left: {reason}", c.label);
                        if let Some(w) = self.wire {
                            w.borrow_mut()
                                .event(t, "close", Some(&id.to_string()), Some(&reason));
                        }
                    }
                    self.pending.retain(|p| *p != id);
                }
            }
        }
    }

    /// Sends the frames from the device to every client: all the frames
    /// waiting, encoded one after the other, in one send per client.
    fn fan_out(&mut self, t: Tyme) {
        self.batch.clear();
        while let Some(frame) = self.from_dev.pull() {
            let n = match self.framer.encode(&frame, &mut self.out) {
                Ok(n) => n,
                Err(e) => {
                    log::warn!("bridge: a frame from the device cannot be encoded: {e}");
                    continue;
                }
            };
            add(&self.stats.from_device, 1);
            if let Some(w) = self.wire {
                w.borrow_mut().frame(t, Direction::FromDevice, None, &frame);
            }
            self.batch
                .extend_from_slice(self.out.get(..n).unwrap_or(&[]));
        }
        if self.batch.is_empty() {
            return;
        }
        let n = self.batch.len();
        let mut slow = Vec::new();
        for c in self.clients.iter().flatten() {
            // a client with frames still queued must have room for all of
            // these; an empty queue goes straight to the socket first
            if self.clients_side.tx_len(c.id) > 0 && self.clients_side.tx_free(c.id) < n {
                slow.push(c.id);
                continue;
            }
            match self.clients_side.send(c.id, &self.batch) {
                Some(k) if k == n => {}
                Some(_) => slow.push(c.id),
                None => {} // closing: its Closed event comes
            }
        }
        for id in slow {
            self.drop_slow(id);
        }
    }

    fn drop_slow(&mut self, id: ClientId) {
        let queue = self.clients_side.queue_capacity();
        let label = self
            .client(id)
            .map(|c| c.label.clone())
            .unwrap_or_else(|| id.to_string());
        add(&self.stats.slow_dropped, 1);
        log::warn!(
            "bridge: client {label} is too slow: its queue of {queue} bytes overflowed; dropped (raise --client-queue if it must keep up with bursts)"
        );
        self.clients_side.drop_now(id);
    }

    /// Takes what client `id` sent, frame by frame, to the device; `true`
    /// when it stopped with bytes left (the device's Deck is full, or the
    /// client used its budget).
    fn take_from(&mut self, id: ClientId, t: Tyme) -> bool {
        let server = self.clients_side;
        let (to_dev, stats, status, wire) = (self.to_dev, self.stats, self.status, self.wire);
        let Some(c) = self.client(id) else {
            return false;
        };
        let mut budget = CLIENT_BUDGET;
        // only this loop pushes while it runs: the Deck fills only here
        let mut full = to_dev.is_full();
        loop {
            while c.pos < c.end {
                if full && status.up.get() {
                    add(&stats.held_back, 1);
                    return true;
                }
                let chunk = c.inbuf.get(c.pos..c.end).unwrap_or(&[]);
                let (id, label) = (c.id, &c.label);
                let n = c.cut.next(chunk, |r| {
                    let payload = match r {
                        Ok(p) if p.len() <= M => p,
                        Ok(_) | Err(_) => {
                            add(&stats.bad_frames, 1);
                            log::warn!("bridge: client {label}: a bad frame dropped");
                            return;
                        }
                    };
                    if let Some(w) = wire {
                        let who = id.to_string();
                        w.borrow_mut()
                            .frame(t, Direction::ToDevice, Some(&who), payload);
                    }
                    if !status.up.get() {
                        add(&stats.device_away, 1);
                        return;
                    }
                    let mut frame: Frame<M> = Frame::new();
                    let _ = frame.extend_from_slice(payload);
                    if to_dev.push(frame).is_ok() {
                        add(&stats.to_device, 1);
                    }
                });
                c.pos += n.max(1);
                full = to_dev.is_full();
            }
            if budget == 0 {
                return true;
            }
            let want = c.inbuf.len().min(budget);
            let n = match c.inbuf.get_mut(..want) {
                Some(buf) => server.recv(id, buf),
                None => 0,
            };
            if n == 0 {
                if server.is_eof(id) && server.rx_len(id) == 0 {
                    server.close(id);
                }
                return false;
            }
            budget -= n;
            c.pos = 0;
            c.end = n;
        }
    }

    fn note_device(&mut self, t: Tyme) {
        let away = !self.status.up.get();
        if away != self.away {
            self.away = away;
            if let Some(w) = self.wire {
                let detail = self.status.error.get().map(|e| e.to_string());
                let event = if away { "device-lost" } else { "device-back" };
                w.borrow_mut().event(t, event, None, detail.as_deref());
            }
            if away {
                log::warn!("bridge: the device is away: frames from clients are dropped (counted) until it is back; clients stay connected");
            }
        }
    }
}

impl<C: Clients, F: Framer + Clone, const M: usize> Doer for Hub<'_, C, F, M> {
    fn name(&self) -> &str {
        "hub"
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "hub: no waker"))?;
        self.clients_side.wake_on_event(Some(self.waker));
        self.status.wake_on_change(Some(self.waker));
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes from one recur to the next
        cx.retock();
        let t = cx.tyme();
        self.note_device(t);
        self.events(t);
        self.fan_out(t);
        let mut again = VecDeque::new();
        let mut held = false;
        while let Some(id) = self.pending.pop_front() {
            if self.take_from(id, t) {
                held |= self.status.up.get() && self.to_dev.is_full();
                again.push_back(id);
            }
        }
        self.pending = again;
        // fan out anything a client's frames made the device answer at once
        self.events(t);
        self.fan_out(t);
        if let Some(w) = self.wire {
            w.borrow_mut().flush();
        }
        // held back by a full Deck: woken when the device pulls; a used
        // budget: again next pass
        self.tock = if self.pending.is_empty() || held {
            Tock::NEVER
        } else {
            Tock::ZERO
        };
        Ok(Step::Continue)
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.clients_side.wake_on_event(None);
        self.status.wake_on_change(None);
        if let Some(w) = self.wire {
            w.borrow_mut().flush();
        }
        self.reactor.release(self.waker);
    }
}

impl<C, F, const M: usize> fmt::Debug for Hub<'_, C, F, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("clients", &self.clients.iter().flatten().count())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}
