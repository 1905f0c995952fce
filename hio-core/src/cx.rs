//! What a doer sees while it runs: [`Cx`] in every context, and the
//! [`Observer`] hook that sees every event.

use core::cell::Cell;
use core::fmt;
use core::sync::atomic::AtomicBool;

use crate::group::Group;
use crate::wake::Board;
use crate::{Context, Fault, Tyme, WakeError, Waker};

/// Sees every lifecycle event of a tree: which doer, which context, at what
/// tyme. `hio trace` prints traces through it; firmware can count or log.
///
/// Feature `observe` (default). A Doist without an observer pays one
/// predictable branch per event; built without the feature, nothing at all.
#[cfg(feature = "observe")]
#[cfg_attr(docsrs, doc(cfg(feature = "observe")))]
pub trait Observer {
    /// One event. Called before the context runs.
    fn event(&self, doer: &str, context: Context, tyme: Tyme);

    /// The fault that makes `doer` abort, seen just before its `abort`
    /// event: its kind and reason, and `origin`, the doer where it arose
    /// (`doer` itself, or a child whose fault came up to it). A contained
    /// fault is seen too. The default does nothing.
    fn fault(&self, doer: &str, fault: &Fault, origin: &str, tyme: Tyme) {
        let _ = (doer, fault, origin, tyme);
    }
}

/// Room for a doer name as a Doist keeps a fault's origin: 32 bytes, a longer
/// name cut at a character boundary. Copy [`Doist::origin`](crate::Doist::origin)
/// into one to keep it past the Doist.
pub type Name = heapless::String<32>;

/// State shared by every scheduler during one pass (or one enter, or one
/// stop) of a Doist. Internal.
#[doc(hidden)]
pub struct Shared<'s> {
    pub(crate) tyme: Tyme,
    /// The Doist's tock: no scheduler of the tree passes more often. (On
    /// hosts only, where summaries serve large trees; a microcontroller
    /// keeps the store out of every pass.)
    #[cfg(not(target_os = "none"))]
    pub(crate) tock: crate::Tock,
    #[cfg(feature = "observe")]
    pub(crate) observer: Option<&'s dyn Observer>,
    pub(crate) root: &'s dyn Group,
    /// The board the Doist drains, if any.
    pub(crate) board: Option<&'static dyn Board>,
    /// Raised by every wake on that board (a flag never raised without one).
    pub(crate) woken: &'static AtomicBool,
    /// Where the fault that ends the run arose (first one wins): the
    /// Doist's own record.
    pub(crate) origin: &'s Cell<Origin>,
}

/// A doer's name cut to 32 bytes, as the Doist keeps a fault's origin
/// (`blamed` says whether it holds one) and a containing scheduler its last
/// contained fault's. One value, so that the state of a pass refers to it
/// once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    name: [u8; 32],
    len: u8,
    /// Whether it holds a name (the first fault's).
    pub(crate) blamed: bool,
}

impl Origin {
    /// No name.
    pub(crate) const NONE: Origin = Origin {
        name: [0; 32],
        len: 0,
        blamed: false,
    };

    /// `name`, cut to 32 bytes (a character the cut splits is left out
    /// when read).
    pub(crate) fn of(name: &str) -> Origin {
        let mut o = Origin::NONE;
        let name = name.as_bytes();
        let len = name.len().min(32);
        if let (Some(to), Some(from)) = (o.name.get_mut(..len), name.get(..len)) {
            to.copy_from_slice(from);
        }
        o.len = len as u8;
        o.blamed = true;
        o
    }

    /// The name.
    pub(crate) fn as_str(&self) -> &str {
        utf8_prefix(self.name.get(..usize::from(self.len)).unwrap_or(&[]))
    }
}

impl fmt::Debug for Shared<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").field("tyme", &self.tyme).finish()
    }
}

