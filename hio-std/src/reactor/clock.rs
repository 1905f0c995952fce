//! [`ReactorClock`]: the Doist's clock, waiting in the reactor's poll.

use hio_core::{Clock, Tyme};

use super::Reactor;

/// Waits shorter than this (nanoseconds) are not slept: the Doist checks
/// the time again at once. A sleep in the poll ends tens of microseconds
/// late on a typical host (more under virtualisation), which would turn
/// the wait for the next tick of a fine grid into several ticks; the
/// Doist's own waits are at most one tock, so this spins at most 50 µs,
/// and only right after a wake.
const SPIN: u64 = 50_000;

/// The real-time [`Clock`] of a [`Reactor`]: `now` is the time since the
/// reactor was made; waiting polls the reactor until the deadline, so
/// socket readiness (which wakes the socket's doer), a wake from another
/// thread, a stop or a signal ends the wait early. With no deadline
/// (every doer parked, no limit) it blocks until one of those: an idle
/// server makes no wake-ups at all.
///
/// Making one tightens the calling thread's timer slack to 1 µs, so that
/// short waits end on time; waits under 50 µs (the next tick of a fine
/// grid, right after a wake) are not slept at all.
#[derive(Debug)]
pub struct ReactorClock<'r> {
    reactor: &'r Reactor,
}

impl<'r> ReactorClock<'r> {
    pub(crate) fn new(reactor: &'r Reactor) -> Self {
        super::timer::tighten_timer_slack();
        ReactorClock { reactor }
    }
}

impl Clock for ReactorClock<'_> {
    /// The time in whole microseconds (cut down): on a grid of whole
    /// microseconds (the [`NET_TOCK`](super::NET_TOCK) grid, from a start
    /// read from this clock), the first tick at or after a wake is the
    /// wake's own microsecond, so the pass runs at once instead of waiting
    /// out the rest of that microsecond.
    fn now(&mut self) -> Tyme {
        let ns = self.reactor.now().as_nanos();
        Tyme::from_nanos(ns - ns % 1000)
    }

    fn wait_until(&mut self, deadline: Tyme) {
        // too close to sleep for (see SPIN): the Doist checks again
        let now = self.now();
        if deadline <= now || (deadline - now).as_nanos() < SPIN {
            return;
        }
        self.reactor.poll_until(deadline);
    }

    fn wait_or_wake(&mut self, deadline: Tyme, woken: &dyn Fn() -> bool) {
        // Raise `sleeping` before the last look at the flags: a wake from
        // another thread either is seen here or finds `sleeping` and
        // writes the eventfd, which ends the poll.
        self.reactor.set_sleeping(true);
        if !woken() {
            if deadline == Tyme::MAX {
                // no deadline: no clock to read
                self.reactor.poll_until(deadline);
                self.reactor.set_sleeping(false);
                return;
            }
            let now = self.now();
            if deadline > now && (deadline - now).as_nanos() >= SPIN {
                self.reactor.poll_until(deadline);
            } else {
                self.reactor.poll_until(now);
            }
        }
        self.reactor.set_sleeping(false);
    }
}
