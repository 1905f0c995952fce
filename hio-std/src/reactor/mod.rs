//! [`Reactor`]: the Doist's real-time clock on `mio`. It sleeps in one
//! `epoll` until the earliest due retyme or until a registered socket is
//! ready, and readiness wakes the parked doer that owns the socket.
//!
//! ```no_run
//! use hio_core::{Doist, End};
//! use hio_std::reactor::{Reactor, NET_TOCK};
//!
//! let reactor = Reactor::new()?;
//! reactor.stop_on_signals()?; // Ctrl-C and SIGTERM end the run `stopped`
//! let mut doist: Doist<'_, 4> = Doist::new(NET_TOCK).expect("a positive tock");
//! doist.wakes(reactor.board());
//! // ... add socket doers built on `&reactor` ...
//! let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
//! assert_eq!(report.end, End::Done); // nothing was added
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! How it fits together:
//!
//! - Every socket doer takes a [`Waker`] from the reactor's board
//!   ([`Reactor::waker`]), attaches it in `enter`, and registers its socket
//!   with it ([`Reactor::register`]): the reactor keeps a table from mio
//!   `Token` to `Waker` and wakes on readiness. The doer parks
//!   ([`Tock::NEVER`](hio_core::Tock::NEVER)) while it waits.
//! - [`ReactorClock`] is the Doist's [`Clock`](hio_core::Clock): `wait_or_wake` polls until
//!   the deadline (a timerfd gives it microsecond precision; with no
//!   deadline the poll blocks until readiness, a wake or a signal).
//! - The board's [`Pender`](hio_core::Pender) writes to an eventfd in the
//!   same poll, so a wake from another thread (or a [`StopFlag`] set
//!   there) ends the poll at once.
//! - [`Reactor::stop_on_signals`] registers SIGINT and SIGTERM in the same
//!   poll (signal-hook-mio); either sets the stop flag, and the run ends
//!   `stopped`, every doer ceased and exited.

mod clock;
mod parts;
mod timer;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use hio_core::{StopFlag, Tock, Tyme, WakeError, Waker};
use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

pub use clock::ReactorClock;
use parts::Parts;
pub use parts::{Board, BOARD_SLOTS};
use timer::TimerFd;

/// The Doist tock for networked trees: the grid of passes. A wake runs the
/// next pass at the first tick of the grid not earlier than the wake, so
/// this is the most a ready socket waits for its doer (1 µs: on a 20 µs
/// grid a one-connection round trip took 60 µs where it takes 15 µs on
/// this one); timers count in passes of this length. An idle tree still
/// sleeps: passes with nothing due are not run.
///
/// Tyme advances one tock per pass (SEMANTICS.md): under a load where a pass
/// takes longer than the tock, tyme falls behind the wall clock and timers
/// (idle timeouts, backoffs) stretch by that factor until the load eases.
pub const NET_TOCK: Tock = Tock::from_micros(1);

const WAKE: Token = Token(usize::MAX - 1);
const SIGNALS: Token = Token(usize::MAX - 2);
const TIMER: Token = Token(usize::MAX - 3);

/// Counters of a reactor, for tests and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReactorStats {
    /// Polls that slept (or could have: a timeout other than zero).
    pub sleeps: u64,
    /// Readiness events handed to doers.
    pub ready: u64,
    /// Writes of the pender (wakes from outside while it slept).
    pub pends: u64,
    /// Sources registered now.
    pub registered: usize,
}

/// What the poll reported for a source since its doer last looked
/// ([`Reactor::take_readiness`]): the edges of an edge-triggered poll,
/// gathered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness(u8);

impl Readiness {
    const READABLE: u8 = 1;
    const WRITABLE: u8 = 2;
    const READ_CLOSED: u8 = 4;
    const ERROR: u8 = 8;

    /// Nothing reported.
    pub const NONE: Readiness = Readiness(0);

    /// Everything in `self` or in `other`.
    pub const fn with(self, other: Readiness) -> Readiness {
        Readiness(self.0 | other.0)
    }

    fn of(event: &mio::event::Event) -> Readiness {
        let mut bits = 0;
        if event.is_readable() {
            bits |= Self::READABLE;
        }
        if event.is_writable() {
            bits |= Self::WRITABLE;
        }
        if event.is_read_closed() {
            bits |= Self::READ_CLOSED;
        }
        if event.is_error() {
            bits |= Self::ERROR;
        }
        Readiness(bits)
    }

