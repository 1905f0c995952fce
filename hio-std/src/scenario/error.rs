//! Why a scenario is rejected.

use core::fmt;

use super::decimal::TimeError;

/// Why [`parse`](super::parse) rejected a scenario. Nothing has run when this
/// is returned.
///
/// Locations (`at`) are written for people: `the scenario`, `doer "d1"`,
/// `"tock" of doer "d1"`, `on[0] of doer "d1"` (actions count from 0), or
/// `doers[2]` / `doers[0] of doer "P"` for a doer whose name is not known.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioError {
    /// The text is not valid JSON.
    Json {
        /// serde_json's description, with line and column.
        message: String,
    },
    /// One object gives the same key twice.
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A value has the wrong JSON type (including a top level that is not an
    /// object, and `null` anywhere but `"limit"`).
    WrongType {
        /// The value, e.g. `"stop" of doer "d1"`.
        at: String,
        /// What it must be, e.g. `a number`.
        expected: &'static str,
        /// What it is, e.g. `a string`.
        found: &'static str,
    },
    /// An object has a key the schema does not know.
    UnknownKey {
        /// The object.
        at: String,
        /// The unknown key.
        key: String,
        /// The keys that object may have.
        allowed: &'static [&'static str],
    },
    /// A required key is absent.
    MissingKey {
        /// The object.
        at: String,
        /// The missing key.
        key: &'static str,
    },
    /// A time is negative, not a whole number of nanoseconds, or too large.
    BadTime {
        /// The value, e.g. `"tock" of doer "d1"`.
        at: String,
        /// The number as written.
        value: String,
        /// What is wrong with it.
        problem: TimeError,
    },
    /// The top-level tock is 0.
    ZeroTock {
        /// The number as written.
        value: String,
    },
    /// A `stop`, `fail_at` or `recur` is not a whole number from 1 to
    /// `u32::MAX`.
    BadCount {
        /// The value, e.g. `"recur" of on[0] of doer "d1"`.
        at: String,
        /// The number as written.
        value: String,
    },
    /// A DoDoer has a key only a leaf may have (`stop`, `fail_at`, or
    /// `done_in_enter` set to true).
    LeafOnlyKey {
        /// The DoDoer.
        doer: String,
        /// The key.
        key: &'static str,
    },
    /// A leaf has a key only a DoDoer may have (`always` or `lazy` set to
    /// true).
    DoDoerOnlyKey {
        /// The leaf.
        doer: String,
        /// The key.
        key: &'static str,
    },
    /// An action has none of `tock`, `wake`, `extend` and `remove`.
    NoEffect {
        /// The action.
        at: String,
    },
    /// An action has more than one of `tock`, `wake`, `extend` and `remove`.
    ManyEffects {
        /// The action.
        at: String,
    },
    /// An action has `into` without `extend`, or `from` without `remove`.
    MisplacedTarget {
        /// The action.
        at: String,
        /// `into` or `from`.
        key: &'static str,
        /// The key it goes with: `extend` or `remove`.
        needs: &'static str,
    },
    /// Two doers (anywhere in `doers` and `spares`) have the same name.
    DuplicateName {
        /// The name.
        name: String,
    },
    /// An `extend` names something that is not a top-level spare.
    NotASpare {
        /// The action.
        at: String,
        /// The name.
        name: String,
    },
    /// A spare is named by more than one `extend`.
    SpareExtendedTwice {
        /// The spare.
        name: String,
        /// The doer with the first such `extend`.
        first: String,
        /// The doer with the second one.
        second: String,
    },
    /// A `remove`, `into`, `from` or `wake` of an action, or the `doer` of
    /// a wake in `wakes`, names no doer or spare of the scenario.
    UnknownDoer {
        /// The action (`on[0] of doer "a"`) or the wake (`wakes[0]`).
        at: String,
        /// `remove`, `into`, `from`, `wake` or `doer`.
        key: &'static str,
        /// The name.
        name: String,
    },
    /// An `into` or `from` names a leaf.
    NotADoDoer {
        /// The action.
        at: String,
        /// `into` or `from`.
        key: &'static str,
        /// The name.
        name: String,
    },
    /// A tock is a string other than `"never"`.
    BadTockWord {
        /// The value, e.g. `"tock" of doer "d1"`.
        at: String,
        /// The string as written.
        value: String,
    },
    /// A tock is never (a doer's `tock`, or an action's, in `doers` or
    /// `spares`) but the scenario has no limit: a parked doer that is never
    /// woken would keep the run going forever.
    NeverWithoutLimit {
        /// The value, e.g. `"tock" of doer "d1"` or
        /// `"tock" of on[0] of doer "d1"`.
        at: String,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json { message } => write!(f, "the scenario is not valid JSON: {message}"),
            Self::DuplicateKey { key } => {
                write!(
                    f,
                    "the key {key:?} is given twice in one object: keep only one"
                )
            }
            Self::WrongType {
                at,
                expected,
                found,
            } => write!(f, "{at} must be {expected}, not {found}"),
            Self::UnknownKey { at, key, allowed } => write!(
                f,
                "{at} has an unknown key {key:?}: remove it, or use one of {}",
                allowed.join(", ")
            ),
            Self::MissingKey { at, key } => write!(f, "{at} has no {key:?}: add it"),
            Self::BadTime { at, value, problem } => write!(f, "{at}: {value} {problem}"),
            Self::ZeroTock { value } => write!(
                f,
                "\"tock\" of the scenario is {value}: the Doist's tock must be more than 0 seconds"
            ),
            Self::BadCount { at, value } => write!(
                f,
                "{at}: {value} is not a whole number from 1 to {}: recurs are counted from 1",
                u32::MAX
            ),
            Self::LeafOnlyKey { doer, key } => write!(
                f,
                "doer {doer:?} has {key:?}, which only a leaf may have, but it is a DoDoer \
                 (it has \"doers\"): remove {key:?} or \"doers\""
            ),
            Self::DoDoerOnlyKey { doer, key } => write!(
                f,
                "doer {doer:?} has {key:?}, which only a DoDoer may have, but it is a leaf: \
                 remove {key:?} or give the doer \"doers\" (possibly empty)"
            ),
            Self::NoEffect { at } => write!(
                f,
                "{at} does nothing: give it exactly one of \"tock\", \"wake\", \"extend\" or \"remove\""
            ),
            Self::ManyEffects { at } => write!(
                f,
                "{at} has more than one of \"tock\", \"wake\", \"extend\" and \"remove\": \
                 write one action for each, with the same \"recur\""
            ),
            Self::MisplacedTarget { at, key, needs } => write!(
                f,
                "{at} has {key:?} without {needs:?}: \"into\" goes with \"extend\" and \
                 \"from\" with \"remove\", so remove {key:?} or use the other one"
            ),
            Self::DuplicateName { name } => write!(
                f,
                "the name {name:?} is used by more than one doer: \
                 every doer and spare needs its own name"
            ),
            Self::NotASpare { at, name } => write!(
                f,
                "{at} extends with {name:?}, which is not a top-level spare: \
                 only doers listed in \"spares\" can be added, so move it there"
            ),
            Self::SpareExtendedTwice {
                name,
                first,
                second,
            } => {
                write!(f, "spare {name:?} is named by more than one \"extend\" ")?;
                if first == second {
                    write!(f, "(twice by doer {first:?})")?;
                } else {
                    write!(f, "(by doer {first:?} and by doer {second:?})")?;
                }
                write!(
                    f,
                    ": a spare can be added only once, so give each its own spare"
                )
            }
            Self::UnknownDoer { at, key, name } => write!(
                f,
                "{at} names {name:?} in {key:?}, but no doer or spare has that name: \
                 fix the name or add the doer"
            ),
            Self::NotADoDoer { at, key, name } => write!(
                f,
                "{at} names {name:?} in {key:?}, but that doer is a leaf: only a DoDoer \
                 (a doer with \"doers\") can gain or lose doers; name one, \"parent\" or \"root\""
            ),
            Self::BadTockWord { at, value } => write!(
                f,
                "{at} is the string {value:?}: a tock is a number of seconds or the string \"never\""
            ),
            Self::NeverWithoutLimit { at } => write!(
                f,
                "{at} is \"never\", but the scenario has no \"limit\": a parked doer \
                 that is never woken would keep the run going forever, so give the scenario a \
                 \"limit\" of more than 0 seconds"
            ),
        }
    }
}

impl std::error::Error for ScenarioError {}
