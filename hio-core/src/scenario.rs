//! Scenario doers: the doers of the contract's scenario schema (see
//! `docs/SEMANTICS.md`), built from borrowed, heap-free specs.
//!
//! `hio trace` builds its trees from these on the host, and the QEMU
//! conformance firmware builds the very same trees on a Cortex-M3, so both
//! print identical traces. Parsing JSON is the host's business; a spec here
//! is plain data.

use core::fmt;

use crate::group::{DoerRef, Group};
use crate::Full;
use crate::{Cx, DoDoer, Doer, Fault, Requests, Step, Target, Tock, Waker};

/// One doer of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec<'s> {
    /// Unique name; it labels the trace.
    pub name: &'s str,
    /// Its tock.
    pub tock: Tock,
    /// DoDoer only: never finishes by itself.
    pub always: bool,
    /// DoDoer only: runs only when a child is due.
    pub lazy: bool,
    /// Its own waker (what the scenario's wakes use); a leaf takes it on in
    /// enter, a DoDoer as its own.
    pub waker: Option<Waker>,
    /// Leaf: its recur number `stop` reports finished.
    pub stop: Option<u32>,
    /// Leaf: its recur number `fail_at` fails (this wins over `stop`).
    pub fail_at: Option<u32>,
    /// Its enter fails.
    pub fail_in_enter: bool,
    /// Leaf: it finishes in enter.
    pub done_in_enter: bool,
    /// Actions taken during given recurs.
    pub on: &'s [Action<'s>],
}

impl<'s> Spec<'s> {
    /// A leaf named `name` with tock 0 that runs until stopped.
    pub const fn new(name: &'s str) -> Self {
        Spec {
            name,
            tock: Tock::ZERO,
            always: false,
            lazy: false,
            waker: None,
            stop: None,
            fail_at: None,
            fail_in_enter: false,
            done_in_enter: false,
            on: &[],
        }
    }
}

/// Something a scenario doer does during one of its recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action<'s> {
    /// The recur, counted from 1.
    pub recur: u32,
    /// What it does.
    pub kind: ActionKind<'s>,
}

/// What an [`Action`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind<'s> {
    /// Its tock becomes this.
    Tock(Tock),
    /// Wake the doers of these wakers (in order with the recur's requests).
    Wake(&'s [Waker]),
    /// Add these spares to a scheduler.
    Extend {
        /// The spares' names.
        names: &'s [&'s str],
        /// Where to.
        into: Target<'s>,
    },
    /// Remove these doers from a scheduler.
    Remove {
        /// The doers' names.
        names: &'s [&'s str],
        /// Where from.
        from: Target<'s>,
    },
}

/// Applies the actions of recur `n`: tock changes at once (and are
/// announced, [`Cx::retock`]); asks for a request phase if any action
/// changes the tree.
fn act(spec: &Spec<'_>, n: u32, tock: &mut Tock, cx: &mut Cx<'_>) {
    for a in spec.on.iter().filter(|a| a.recur == n) {
        match a.kind {
            ActionKind::Tock(t) => {
                *tock = t;
                cx.retock();
            }
            _ => cx.request(),
        }
    }
}

/// Carries out the tree changes of recur `n`. A scenario doer whose request
/// fails simply goes on.
fn request(spec: &Spec<'_>, n: u32, rq: &mut Requests<'_>) {
    for a in spec.on.iter().filter(|a| a.recur == n) {
        let _ = match a.kind {
            ActionKind::Extend { names, into } => rq.extend(into, names),
            ActionKind::Remove { names, from } => rq.remove(from, names),
            ActionKind::Wake(wakers) => {
                wakers.iter().for_each(Waker::wake);
                Ok(())
            }
            ActionKind::Tock(_) => Ok(()),
        };
    }
}

/// A leaf doer of a scenario.
pub struct ScnLeaf<'s> {
    spec: &'s Spec<'s>,
    tock: Tock,
    recurs: u32,
}

impl<'s> ScnLeaf<'s> {
    /// The leaf of `spec`.
    pub const fn new(spec: &'s Spec<'s>) -> Self {
        ScnLeaf {
            spec,
            tock: spec.tock,
            recurs: 0,
        }
    }
}

impl Doer for ScnLeaf<'_> {
    fn name(&self) -> &str {
        self.spec.name
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if let Some(w) = self.spec.waker {
            // a scenario's doers can always be woken; a runner without a
            // board simply has none to give
            let _ = cx.attach(w);
        }
        if self.spec.fail_in_enter {
            Err(Fault::failed("fail_in_enter"))
        } else if self.spec.done_in_enter {
            Ok(Step::Done)
        } else {
            Ok(Step::Continue)
        }
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        let n = self.recurs;
        act(self.spec, n, &mut self.tock, cx);
        if self.spec.fail_at == Some(n) {
            Err(Fault::failed("fail_at"))
        } else if self.spec.stop == Some(n) {
            Ok(Step::Done)
        } else {
            Ok(Step::Continue)
        }
    }

    fn request(&self, rq: &mut Requests<'_>) {
        request(self.spec, self.recurs, rq);
    }
}

impl fmt::Debug for ScnLeaf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScnLeaf")
            .field("name", &self.spec.name)
            .field("recurs", &self.recurs)
            .finish()
    }
}

/// A DoDoer of a scenario, with room for `N` children and `S` spares, and
/// a summary of `B` blocks (none by default).
pub struct ScnGroup<'a, const N: usize, const S: usize, const B: usize = 0> {
    spec: &'a Spec<'a>,
    recurs: u32,
    inner: DoDoer<'a, N, S, B>,
}

impl<'a, const N: usize, const S: usize, const B: usize> ScnGroup<'a, N, S, B> {
    /// The DoDoer of `spec`, without children yet.
    pub const fn new(spec: &'a Spec<'a>) -> Self {
        let inner = DoDoer::new(spec.name)
            .with_tock(spec.tock)
            .always(spec.always)
            .lazy(spec.lazy);
        ScnGroup {
            spec,
            recurs: 0,
            inner: match spec.waker {
                Some(w) => inner.with_waker(w),
                None => inner,
            },
        }
    }

    /// Adds a child.
    pub fn add(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.inner.add(doer)
    }

    /// Keeps a spare child.
    pub fn spare(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.inner.spare(doer)
    }
}

impl<const N: usize, const S: usize, const B: usize> Doer for ScnGroup<'_, N, S, B> {
    fn name(&self) -> &str {
        self.spec.name
    }

    fn tock(&self) -> Tock {
        self.inner.tock()
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if self.spec.fail_in_enter {
            return Err(Fault::failed("fail_in_enter"));
        }
        self.inner.enter(cx)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        let mut tock = self.inner.tock();
        act(self.spec, self.recurs, &mut tock, cx);
        self.inner.set_tock(tock);
        self.inner.recur(cx)
    }

    fn request(&self, rq: &mut Requests<'_>) {
        request(self.spec, self.recurs, rq);
    }

    fn clean(&mut self, cx: &mut Cx<'_>) {
        self.inner.clean(cx);
    }

    fn cease(&mut self, cx: &mut Cx<'_>) {
        self.inner.cease(cx);
    }

    fn abort(&mut self, cx: &mut Cx<'_>) {
        self.inner.abort(cx);
    }

    fn as_group(&self) -> Option<&dyn Group> {
        self.inner.as_group()
    }
}

impl<const N: usize, const S: usize, const B: usize> fmt::Debug for ScnGroup<'_, N, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScnGroup")
            .field("name", &self.spec.name)
            .field("recurs", &self.recurs)
            .field("inner", &self.inner)
            .finish()
    }
}