    /// Bytes (or the end of data, or an error) may be there to read.
    pub const fn is_readable(self) -> bool {
        self.0 & (Self::READABLE | Self::READ_CLOSED | Self::ERROR) != 0
    }

    /// There may be room to write.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE != 0
    }

    /// The peer ended its data (or the connection failed): a short read
    /// no longer means that all there is was read, the end comes after it.
    pub const fn is_read_closed(self) -> bool {
        self.0 & (Self::READ_CLOSED | Self::ERROR) != 0
    }
}

/// A queue of a [`Reactor`]'s: the sources registered into it
/// ([`Reactor::register_queued`]) are queued there, in the order the poll
/// reported them, when they become ready ([`Reactor::take_queued`]). One
/// doer can serve many sources in the order they became ready, without one
/// waker and one doer per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyQueue(usize);

/// One registered source in the token table.
#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    waker: Option<Waker>,
    /// Readiness reported since its doer last looked.
    ready: u8,
    /// The queue it is queued in when ready, and its tag there.
    queue: Option<(usize, u32)>,
    /// It is in its queue now.
    queued: bool,
    /// Counts the registrations of this token: a queued token of an
    /// earlier registration is passed over.
    gen: u32,
}

/// The token table: which waker each registered source wakes, and the
/// readiness reported for it since its doer last looked.
#[derive(Debug, Default)]
struct Tokens {
    entries: Vec<Entry>,
    free: Vec<usize>,
    used: usize,
    /// The ready queues: (token, generation) in the order they were ready.
    queues: Vec<Vec<(usize, u32)>>,
}

impl Tokens {
    fn insert(&mut self, waker: Waker, queue: Option<(usize, u32)>) -> Token {
        self.used += 1;
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(Entry::default());
                self.entries.len() - 1
            }
        };
        if let Some(e) = self.entries.get_mut(i) {
            e.waker = Some(waker);
            e.ready = 0;
            e.queue = queue;
            e.queued = false;
            e.gen = e.gen.wrapping_add(1);
        }
        Token(i)
    }

    fn remove(&mut self, token: Token) {
        if let Some(e) = self.entries.get_mut(token.0) {
            if e.waker.take().is_some() {
                self.used -= 1;
                self.free.push(token.0);
            }
            e.ready = 0;
            e.queue = None;
            e.queued = false;
        }
    }

    /// The waker of `token`, with `readiness` recorded for it (and the
    /// token queued, if it belongs to a queue).
    fn mark(&mut self, token: Token, readiness: Readiness) -> Option<Waker> {
        let e = self.entries.get_mut(token.0)?;
        let waker = e.waker?;
        e.ready |= readiness.0;
        if let Some((q, _)) = e.queue {
            if !e.queued {
                e.queued = true;
                if let Some(queue) = self.queues.get_mut(q) {
                    queue.push((token.0, e.gen));
                }
            }
        }
        Some(waker)
    }

    fn take(&mut self, token: Token) -> Readiness {
        Readiness(
            self.entries
                .get_mut(token.0)
                .map_or(0, |e| std::mem::take(&mut e.ready)),
        )
    }

    fn take_queued(&mut self, queue: usize, out: &mut Vec<(u32, Readiness)>) {
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        let mut taken = std::mem::take(q);
        for &(i, gen) in &taken {
            let Some(e) = self.entries.get_mut(i) else {
                continue;
            };
            if e.gen != gen || !e.queued {
                continue; // of a source since removed
            }
            e.queued = false;
            if let Some((_, tag)) = e.queue {
                out.push((tag, Readiness(std::mem::take(&mut e.ready))));
            }
        }
        taken.clear();
        // keep the allocation for the next round
        if let Some(q) = self.queues.get_mut(queue) {
            if q.is_empty() {
                *q = taken;
            }
        }
    }
}

/// The hosted reactor: one `mio::Poll`, the token → [`Waker`] table, a wake
/// board and a stop flag for the Doist, and the real-time clock that waits
/// in the poll ([`clock`](Reactor::clock)).
///
/// Everything takes `&self`: doers keep a `&Reactor` to register their
/// sockets while the Doist runs with the reactor's clock. One reactor
/// serves one Doist on one thread.
pub struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    tokens: RefCell<Tokens>,
    timer: RefCell<TimerFd>,
    signals: RefCell<Option<signal_hook_mio::v1_0::Signals>>,
    parts: &'static Parts,
    origin: Instant,
    sleeps: Cell<u64>,
    ready: Cell<u64>,
}

