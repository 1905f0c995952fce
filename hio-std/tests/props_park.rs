//! Property tests of park and wake: random trees with parked doers, lazy
//! DoDoers, doers that fail or finish (in enter too), wakes from outside
//! and wake actions, tock changes to and from never, and run-time extends
//! (into the root or a DoDoer) and removals, run through `hio trace`'s
//! runner. Every trace must keep the contract's invariants:
//!
//! - every doer's events form one of the contract's lifecycle sequences;
//! - a doer recurs at most once per pass (per tyme);
//! - a DoDoer exits after all its children;
//! - a parked doer never runs between one recur and the next wake of it
//!   (its entry recur aside);
//! - a child recurs only in a pass in which its parent recurs;
//! - a lazy DoDoer recurs, after its first recur, only in a pass in which
//!   one of its children recurs, or when it was woken itself;
//! - a wake made during a recur runs a doer after the waker in canonical
//!   order in the same pass (when its parent runs in that pass);
//! - a doer added at run time first runs at a later pass;
//! - a wake from outside at S runs a top-level doer at the first tyme of
//!   the Doist's grid at or after S;
//!
//! and the same tree with a summary in the Doist and in every DoDoer gives
//! the very same trace.

use std::collections::HashMap;
use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::Value;

/// Tocks of doers: 0, periods shorter and longer than the Doist's, never.
const TOCKS: [&str; 6] = ["0", "0.0625", "0.125", "0.25", "0.5", "\"never\""];

#[derive(Debug, Clone)]
struct Node {
    tock: usize,
    lazy: bool,
    always: bool,
    stop: Option<u32>,
    /// A leaf's failure: at this recur, or in enter (0); or it is done in
    /// enter (`u32::MAX`).
    fault: Option<u32>,
    /// (recur, action): a tock change (index into TOCKS) or wakes of doers
    /// (indices into the flat list, resolved modulo its length).
    acts: Vec<(u32, Act)>,
    kids: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
enum Act {
    Tock(usize),
    Wake(Vec<usize>),
    Extend,
    /// Removes a doer (index into the flat list) from its parent.
    Remove(usize),
}

fn act() -> impl Strategy<Value = (u32, Act)> {
    (
        1u32..8,
        prop_oneof![
            3 => (0..TOCKS.len()).prop_map(Act::Tock),
            3 => prop::collection::vec(0usize..64, 1..3).prop_map(Act::Wake),
            3 => Just(Act::Extend),
            1 => (0usize..64).prop_map(Act::Remove),
        ],
    )
}

fn leaf() -> impl Strategy<Value = Node> {
    (
        0..TOCKS.len(),
        prop::option::weighted(0.3, 1u32..10),
        prop::option::weighted(0.04, prop_oneof![Just(0u32), 1u32..12, Just(u32::MAX)]),
        prop::collection::vec(act(), 0..3),
    )
        .prop_map(|(tock, stop, fault, acts)| Node {
            tock,
            lazy: false,
            always: false,
            stop,
            fault,
            acts,
            kids: None,
        })
}

fn tree() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        (
            0..TOCKS.len(),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(act(), 0..2),
            prop::collection::vec(inner, 0..4),
        )
            .prop_map(|(tock, lazy, always, acts, kids)| Node {
                tock,
                lazy,
                always,
                stop: None,
                fault: None,
                acts,
                kids: Some(kids),
            })
    })
}

#[derive(Debug, Clone)]
struct Case {
    tock: usize,
    doers: Vec<Node>,
    spares: Vec<Node>,
    wakes: Vec<(usize, u32)>,
    /// Where each spare goes when extended: the DoDoer at this index of
    /// the flat list (modulo its length), or the root if that is no DoDoer.
    into: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0usize..2,
        prop::collection::vec(tree(), 1..4),
        prop::collection::vec(leaf(), 0..3),
        prop::collection::vec((0usize..64, 0u32..40), 0..6),
        prop::collection::vec(0usize..64, 3),
    )
        .prop_map(|(tock, doers, spares, wakes, into)| Case {
            tock,
            doers,
            spares,
            wakes,
            into,
        })
}

