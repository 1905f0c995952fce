//! [`Tymer`]: a timer on tyme.

use crate::{Tock, Tyme};

/// A timer measured on a Doist's tyme: started at some tyme, it expires a
/// [`Tock`] later.
///
/// Time comes in as an argument (the `tyme` a doer sees in its context), so a
/// `Tymer` works the same in simulated and in real time, on every target.
///
/// ```
/// use hio_core::{Tock, Tyme, Tymer};
/// let mut t = Tymer::new(Tyme::ZERO, Tock::from_millis(250));
/// assert!(!t.expired(Tyme::from_nanos(200_000_000)));
/// assert_eq!(t.remaining(Tyme::from_nanos(200_000_000)), Tock::from_millis(50));
/// assert!(t.expired(Tyme::from_nanos(300_000_000)));
/// t.restart(); // the next period starts where this one ended: no drift
/// assert_eq!(t.start(), Tyme::from_nanos(250_000_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tymer {
    start: Tyme,
    duration: Tock,
}

impl Tymer {
    /// A timer of `duration` started at `start`.
    pub const fn new(start: Tyme, duration: Tock) -> Self {
        Tymer { start, duration }
    }

    /// The tyme it was (re)started at.
    pub const fn start(&self) -> Tyme {
        self.start
    }

    /// How long it runs.
    pub const fn duration(&self) -> Tock {
        self.duration
    }

    /// The tyme at which it expires.
    pub fn deadline(&self) -> Tyme {
        self.start + self.duration
    }

    /// Tyme gone since the start (zero before the start).
    pub fn elapsed(&self, now: Tyme) -> Tock {
        now.since(self.start)
    }

    /// Tyme left until the deadline (zero once expired).
    pub fn remaining(&self, now: Tyme) -> Tock {
        self.deadline().since(now)
    }

    /// Whether `now` is at or past the deadline.
    pub fn expired(&self, now: Tyme) -> bool {
        now >= self.deadline()
    }

    /// Starts the next period where this one ends (`start += duration`), so
    /// a periodic timer keeps its cadence without drift however late it is
    /// checked.
    pub fn restart(&mut self) {
        self.start = self.deadline();
    }

    /// Starts again from `now`, optionally with a new duration.
    pub fn start_at(&mut self, now: Tyme, duration: Option<Tock>) {
        self.start = now;
        if let Some(d) = duration {
            self.duration = d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_keeps_cadence() {
        let mut t = Tymer::new(Tyme::from_secs(1), Tock::from_millis(100));
        assert_eq!(t.elapsed(Tyme::ZERO), Tock::ZERO);
        // checked late, at 1.35 s: three periods have passed
        let now = Tyme::from_nanos(1_350_000_000);
        let mut n = 0;
        while t.expired(now) {
            t.restart();
            n += 1;
        }
        assert_eq!(n, 3);
        assert_eq!(t.deadline(), Tyme::from_nanos(1_400_000_000));
        t.start_at(now, Some(Tock::from_secs(2)));
        assert_eq!(t.remaining(now), Tock::from_secs(2));
        assert!(!t.expired(now));
    }
}
