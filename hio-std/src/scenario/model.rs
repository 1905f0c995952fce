//! The data model of a scenario: what [`parse`](super::parse) produces.
//!
//! Every time is an exact count of nanoseconds (`u64`); there is no floating
//! point anywhere. A value of these types that came out of `parse` has passed
//! every check of SEMANTICS.md ("Malformed"): names are unique, every name an
//! action uses exists and has the right kind.
//!
//! A tock may be *never* (`"never"` in the JSON): that is [`TOCK_NEVER`],
//! `u64::MAX` nanoseconds, the same value as hio-core's `Tock::NEVER`.

/// The tock "never" (`"tock": "never"`), in nanoseconds: `u64::MAX`, later
/// than any tyme. A doer whose tock is never is *parked* after each recur
/// that keeps it going, until it is woken (SEMANTICS.md, "Waiting for
/// events: park, wake, lazy DoDoers").
///
/// It is a tock only: [`Scenario::tock`], [`Scenario::limit`],
/// [`Scenario::start`] and [`Wake::at`] are never this. A numeric tock of
/// 18446744073.709551615 s is the same value and counts as never.
pub const TOCK_NEVER: u64 = u64::MAX;

/// A whole scenario: the Doist's parameters and the tree of doers it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The scenario's name (`"name"`).
    pub name: String,
    /// The Doist's tock in nanoseconds (`"tock"`); always greater than 0.
    pub tock: u64,
    /// The run's limit in nanoseconds (`"limit"`); `None` when the key is
    /// absent, `null` or 0, which all mean "no limit".
    pub limit: Option<u64>,
    /// The start tyme in nanoseconds (`"start"`, default 0).
    pub start: u64,
    /// The top-level doers, in canonical order (`"doers"`).
    pub doers: Vec<DoerSpec>,
    /// Doers that are not entered at the start but can be added at run time
    /// by an [`ActionKind::Extend`] (`"spares"`, default empty).
    pub spares: Vec<DoerSpec>,
    /// Wakes from outside the tree (`"wakes"`, default empty), in the order
    /// written. They take effect in order of [`Wake::at`], and in this order
    /// among equal `at`: a runner sorts them stably.
    pub wakes: Vec<Wake>,
}

/// A wake from outside the tree: the doer is woken before the first pass
/// whose tyme is at or after `at` (`{"doer": NAME, "at": SECONDS}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wake {
    /// The doer woken: the name of a doer or spare of the scenario. Waking a
    /// doer that is not running does nothing.
    pub doer: String,
    /// When, in nanoseconds.
    pub at: u64,
}

/// One doer of a scenario: a leaf, or a DoDoer with children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoerSpec {
    /// The doer's name, unique in the whole scenario; it labels the trace.
    pub name: String,
    /// How often the doer wants to run, in nanoseconds (`"tock"`, default
    /// 0: every time its parent runs), or [`TOCK_NEVER`] (`"never"`): parked
    /// after each recur until woken.
    pub tock: u64,
    /// `Some` (possibly empty) makes this a DoDoer running these children in
    /// canonical order; `None` makes it a leaf.
    pub children: Option<Vec<DoerSpec>>,
    /// DoDoer only: it never finishes by itself, only when stopped.
    pub always: bool,
    /// DoDoer only: it runs only when one of its children is due; its
    /// retyme follows its children's instead of its own tock (`"lazy"`).
    pub lazy: bool,
    /// Leaf only: its recur number `stop` (counted from 1) reports finished.
    pub stop: Option<u32>,
    /// Leaf only: its recur number `fail_at` (counted from 1) fails. If it
    /// equals `stop`, that recur fails.
    pub fail_at: Option<u32>,
    /// Its enter fails (enter, abort, exit).
    pub fail_in_enter: bool,
    /// Leaf only: it finishes in enter (enter, clean, exit).
    pub done_in_enter: bool,
    /// Actions taken during given recurs, in the order written.
    pub on: Vec<Action>,
}

impl DoerSpec {
    /// Whether this doer is a DoDoer (it has a, possibly empty, list of
    /// children).
    pub fn is_dodoer(&self) -> bool {
        self.children.is_some()
    }
}

/// Something a doer does during one of its recurs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The recur during which the action is taken, counted from 1.
    pub recur: u32,
    /// What is done.
    pub kind: ActionKind,
}

/// What an [`Action`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// The doer's tock becomes this many nanoseconds, or [`TOCK_NEVER`]
    /// (`"tock"`).
    Tock(u64),
    /// Wake these doers (`"wake"`), in the order given, right after the
    /// recur returns, in order with the recur's `extend` and `remove`
    /// requests.
    Wake {
        /// Names of doers or spares of the scenario.
        names: Vec<String>,
    },
    /// Add these spares to a DoDoer (`"extend"`, `"into"`).
    Extend {
        /// Names of top-level spares, each named by no other `extend`.
        names: Vec<String>,
        /// The DoDoer they are added to.
        into: Where,
    },
    /// Stop and remove these doers from a DoDoer (`"remove"`, `"from"`).
    Remove {
        /// Names of doers or spares of the scenario.
        names: Vec<String>,
        /// The DoDoer they are removed from.
        from: Where,
    },
}

/// The DoDoer (or the Doist) an action adds doers to or removes doers from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// The scheduler that runs the acting doer: its DoDoer, or the Doist
    /// for a top-level doer (`"parent"`, the default).
    Parent,
    /// The Doist (`"root"`).
    Root,
    /// The DoDoer with this name, anywhere in `doers` or `spares`. The words
    /// `"parent"` and `"root"` always mean [`Where::Parent`] and
    /// [`Where::Root`], never a doer with that name.
    Named(String),
}
