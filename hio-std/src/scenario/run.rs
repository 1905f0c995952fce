//! Builds the doer tree of a [`Scenario`] with hio-core and runs it in
//! simulated time, printing the trace: the code path of `hio trace`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use hio_core::scenario::{Action, ActionKind as CoreAction, ScnGroup, ScnLeaf, Spec};
use hio_core::wake::MAX_DEPTH;
use hio_core::{
    Clock, Context, Doer, Doist, Observer, SimClock, StopFlag, Target, Tock, Tyme, WakeBoard,
    WakeError, Waker,
};

use super::place::{counts, place, Placement};
use super::{parse, ActionKind, DoerSpec, Scenario, ScenarioError, TraceWriter, Where, TOCK_NEVER};

/// Most children one DoDoer of a scenario may have.
pub const GROUP_CAPACITY: usize = 256;
/// Most spares one scheduler of a scenario may keep.
pub const SPARE_CAPACITY: usize = 64;
/// Most top-level doers of a scenario.
pub const ROOT_CAPACITY: usize = 1024;
/// Most passes a scenario may run before it is stopped with
/// [`RunError::NoEnd`]: a scenario without a limit whose doers never finish
/// would otherwise run (and print) forever.
pub const MAX_PASSES: u64 = 1_000_000;
/// Most doers (in `doers` and `spares`, at every depth) of a scenario: each
/// gets a [`Waker`] of the run's [`WakeBoard`], so that it can be woken.
pub const WAKE_CAPACITY: usize = 4096;

thread_local! {
    /// The board of this thread's runs, made once and reset before each run
    /// (a [`Waker`] refers to its board for `'static`).
    static BOARD: &'static WakeBoard<WAKE_CAPACITY> = Box::leak(Box::new(WakeBoard::new()));
}

/// Why a scenario could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// The scenario is malformed.
    Scenario(ScenarioError),
    /// A scheduler would hold more doers than this runner builds it for.
    TooLarge {
        /// The DoDoer (or `root`) that is too large.
        name: String,
        /// Its capacity.
        capacity: usize,
    },
    /// A scenario that parks, wakes or has lazy DoDoers nests a doer deeper
    /// than hio-core can wake (its `wake::MAX_DEPTH` levels below the
    /// Doist): its wakes would be lost.
    TooDeep {
        /// The first doer (in pre-order) nested too deep.
        name: String,
        /// Its level: 1 for a top-level doer.
        depth: usize,
        /// The deepest level allowed.
        max: usize,
    },
    /// The run had not ended after [`MAX_PASSES`] passes (no limit, and a
    /// doer that never finishes): it was stopped there. The trace up to
    /// that point was written.
    NoEnd {
        /// The passes it ran.
        passes: u64,
    },
    /// Writing the trace failed (a closed pipe, a full disk).
    Write(String),
    /// The scenario has more doers and spares than the runner has wakers
    /// for.
    TooManyDoers {
        /// How many doers and spares it has, at every depth.
        count: usize,
        /// How many it may have: [`WAKE_CAPACITY`].
        capacity: usize,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Scenario(e) => write!(f, "{e}"),
            RunError::NoEnd { passes } => write!(
                f,
                "the scenario had not ended after {passes} passes (no limit, and a doer that never finishes); give it a \"limit\""
            ),
            RunError::Write(e) => write!(f, "cannot write the trace: {e}"),
            RunError::TooLarge { name, capacity } => write!(
                f,
                "\"{name}\" would hold more than the {capacity} doers (or spares) a scenario scheduler holds; split it into nested DoDoers"
            ),
            RunError::TooDeep { name, depth, max } => write!(
                f,
                "doer \"{name}\" is nested {depth} levels below the Doist, but parked doers, wakes and lazy DoDoers work at most {max} levels deep; flatten the tree"
            ),
            RunError::TooManyDoers { count, capacity } => write!(
                f,
                "the scenario has {count} doers and spares, more than the {capacity} a scenario run can hold (each gets a waker); split it into smaller scenarios"
            ),
        }
    }
}

impl std::error::Error for RunError {}

impl From<ScenarioError> for RunError {
    fn from(e: ScenarioError) -> Self {
        RunError::Scenario(e)
    }
}

