//! [`StdClock`]: real time on a hosted system.

use std::time::{Duration, Instant};

use hio_core::{Clock, Tyme};

/// A monotonic clock on [`Instant`]: `now` is the time since the clock was
/// made, and waiting sleeps the thread until the deadline (no busy wait).
///
/// ```
/// use hio_core::{Clock, Tyme};
/// use hio_std::StdClock;
/// let mut c = StdClock::new();
/// let t0 = c.now();
/// c.wait_until(t0 + hio_core::Tock::from_millis(2));
/// assert!(c.now() >= t0 + hio_core::Tock::from_millis(2));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StdClock {
    origin: Instant,
    wakes: u64,
}

impl StdClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        StdClock {
            origin: Instant::now(),
            wakes: 0,
        }
    }

    /// How many times it slept.
    pub fn wakes(&self) -> u64 {
        self.wakes
    }
}

impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for StdClock {
    fn now(&mut self) -> Tyme {
        let d = self.origin.elapsed();
        Tyme::from_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    fn wait_until(&mut self, deadline: Tyme) {
        let now = self.now();
        if deadline > now {
            self.wakes += 1;
            std::thread::sleep(Duration::from_nanos((deadline - now).as_nanos()));
        }
    }
}