/// Names in pre-order: `d0`, `d1`, ... for doers, then `s0`, ... for spares.
struct Flat {
    names: Vec<String>,
    parent: Vec<Option<usize>>,
    /// Leaves that are parked from their entry on and never change tock.
    always_parked: Vec<bool>,
    /// Lazy DoDoers.
    lazy: Vec<bool>,
    /// DoDoers.
    group: Vec<bool>,
    /// Where the spares start in the list.
    first_spare: usize,
}

fn flatten(c: &Case) -> Flat {
    let mut f = Flat {
        names: Vec::new(),
        parent: Vec::new(),
        always_parked: Vec::new(),
        lazy: Vec::new(),
        group: Vec::new(),
        first_spare: 0,
    };
    fn walk(n: &Node, parent: Option<usize>, f: &mut Flat, prefix: &str) {
        let me = f.names.len();
        f.names.push(format!("{prefix}{me}"));
        f.parent.push(parent);
        let parked = n.kids.is_none()
            && TOCKS[n.tock] == "\"never\""
            && !n.acts.iter().any(|(_, a)| matches!(a, Act::Tock(_)));
        f.always_parked.push(parked);
        f.lazy.push(n.kids.is_some() && n.lazy);
        f.group.push(n.kids.is_some());
        for k in n.kids.iter().flatten() {
            walk(k, Some(me), f, prefix);
        }
    }
    for d in &c.doers {
        walk(d, None, &mut f, "d");
    }
    f.first_spare = f.names.len();
    for s in &c.spares {
        walk(s, None, &mut f, "s");
    }
    f
}

/// The DoDoer spare `j` goes into when extended (`None`: the root).
fn into_of(c: &Case, f: &Flat, j: usize) -> Option<usize> {
    let k = c.into.get(j)? % f.names.len();
    (k < f.first_spare && f.group[k]).then_some(k)
}

/// The parent of doer `k` once running: a spare's is where it is
/// extended into.
fn parent_of(c: &Case, f: &Flat, k: usize) -> Option<usize> {
    if k >= f.first_spare {
        into_of(c, f, k - f.first_spare)
    } else {
        f.parent[k]
    }
}

