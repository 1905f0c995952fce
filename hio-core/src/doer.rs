//! The [`Doer`] trait: a unit of work with hio's six-context lifecycle.

use core::fmt;

use crate::group::Group;
#[cfg(feature = "requests")]
use crate::Requests;
use crate::{Cx, Tock};

/// A unit of work with a lifecycle of six contexts, run by a scheduler (a
/// [`DoDoer`](crate::DoDoer) or the [`Doist`](crate::Doist)).
///
/// The scheduler calls, in one of these sequences only:
///
/// | ends because | sequence |
/// |---|---|
/// | it finished by itself in recur | `enter`, `recur` ×n (n ≥ 1), `clean`, `exit` |
/// | it finished in enter | `enter`, `clean`, `exit` |
/// | it was stopped from outside | `enter`, `recur` ×n (n ≥ 0), `cease`, `exit` |
/// | its own recur failed | `enter`, `recur` ×n (n ≥ 1), `abort`, `exit` |
/// | its own enter failed | `enter`, `abort`, `exit` |
///
/// `exit` runs exactly once for every doer that was entered. A fault is a
/// value ([`Fault`]): a doer never needs to panic.
///
/// Only [`recur`](Doer::recur) must be written; every other method has a
/// default that does nothing.
///
/// ```
/// use hio_core::{Cx, Doer, Fault, Step, Tock};
///
/// /// Counts to three, once every 10 ms of tyme.
/// struct Counter { n: u32 }
///
/// impl Doer for Counter {
///     fn tock(&self) -> Tock { Tock::from_millis(10) }
///     fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
///         self.n += 1;
///         Ok(if self.n == 3 { Step::Done } else { Step::Continue })
///     }
/// }
/// ```
pub trait Doer {
    /// The doer's name, used in traces and to name it in run-time requests.
    fn name(&self) -> &str {
        "doer"
    }

    /// How often it wants to run. Zero (the default) means "every time my
    /// parent runs"; [`Tock::NEVER`] parks it after each recur until it is
    /// woken (see [`Waker`](crate::Waker)). It is read after every recur, so
    /// a recur may change it; but once it has read 0 (or, for a doer with
    /// a waker, [`Tock::NEVER`]), the scheduler may keep that value without
    /// reading it again until a recur calls [`Cx::retock`]: a recur that
    /// changes a tock of 0 or NEVER calls it. (Schedulers on a host keep
    /// it; on a microcontroller they read it after every recur, which is
    /// smaller code.) A debug build on a host checks this after every
    /// recur and panics, naming the doer, if it was not.
    fn tock(&self) -> Tock {
        Tock::ZERO
    }

    /// Context `enter`: set up. `Ok(Step::Done)` finishes the doer at once
    /// (then `clean` and `exit` run); an error aborts it.
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        let _ = cx;
        Ok(Step::Continue)
    }

    /// Context `recur`: one step of work at `cx.tyme()`. MUST NOT block: do
    /// what is ready and return.
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault>;

    /// Context `clean`: the doer finished by itself; tidy up before `exit`.
    fn clean(&mut self, cx: &mut Cx<'_>) {
        let _ = cx;
    }

    /// Context `cease`: the doer is being stopped from outside.
    fn cease(&mut self, cx: &mut Cx<'_>) {
        let _ = cx;
    }

    /// Context `abort`: the doer's own enter or recur failed.
    fn abort(&mut self, cx: &mut Cx<'_>) {
        let _ = cx;
    }

    /// Context `exit`: runs exactly once, last, for every entered doer.
    fn exit(&mut self, cx: &mut Cx<'_>) {
        let _ = cx;
    }

    /// (Feature `requests`.) Carries out run-time changes to the tree (adding spares, removing
    /// doers). Called right after a recur that asked for it with
    /// [`Cx::request`], once the scheduler has handled that recur's result;
    /// not called after a recur that failed. Each request's result comes
    /// back at once. It takes `&self`: decide in recur what to ask for, and
    /// keep any result you need in a `Cell`.
    #[cfg(feature = "requests")]
    #[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
    fn request(&self, rq: &mut Requests<'_>) {
        let _ = rq;
    }

    /// The scheduler inside this doer, if it is a DoDoer. Implemented by
    /// [`DoDoer`](crate::DoDoer); other doers keep the default.
    #[doc(hidden)]
    fn as_group(&self) -> Option<&dyn Group> {
        None
    }
}

/// What a recur (or an enter) reports when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step {
    /// Keep going: run again when the tock comes round.
    Continue,
    /// Finished: `clean` and `exit` follow.
    Done,
}

/// The six contexts of a doer's lifecycle, as an observer sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Context {
    /// Set up.
    Enter,
    /// One step of work.
    Recur,
    /// Finished by itself.
    Clean,
    /// Last, always.
    Exit,
    /// Stopped from outside.
    Cease,
    /// Failed.
    Abort,
}

impl Context {
    /// The lower-case name used in traces: `"enter"`, `"recur"`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            Context::Enter => "enter",
            Context::Recur => "recur",
            Context::Clean => "clean",
            Context::Exit => "exit",
            Context::Cease => "cease",
            Context::Abort => "abort",
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a doer's life ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// It finished by itself (in enter or recur).
    Done,
    /// It was stopped from outside.
    Ceased,
    /// Its own enter or recur failed, or a child's fault reached it.
    Aborted,
}

impl Outcome {
    /// The lower-case name used in traces.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Ceased => "ceased",
            Outcome::Aborted => "aborted",
        }
    }
}

/// What went wrong, in a few words a log line can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FaultKind {
    /// The doer's own logic failed.
    Failed,
    /// An I/O device or socket failed.
    Io,
    /// A peer broke the protocol.
    Protocol,
    /// Something took too long.
    Timeout,
    /// A fixed capacity was exhausted.
    Capacity,
}

/// A doer's failure: returned from `enter` or `recur`, never panicked.
///
/// The failing doer runs `abort` then `exit`; the fault then goes to its
/// parent (see the crate docs for how it travels up).
///
/// ```
/// use hio_core::{Fault, FaultKind};
/// let f = Fault::new(FaultKind::Io, "uart overrun");
/// assert_eq!(f.to_string(), "io fault: uart overrun");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fault {
    kind: FaultKind,
    reason: &'static str,
}

impl Fault {
    /// A fault of `kind` with a short `reason`.
    pub const fn new(kind: FaultKind, reason: &'static str) -> Self {
        Fault { kind, reason }
    }

    /// A [`FaultKind::Failed`] fault.
    pub const fn failed(reason: &'static str) -> Self {
        Fault::new(FaultKind::Failed, reason)
    }

    /// Its kind.
    pub const fn kind(&self) -> FaultKind {
        self.kind
    }

    /// Its reason.
    pub const fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FaultKind::Failed => "failed",
            FaultKind::Io => "io fault",
            FaultKind::Protocol => "protocol fault",
            FaultKind::Timeout => "timeout",
            FaultKind::Capacity => "capacity fault",
        };
        write!(f, "{kind}: {}", self.reason)
    }
}

impl core::error::Error for Fault {}