impl Reactor {
    /// A reactor with a fresh poll, and a board and stop flag of its own
    /// (taken from a process-wide pool, or made and kept for the process:
    /// a Doist's board must be `'static`).
    ///
    /// # Errors
    ///
    /// The system refused an epoll, eventfd or timerfd (out of file
    /// descriptors, most likely).
    pub fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let parts = Parts::take()?;
        let timer = TimerFd::new()?;
        let registry = poll.registry();
        let wake_fd = parts.pender.raw_fd();
        let set_up = registry
            .register(&mut SourceFd(&wake_fd), WAKE, Interest::READABLE)
            .and_then(|()| {
                registry.register(&mut SourceFd(&timer.raw_fd()), TIMER, Interest::READABLE)
            });
        if let Err(e) = set_up {
            Parts::give_back(parts);
            return Err(e);
        }
        Ok(Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(1024)),
            tokens: RefCell::new(Tokens::default()),
            timer: RefCell::new(timer),
            signals: RefCell::new(None),
            parts,
            origin: Instant::now(),
            sleeps: Cell::new(0),
            ready: Cell::new(0),
        })
    }

    /// The board to give the Doist ([`Doist::wakes`](hio_core::Doist::wakes)).
    pub fn board(&self) -> &'static Board {
        &self.parts.board
    }

    /// The stop flag to give the Doist's run: setting it (from any thread)
    /// ends the poll at once and the run `stopped`.
    pub fn stop_flag(&self) -> &'static StopFlag {
        &self.parts.stop
    }

    /// A new waker of this reactor's board, for a doer to attach.
    ///
    /// # Errors
    ///
    /// [`WakeError::Full`] when all [`BOARD_SLOTS`] slots are taken.
    pub fn waker(&self) -> Result<Waker, WakeError> {
        self.board().waker()
    }

    /// Gives a waker's slot back (its doer no longer needs it).
    pub fn release(&self, waker: Waker) {
        self.board().release(waker);
    }

    /// The Doist's clock on this reactor.
    pub fn clock(&self) -> ReactorClock<'_> {
        ReactorClock::new(self)
    }

    /// The time since the reactor was made, on the clock's scale.
    pub fn now(&self) -> Tyme {
        let d = self.origin.elapsed();
        Tyme::from_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Registers `source` for `interest`: its readiness wakes `waker`.
    /// Edge-triggered: after a wake, do the I/O until it would block.
    ///
    /// # Errors
    ///
    /// The poll refused the source (already registered, or closed).
    pub fn register<S: Source + ?Sized>(
        &self,
        source: &mut S,
        interest: Interest,
        waker: Waker,
    ) -> io::Result<Token> {
        self.register_as(source, interest, waker, None)
    }

    /// A new [`ReadyQueue`] of this reactor.
    pub fn ready_queue(&self) -> ReadyQueue {
        let mut tokens = self.tokens.borrow_mut();
        tokens.queues.push(Vec::new());
        ReadyQueue(tokens.queues.len() - 1)
    }

    /// Registers `source` as [`register`](Reactor::register) does, and
    /// queues it in `queue` with `tag` whenever the poll reports it ready
    /// (once until taken, with everything reported meanwhile).
    ///
    /// # Errors
    ///
    /// The poll refused the source (already registered, or closed).
    pub fn register_queued<S: Source + ?Sized>(
        &self,
        source: &mut S,
        interest: Interest,
        waker: Waker,
        queue: ReadyQueue,
        tag: u32,
    ) -> io::Result<Token> {
        self.register_as(source, interest, waker, Some((queue.0, tag)))
    }

    /// Appends to `out` the tags and readiness of the sources queued in
    /// `queue`, in the order they became ready, and empties it.
    pub fn take_queued(&self, queue: ReadyQueue, out: &mut Vec<(u32, Readiness)>) {
        self.tokens.borrow_mut().take_queued(queue.0, out);
    }

    fn register_as<S: Source + ?Sized>(
        &self,
        source: &mut S,
        interest: Interest,
        waker: Waker,
        queue: Option<(usize, u32)>,
    ) -> io::Result<Token> {
        let token = self.tokens.borrow_mut().insert(waker, queue);
        let poll = self.poll.borrow();
        match poll.registry().register(source, token, interest) {
            Ok(()) => Ok(token),
            Err(e) => {
                self.tokens.borrow_mut().remove(token);
                Err(e)
            }
        }
    }

    /// The readiness the poll reported for `token` since the last call
    /// (nothing for a token not registered). A doer woken by other means
    /// than its socket finds nothing here, and need not try the socket.
    pub fn take_readiness(&self, token: Token) -> Readiness {
        self.tokens.borrow_mut().take(token)
    }

    /// Removes `source` (registered with `token`) from the poll; its token
    /// wakes nothing more. Errors of the poll are ignored: the source is
    /// about to be closed anyway.
    pub fn deregister<S: Source + ?Sized>(&self, source: &mut S, token: Token) {
        let poll = self.poll.borrow();
        let _ = poll.registry().deregister(source);
        self.tokens.borrow_mut().remove(token);
    }

    /// SIGINT (Ctrl-C) and SIGTERM set the [stop flag](Reactor::stop_flag)
    /// from now on: the run ends `stopped`, every doer ceased and exited.
    /// The signals are handled in the reactor's poll (no work in a signal
    /// handler beyond a byte written to a pipe).
    ///
    /// # Errors
    ///
    /// The handlers could not be installed or registered.
    pub fn stop_on_signals(&self) -> io::Result<()> {
        let mut signals = signal_hook_mio::v1_0::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])?;
        self.poll
            .borrow()
            .registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        *self.signals.borrow_mut() = Some(signals);
        Ok(())
    }

    /// Its counters.
    pub fn stats(&self) -> ReactorStats {
        ReactorStats {
            sleeps: self.sleeps.get(),
            ready: self.ready.get(),
            pends: self
                .parts
                .pender
                .pends
                .load(std::sync::atomic::Ordering::SeqCst),
            registered: self.tokens.borrow().used,
        }
    }

    /// Polls once, waiting until `deadline` (`Tyme::MAX`: no deadline) on
    /// the clock's scale, and wakes the doers whose sources are ready.
    pub(crate) fn poll_until(&self, deadline: Tyme) {
        let now = if deadline == Tyme::MAX {
            Tyme::ZERO // not needed: no clock read
        } else {
            self.now()
        };
        let timeout = if deadline == Tyme::MAX {
            self.timer.borrow_mut().disarm();
            None
        } else if deadline <= now {
            Some(Duration::ZERO)
        } else {
            let wait = Duration::from_nanos((deadline - now).as_nanos());
            self.timer.borrow_mut().arm(deadline, wait);
            // the timerfd ends the wait; the poll's own timeout is a net
            Some(wait + Duration::from_millis(1))
        };
        if timeout != Some(Duration::ZERO) {
            self.sleeps.set(self.sleeps.get() + 1);
        }
        let mut events = self.events.borrow_mut();
        let polled = self.poll.borrow_mut().poll(&mut events, timeout);
        // awake again: the wakes below (and any from now on) need no pend
        self.set_sleeping(false);
        if let Err(e) = polled {
            if e.kind() != io::ErrorKind::Interrupted {
                log::error!("reactor: poll failed: {e}");
                // never spin on a broken poll
                std::thread::sleep(Duration::from_millis(1));
            }
            return;
        }
        for event in events.iter() {
            match event.token() {
                WAKE => self.parts.pender.drain(),
                TIMER => self.timer.borrow_mut().fired(),
                SIGNALS => self.take_signals(),
                token => {
                    let waker = self.tokens.borrow_mut().mark(token, Readiness::of(event));
                    if let Some(w) = waker {
                        self.ready.set(self.ready.get() + 1);
                        w.wake();
                    }
                }
            }
        }
    }

    fn take_signals(&self) {
        let mut signals = self.signals.borrow_mut();
        let Some(signals) = signals.as_mut() else {
            return;
        };
        for signal in signals.pending() {
            log::info!("reactor: signal {signal}: stopping");
            self.parts.stop.stop();
        }
    }

    pub(crate) fn set_sleeping(&self, sleeping: bool) {
        self.parts
            .pender
            .sleeping
            .store(sleeping, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        if let Some(mut s) = self.signals.borrow_mut().take() {
            let _ = self.poll.borrow().registry().deregister(&mut s);
        }
        let wake_fd = self.parts.pender.raw_fd();
        let _ = self
            .poll
            .borrow()
            .registry()
            .deregister(&mut SourceFd(&wake_fd));
        Parts::give_back(self.parts);
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hio_core::WakeBoard;
    use proptest::prelude::*;

    static BOARD: WakeBoard<8> = WakeBoard::new();

    #[derive(Debug, Clone)]
    enum Op {
        /// Register a source, queued in queue `q` (one of 2) or in none.
        Insert(Option<usize>),
        /// Deregister the `k`-th registration made.
        Remove(usize),
        /// The poll reports readiness bits `r` for the `k`-th registration.
        Mark(usize, u8),
        /// Its doer takes its readiness.
        Take(usize),
        /// A queue's doer takes what is queued.
        TakeQueued(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => prop::option::of(0usize..2).prop_map(Op::Insert),
            1 => (0usize..64).prop_map(Op::Remove),
            4 => (0usize..64, 1u8..16).prop_map(|(k, r)| Op::Mark(k, r)),
            1 => (0usize..64).prop_map(Op::Take),
            2 => (0usize..2).prop_map(Op::TakeQueued),
        ]
    }

    /// One registration as the model sees it.
    #[derive(Debug, Clone)]
    struct Reg {
        token: Token,
        queue: Option<usize>,
        tag: u32,
        live: bool,
        ready: u8,
    }

    proptest! {
        /// The token table against a model: a mark reaches the waker of a
        /// live registration only; readiness gathers until taken (by its
        /// doer or through its queue); a queue hands on each live source
        /// that became ready since it was last taken, once, in the order it
        /// first became ready, with all it gathered; sources removed since
        /// (their token perhaps taken again by another) are passed over.
        #[test]
        fn ready_queues_hand_on_each_ready_source_once_in_order(
            ops in prop::collection::vec(op(), 1..200),
        ) {
            BOARD.reset();
            let waker = BOARD.waker().unwrap();
            let mut tokens = Tokens::default();
            tokens.queues.push(Vec::new());
            tokens.queues.push(Vec::new());
            let mut regs: Vec<Reg> = Vec::new();
            // per queue: registrations (indices into regs) in order of
            // first readiness since last taken
            let mut queued: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
            for op in ops {
                match op {
                    Op::Insert(q) => {
                        let tag = regs.len() as u32;
                        let token = tokens.insert(waker, q.map(|q| (q, tag)));
                        regs.push(Reg { token, queue: q, tag, live: true, ready: 0 });
                    }
                    Op::Remove(k) if !regs.is_empty() => {
                        let k = k % regs.len();
                        if regs[k].live {
                            regs[k].live = false;
                            tokens.remove(regs[k].token);
                            for q in &mut queued {
                                q.retain(|&j| j != k);
                            }
                        }
                    }
                    Op::Mark(k, r) if !regs.is_empty() => {
                        let k = k % regs.len();
                        let got = tokens.mark(regs[k].token, Readiness(r));
                        // the live registration holding its token: itself,
                        // or, once it is removed, one that took it again
                        let holder = regs.iter().position(|g| g.live && g.token == regs[k].token);
                        prop_assert_eq!(
                            got.is_some(),
                            holder.is_some(),
                            "a mark reaches the waker of a live registration, and only then"
                        );
                        if let Some(j) = holder {
                            regs[j].ready |= r;
                            if let Some(q) = regs[j].queue {
                                if !queued[q].contains(&j) {
                                    queued[q].push(j);
                                }
                            }
                        }
                    }
                    Op::Take(k) if !regs.is_empty() => {
                        let k = k % regs.len();
                        let got = tokens.take(regs[k].token);
                        if let Some(j) = regs.iter().position(|g| g.live && g.token == regs[k].token) {
                            prop_assert_eq!(got, Readiness(regs[j].ready));
                            regs[j].ready = 0;
                        } else {
                            prop_assert_eq!(got, Readiness::NONE);
                        }
                    }
                    Op::TakeQueued(q) => {
                        let mut out = Vec::new();
                        tokens.take_queued(q, &mut out);
                        let want: Vec<(u32, Readiness)> = queued[q]
                            .drain(..)
                            .map(|j| {
                                let r = std::mem::take(&mut regs[j].ready);
                                (regs[j].tag, Readiness(r))
                            })
                            .collect();
                        prop_assert_eq!(out, want);
                    }
                    _ => {}
                }
            }
        }
    }
}
