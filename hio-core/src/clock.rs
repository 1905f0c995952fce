//! [`Clock`]: the one thing that differs between targets, and
//! [`SimClock`], simulated time.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::Tyme;

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
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    now: Tyme,
    wakes: u64,
}

impl SimClock {
    /// A clock at zero.
    pub const fn new() -> Self {
        SimClock {
            now: Tyme::ZERO,
            wakes: 0,
        }
    }

    /// How many times it was asked to wait.
    pub const fn wakes(&self) -> u64 {
        self.wakes
    }
}

impl Clock for SimClock {
    fn now(&mut self) -> Tyme {
        self.now
    }

    fn wait_until(&mut self, deadline: Tyme) {
        self.wakes += 1;
        if deadline > self.now {
            self.now = deadline;
        }
    }
}

/// Stops a running Doist from outside (a signal handler, an interrupt,
/// another thread): the run ends `stopped`, every doer ceased.
///
/// ```
/// use hio_core::StopFlag;
/// static STOP: StopFlag = StopFlag::new();
/// STOP.stop();
/// assert!(STOP.is_stopped());
/// ```
#[derive(Debug, Default)]
pub struct StopFlag(AtomicBool);

impl StopFlag {
    /// Not stopped.
    pub const fn new() -> Self {
        StopFlag(AtomicBool::new(false))
    }

    /// Asks the Doist to stop at its next check.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`stop`](StopFlag::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Clears the flag for another run.
    pub fn reset(&self) {
        self.0.store(false, Ordering::Release);
    }
}