impl Shared<'_> {
    #[inline]
    pub(crate) fn note(&self, doer: &dyn crate::Doer, context: Context) {
        #[cfg(feature = "observe")]
        if let Some(o) = self.observer {
            self.tell(o, doer, context);
        }
        #[cfg(not(feature = "observe"))]
        let _ = (doer, context);
    }

    /// [`note`](Self::note) with an observer: out of the schedulers' loops,
    /// which it would crowd.
    #[cfg(feature = "observe")]
    #[inline(never)]
    pub(crate) fn tell(&self, o: &dyn Observer, doer: &dyn crate::Doer, context: Context) {
        o.event(doer.name(), context, self.tyme);
    }

    /// Whether the fault now going up was blamed on a doer.
    #[inline]
    pub(crate) fn blamed(&self) -> bool {
        self.origin.get().blamed
    }

    /// Says whether the fault now going up was blamed on a doer.
    #[inline]
    pub(crate) fn set_blamed(&self, blamed: bool) {
        let mut o = self.origin.get();
        o.blamed = blamed;
        self.origin.set(o);
    }

    /// Where the fault now aborting `doer` arose: the doer blamed, if
    /// any, else `doer`.
    pub(crate) fn origin_of(&self, doer: &dyn crate::Doer) -> Origin {
        let o = self.origin.get();
        if o.blamed {
            o
        } else {
            Origin::of(doer.name())
        }
    }

    /// Shows the fault that makes `doer` abort to the observer, with the
    /// name of the doer where it arose.
    #[inline]
    pub(crate) fn note_fault(&self, doer: &dyn crate::Doer, fault: &Fault) {
        #[cfg(feature = "observe")]
        if let Some(o) = self.observer {
            let origin = self.origin_of(doer);
            o.fault(doer.name(), fault, origin.as_str(), self.tyme);
        }
        #[cfg(not(feature = "observe"))]
        let _ = (doer, fault);
    }

    /// Blames the fault now going up on `doer`, unless one below it was.
    pub(crate) fn blame(&self, doer: &dyn crate::Doer) {
        if !self.blamed() {
            self.origin.set(Origin::of(doer.name()));
        }
    }
}

/// How the running code refers to a scheduler.
pub(crate) type GroupRef<'e> = &'e dyn Group;

/// A flag no wake raises: the `woken` of a Doist without a board.
pub(crate) static NEVER_WOKEN: AtomicBool = AtomicBool::new(false);

/// One level of the tree as the running code sees it: the scheduler (group)
/// at this level and the levels above it.
#[doc(hidden)]
pub struct Env<'e> {
    pub(crate) shared: &'e Shared<'e>,
    pub(crate) group: GroupRef<'e>,
    pub(crate) up: Option<&'e Env<'e>>,
}

impl<'e> Env<'e> {
    pub(crate) fn child(&'e self, group: GroupRef<'e>) -> Env<'e> {
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
/// and, with the `requests` feature, lets a recur ask for run-time changes
/// (`Cx::request`).
pub struct Cx<'c> {
    pub(crate) env: &'c Env<'c>,
    /// The pass's tyme, kept at hand on a host: a doer that reads it reads
    /// one field, not a chain of three references. (A microcontroller
    /// reads the chain: the field costs more flash than it saves time.)
    #[cfg(not(target_os = "none"))]
    tyme: Tyme,
    /// A lazy DoDoer's next retyme, from its children (when `flags` has
    /// [`DUE`]).
    pub(crate) due: Tyme,
    /// The doer's index in its scheduler (in enter and recur).
    pub(crate) index: u16,
    /// What the recur asked for: [`REQUEST`], [`RETOCK`], [`DUE`]. Zero in
    /// the common case, which a scheduler checks with one compare.
    pub(crate) flags: u8,
}

/// [`Cx::request`] was called (never set without the `requests` feature).
pub(crate) const REQUEST: u8 = 1;
/// [`Cx::retock`] was called.
pub(crate) const RETOCK: u8 = 2;
/// A lazy DoDoer set its next retyme ([`Cx::set_due`]).
pub(crate) const DUE: u8 = 4;

impl<'c> Cx<'c> {
    /// A context outside enter and recur.
    #[inline]
    pub(crate) fn new(env: &'c Env<'c>) -> Self {
        Cx::at(env, usize::from(crate::wake::NONE))
    }

    /// The context of the doer at `index` of its scheduler.
    #[inline]
    pub(crate) fn at(env: &'c Env<'c>, index: usize) -> Self {
        Cx {
            env,
            #[cfg(not(target_os = "none"))]
            tyme: env.shared.tyme,
            due: Tyme::ZERO,
            index: index as u16,
            flags: 0,
        }
    }

