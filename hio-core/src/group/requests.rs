//! Run-time requests carried out on a scheduler (feature `requests`):
//! finding a named DoDoer, adding a spare, removing doers.

use super::{enter_keep, finish, Deeds, DoerRef, Group, State};
use crate::cx::{Env, Shared};
use crate::{Context, Cx, Fault, RequestError};

impl<'a, const N: usize, const S: usize, const B: usize> Deeds<'a, N, S, B> {
    /// Calls `f` with the running DoDoer named `name` in this subtree.
    pub(super) fn find_named(&self, name: &str, f: &mut dyn FnMut(&dyn Group)) -> bool {
        let len = self.len.get() as usize;
        for cell in self.doers.get(..len).unwrap_or(&[]) {
            let Some(d) = cell.take() else { continue };
            let mut found = false;
            if let Some(g) = d.as_group() {
                if g.group_name() == name && g.is_running() {
                    f(g);
                    found = true;
                } else {
                    found = g.find(name, f);
                }
            }
            cell.set(Some(d));
            if found {
                return true;
            }
        }
        false
    }

    /// Enters the spare `name` and appends it. A lazy or parked owner (and
    /// its lazy or parked ancestors) is brought forward to now, as for a
    /// wake.
    pub(super) fn extend_named(&self, shared: &Shared<'_>, name: &str) -> Result<(), RequestError> {
        if self.state.get() != State::Running {
            return Err(RequestError::NotRunning);
        }
        let mut found = None;
        for cell in &self.spares {
            if let Some(d) = cell.take() {
                if found.is_none() && d.name() == name {
                    found = Some((cell, d));
                } else {
                    cell.set(Some(d));
                }
            }
        }
        let Some((cell, d)) = found else {
            return Err(RequestError::NoSuchSpare);
        };
        if self.live.get() as usize >= Self::cap() {
            cell.set(Some(d));
            return Err(RequestError::Full);
        }
        // an added doer's fault does not end the run: it may not take the
        // origin's place
        let blamed = shared.blamed();
        shared.set_blamed(true);
        let entered = self.enter_appended(shared, d);
        shared.set_blamed(blamed);
        self.poke_owner();
        entered.map_err(|(f, _)| RequestError::EnterFailed(f))
    }

    /// Enters `d` (a doer added at run time, or a child restarted) at the
    /// current tyme and appends it; a doer that finishes in enter leaves no
    /// deed. A failed enter hands the doer back (it has run abort, exit).
    pub(super) fn enter_appended(
        &self,
        shared: &Shared<'_>,
        d: DoerRef<'a>,
    ) -> Result<(), (Fault, DoerRef<'a>)> {
        let env = Env {
            shared,
            group: self,
            up: None,
        };
        let n = self.append_index();
        self.place_child(shared.root, n, d);
        match enter_keep(&env, d, n) {
            Ok(Some(d)) => {
                if let Err(d) = self.append(d, shared.tyme) {
                    // not reached: room was checked before the enter; but
                    // an entered doer must exit, whatever happens
                    self.unbind_at(n);
                    finish(&mut Cx::new(&env), d, Context::Cease);
                }
                Ok(())
            }
            Ok(None) => {
                self.unbind_at(n);
                Ok(())
            }
            Err(e) => {
                self.unbind_at(n);
                Err(e)
            }
        }
    }

    /// Stops the present doers among `names`, in reverse canonical order. A
    /// lazy or parked owner is brought forward as by
    /// [`extend_named`](Self::extend_named).
    pub(super) fn remove_named(&self, shared: &Shared<'_>, names: &[&str]) {
        let env = Env {
            shared,
            group: self,
            up: None,
        };
        let len = self.len.get() as usize;
        let mut removed = false;
        for (i, cell) in self
            .doers
            .get(..len)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .rev()
        {
            let Some(d) = cell.take() else { continue };
            if names.contains(&d.name()) {
                self.unbind_at(i);
                let mut cx = Cx::new(&env);
                finish(&mut cx, d, Context::Cease);
                self.leave();
                removed = true;
            } else {
                cell.set(Some(d));
            }
        }
        if removed {
            self.poke_owner();
        }
    }
}