fn json(c: &Case, f: &Flat) -> String {
    let n = f.names.len();
    let spares: Vec<&String> = f.names.iter().filter(|x| x.starts_with('s')).collect();
    let mut next = 0usize;
    let mut extended = 0usize;
    #[allow(clippy::too_many_arguments)]
    fn doer(
        node: &Node,
        c: &Case,
        f: &Flat,
        next: &mut usize,
        spares: &[&String],
        intos: &[String],
        extended: &mut usize,
        out: &mut String,
    ) {
        let me = *next;
        *next += 1;
        let _ = write!(
            out,
            r#"{{"name": "{}", "tock": {}"#,
            f.names[me], TOCKS[node.tock]
        );
        if let Some(s) = node.stop {
            let _ = write!(out, r#", "stop": {s}"#);
        }
        match node.fault {
            Some(0) => out.push_str(r#", "fail_in_enter": true"#),
            Some(u32::MAX) => out.push_str(r#", "done_in_enter": true"#),
            Some(n) => {
                let _ = write!(out, r#", "fail_at": {n}"#);
            }
            None => {}
        }
        let mut acts = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (r, a) in &node.acts {
            // one action per recur keeps the schema simple
            if !seen.insert(*r) {
                continue;
            }
            match a {
                Act::Tock(t) => acts.push(format!(r#"{{"recur": {r}, "tock": {}}}"#, TOCKS[*t])),
                Act::Wake(ws) => {
                    let names: Vec<String> = ws
                        .iter()
                        .map(|w| format!("\"{}\"", f.names[w % f.names.len()]))
                        .collect();
                    acts.push(format!(
                        r#"{{"recur": {r}, "wake": [{}]}}"#,
                        names.join(", ")
                    ));
                }
                Act::Extend => {
                    // each spare is named by at most one extend
                    if let (Some(s), Some(into)) = (spares.get(*extended), intos.get(*extended)) {
                        *extended += 1;
                        acts.push(format!(
                            r#"{{"recur": {r}, "extend": ["{s}"], "into": "{into}"}}"#
                        ));
                    }
                }
                Act::Remove(w) => {
                    let (name, from) = removal(c, f, *w);
                    acts.push(format!(
                        r#"{{"recur": {r}, "remove": ["{name}"], "from": "{from}"}}"#
                    ));
                }
            }
        }
        if !acts.is_empty() {
            let _ = write!(out, r#", "on": [{}]"#, acts.join(", "));
        }
        if let Some(kids) = &node.kids {
            if node.lazy {
                out.push_str(r#", "lazy": true"#);
            }
            if node.always {
                out.push_str(r#", "always": true"#);
            }
            out.push_str(r#", "doers": ["#);
            for (i, k) in kids.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                doer(k, c, f, next, spares, intos, extended, out);
            }
            out.push(']');
        }
        out.push('}');
    }
    let intos: Vec<String> = (0..spares.len())
        .map(|j| into_of(c, f, j).map_or("root".to_string(), |g| f.names[g].clone()))
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        r#"{{"name": "prop", "tock": {}, "limit": 5, "doers": ["#,
        ["0.125", "0.25"][c.tock]
    );
    for (i, d) in c.doers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        doer(d, c, f, &mut next, &spares, &intos, &mut extended, &mut out);
    }
    out.push_str(r#"], "spares": ["#);
    for (i, s) in c.spares.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        doer(s, c, f, &mut next, &spares, &intos, &mut extended, &mut out);
    }
    out.push_str(r#"], "wakes": ["#);
    let wakes: Vec<String> = c
        .wakes
        .iter()
        .map(|(w, at)| {
            format!(
                r#"{{"doer": "{}", "at": {}}}"#,
                f.names[w % n],
                f64::from(*at) * 0.125
            )
        })
        .collect();
    out.push_str(&wakes.join(", "));
    out.push_str("]}");
    out
}

/// The doer a remove action names, and the scheduler it is removed from:
/// its parent, or the root.
fn removal<'f>(c: &Case, f: &'f Flat, w: usize) -> (&'f str, &'f str) {
    let k = w % f.names.len();
    let from = parent_of(c, f, k).map_or("root", |p| f.names[p].as_str());
    (f.names[k].as_str(), from)
}

#[derive(Debug)]
struct Ev {
    doer: String,
    ctx: String,
    tyme: f64,
}

fn events(trace: &str) -> Vec<Ev> {
    trace
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("doer").is_some())
        .map(|v| Ev {
            doer: v["doer"].as_str().unwrap_or_default().to_string(),
            ctx: v["context"].as_str().unwrap_or_default().to_string(),
            tyme: v["tyme"].as_f64().unwrap_or(-1.0),
        })
        .collect()
}

fn allowed(seq: &[&str]) -> bool {
    let Some((&"enter", rest)) = seq.split_first() else {
        return false;
    };
    let recurs = rest.iter().take_while(|c| **c == "recur").count();
    match &rest[recurs..] {
        [] => true, // still running at the end: not possible after a run, but harmless
        ["clean", "exit"] | ["cease", "exit"] => true,
        ["abort", "exit"] => true,
        _ => false,
    }
}

fn check(c: &Case, f: &Flat, json: &str, trace: &str) -> Result<(), String> {
    let evs = events(trace);
    let mut by: HashMap<&str, Vec<(usize, &Ev)>> = HashMap::new();
    for (i, e) in evs.iter().enumerate() {
        by.entry(e.doer.as_str()).or_default().push((i, e));
    }
    let index: HashMap<&str, usize> = f
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    // planned wakes of each doer, by tyme
    let mut planned: HashMap<&str, Vec<f64>> = HashMap::new();
    for (w, at) in &c.wakes {
        planned
            .entry(f.names[w % f.names.len()].as_str())
            .or_default()
            .push(f64::from(*at) * 0.125);
    }
    // a wake from outside at S runs a top-level doer at the first tyme of
    // the grid at or after S (unless it, or the run, ended by then)
    let tock = [0.125, 0.25][c.tock];
    for (w, at) in &c.wakes {
        let k = w % f.names.len();
        if k >= f.first_spare || f.parent[k].is_some() {
            continue;
        }
        let s = f64::from(*at) * 0.125;
        let grid = (s / tock).ceil() * tock;
        let ended = evs
            .iter()
            .any(|e| e.tyme <= grid && matches!(e.ctx.as_str(), "exit" | "cease" | "abort"));
        let ran = by
            .get(f.names[k].as_str())
            .is_some_and(|l| l.iter().any(|(_, e)| e.ctx == "recur" && e.tyme == grid));
        if grid < 5.0 && !ended && !ran {
            return Err(format!(
                "{} woken from outside at {s} did not run at {grid}",
                f.names[k]
            ));
        }
    }
    // wake actions: (tyme, woken) from the recurs of the doers that make them
    let mut woken_at: HashMap<String, Vec<f64>> = HashMap::new();
    // and the wakes themselves: (waker, tyme, woken)
    let mut wakes: Vec<(&str, f64, usize, &str)> = Vec::new();
    let acts = actions(c, f);
    for (name, list) in &by {
        let mut n = 0u32;
        for &(k, e) in list {
            if e.ctx == "recur" {
                n += 1;
                for (r, ws, wake) in acts.get(*name).into_iter().flatten() {
                    if *r == n {
                        for w in ws {
                            woken_at.entry(w.clone()).or_default().push(e.tyme);
                            if *wake {
                                wakes.push((name, e.tyme, k, w.as_str()));
                            }
                        }
                    }
                }
            }
        }
    }
    // a wake made during a recur at T, of a doer after the waker in
    // canonical order (and not below it), runs it at T, unless its parent
    // does not run at T (or it is a spare, or it ended by then)
    for &(waker, at, k, woken) in &wakes {
        let (Some(&x), Some(&y)) = (index.get(waker), index.get(woken)) else {
            continue;
        };
        // (a DoDoer's own descendants ran in its recur: not later)
        let mut up = parent_of(c, f, y);
        let mut below = false;
        while let Some(p) = up {
            below |= p == x;
            up = parent_of(c, f, p);
        }
        if y <= x || below || woken.starts_with('s') {
            continue;
        }
        let ran_at = |n: &str, ctx: &str| {
            by.get(n)
                .is_some_and(|l| l.iter().any(|(_, e)| e.ctx == ctx && e.tyme == at))
        };
        // entered, and not yet ended, when the waker recurred
        let alive = by.get(woken).is_some_and(|l| {
            l.first().is_some_and(|&(i, e)| i < k && e.ctx == "enter")
                && !l.iter().any(|&(i, e)| i < k && e.ctx == "exit")
        });
        let parent_runs = parent_of(c, f, y).is_none_or(|p| ran_at(&f.names[p], "recur"));
        if alive && parent_runs && !ran_at(woken, "cease") && !ran_at(woken, "recur") {
            return Err(format!(
                "{waker} woke {woken} at {at}, later in canonical order, and it did not run then"
            ));
        }
    }
    for (name, list) in &by {
        let seq: Vec<&str> = list.iter().map(|(_, e)| e.ctx.as_str()).collect();
        if !allowed(&seq) {
            return Err(format!("{name}: {seq:?}"));
        }
        let recurs: Vec<f64> = list
            .iter()
            .filter(|(_, e)| e.ctx == "recur")
            .map(|(_, e)| e.tyme)
            .collect();
        if recurs.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("{name} recurs twice in a pass: {recurs:?}"));
        }
        let Some(&me) = index.get(name) else {
            return Err(format!("unknown doer {name} in the trace"));
        };
        // parents exit after children
        if let Some(p) = parent_of(c, f, me) {
            let pname = f.names[p].as_str();
            let exit = |l: &Vec<(usize, &Ev)>| l.iter().find(|(_, e)| e.ctx == "exit").map(|x| x.0);
            if let (Some(mine), Some(theirs)) = (exit(list), by.get(pname).and_then(exit)) {
                if mine > theirs {
                    return Err(format!("{pname} exited before its child {name}"));
                }
            }
            // a child recurs only when its parent recurs at that tyme
            let precurs: Vec<f64> = by
                .get(pname)
                .map(|l| {
                    l.iter()
                        .filter(|(_, e)| e.ctx == "recur")
                        .map(|(_, e)| e.tyme)
                        .collect()
                })
                .unwrap_or_default();
            if let Some(t) = recurs.iter().find(|t| !precurs.contains(t)) {
                return Err(format!("{name} recurred at {t} without its parent {pname}"));
            }
        }
        // whether it was woken from outside after `before` (up to `at`), or
        // by a recur from `before` to `at`
        let woken_between = |before: f64, at: f64| {
            let outside = planned
                .get(name)
                .is_some_and(|ats| ats.iter().any(|&a| a > before && a <= at));
            let inside = woken_at
                .get(*name)
                .is_some_and(|ts| ts.iter().any(|&t| t >= before && t <= at));
            outside || inside
        };
        // a lazy DoDoer runs only when a child is due, or when woken
        if f.lazy[me] {
            let kids: Vec<f64> = (0..f.names.len())
                .filter(|&k| parent_of(c, f, k) == Some(me))
                .flat_map(|k| by.get(f.names[k].as_str()).into_iter().flatten())
                .filter(|(_, e)| e.ctx == "recur")
                .map(|(_, e)| e.tyme)
                .collect();
            for w in recurs.windows(2) {
                let (before, at) = (w[0], w[1]);
                if !kids.contains(&at) && !woken_between(before, at) {
                    return Err(format!(
                        "lazy {name} ran at {at} with no child running and no wake since {before}\n{json}"
                    ));
                }
            }
        }
        // an added doer first runs at a later pass than the one that
        // entered it
        if me >= f.first_spare {
            let entered = list
                .iter()
                .find(|(_, e)| e.ctx == "enter")
                .map(|(_, e)| e.tyme);
            if let (Some(at), Some(first)) = (entered, recurs.first()) {
                if *first <= at {
                    return Err(format!("{name}, added at {at}, ran at {first}"));
                }
            }
        }
        // a parked doer runs again only after a wake
        if f.always_parked[me] {
            for w in recurs.windows(2) {
                let (before, at) = (w[0], w[1]);
                if !woken_between(before, at) {
                    return Err(format!(
                        "parked {name} ran at {at} with no wake since {before}\n{json}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Each doer's actions that wake: (recur, woken names, whether it is a
/// wake).
type Actions = HashMap<String, Vec<(u32, Vec<String>, bool)>>;

/// The wake actions of each doer: (recur, woken names, whether it is a
/// wake), one action per recur as written by [`json`]; a remove action
/// counts as a wake of the DoDoer it removes from (`false`).
fn actions(c: &Case, f: &Flat) -> Actions {
    let mut out = HashMap::new();
    let mut next = 0usize;
    let mut extended = 0usize;
    let spares = f.names.len() - f.first_spare;
    fn walk(
        n: &Node,
        (c, f): (&Case, &Flat),
        (next, extended, spares): (&mut usize, &mut usize, usize),
        out: &mut Actions,
    ) {
        let me = *next;
        *next += 1;
        let mut seen = std::collections::HashSet::new();
        for (r, a) in &n.acts {
            if !seen.insert(*r) {
                continue;
            }
            // a removal from a DoDoer, and an extend into one, bring it
            // forward as a wake of it would
            let poked = match a {
                Act::Wake(ws) => {
                    let names = ws
                        .iter()
                        .map(|w| f.names[w % f.names.len()].clone())
                        .collect();
                    out.entry(f.names[me].clone())
                        .or_default()
                        .push((*r, names, true));
                    None
                }
                Act::Remove(w) => Some(removal(c, f, *w).1),
                Act::Extend if *extended < spares => {
                    *extended += 1;
                    into_of(c, f, *extended - 1).map(|g| f.names[g].as_str())
                }
                Act::Extend | Act::Tock(_) => None,
            };
            if let Some(g) = poked.filter(|g| *g != "root") {
                out.entry(f.names[me].clone())
                    .or_default()
                    .push((*r, vec![g.to_string()], false));
            }
        }
        for k in n.kids.iter().flatten() {
            walk(k, (c, f), (next, extended, spares), out);
        }
    }
    for d in c.doers.iter().chain(&c.spares) {
        walk(d, (c, f), (&mut next, &mut extended, spares), &mut out);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_parked_trees_keep_the_contract(c in case()) {
        let f = flatten(&c);
        let json = json(&c, &f);
        let trace = hio_std::scenario::trace_json(&json)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        if let Err(e) = check(&c, &f, &json, &trace) {
            return Err(TestCaseError::fail(format!("{e}\n{json}\n{trace}")));
        }
        // the summaries in the Doist and every DoDoer change nothing
        let summed = hio_std::scenario::trace_json_summarized(&json)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        if summed != trace {
            let diff = hio_std::scenario::compare_traces(&trace, &summed);
            return Err(TestCaseError::fail(format!("with summaries: {diff:?}\n{json}")));
        }
    }
}

#[test]
fn the_generator_makes_parks_wakes_and_lazy_dodoers() {
    // the checks above are only as good as the trees: make sure some of
    // them park, wake, go lazy, lose or gain a child while lazy, and fail
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut parked_reruns, mut lazy, mut removed_from_lazy) = (0, 0, 0);
    let (mut added_to_lazy, mut faults) = (0, 0);
    for _ in 0..400 {
        let c = case().new_tree(&mut runner).map(|t| t.current());
        let Ok(c) = c else { continue };
        let f = flatten(&c);
        let json = json(&c, &f);
        if json.contains(r#""lazy": true"#) {
            lazy += 1;
        }
        let Ok(trace) = hio_std::scenario::trace_json(&json) else {
            continue;
        };
        let evs = events(&trace);
        if evs.iter().any(|e| e.ctx == "abort") {
            faults += 1;
        }
        // doers ceased while their lazy parent ran on: removed from it
        removed_from_lazy += (0..f.names.len())
            .filter(|&k| parent_of(&c, &f, k).is_some_and(|p| f.lazy[p]))
            .filter(|&k| {
                let ceased = evs
                    .iter()
                    .position(|e| e.doer == f.names[k] && e.ctx == "cease");
                let parent = parent_of(&c, &f, k).map(|p| f.names[p].as_str());
                ceased.is_some_and(|at| {
                    evs.iter()
                        .skip(at)
                        .any(|e| Some(e.doer.as_str()) == parent && e.ctx == "recur")
                })
            })
            .count();
        // spares entered into a lazy DoDoer
        added_to_lazy += (f.first_spare..f.names.len())
            .filter(|&k| parent_of(&c, &f, k).is_some_and(|p| f.lazy[p]))
            .filter(|&k| evs.iter().any(|e| e.doer == f.names[k]))
            .count();
        for (i, name) in f.names.iter().enumerate() {
            if f.always_parked[i] {
                let n = evs
                    .iter()
                    .filter(|e| &e.doer == name && e.ctx == "recur")
                    .count();
                if n > 1 {
                    parked_reruns += 1;
                }
            }
        }
    }
    assert!(
        parked_reruns > 30,
        "only {parked_reruns} parked doers were woken"
    );
    assert!(lazy > 100, "only {lazy} cases had lazy DoDoers");
    assert!(faults > 20, "only {faults} runs had a doer fail");
    assert!(
        removed_from_lazy > 10,
        "only {removed_from_lazy} doers were removed from a lazy DoDoer"
    );
    assert!(
        added_to_lazy > 10,
        "only {added_to_lazy} spares were added to a lazy DoDoer"
    );
}
