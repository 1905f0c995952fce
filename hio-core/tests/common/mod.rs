//! Shared test kit: an [`Observer`] that records every event, a scriptable
//! doer ([`Node`], a leaf or a DoDoer) and a mock real-time [`Clock`].
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use hio_core::{
    Clock, Context, Cx, DoDoer, Doer, Doist, End, Fault, Observer, Report, SimClock, Step, Tock,
    Tyme,
};
#[cfg(feature = "requests")]
use hio_core::{Group, RequestError, Requests, Target};

// ---------------------------------------------------------------------------
// Time helpers

/// Milliseconds as a tock.
pub fn ms(n: u64) -> Tock {
    Tock::from_millis(n)
}

/// Exact decimal seconds (`"0.21875"`) as a tock.
pub fn tk(s: &str) -> Tock {
    s.parse().expect("exact seconds")
}

/// Exact decimal seconds as a tyme.
pub fn ty(s: &str) -> Tyme {
    s.parse().expect("exact seconds")
}

// ---------------------------------------------------------------------------
// The recording observer

/// One lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ev {
    pub doer: String,
    pub ctx: Context,
    pub tyme: Tyme,
}

impl fmt::Display for Ev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}@{}", self.doer, self.ctx, self.tyme)
    }
}

/// Records every event, in order.
#[derive(Debug, Default)]
pub struct Log(pub RefCell<Vec<Ev>>);

impl Observer for Log {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        self.0.borrow_mut().push(Ev {
            doer: doer.to_string(),
            ctx: context,
            tyme,
        });
    }
}

impl Log {
    pub fn new() -> Self {
        Log::default()
    }

    pub fn events(&self) -> Vec<Ev> {
        self.0.borrow().clone()
    }

    /// `"name.context"` for every event.
    pub fn seq(&self) -> Vec<String> {
        self.0
            .borrow()
            .iter()
            .map(|e| format!("{}.{}", e.doer, e.ctx))
            .collect()
    }

    /// `"name.context@tyme"` for every event.
    pub fn seq_at(&self) -> Vec<String> {
        self.0.borrow().iter().map(ToString::to_string).collect()
    }

    /// The contexts one doer went through, in order.
    pub fn of(&self, name: &str) -> Vec<Context> {
        self.0
            .borrow()
            .iter()
            .filter(|e| e.doer == name)
            .map(|e| e.ctx)
            .collect()
    }

    /// The tymes of one doer's events of one context.
    pub fn tymes(&self, name: &str, ctx: Context) -> Vec<Tyme> {
        self.0
            .borrow()
            .iter()
            .filter(|e| e.doer == name && e.ctx == ctx)
            .map(|e| e.tyme)
            .collect()
    }

    /// The index of the first event `name.ctx`.
    pub fn index(&self, name: &str, ctx: Context) -> Option<usize> {
        self.0
            .borrow()
            .iter()
            .position(|e| e.doer == name && e.ctx == ctx)
    }

