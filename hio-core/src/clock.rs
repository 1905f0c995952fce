//! [`Clock`]: the one thing that differs between targets, and
//! [`SimClock`], simulated time.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::{Pender, Tyme, Waker};

/// A monotonic clock a real-time [`Doist`](crate::Doist) paces itself by.
///
/// Implementations: [`SimClock`] here (no waiting at all), a monotonic
/// `Instant` clock waiting inside the reactor in `hio-std`, a SysTick clock
/// waiting with WFI in `hio-embedded`.
pub trait Clock {
    /// The time now, in nanoseconds since the clock's own origin. MUST never
    /// go backwards.
    fn now(&mut self) -> Tyme;

    /// Waits until `deadline` (a value of [`now`](Clock::now)'s scale). MAY
    /// return earlier (an interrupt, I/O readiness, a signal); the Doist
    /// checks the time again and waits more if it must. MUST NOT busy-wait
    /// if the target can sleep.
    fn wait_until(&mut self, deadline: Tyme);

    /// Waits until `deadline` or until `woken()` is true, whichever comes
    /// first: a [`Waker`] was used or a [`StopFlag`] set, from an interrupt
    /// handler, another thread or a signal handler.
    ///
    /// A clock MUST NOT sleep through a wake that came before it went to
    /// sleep: a microcontroller checks `woken()` with interrupts masked and
    /// then waits for an interrupt (`WFI` wakes on a pending interrupt even
    /// while they are masked); a host clock relies on its
    /// [`Pender`], whose pend is sticky. The default checks `woken()`, then
    /// calls [`wait_until`](Clock::wait_until): right for clocks whose wait
    /// every wake interrupts through a pender.
    fn wait_or_wake(&mut self, deadline: Tyme, woken: &dyn Fn() -> bool) {
        if !woken() {
            self.wait_until(deadline);
        }
    }
}

/// Simulated time: waiting jumps straight to the deadline, so a run takes no
/// wall time and its trace is deterministic.
///
/// It counts its wake-ups, which shows that an idle Doist does not wake:
///
/// ```
/// use hio_core::{Clock, SimClock, Tyme};
/// let mut c = SimClock::new();
/// c.wait_until(Tyme::from_secs(10));
/// assert_eq!((c.now(), c.wakes()), (Tyme::from_secs(10), 1));
/// ```
///
/// For tests of parked doers it can also wake them at given tymes
/// ([`with_wakes`](SimClock::with_wakes)): a planned wake happens when
/// simulated time reaches its tyme, so it is applied before the first pass
/// whose tyme is at or after it.
#[derive(Clone, Default)]
pub struct SimClock<'w> {
    now: Tyme,
    wakes: u64,
    plan: &'w [(Tyme, Waker)],
    next: usize,
}

impl SimClock<'static> {
    /// A clock at zero.
    pub const fn new() -> Self {
        SimClock {
            now: Tyme::ZERO,
            wakes: 0,
            plan: &[],
            next: 0,
        }
    }
}

impl<'w> SimClock<'w> {
    /// A clock at zero that uses each waker of `plan` when simulated time
    /// reaches its tyme, in order (sort the plan by tyme; among equal
    /// tymes, in the plan's order).
    pub const fn with_wakes(plan: &'w [(Tyme, Waker)]) -> Self {
        SimClock {
            now: Tyme::ZERO,
            wakes: 0,
            plan,
            next: 0,
        }
    }

    /// How many times it was asked to wait.
    pub const fn wakes(&self) -> u64 {
        self.wakes
    }

    /// Uses the planned wakers whose tyme has come.
    fn fire(&mut self) {
        while let Some((at, w)) = self.plan.get(self.next) {
            if *at > self.now {
                break;
            }
            w.wake();
            self.next += 1;
        }
    }
}

impl Clock for SimClock<'_> {
    fn now(&mut self) -> Tyme {
        self.fire();
        self.now
    }

    fn wait_until(&mut self, deadline: Tyme) {
        self.wakes += 1;
        // time runs on to the deadline, or to the next planned wake
        let until = match self.plan.get(self.next) {
            Some((at, _)) if *at < deadline => *at,
            _ => deadline,
        };
        if until > self.now {
            self.now = until;
        }
        self.fire();
    }
}

impl fmt::Debug for SimClock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimClock")
            .field("now", &self.now)
            .field("wakes", &self.wakes)
            .field("planned", &self.plan.len().saturating_sub(self.next))
            .finish()
    }
}

/// Stops a running Doist from outside (a signal handler, an interrupt,
/// another thread): the run ends `stopped`, every doer ceased.
///
/// Stopping is a wake too: the Doist checks the flag before and after each
/// wait, and a flag made [`with_pender`](StopFlag::with_pender) ends the
/// clock's wait at once, even when the next due doer is an hour away. (On a
/// microcontroller, the interrupt that sets it ends the wait.)
///
/// ```
/// use hio_core::StopFlag;
/// static STOP: StopFlag = StopFlag::new();
/// STOP.stop();
/// assert!(STOP.is_stopped());
/// ```
#[derive(Default)]
pub struct StopFlag {
    flag: AtomicBool,
    pender: Option<&'static dyn Pender>,
}

impl StopFlag {
    /// Not stopped.
    pub const fn new() -> Self {
        StopFlag {
            flag: AtomicBool::new(false),
            pender: None,
        }
    }

    /// Not stopped; [`stop`](StopFlag::stop) also calls `pender`, so that
    /// the clock's wait ends at once.
    pub const fn with_pender(pender: &'static dyn Pender) -> Self {
        StopFlag {
            flag: AtomicBool::new(false),
            pender: Some(pender),
        }
    }

    /// Asks the Doist to stop at its next check.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(p) = self.pender {
            p.pend();
        }
    }

    /// Whether [`stop`](StopFlag::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Clears the flag for another run.
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }
}

impl fmt::Debug for StopFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopFlag")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}