    /// Made ready for the recur of the doer at `index` (a scheduler keeps
    /// one context for its whole pass).
    #[inline(always)]
    pub(crate) fn reuse(&mut self, index: usize) {
        self.index = index as u16;
        self.flags = 0;
    }

    /// A lazy DoDoer's next retyme, from its children.
    #[inline]
    pub(crate) fn set_due(&mut self, due: Tyme) {
        self.due = due;
        self.flags |= DUE;
    }

    /// Tells the scheduler that this doer's [`tock`](crate::Doer::tock)
    /// may have changed: it is read again after this recur.
    ///
    /// The scheduler reads a doer's tock after every recur that keeps it
    /// going, except that once it has read a tock of zero (or, for a doer
    /// that has attached a [`Waker`], [`Tock::NEVER`](crate::Tock::NEVER))
    /// it may keep that value without reading it again. A doer whose tock
    /// may change from zero to something else (`Tock::NEVER` to park, a
    /// timeout, a slower cadence), or from NEVER to something else once it
    /// has a waker, calls this in the recur that changes it, or in every
    /// recur; it is not needed for any other change, and costs one more
    /// call of `tock` when made. Ignored outside recur. A debug build
    /// checks a kept tock after every recur and panics, naming the doer,
    /// when it changed without this call.
    ///
    /// ```
    /// use hio_core::{Cx, Doer, Fault, Step, Tock};
    ///
    /// /// Runs at every pass until it has work, then every 100 ms.
    /// struct Poller { busy: bool, tock: Tock }
    ///
    /// impl Doer for Poller {
    ///     fn tock(&self) -> Tock { self.tock }
    ///     fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
    ///         if !self.busy {
    ///             self.busy = true;
    ///             self.tock = Tock::from_millis(100);
    ///             cx.retock();
    ///         }
    ///         Ok(Step::Continue)
    ///     }
    /// }
    /// ```
    #[inline]
    pub fn retock(&mut self) {
        self.flags |= RETOCK;
    }

    /// Takes on `waker`: from now until this doer ends, waking it brings
    /// this doer's next recur forward (to the next pass, or to this pass if
    /// the walk has not reached it yet). Call it in `enter` or `recur`.
    ///
    /// A doer has one waker at a time (a later attach replaces the
    /// earlier); hand out copies of it. A DoDoer takes its waker with
    /// [`DoDoer::with_waker`](crate::DoDoer::with_waker) instead.
    ///
    /// # Errors
    ///
    /// [`WakeError::Foreign`] if the Doist does not drain the waker's board,
    /// [`WakeError::Stale`] for a released waker, [`WakeError::NotRunning`]
    /// outside enter and recur, [`WakeError::TooDeep`] past
    /// [`MAX_DEPTH`](crate::wake::MAX_DEPTH) levels, [`WakeError::Full`] if
    /// the board had no slot left for a DoDoer above this doer.
    pub fn attach(&mut self, waker: Waker) -> Result<(), WakeError> {
        if self.index == crate::wake::NONE {
            return Err(WakeError::NotRunning);
        }
        self.env.group.attach_at(self.index, waker)
    }

    /// The current tyme.
    #[inline]
    pub fn tyme(&self) -> Tyme {
        #[cfg(not(target_os = "none"))]
        return self.tyme;
        #[cfg(target_os = "none")]
        return self.env.shared.tyme;
    }

    /// The name of the scheduler running this doer (`"root"` for the Doist).
    pub fn parent_name(&self) -> &str {
        self.env.group.group_name()
    }

    #[cfg(feature = "requests")]
    #[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
    /// Asks the scheduler to call [`Doer::request`](crate::Doer::request)
    /// right after this recur, to add or remove doers. Ignored outside recur
    /// and after a failed recur.
    pub fn request(&mut self) {
        self.flags |= REQUEST;
    }
}

impl Cx<'_> {
    /// Whether the recur asked for requests: constant false without the
    /// `requests` feature, so that code is left out.
    #[inline(always)]
    pub(crate) fn requested(&self) -> bool {
        cfg!(feature = "requests") && self.flags & REQUEST != 0
    }
}

impl fmt::Debug for Cx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx").field("tyme", &self.tyme()).finish()
    }
}

/// The longest prefix of `bytes` that is UTF-8 (a name cut at 32 bytes may
/// end in the middle of a character).
pub(crate) fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or(""),
    }
}