/// Parses `json`, runs the scenario and returns its trace (JSON Lines).
///
/// ```
/// let json = r#"{"name": "one", "tock": 1, "doers": [{"name": "a", "stop": 1}]}"#;
/// let trace = hio_std::scenario::trace_json(json).unwrap();
/// assert!(trace.ends_with("{\"end\": \"done\", \"tyme\": 1.0, \"outcomes\": {\"a\": \"done\"}}\n"));
/// ```
pub fn trace_json(json: &str) -> Result<String, RunError> {
    trace(&parse(json)?)
}

/// Runs a parsed scenario and returns its trace (JSON Lines).
///
/// Each doer and spare gets a [`Waker`] of a board kept by the calling
/// thread (reset for each run), which the scenario's `wake` actions and
/// `wakes` use. A wake of a name that is not a doer or spare of the
/// scenario (possible only in a scenario built by hand, not parsed) does
/// nothing.
///
/// # Errors
///
/// [`RunError::TooLarge`], [`RunError::TooDeep`] or
/// [`RunError::TooManyDoers`] if the scenario does not fit the runner's
/// capacities; nothing has run then.
pub fn trace(scenario: &Scenario) -> Result<String, RunError> {
    let mut out = Vec::new();
    trace_to(scenario, &mut out, MAX_PASSES)?;
    String::from_utf8(out).map_err(|e| RunError::Write(e.to_string()))
}

/// Runs a parsed scenario and streams its trace to `out` as it runs (so a
/// long run does not grow memory), stopping with [`RunError::NoEnd`] after
/// `max_passes` passes (the trace so far is written, without an end line).
///
/// ```
/// let s = hio_std::scenario::parse(
///     r#"{"name": "forever", "tock": 1, "doers": [{"name": "a"}]}"#,
/// ).unwrap();
/// let mut out = Vec::new();
/// let e = hio_std::scenario::trace_to(&s, &mut out, 10).unwrap_err();
/// assert_eq!(e, hio_std::scenario::RunError::NoEnd { passes: 10 });
/// assert!(e.to_string().contains("give it a \"limit\""));
/// // the doers were stopped as at any stop: their cease and exit are there
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.lines().count() > 10);
/// assert!(text.lines().last().is_some_and(|l| l.contains("\"exit\"")));
/// ```
///
/// # Errors
///
/// As [`trace`], and [`RunError::NoEnd`] past the bound, and
/// [`RunError::Write`] if `out` fails.
pub fn trace_to(
    scenario: &Scenario,
    out: &mut dyn std::io::Write,
    max_passes: u64,
) -> Result<(), RunError> {
    let plan = Plan::new(scenario)?;
    plan.run::<0, 0>(scenario, out, max_passes)
}

/// [`trace_json`], with a summary in the Doist and in every DoDoer (the
/// largest each takes). Its trace must be the same: the property tests
/// compare the two.
#[doc(hidden)]
pub fn trace_json_summarized(json: &str) -> Result<String, RunError> {
    const ROOT_BLOCKS: usize = ROOT_CAPACITY.div_ceil(hio_core::SUMMARY_BLOCK);
    const GROUP_BLOCKS: usize = GROUP_CAPACITY.div_ceil(hio_core::SUMMARY_BLOCK);
    let scenario = parse(json)?;
    let mut out = Vec::new();
    Plan::new(&scenario)?.run::<ROOT_BLOCKS, GROUP_BLOCKS>(&scenario, &mut out, MAX_PASSES)?;
    String::from_utf8(out).map_err(|e| RunError::Write(e.to_string()))
}

/// A simulated clock that raises `stop` once it has been asked to wait
/// `max` times (a pass in simulated time is one wait).
struct Bounded<'w, 's> {
    clock: SimClock<'w>,
    waits: u64,
    max: u64,
    stop: &'s StopFlag,
}

impl Clock for Bounded<'_, '_> {
    fn now(&mut self) -> Tyme {
        self.clock.now()
    }

    fn wait_until(&mut self, deadline: Tyme) {
        self.waits += 1;
        if self.waits >= self.max {
            self.stop.stop();
        }
        self.clock.wait_until(deadline);
    }
}

/// The hio-core tock of a scenario tock ([`TOCK_NEVER`] is [`Tock::NEVER`]).
fn tock(ns: u64) -> Tock {
    if ns == TOCK_NEVER {
        Tock::NEVER
    } else {
        Tock::from_nanos(ns)
    }
}

/// Streams events through a [`TraceWriter`] to a sink.
struct Tracer<'o> {
    writer: RefCell<TraceWriter>,
    out: RefCell<&'o mut dyn std::io::Write>,
    error: RefCell<Option<String>>,
}