    /// The events from the first `name.ctx` on, as `"name.context"`.
    pub fn seq_from(&self, name: &str, ctx: Context) -> Vec<String> {
        let i = self.index(name, ctx).expect("event present");
        self.seq().split_off(i)
    }

    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

/// Splits `"a.enter b.enter"` into owned strings, for comparing sequences.
pub fn s(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// The contexts of a lifecycle written as `"enter recur recur clean exit"`.
pub fn ctxs(text: &str) -> Vec<Context> {
    text.split_whitespace()
        .map(|w| match w {
            "enter" => Context::Enter,
            "recur" => Context::Recur,
            "clean" => Context::Clean,
            "exit" => Context::Exit,
            "cease" => Context::Cease,
            "abort" => Context::Abort,
            other => panic!("no context {other}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// A Doist that logs

/// The Doist of the contract tests: 8 top-level doers, 4 spares.
pub type D<'a> = Doist<'a, 8, 4>;

/// A [`D`] with tock `tock` whose events go to `log`.
pub fn doist<'a>(tock: Tock, log: &'a Log) -> D<'a> {
    let mut d = D::new(tock).unwrap();
    d.observe(log);
    d
}

/// Runs `d` to its end in simulated time.
pub fn run(d: &mut D<'_>) -> Report {
    d.run(&mut SimClock::new(), None)
}

/// The end of a run that a doer's `reason` fault ended.
pub fn failed(reason: &'static str) -> End {
    End::Fault(Fault::failed(reason))
}

// ---------------------------------------------------------------------------
// A scriptable doer

/// Where a run-time request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To<'a> {
    Parent,
    Root,
    Named(&'a str),
}

#[cfg(feature = "requests")]
impl<'a> To<'a> {
    pub fn target(self) -> Target<'a> {
        match self {
            To::Parent => Target::Parent,
            To::Root => Target::Root,
            To::Named(n) => Target::Named(n),
        }
    }
}

/// What a [`Node`] does during one of its recurs (run-time requests need
/// the `requests` feature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act<'a> {
    Extend(To<'a>, Vec<&'a str>),
    Remove(To<'a>, Vec<&'a str>),
    SetTock(Tock),
}

/// The results of a node's requests, each with the recur it was made in.
#[cfg(feature = "requests")]
pub type RequestLog = Vec<(u32, Result<(), RequestError>)>;
/// The results of a node's requests: none without the `requests` feature.
#[cfg(not(feature = "requests"))]
pub type RequestLog = Vec<(u32, Result<(), RequestError>)>;

/// Stands in for hio-core's `RequestError` without the `requests` feature,
/// when no request is ever made, so checks of request results still build.
#[cfg(not(feature = "requests"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    NotRunning,
    NoSuchSpare,
    Full,
    Ancestor,
    EnterFailed(Fault),
}

/// The DoDoer type a group [`Node`] holds: `N` children, 4 spares.
pub type Grp<'a, const N: usize> = DoDoer<'a, N, 4>;

/// Called at each recur with the recur number (from 1) and the tyme. A plain
/// reference (no drop glue), so trees of nodes may borrow one another.
type Hook<'a> = &'a dyn Fn(u32, Tyme);

/// A doer scripted by its fields: a leaf, or a DoDoer (`group`, of capacity
/// `N`) with the same scripting around it (fail in enter, actions, hooks).
pub struct Node<'a, const N: usize = 8> {
    pub name: &'a str,
    pub tock: Tock,
    pub stop: Option<u32>,
    pub fail_at: Option<u32>,
    pub done_in_enter: bool,
    pub fail_in_enter: bool,
    pub recurs: u32,
    pub on: Vec<(u32, Act<'a>)>,
    /// The result of every request made, with the recur it was made in.
    pub results: Rc<RefCell<RequestLog>>,
    /// Whether [`Doer::request`] was ever called.
    pub requested: Rc<Cell<bool>>,
    pub hook: Option<Hook<'a>>,
    pub group: Option<Grp<'a, N>>,
}

impl<'a> Node<'a> {
    /// A leaf (groups made by [`Node::group`] hold 8 children).
    pub fn leaf(name: &'a str) -> Self {
        Node::make(name, false)
    }

    /// A DoDoer of 8 children and 4 spares.
    pub fn group(name: &'a str) -> Self {
        Node::make(name, true)
    }
}

impl<'a, const N: usize> Node<'a, N> {
    /// A leaf, or a group of `N` children and 4 spares.
    pub fn make(name: &'a str, group: bool) -> Self {
        Node {
            name,
            tock: Tock::ZERO,
            stop: None,
            fail_at: None,
            done_in_enter: false,
            fail_in_enter: false,
            recurs: 0,
            on: Vec::new(),
            results: Rc::default(),
            requested: Rc::default(),
            hook: None,
            group: group.then(|| DoDoer::new(name)),
        }
    }

    pub fn tock(mut self, t: Tock) -> Self {
        self.tock = t;
        if let Some(g) = &mut self.group {
            g.set_tock(t);
        }
        self
    }

    pub fn always(mut self) -> Self {
        let g = self.group.take().expect("always: a group");
        self.group = Some(g.always(true));
        self
    }

    pub fn stop(mut self, n: u32) -> Self {
        self.stop = Some(n);
        self
    }

    pub fn fail_at(mut self, n: u32) -> Self {
        self.fail_at = Some(n);
        self
    }

    pub fn done_in_enter(mut self) -> Self {
        self.done_in_enter = true;
        self
    }

    pub fn fail_in_enter(mut self) -> Self {
        self.fail_in_enter = true;
        self
    }

    pub fn on(mut self, recur: u32, act: Act<'a>) -> Self {
        self.on.push((recur, act));
        self
    }

    pub fn hook(mut self, f: Hook<'a>) -> Self {
        self.hook = Some(f);
        self
    }

    /// Adds a child (a group only).
    pub fn add(&mut self, child: &'a mut (dyn Doer + 'a)) {
        let g = self.group.as_mut().expect("add: a group");
        assert!(g.add(child).is_ok(), "group {} full", self.name);
    }

    /// Keeps a spare child (a group only).
    #[cfg(feature = "requests")]
    pub fn spare(&mut self, child: &'a mut (dyn Doer + 'a)) {
        let g = self.group.as_mut().expect("spare: a group");
        assert!(g.spare(child).is_ok(), "group {} spares full", self.name);
    }

    pub fn results(&self) -> RequestLog {
        self.results.borrow().clone()
    }
}

