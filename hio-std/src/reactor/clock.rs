//! [`ReactorClock`]: the Doist's clock, waiting in the reactor's poll.

use hio_core::{Clock, Tyme};

use super::Reactor;

/// The real-time [`Clock`] of a [`Reactor`]: `now` is the time since the
/// reactor was made; waiting polls the reactor until the deadline, so
/// socket readiness (which wakes the socket's doer), a wake from another
/// thread, a stop or a signal ends the wait early. With no deadline
/// (every doer parked, no limit) it blocks until one of those: an idle
/// server makes no wake-ups at all.
///
/// Making one tightens the calling thread's timer slack to 1 µs, so that
/// short waits (the next tick of the grid) end on time.
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
    fn now(&mut self) -> Tyme {
        self.reactor.now()
    }

    fn wait_until(&mut self, deadline: Tyme) {
        // within a microsecond: not worth a sleep (the Doist checks again)
        let now = self.reactor.now();
        if deadline <= now || (deadline - now).as_nanos() < 1_000 {
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
            let now = self.reactor.now();
            if deadline > now && (deadline - now).as_nanos() >= 1_000 {
                self.reactor.poll_until(deadline);
            } else {
                self.reactor.poll_until(now);
            }
        }
        self.reactor.set_sleeping(false);
    }
}
