//! Run-time changes to the tree (feature `requests`): a recur asks with
//! [`Cx::request`](crate::Cx::request), and the scheduler hands the doer
//! [`Requests`] right after it, through
//! [`Doer::request`](crate::Doer::request).

use core::fmt;

use crate::cx::Env;
use crate::group::Group;
use crate::{Fault, Tyme};

/// Which scheduler a run-time request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'n> {
    /// The scheduler running the requester.
    Parent,
    /// The Doist's own top level.
    Root,
    /// The running DoDoer of this name, anywhere in the tree.
    Named(&'n str),
}

/// Why a run-time request was refused. Nothing else changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RequestError {
    /// The named scheduler is not running (never entered, or already ended).
    NotRunning,
    /// The target has no spare doer of that name to add.
    NoSuchSpare,
    /// The target is at its capacity, fixed when it was built.
    Full,
    /// A doer may not remove one of its own ancestors.
    Ancestor,
    /// The added doer's enter failed; it ended aborted.
    EnterFailed(Fault),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NotRunning => {
                f.write_str("the target scheduler is not running; name a running DoDoer, `parent` or `root`")
            }
            RequestError::NoSuchSpare => f.write_str(
                "the target holds no spare of that name; give it the doer with `spare()` before the run",
            ),
            RequestError::Full => f.write_str(
                "the target scheduler is full; build it with a larger capacity",
            ),
            RequestError::Ancestor => f.write_str("a doer may not remove one of its own ancestors"),
            RequestError::EnterFailed(fault) => write!(f, "the added doer failed to enter: {fault}"),
        }
    }
}

impl core::error::Error for RequestError {}

/// Run-time changes to the tree, handed to
/// [`Doer::request`](crate::Doer::request). Each call is carried out at once,
/// in order, and its result comes straight back.
pub struct Requests<'r> {
    pub(crate) env: &'r Env<'r>,
    pub(crate) me: &'r str,
    /// The requester's own scheduler, if it is a DoDoer.
    pub(crate) me_group: Option<&'r dyn Group>,
    pub(crate) remove_me: bool,
}

impl Requests<'_> {
    /// The current tyme.
    pub fn tyme(&self) -> Tyme {
        self.env.shared.tyme
    }

    /// Adds the spares `names` (in this order) to `into`: each is entered at
    /// once, at the current tyme, and appended to the target's order; it
    /// first recurs in the next pass. Every name is tried; the first error
    /// is returned.
    pub fn extend(&mut self, into: Target<'_>, names: &[&str]) -> Result<(), RequestError> {
        let env = self.env;
        self.with_target(into, &mut |g| {
            let mut first = Ok(());
            for name in names {
                let r = g.extend_one(env.shared, name);
                if first.is_ok() {
                    first = r;
                }
            }
            first
        })
    }

    /// Stops the doers `names` that are running in `from` (cease, exit; in
    /// reverse order of the target's order) and drops them. Names not
    /// running there are ignored. Removing the requester itself stops it
    /// right after this call; removing one of its ancestors is refused.
    pub fn remove(&mut self, from: Target<'_>, names: &[&str]) -> Result<(), RequestError> {
        let mut e = Some(self.env);
        while let Some(env) = e {
            if env.up.is_some() && names.contains(&env.group.group_name()) {
                return Err(RequestError::Ancestor);
            }
            e = env.up;
        }
        let env = self.env;
        let me = self.me;
        let mut remove_me = false;
        let r = self.with_target(from, &mut |g| {
            if core::ptr::addr_eq(g, env.group) && names.contains(&me) {
                remove_me = true;
            }
            g.remove_names(env.shared, names);
            Ok(())
        });
        self.remove_me |= remove_me;
        r
    }

    fn with_target(
        &self,
        target: Target<'_>,
        f: &mut dyn FnMut(&dyn Group) -> Result<(), RequestError>,
    ) -> Result<(), RequestError> {
        let group = match target {
            Target::Parent => self.env.group,
            Target::Root => self.env.shared.root,
            Target::Named(name) => {
                // The requester and its ancestors are out of their parents'
                // slots while they run: look at the requester and below
                // it, then at each level up the chain and what that level
                // holds.
                let mut result = Err(RequestError::NotRunning);
                if let Some(g) = self.me_group {
                    if g.group_name() == name && g.is_running() {
                        return f(g);
                    }
                    if g.find(name, &mut |g| result = f(g)) {
                        return result;
                    }
                }
                let mut e = Some(self.env);
                while let Some(env) = e {
                    if env.up.is_some() && env.group.group_name() == name {
                        return f(env.group);
                    }
                    if env.group.find(name, &mut |g| result = f(g)) {
                        return result;
                    }
                    e = env.up;
                }
                return result;
            }
        };
        if !group.is_running() {
            return Err(RequestError::NotRunning);
        }
        f(group)
    }
}

impl fmt::Debug for Requests<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requests").field("me", &self.me).finish()
    }
}
