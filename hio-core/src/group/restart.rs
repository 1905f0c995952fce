//! Supervision (feature `requests`): a containing DoDoer that re-enters a
//! failed child after a delay, a bounded number of times within a window,
//! then gives up and passes the fault up (as Erlang/OTP supervisors do).

use core::cell::Cell;

use super::{Deeds, DoerRef};
use crate::cx::{Env, Shared};
use crate::{Fault, Restart, Tyme};

impl<'a, const N: usize, const S: usize, const B: usize> Deeds<'a, N, S, B> {
    /// Sets the restart policy (and containment with it).
    pub(crate) fn set_restart(&self, restart: Restart) {
        self.contain(true);
        self.restart.set(Some(restart));
    }

    /// Whether a child that failed at `t` may be restarted: a policy, room
    /// to keep it until then, and restarts left in the window.
    pub(super) fn may_restart(&self, t: Tyme) -> bool {
        let Some(r) = self.restart.get() else {
            return false;
        };
        if t.since(self.window_start.get()) >= r.window {
            self.window_start.set(t);
            self.restarts.set(0);
        }
        let room = self.spares.iter().any(|c| {
            let v = c.take();
            let free = v.is_none();
            c.set(v);
            free
        });
        room && self.restarts.get() < r.max
    }

    /// Keeps the failed child `d` (it has run abort and exit) to be entered
    /// again at `t + delay`. [`may_restart`](Self::may_restart) said yes.
    pub(super) fn hold(&self, d: DoerRef<'a>, t: Tyme) {
        let Some(r) = self.restart.get() else { return };
        let due = t + r.delay;
        for (cell, at) in self.spares.iter().zip(&self.spare_due) {
            let v = cell.take();
            if v.is_none() {
                cell.set(Some(d));
                at.set(due);
                self.restarts.set(self.restarts.get() + 1);
                self.next_restart.set(self.next_restart.get().min(due));
                return;
            }
            cell.set(v);
        }
    }

    /// Enters again, at `t`, every held child whose delay is over; each is
    /// appended like a doer added at run time (it recurs from the next
    /// pass). A failed enter is one more fault: held again if the policy
    /// allows, else it ends the DoDoer.
    pub(super) fn reenter_due(&self, env: &Env<'_>, t: Tyme) -> Result<(), Fault> {
        let mut next = Tyme::MAX;
        for (cell, at) in self.spares.iter().zip(&self.spare_due) {
            let due = at.get();
            if due > t {
                next = next.min(due);
                continue;
            }
            let Some(d) = cell.take() else {
                at.set(Tyme::MAX);
                continue;
            };
            at.set(Tyme::MAX);
            if let Err(f) = self.enter_again(env.shared, d, t) {
                self.next_restart.set(next.min(self.next_restart.get()));
                return Err(f);
            }
            next = next.min(self.next_due_restart());
        }
        self.next_restart.set(next.min(self.next_due_restart()));
        Ok(())
    }

    /// The earliest tyme a held child is due again.
    fn next_due_restart(&self) -> Tyme {
        self.spare_due
            .iter()
            .map(Cell::get)
            .fold(Tyme::MAX, Tyme::min)
    }

    fn enter_again(&self, shared: &Shared<'_>, d: DoerRef<'a>, t: Tyme) -> Result<(), Fault> {
        let blamed = shared.blamed();
        match self.enter_appended(shared, d) {
            Ok(()) => {
                shared.set_blamed(blamed);
                Ok(())
            }
            Err((f, d)) => {
                // it ran enter, abort, exit: a fault like any other
                self.contained.set(self.contained.get().wrapping_add(1));
                self.keep_fault(f, shared, d);
                if self.may_restart(t) {
                    shared.set_blamed(blamed);
                    self.hold(d, t);
                    Ok(())
                } else {
                    Err(f)
                }
            }
        }
    }
}
