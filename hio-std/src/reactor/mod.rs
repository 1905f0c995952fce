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

/// The token table: which waker each registered source wakes, and the
/// readiness reported for it since its doer last looked.
#[derive(Debug, Default)]
struct Tokens {
    wakers: Vec<Option<Waker>>,
    ready: Vec<u8>,
    free: Vec<usize>,
    used: usize,
}

impl Tokens {
    fn insert(&mut self, waker: Waker) -> Token {
        self.used += 1;
        match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.wakers.get_mut(i) {
                    *slot = Some(waker);
                }
                if let Some(r) = self.ready.get_mut(i) {
                    *r = 0;
                }
                Token(i)
            }
            None => {
                self.wakers.push(Some(waker));
                self.ready.push(0);
                Token(self.wakers.len() - 1)
            }
        }
    }

    fn remove(&mut self, token: Token) {
        if let Some(slot) = self.wakers.get_mut(token.0) {
            if slot.take().is_some() {
                self.used -= 1;
                self.free.push(token.0);
            }
        }
        if let Some(r) = self.ready.get_mut(token.0) {
            *r = 0;
        }
    }

    /// The waker of `token`, with `readiness` recorded for it.
    fn mark(&mut self, token: Token, readiness: Readiness) -> Option<Waker> {
        let waker = self.wakers.get(token.0).copied().flatten()?;
        if let Some(r) = self.ready.get_mut(token.0) {
            *r |= readiness.0;
        }
        Some(waker)
    }

    fn take(&mut self, token: Token) -> Readiness {
        Readiness(self.ready.get_mut(token.0).map_or(0, std::mem::take))
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
        let token = self.tokens.borrow_mut().insert(waker);
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
        let now = self.now();
        let timeout = if deadline == Tyme::MAX {
            self.timer.borrow_mut().disarm();
            None
        } else if deadline <= now {
            Some(Duration::ZERO)
        } else {
            let wait = Duration::from_nanos((deadline - now).as_nanos());
            self.timer.borrow_mut().arm(wait);
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