impl Tracer<'_> {
    /// Writes what the writer holds (when `all`, or past a few KiB).
    fn flush(&self, all: bool) {
        let mut w = self.writer.borrow_mut();
        if !all && w.as_str().len() < 1 << 14 {
            return;
        }
        let text = w.take();
        let mut error = self.error.borrow_mut();
        if error.is_none() {
            let mut out = self.out.borrow_mut();
            if let Err(e) =
                out.write_all(text.as_bytes())
                    .and_then(|()| if all { out.flush() } else { Ok(()) })
            {
                *error = Some(e.to_string());
            }
        }
    }
}

impl Observer for Tracer<'_> {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        self.writer
            .borrow_mut()
            .event(doer, context.as_str(), tyme.as_nanos());
        self.flush(false);
    }
}

fn target(w: &Where) -> Target<'_> {
    match w {
        Where::Parent => Target::Parent,
        Where::Root => Target::Root,
        Where::Named(n) => Target::Named(n),
    }
}

/// A built scenario doer (the same no_std types the firmware builds), its
/// DoDoers with a summary of `B` blocks.
enum Built<'a, const B: usize> {
    Leaf(ScnLeaf<'a>),
    Group(Box<ScnGroup<'a, GROUP_CAPACITY, SPARE_CAPACITY, B>>),
}

impl<'a, const B: usize> Built<'a, B> {
    fn doer(&mut self) -> &mut (dyn Doer + 'a) {
        match self {
            Built::Leaf(l) => l,
            Built::Group(g) => &mut **g,
        }
    }
}

/// The placed doers of a scenario.
struct Plan<'s> {
    nodes: Vec<Placement<'s>>,
}

impl<'s> Plan<'s> {
    fn new(s: &'s Scenario) -> Result<Self, RunError> {
        let plan = Plan { nodes: place(s) };
        plan.check_sizes()?;
        if waits(s) {
            plan.check_depth()?;
        }
        Ok(plan)
    }

