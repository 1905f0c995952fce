//! What a doer sees while it runs: [`Cx`] in every context, [`Requests`] when
//! it changes the tree, and the [`Observer`] hook that sees every event.

use core::cell::Cell;
use core::fmt;

use crate::group::Group;
use crate::{Context, Fault, Tyme};

/// Sees every lifecycle event of a tree: which doer, which context, at what
/// tyme. `hio trace` prints traces through it; firmware can count or log.
///
/// A Doist without an observer pays one predictable branch per event.
pub trait Observer {
    /// One event. Called before the context runs.
    fn event(&self, doer: &str, context: Context, tyme: Tyme);
}

/// A doer name copied out of the tree (for fault reports), truncated to 32
/// bytes at a character boundary.
pub type Name = heapless::String<32>;

pub(crate) fn name_of(s: &str) -> Name {
    let mut end = s.len().min(32);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut n = Name::new();
    let _ = n.push_str(s.get(..end).unwrap_or(""));
    n
}

/// State shared by every scheduler during one pass (or one enter, or one
/// stop) of a Doist. Internal.
#[doc(hidden)]
pub struct Shared<'s> {
    pub(crate) tyme: Tyme,
    pub(crate) observer: Option<&'s dyn Observer>,
    pub(crate) root: &'s dyn Group,
    /// Where the fault that ends this pass arose (first one wins).
    pub(crate) origin: Cell<Option<Name>>,
}

impl fmt::Debug for Shared<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").field("tyme", &self.tyme).finish()
    }
}

impl Shared<'_> {
    #[inline]
    pub(crate) fn note(&self, doer: &dyn crate::Doer, context: Context) {
        if let Some(o) = self.observer {
            o.event(doer.name(), context, self.tyme);
        }
    }

    pub(crate) fn blame(&self, doer: &dyn crate::Doer) {
        let o = self.origin.take();
        self.origin
            .set(Some(o.unwrap_or_else(|| name_of(doer.name()))));
    }
}

/// One level of the tree as the running code sees it: the scheduler (group)
/// at this level and the levels above it.
#[doc(hidden)]
pub struct Env<'e> {
    pub(crate) shared: &'e Shared<'e>,
    pub(crate) group: &'e dyn Group,
    pub(crate) up: Option<&'e Env<'e>>,
}

impl<'e> Env<'e> {
    pub(crate) fn child(&'e self, group: &'e dyn Group) -> Env<'e> {
        Env {
            shared: self.shared,
            group,
            up: Some(self),
        }
    }
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("tyme", &self.shared.tyme)
            .field("group", &self.group.group_name())
            .finish()
    }
}

/// The context handed to a doer in each of its six contexts.
///
/// It tells the tyme (the same for every doer in the tree during one pass)
/// and lets a recur ask for run-time changes ([`Cx::request`]).
pub struct Cx<'c> {
    pub(crate) env: &'c Env<'c>,
    pub(crate) request: bool,
}

impl<'c> Cx<'c> {
    #[inline]
    pub(crate) fn new(env: &'c Env<'c>) -> Self {
        Cx {
            env,
            request: false,
        }
    }

    /// The current tyme.
    #[inline]
    pub fn tyme(&self) -> Tyme {
        self.env.shared.tyme
    }

    /// The name of the scheduler running this doer (`"root"` for the Doist).
    pub fn parent_name(&self) -> &str {
        self.env.group.group_name()
    }

    /// Asks the scheduler to call [`Doer::request`](crate::Doer::request)
    /// right after this recur, to add or remove doers. Ignored outside recur
    /// and after a failed recur.
    pub fn request(&mut self) {
        self.request = true;
    }
}

impl fmt::Debug for Cx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx").field("tyme", &self.tyme()).finish()
    }
}

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
