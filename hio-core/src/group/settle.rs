//! What follows a recur that is not the common case: the doer finished or
//! failed, asked for run-time requests, or a nested request moved this
//! scheduler's slots; and applying the wakes a recur made.

use core::sync::atomic::Ordering;

#[cfg(feature = "requests")]
use super::next_after;
use super::{fail, finish, After, Contain, Deeds, DoerRef, Walk, NONE, REQ};
use crate::cx::Env;
use crate::{Context, Cx, Fault, Step, Tyme};
#[cfg(feature = "requests")]
use crate::{Doer, Requests};

impl<'a, const N: usize, const S: usize, const B: usize> Deeds<'a, N, S, B> {
    /// Everything after a recur but the common case: the doer finished or
    /// failed, asked for requests, or nested requests moved this scheduler's
    /// slots. Returns where the walk goes on, or how the pass ends.
    /// Wakes made during the recur (or its requests) are applied last, at
    /// the pass's tyme.
    #[cold]
    #[inline(never)]
    pub(super) fn settle(
        &self,
        env: &Env<'_>,
        w: Walk,
        d: DoerRef<'a>,
        after: After<'_, '_>,
    ) -> Result<Walk, (Result<(), Fault>, Tyme)> {
        let w = self.settle_doer(env, w, d, after)?;
        if env.shared.woken.load(Ordering::Relaxed) {
            self.drain_at(env, w.i);
        }
        Ok(w)
    }

    /// Applies the wakes made during a recur, the walk of the pass at `i`:
    /// the deeds before it have had their turn in this pass.
    #[cold]
    #[inline(never)]
    pub(super) fn drain_at(&self, env: &Env<'_>, i: usize) {
        self.running.set(i as u16);
        env.shared.root.apply_wakes(env);
        self.running.set(NONE);
    }

    /// [`settle`](Self::settle) but the wakes.
    fn settle_doer(
        &self,
        env: &Env<'_>,
        mut w: Walk,
        d: DoerRef<'a>,
        after: After<'_, '_>,
    ) -> Result<Walk, (Result<(), Fault>, Tyme)> {
        let After { step, cx, .. } = after;
        #[cfg(feature = "requests")]
        let request = cx.requested();
        // (it serves the contexts that end the doer: outside enter and
        // recur)
        cx.index = crate::wake::NONE;
        let shared = env.shared;
        let t = shared.tyme;
        #[cfg_attr(not(feature = "requests"), allow(unused_mut))]
        let mut i = w.i;
        #[cfg(feature = "requests")]
        if self.moves.get() != w.moves {
            w.moves = self.moves.get();
            i = self.running.get() as usize;
            w.end = self.pass_end.get() as usize;
        }
        // (by reference: a fault taken out of the result by value was
        // copied byte by byte on thumbv7m, the Result packs it unaligned)
        if !matches!(step, Ok(Step::Continue)) {
            // it ends, finished or failed: one place for what both do
            if REQ {
                self.running.set(NONE);
            }
            self.unbind_at(i);
            self.leave();
        }
        let kept = match &step {
            Ok(Step::Continue) => {
                // without requests, a recur that goes on never comes here
                #[cfg(feature = "requests")]
                {
                    let next = next_after(self.slots.get(i), d, cx, after.retyme, after.next_pass);
                    w.min_due = w.min_due.min(next);
                    if let Some(r) = self.retymes.get(i) {
                        r.set(next);
                    }
                }
                // (`REQ`, not `true`: without requests this arm is never
                // taken, and the code that puts the doer back is left out)
                REQ
            }
            Ok(Step::Done) => {
                // its slot is a hole now; if requests compact this
                // scheduler, `next` says where the pass goes on
                if REQ {
                    self.next.set(i as u16 + 1);
                }
                finish(cx, d, Context::Clean);
                false
            }
            Err(f) => {
                if let Some(contain) = self.container(t) {
                    // opt-in containment: the child ends aborted, its
                    // siblings go on, the fault goes no further
                    contain(self, d, f, cx);
                    w.i = i + 1;
                    return Ok(w);
                }
                fail(cx, d, f);
                return Err((Err(*f), w.min_due));
            }
        };
        // set by a request to remove the requester itself
        #[cfg_attr(not(feature = "requests"), allow(unused_mut))]
        let mut remove_me = false;
        #[cfg(feature = "requests")]
        if request {
            let me: &dyn Doer = &*d;
            let mut rq = Requests {
                env,
                me: me.name(),
                me_group: me.as_group(),
                remove_me: false,
            };
            me.request(&mut rq);
            remove_me = rq.remove_me;
            if self.moves.get() != w.moves {
                w.moves = self.moves.get();
                w.end = self.pass_end.get() as usize;
                if !kept {
                    self.running.set(NONE);
                    w.i = self.next.get() as usize;
                    return Ok(w);
                }
                i = self.running.get() as usize;
            }
        }
        self.running.set(NONE);
        if kept {
            if remove_me {
                self.unbind_at(i);
                self.leave();
                finish(cx, d, Context::Cease);
            } else if let Some(c) = self.doers.get(i) {
                c.set(Some(d));
            }
        }
        w.i = i + 1;
        Ok(w)
    }

    /// How a child's fault at `t` is contained, if it is: containment is
    /// on and, with a restart policy, the child may be restarted.
    fn container(&self, t: Tyme) -> Option<Contain<'a, N, S, B>> {
        #[cfg(feature = "requests")]
        if self.restart.get().is_some() {
            return self
                .may_restart(t)
                .then_some(Self::contain_fault as Contain<'a, N, S, B>);
        }
        let _ = t;
        self.contain.get()
    }

    /// Contains the fault `f` of the child `d`, which has left its slot
    /// (`cx`, its context, serves its last ones): `d` ends aborted (abort,
    /// exit), the fault is counted and kept.
    pub(super) fn contain_fault(&self, d: DoerRef<'a>, f: &Fault, cx: &mut Cx<'_>) {
        let shared = cx.env.shared;
        shared.note_fault(d, f);
        self.keep_fault(*f, shared, d);
        finish(cx, d, Context::Abort);
        self.contained.set(self.contained.get().wrapping_add(1));
        // with a restart policy, it is entered again later
        #[cfg(feature = "requests")]
        self.hold(d, shared.tyme);
        // a fault from deeper down was blamed on its way here: it ends
        // nothing, so it is the origin of nothing
        shared.set_blamed(false);
    }
}