    /// Every doer that can run is at most [`MAX_DEPTH`] levels deep.
    fn check_depth(&self) -> Result<(), RunError> {
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(depth) = self.depth(i).filter(|&d| d > MAX_DEPTH) {
                return Err(RunError::TooDeep {
                    name: n.spec.name.clone(),
                    depth,
                    max: MAX_DEPTH,
                });
            }
        }
        Ok(())
    }

    /// The level of the doer at `i` (1 at the top), or `None` for a spare
    /// that never runs (placed nowhere, or inside itself).
    fn depth(&self, i: usize) -> Option<usize> {
        let mut depth = 0;
        let mut at = i;
        loop {
            depth += 1;
            match self.nodes.get(at)?.parent? {
                None => return Some(depth),
                Some(p) if depth <= self.nodes.len() => at = p,
                Some(_) => return None,
            }
        }
    }

    fn check_sizes(&self) -> Result<(), RunError> {
        if self.nodes.len() > WAKE_CAPACITY {
            return Err(self.too_many());
        }
        let count = counts(&self.nodes);
        for (i, (kids, spares)) in count.iter().enumerate() {
            let (name, cap) = match self.nodes.get(i) {
                Some(n) => (n.spec.name.as_str(), GROUP_CAPACITY),
                None => ("root", ROOT_CAPACITY),
            };
            // an added spare takes a running slot too
            if kids + spares > cap {
                return Err(RunError::TooLarge {
                    name: name.to_string(),
                    capacity: cap,
                });
            }
            if *spares > SPARE_CAPACITY {
                return Err(RunError::TooLarge {
                    name: name.to_string(),
                    capacity: SPARE_CAPACITY,
                });
            }
        }
        Ok(())
    }

    fn too_many(&self) -> RunError {
        RunError::TooManyDoers {
            count: self.nodes.len(),
            capacity: WAKE_CAPACITY,
        }
    }

    /// Runs the scenario with a summary of `BR` blocks in the Doist and of
    /// `BG` in each DoDoer (0: none).
    fn run<const BR: usize, const BG: usize>(
        &self,
        scenario: &Scenario,
        out: &mut dyn std::io::Write,
        max_passes: u64,
    ) -> Result<(), RunError> {
        // one waker per doer and spare, from this thread's board
        let board = BOARD.with(|b| *b);
        board.reset();
        let wakers: Vec<Waker> = self
            .nodes
            .iter()
            .map(|_| board.waker())
            .collect::<Result<_, WakeError>>()
            .map_err(|_| self.too_many())?;
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.spec.name.as_str(), i))
            .collect();
        let waker_of = |name: &String| index.get(name.as_str()).and_then(|&i| wakers.get(i));
        // the scenario's wakes, in order of tyme (stable), on the simulated
        // clock, which starts at 0 where tyme starts at `start`
        let mut planned: Vec<(Tyme, Waker)> = scenario
            .wakes
            .iter()
            .filter_map(|w| {
                let at = Tyme::from_nanos(w.at.saturating_sub(scenario.start));
                waker_of(&w.doer).map(|&waker| (at, waker))
            })
            .collect();
        planned.sort_by_key(|&(at, _)| at);
        // borrowed, heap-free specs for hio-core's scenario doers
        let woken: Vec<Vec<Vec<Waker>>> = self
            .nodes
            .iter()
            .map(|n| {
                n.spec
                    .on
                    .iter()
                    .map(|a| match &a.kind {
                        ActionKind::Wake { names } => {
                            names.iter().filter_map(waker_of).copied().collect()
                        }
                        _ => Vec::new(),
                    })
                    .collect()
            })
            .collect();
        let names: Vec<Vec<Vec<&str>>> = self
            .nodes
            .iter()
            .map(|n| {
                n.spec
                    .on
                    .iter()
                    .map(|a| match &a.kind {
                        ActionKind::Extend { names, .. } | ActionKind::Remove { names, .. } => {
                            names.iter().map(String::as_str).collect()
                        }
                        ActionKind::Tock(_) | ActionKind::Wake { .. } => Vec::new(),
                    })
                    .collect()
            })
            .collect();
        let actions: Vec<Vec<Action<'_>>> = self
            .nodes
            .iter()
            .zip(names.iter().zip(&woken))
            .map(|(n, (names, woken))| {
                n.spec
                    .on
                    .iter()
                    .zip(names.iter().zip(woken))
                    .map(|(a, (names, woken))| Action {
                        recur: a.recur,
                        kind: match &a.kind {
                            ActionKind::Tock(t) => CoreAction::Tock(tock(*t)),
                            ActionKind::Wake { .. } => CoreAction::Wake(woken),
                            ActionKind::Extend { into, .. } => CoreAction::Extend {
                                names,
                                into: target(into),
                            },
                            ActionKind::Remove { from, .. } => CoreAction::Remove {
                                names,
                                from: target(from),
                            },
                        },
                    })
                    .collect()
            })
            .collect();
        let specs: Vec<Spec<'_>> = self
            .nodes
            .iter()
            .zip(actions.iter().zip(&wakers))
            .map(|(n, (on, &waker))| Spec {
                name: &n.spec.name,
                tock: tock(n.spec.tock),
                always: n.spec.always,
                lazy: n.spec.lazy,
                waker: Some(waker),
                stop: n.spec.stop,
                fail_at: n.spec.fail_at,
                fail_in_enter: n.spec.fail_in_enter,
                done_in_enter: n.spec.done_in_enter,
                on,
            })
            .collect();
        let mut doers: Vec<Built<'_, BG>> = self
            .nodes
            .iter()
            .zip(&specs)
            .map(|(n, spec)| match n.spec.children {
                Some(_) => Built::Group(Box::new(ScnGroup::new(spec))),
                None => Built::Leaf(ScnLeaf::new(spec)),
            })
            .collect();
        let tracer = Tracer {
            writer: RefCell::new(TraceWriter::new()),
            out: RefCell::new(out),
            error: RefCell::new(None),
        };
        let bound = StopFlag::new();
        let (report, origin) = {
            let mut refs: Vec<Option<&mut Built<'_, BG>>> = doers.iter_mut().map(Some).collect();
            let doist: Doist<'_, ROOT_CAPACITY, SPARE_CAPACITY, BR> =
                match Doist::new(Tock::from_nanos(scenario.tock)) {
                    Ok(d) => d,
                    Err(e) => return Err(RunError::Write(format!("the scenario's Doist: {e}"))),
                };
            let mut doist = doist_with(doist, scenario);
            doist.observe(&tracer);
            doist.wakes(board);
            // children come after their parent in pre-order: going backwards,
            // every group gets its children (in order) before it is itself
            // handed to its parent
            let kids = |p: Option<usize>| {
                (0..self.nodes.len()).filter(move |&j| self.nodes[j].parent == Some(p))
            };
            for i in (0..self.nodes.len()).rev() {
                if self.nodes[i].spec.children.is_none() {
                    continue;
                }
                for j in kids(Some(i)) {
                    let Some(d) = refs[j].take() else { continue };
                    let spare = self.nodes[j].spare;
                    if let Some(Built::Group(g)) = refs[i].as_deref_mut() {
                        let _ = if spare {
                            g.spare(d.doer())
                        } else {
                            g.add(d.doer())
                        };
                    }
                }
            }
            for j in kids(None) {
                let Some(d) = refs[j].take() else { continue };
                let _ = if self.nodes[j].spare {
                    doist.spare(d.doer())
                } else {
                    doist.add(d.doer())
                };
            }
            let mut clock = Bounded {
                clock: SimClock::with_wakes(&planned),
                waits: 0,
                max: max_passes,
                stop: &bound,
            };
            let report = doist.run(&mut clock, Some(&bound));
            (report, doist.origin().map(String::from))
        };
        if bound.is_stopped() {
            tracer.flush(true);
            return match tracer.error.into_inner() {
                Some(e) => Err(RunError::Write(e)),
                None => Err(RunError::NoEnd { passes: max_passes }),
            };
        }
        tracer.writer.borrow_mut().end(
            report.end.as_str(),
            report.tyme.as_nanos(),
            origin.as_deref(),
        );
        tracer.flush(true);
        match tracer.error.into_inner() {
            Some(e) => Err(RunError::Write(e)),
            None => Ok(()),
        }
    }
}

