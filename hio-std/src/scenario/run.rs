//! Builds the doer tree of a [`Scenario`] with hio-core and runs it in
//! simulated time, printing the trace: the code path of `hio trace`.

use std::cell::RefCell;
use std::fmt;

use hio_core::scenario::{Action, ActionKind as CoreAction, ScnGroup, ScnLeaf, Spec};
use hio_core::{Context, Doer, Doist, Observer, SimClock, Target, Tock, Tyme};

use super::place::{counts, place, Placement};
use super::{parse, ActionKind, Scenario, ScenarioError, TraceWriter, Where};

/// Most children one DoDoer of a scenario may have.
pub const GROUP_CAPACITY: usize = 256;
/// Most spares one scheduler of a scenario may keep.
pub const SPARE_CAPACITY: usize = 64;
/// Most top-level doers of a scenario.
pub const ROOT_CAPACITY: usize = 1024;

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
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Scenario(e) => write!(f, "{e}"),
            RunError::TooLarge { name, capacity } => write!(
                f,
                "\"{name}\" would hold more than the {capacity} doers (or spares) a scenario scheduler holds; split it into nested DoDoers"
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
pub fn trace(scenario: &Scenario) -> Result<String, RunError> {
    let plan = Plan::new(scenario)?;
    Ok(plan.run(scenario))
}

/// Collects events into a [`TraceWriter`].
struct Tracer(RefCell<TraceWriter>);

impl Observer for Tracer {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        self.0
            .borrow_mut()
            .event(doer, context.as_str(), tyme.as_nanos());
    }
}

fn target(w: &Where) -> Target<'_> {
    match w {
        Where::Parent => Target::Parent,
        Where::Root => Target::Root,
        Where::Named(n) => Target::Named(n),
    }
}

/// A built scenario doer (the same no_std types the firmware builds).
enum Built<'a> {
    Leaf(ScnLeaf<'a>),
    Group(Box<ScnGroup<'a, GROUP_CAPACITY, SPARE_CAPACITY>>),
}

impl<'a> Built<'a> {
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
        Ok(plan)
    }

    fn check_sizes(&self) -> Result<(), RunError> {
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

    fn run(&self, scenario: &Scenario) -> String {
        // borrowed, heap-free specs for hio-core's scenario doers
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
                        ActionKind::Tock(_) => Vec::new(),
                    })
                    .collect()
            })
            .collect();
        let actions: Vec<Vec<Action<'_>>> = self
            .nodes
            .iter()
            .zip(&names)
            .map(|(n, names)| {
                n.spec
                    .on
                    .iter()
                    .zip(names)
                    .map(|(a, names)| Action {
                        recur: a.recur,
                        kind: match &a.kind {
                            ActionKind::Tock(t) => CoreAction::Tock(Tock::from_nanos(*t)),
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
            .zip(&actions)
            .map(|(n, on)| Spec {
                name: &n.spec.name,
                tock: Tock::from_nanos(n.spec.tock),
                always: n.spec.always,
                stop: n.spec.stop,
                fail_at: n.spec.fail_at,
                fail_in_enter: n.spec.fail_in_enter,
                done_in_enter: n.spec.done_in_enter,
                on,
            })
            .collect();
        let mut doers: Vec<Built<'_>> = self
            .nodes
            .iter()
            .zip(&specs)
            .map(|(n, spec)| match n.spec.children {
                Some(_) => Built::Group(Box::new(ScnGroup::new(spec))),
                None => Built::Leaf(ScnLeaf::new(spec)),
            })
            .collect();
        let tracer = Tracer(RefCell::new(TraceWriter::new()));
        let (report, origin) = {
            let mut refs: Vec<Option<&mut Built<'_>>> = doers.iter_mut().map(Some).collect();
            let doist: Doist<'_, ROOT_CAPACITY, SPARE_CAPACITY> =
                match Doist::new(Tock::from_nanos(scenario.tock)) {
                    Ok(d) => d,
                    Err(e) => return format!("{{\"error\": \"{e}\"}}\n"),
                };
            let mut doist = doist_with(doist, scenario);
            doist.observe(&tracer);
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
            let report = doist.run(&mut SimClock::new(), None);
            (report, doist.origin().map(String::from))
        };
        let mut w = tracer.0.into_inner();
        w.end(
            report.end.as_str(),
            report.tyme.as_nanos(),
            origin.as_deref(),
        );
        w.into_string()
    }
}

fn doist_with<'a>(
    d: Doist<'a, ROOT_CAPACITY, SPARE_CAPACITY>,
    s: &Scenario,
) -> Doist<'a, ROOT_CAPACITY, SPARE_CAPACITY> {
    d.with_limit(Tock::from_nanos(s.limit.unwrap_or(0)))
        .with_start(Tyme::from_nanos(s.start))
}
