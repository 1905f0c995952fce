//! A scheduler's doers come and go: entering them all when it is
//! entered, stopping them all when it ends, and the contexts that end one
//! doer (clean, cease or abort, then exit).

use super::{wake, Deeds, DoerRef, State};
use crate::cx::Env;
use crate::{Context, Cx, Doer, Fault, Step, Tyme};

impl<const N: usize, const S: usize, const B: usize> Deeds<'_, N, S, B> {
    /// Enters every added doer in order at the current tyme. On a fault the
    /// failing doer has run enter, abort, exit; the later ones are never
    /// entered; the earlier ones are left running for the caller to stop.
    pub(crate) fn enter_all(&self, env: &Env<'_>) -> Result<(), Fault> {
        let shared = env.shared;
        let t = shared.tyme;
        self.state.set(State::Running);
        self.min_due.set(t);
        if B > 0 {
            // every deed is due now (a scheduler entered again may keep
            // the bounds of its last run)
            self.reset_summary();
        }
        if self.own.get() != wake::NONE {
            self.board.set(shared.board);
        }
        let len = self.len.get() as usize;
        for i in 0..len {
            let Some(cell) = self.doers.get(i) else { break };
            let Some(d) = cell.take() else { continue };
            self.place_child(env.shared.root, i, d);
            match enter_one(env, d, i) {
                Ok(Some(d)) => {
                    cell.set(Some(d));
                    if let Some(r) = self.retymes.get(i) {
                        r.set(t);
                    }
                }
                Ok(None) => {
                    self.unbind_at(i);
                    self.leave();
                }
                Err(f) => {
                    self.unbind_at(i);
                    // never enter the rest
                    for j in i..len {
                        if self.doers.get(j).is_some_and(|c| c.take().is_some()) {
                            self.leave();
                        }
                    }
                    return Err(f);
                }
            }
        }
        Ok(())
    }

    /// Stops every running doer in reverse canonical order (cease, exit)
    /// and ends the scheduler.
    pub(crate) fn stop_all(&self, env: &Env<'_>) {
        // doers of a scheduler that was never entered were never entered
        // either: they are dropped without a context
        let entered = self.state.get() == State::Running;
        let len = self.len.get() as usize;
        for i in (0..len).rev() {
            let Some(cell) = self.doers.get(i) else {
                continue;
            };
            self.unbind_at(i);
            if let Some(d) = cell.take().filter(|_| entered) {
                let mut cx = Cx::new(env);
                env.shared.note(d, Context::Cease);
                d.cease(&mut cx);
                env.shared.note(d, Context::Exit);
                d.exit(&mut cx);
            }
        }
        self.len.set(0);
        self.live.set(0);
        self.min_due.set(Tyme::MAX);
        self.state.set(State::Ended);
    }
}

/// Runs a doer's last two contexts: `first` (clean, cease or abort) and exit.
pub(super) fn finish(cx: &mut Cx<'_>, d: &mut dyn Doer, first: Context) {
    let shared = cx.env.shared;
    shared.note(d, first);
    match first {
        Context::Clean => d.clean(cx),
        Context::Cease => d.cease(cx),
        _ => d.abort(cx),
    }
    shared.note(d, Context::Exit);
    d.exit(cx);
}

/// The doer `d` failed with `f`, a fault that goes up: it is blamed for
/// it, and ends aborted (abort, exit).
#[inline(never)]
pub(super) fn fail(cx: &mut Cx<'_>, d: &mut dyn Doer, f: &Fault) {
    let shared = cx.env.shared;
    shared.blame(d);
    shared.note_fault(d, f);
    finish(cx, d, Context::Abort);
}

/// Enters one doer: `Ok(Some)` to keep it, `Ok(None)` if it finished in
/// enter (clean, exit done), `Err` if it failed (abort, exit done).
pub(super) fn enter_one<'a>(
    env: &Env<'_>,
    d: DoerRef<'a>,
    i: usize,
) -> Result<Option<DoerRef<'a>>, Fault> {
    enter_keep(env, d, i).map_err(|(f, _)| f)
}

/// [`enter_one`], handing the doer back with a fault.
#[allow(clippy::type_complexity)]
pub(super) fn enter_keep<'a>(
    env: &Env<'_>,
    d: DoerRef<'a>,
    i: usize,
) -> Result<Option<DoerRef<'a>>, (Fault, DoerRef<'a>)> {
    let mut cx = Cx::at(env, i);
    env.shared.note(d, Context::Enter);
    match d.enter(&mut cx) {
        Ok(Step::Continue) => Ok(Some(d)),
        Ok(Step::Done) => {
            finish(&mut cx, d, Context::Clean);
            Ok(None)
        }
        Err(f) => {
            fail(&mut cx, d, &f);
            Err((f, d))
        }
    }
}