/// Whether a scenario parks, wakes or has lazy DoDoers (a tock or an
/// action's tock that is never, `lazy`, `wakes` or a `wake` action).
fn waits(s: &Scenario) -> bool {
    fn any(doers: &[DoerSpec]) -> bool {
        doers.iter().any(|d| {
            d.tock == TOCK_NEVER
                || d.lazy
                || d.on.iter().any(|a| match a.kind {
                    ActionKind::Tock(t) => t == TOCK_NEVER,
                    ActionKind::Wake { .. } => true,
                    ActionKind::Extend { .. } | ActionKind::Remove { .. } => false,
                })
                || d.children.as_deref().is_some_and(any)
        })
    }
    !s.wakes.is_empty() || any(&s.doers) || any(&s.spares)
}

fn doist_with<'a, const BR: usize>(
    d: Doist<'a, ROOT_CAPACITY, SPARE_CAPACITY, BR>,
    s: &Scenario,
) -> Doist<'a, ROOT_CAPACITY, SPARE_CAPACITY, BR> {
    d.with_limit(Tock::from_nanos(s.limit.unwrap_or(0)))
        .with_start(Tyme::from_nanos(s.start))
}

#[cfg(test)]
mod tests {
    use super::super::{Wake, TOCK_NEVER};
    use super::*;

    fn recur_tymes(trace: &str, doer: &str) -> Vec<String> {
        let head = format!("{{\"doer\": \"{doer}\", \"context\": \"recur\", \"tyme\": ");
        trace
            .lines()
            .filter_map(|l| l.strip_prefix(head.as_str()))
            .filter_map(|rest| rest.split(',').next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn wakes_are_at_tymes_from_a_later_start() {
        let json = r#"{"name": "s", "tock": 1, "start": 10, "limit": 5,
            "doers": [{"name": "io", "tock": "never"}],
            "wakes": [{"doer": "io", "at": 12}, {"doer": "io", "at": 3}, {"doer": "io", "at": 13.5}]}"#;
        let trace = trace_json(json).unwrap();
        assert_eq!(
            recur_tymes(&trace, "io"),
            ["10.0", "12.0", "14.0"],
            "{trace}"
        );
        assert!(
            trace.ends_with(
                "{\"end\": \"limit\", \"tyme\": 15.0, \"outcomes\": {\"io\": \"ceased\"}}\n"
            ),
            "{trace}"
        );
    }

    #[test]
    fn runs_again_on_the_same_thread_with_fresh_wakers() {
        let json = r#"{"name": "s", "tock": 1, "limit": 4,
            "doers": [{"name": "a", "tock": "never"}, {"name": "b", "tock": "never",
                       "on": [{"recur": 2, "wake": ["a"]}]}],
            "wakes": [{"doer": "b", "at": 2}]}"#;
        let first = trace_json(json).unwrap();
        // woken by b, after it in canonical order: at the next pass
        assert_eq!(recur_tymes(&first, "a"), ["0.0", "3.0"], "{first}");
        assert_eq!(recur_tymes(&first, "b"), ["0.0", "2.0"], "{first}");
        for _ in 0..3 {
            assert_eq!(trace_json(json).unwrap(), first);
        }
    }