impl<const N: usize> Doer for Node<'_, N> {
    fn name(&self) -> &str {
        self.name
    }

    fn tock(&self) -> Tock {
        match &self.group {
            Some(g) => g.tock(),
            None => self.tock,
        }
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if self.fail_in_enter {
            return Err(Fault::failed("fail_in_enter"));
        }
        match &mut self.group {
            Some(g) => g.enter(cx),
            None if self.done_in_enter => Ok(Step::Done),
            None => Ok(Step::Continue),
        }
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        let n = self.recurs;
        if let Some(h) = self.hook {
            h(n, cx.tyme());
        }
        for (_, act) in self.on.iter().filter(|(r, _)| *r == n) {
            match act {
                Act::SetTock(t) => {
                    self.tock = *t;
                    if let Some(g) = &mut self.group {
                        g.set_tock(*t);
                    }
                    cx.retock();
                }
                #[cfg(feature = "requests")]
                _ => cx.request(),
                #[cfg(not(feature = "requests"))]
                _ => panic!(
                    "{}: a run-time request needs the `requests` feature",
                    self.name
                ),
            }
        }
        if let Some(g) = &mut self.group {
            return g.recur(cx);
        }
        if self.fail_at == Some(n) {
            return Err(Fault::failed("fail_at"));
        }
        Ok(if self.stop == Some(n) {
            Step::Done
        } else {
            Step::Continue
        })
    }

    #[cfg(feature = "requests")]
    fn request(&self, rq: &mut Requests<'_>) {
        self.requested.set(true);
        for (_, act) in self.on.iter().filter(|(r, _)| *r == self.recurs) {
            let r = match act {
                Act::Extend(to, names) => rq.extend(to.target(), names),
                Act::Remove(to, names) => rq.remove(to.target(), names),
                Act::SetTock(_) => continue,
            };
            self.results.borrow_mut().push((self.recurs, r));
        }
    }

    fn clean(&mut self, cx: &mut Cx<'_>) {
        if let Some(g) = &mut self.group {
            g.clean(cx);
        }
    }

    fn cease(&mut self, cx: &mut Cx<'_>) {
        if let Some(g) = &mut self.group {
            g.cease(cx);
        }
    }

    fn abort(&mut self, cx: &mut Cx<'_>) {
        if let Some(g) = &mut self.group {
            g.abort(cx);
        }
    }

    #[cfg(feature = "requests")]
    fn as_group(&self) -> Option<&dyn Group> {
        self.group.as_ref().and_then(|g| g.as_group())
    }
}

// ---------------------------------------------------------------------------
// A mock real-time clock

/// A clock whose time is a shared cell (so a doer can make a pass "slow"),
/// recording every deadline it is asked to wait for. Waiting jumps to the
/// deadline.
#[derive(Debug)]
pub struct MockClock<'c> {
    pub now: &'c Cell<Tyme>,
    pub waits: Vec<Tyme>,
    pub nows: usize,
}

impl<'c> MockClock<'c> {
    pub fn new(now: &'c Cell<Tyme>) -> Self {
        MockClock {
            now,
            waits: Vec::new(),
            nows: 0,
        }
    }
}

impl Clock for MockClock<'_> {
    fn now(&mut self) -> Tyme {
        self.nows += 1;
        self.now.get()
    }

    fn wait_until(&mut self, deadline: Tyme) {
        self.waits.push(deadline);
        if deadline > self.now.get() {
            self.now.set(deadline);
        }
    }
}

// ---------------------------------------------------------------------------
// Lifecycle checks

/// Every doer in the log went through exactly one allowed sequence:
/// `enter recur* (clean|cease|abort) exit`, with the sequence complete (one
/// exit, last). Returns the per-doer sequences in first-entered order.
pub fn check_lifecycles(events: &[Ev]) -> Vec<(String, Vec<Context>)> {
    let mut order: Vec<(String, Vec<Context>)> = Vec::new();
    for e in events {
        match order.iter_mut().find(|(n, _)| *n == e.doer) {
            Some((_, v)) => v.push(e.ctx),
            None => order.push((e.doer.clone(), vec![e.ctx])),
        }
    }
    for (name, seq) in &order {
        assert!(allowed(seq), "{name}: sequence {seq:?} is not allowed");
    }
    order
}

/// `enter recur* (clean|cease|abort) exit`.
pub fn allowed(seq: &[Context]) -> bool {
    use Context::*;
    let n = seq.len();
    if n < 3 || seq[0] != Enter || seq[n - 1] != Exit {
        return false;
    }
    if !matches!(seq[n - 2], Clean | Cease | Abort) {
        return false;
    }
    seq[1..n - 2].iter().all(|c| *c == Recur)
}