    #[test]
    fn a_hand_built_wake_of_no_doer_does_nothing() {
        let leaf = |name: &str, tock| super::super::DoerSpec {
            name: name.into(),
            tock,
            children: None,
            always: false,
            lazy: false,
            stop: None,
            fail_at: None,
            fail_in_enter: false,
            done_in_enter: false,
            on: vec![super::super::Action {
                recur: 1,
                kind: ActionKind::Wake {
                    names: vec!["ghost".into(), "a".into()],
                },
            }],
        };
        let scenario = Scenario {
            name: "s".into(),
            tock: 1_000_000_000,
            limit: Some(3_000_000_000),
            start: 0,
            doers: vec![leaf("a", TOCK_NEVER)],
            spares: Vec::new(),
            wakes: vec![Wake {
                doer: "nobody".into(),
                at: 1_000_000_000,
            }],
        };
        let trace = trace(&scenario).unwrap();
        // woken by itself in its first recur: it runs again at the next pass
        assert_eq!(recur_tymes(&trace, "a"), ["0.0", "1.0"], "{trace}");
    }

    /// A chain of `levels` DoDoers above a leaf `io`, with `leaf` for io's
    /// keys and `extra` for more top-level keys.
    fn chain(levels: usize, leaf: &str, extra: &str) -> String {
        let mut d = format!(r#"{{"name": "io"{leaf}}}"#);
        for i in 0..levels {
            d = format!(r#"{{"name": "g{i}", "always": true, "doers": [{d}]}}"#);
        }
        format!(r#"{{"name": "deep", "tock": 1, "limit": 4, "doers": [{d}]{extra}}}"#)
    }

    #[test]
    fn waits_deeper_than_hio_core_wakes_are_refused() {
        let wake = r#", "wakes": [{"doer": "io", "at": 2}]"#;
        let deepest = chain(MAX_DEPTH - 1, r#", "tock": "never""#, wake);
        let t = trace_json(&deepest).unwrap();
        assert_eq!(recur_tymes(&t, "io"), ["0.0", "2.0"], "{t}");
        let too_deep = RunError::TooDeep {
            name: "io".into(),
            depth: MAX_DEPTH + 1,
            max: MAX_DEPTH,
        };
        for (leaf, extra) in [
            (r#", "tock": "never""#, wake),
            (r#", "tock": "never""#, ""),
            ("", wake),
            (r#", "on": [{"recur": 1, "wake": ["g0"]}]"#, ""),
            (r#", "on": [{"recur": 9, "tock": "never"}]"#, ""),
        ] {
            let json = chain(MAX_DEPTH, leaf, extra);
            assert_eq!(trace_json(&json), Err(too_deep.clone()), "{json}");
        }
        let lazy = chain(MAX_DEPTH, "", "").replacen(r#""always": true"#, r#""lazy": true"#, 1);
        assert!(matches!(trace_json(&lazy), Err(RunError::TooDeep { .. })));
        let text = too_deep.to_string();
        assert!(
            text.contains("\"io\"")
                && text.contains(&(MAX_DEPTH + 1).to_string())
                && text.contains(&MAX_DEPTH.to_string()),
            "{text}"
        );
        // without park, wake or lazy, depth is not limited
        let plain = chain(MAX_DEPTH + 8, r#", "stop": 2"#, "");
        let t = trace_json(&plain).unwrap();
        assert_eq!(recur_tymes(&t, "io"), ["0.0", "1.0"], "{t}");
    }

    #[test]
    fn spares_that_never_run_have_no_depth() {
        // Q is added into itself: it never runs, so it is never too deep
        let json = r#"{"name": "s", "tock": 1, "limit": 2,
            "doers": [{"name": "a", "tock": "never"}],
            "spares": [{"name": "Q", "doers": [{"name": "q", "on": [{"recur": 1, "extend": ["Q"], "into": "Q"}]}]}]}"#;
        assert!(trace_json(json).is_ok());
    }
}
