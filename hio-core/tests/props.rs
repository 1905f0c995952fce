//! Property tests: random trees (DoDoers nested up to 3 deep, random tocks,
//! stops, faults, enter outcomes, run-time extends and removes, limits) run
//! in simulated time; the recorded events must keep the contract's
//! invariants, and every recur must fall where the retyme rules put it.

mod common;

use std::collections::HashMap;

use common::*;
#[cfg(feature = "requests")]
use hio_core::RequestError;
use hio_core::{Context, Doist, End, Fault, SimClock, Tock, Tyme};

/// Whether run-time requests are built in. Without them (the lean
/// configuration firmware takes) the trees have no spares and their doers
/// change only their own tocks.
const REQ: bool = cfg!(feature = "requests");
use proptest::prelude::*;

/// Children per group (small, so run-time extends meet `Full` and force
/// compaction).
const CAP: usize = 3;

const DOIST_TOCKS: [u64; 3] = [31_250_000, 100_000_000, 250_000_000];
/// Doer tocks: 0 (twice as likely), shorter, equal and longer than the
/// Doist's, multiples and not.
const TOCKS: [u64; 8] = [
    0,
    0,
    31_250_000,
    62_500_000,
    100_000_000,
    125_000_000,
    250_000_000,
    300_000_000,
];
const LIMITS: [u64; 5] = [
    250_000_000,
    300_000_000,
    1_000_000_000,
    1_234_000_000,
    3_000_000_000,
];

// ---------------------------------------------------------------------------
// Generated cases

#[derive(Debug, Clone)]
struct ActP {
    recur: u32,
    /// `Some`: the doer's tock becomes `TOCKS[i]` (no request).
    set_tock: Option<usize>,
    extend: bool,
    target: u8,
    names: Vec<u8>,
}

#[derive(Debug, Clone)]
struct P {
    tock: usize,
    stop: Option<u32>,
    fail_at: Option<u32>,
    done_in_enter: bool,
    fail_in_enter: bool,
    acts: Vec<ActP>,
}

#[derive(Debug, Clone)]
enum T {
    Leaf(P),
    Group {
        p: P,
        always: bool,
        kids: Vec<T>,
        spares: Vec<P>,
    },
}

#[derive(Debug, Clone)]
struct Case {
    dt: usize,
    limit: usize,
    start: bool,
    top: Vec<T>,
    spares: Vec<P>,
}

fn act() -> impl Strategy<Value = ActP> {
    (
        1..5u32,
        prop::option::weighted(0.25, 0..TOCKS.len()),
        any::<bool>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 1..3),
    )
        .prop_map(|(recur, set_tock, extend, target, names)| ActP {
            recur,
            set_tock,
            extend,
            target,
            names,
        })
}

fn p() -> impl Strategy<Value = P> {
    p_with(0.03)
}

/// Spares fail in enter more often, to reach `EnterFailed`.
fn spare() -> impl Strategy<Value = P> {
    p_with(0.2)
}

fn p_with(fail_in_enter: f64) -> impl Strategy<Value = P> {
    (
        0..TOCKS.len(),
        prop::option::weighted(0.5, 1..6u32),
        prop::option::weighted(0.06, 1..8u32),
        prop::bool::weighted(0.1),
        prop::bool::weighted(fail_in_enter),
        prop::collection::vec(act(), 0..3),
    )
        .prop_map(
            |(tock, stop, fail_at, done_in_enter, fail_in_enter, acts)| P {
                tock,
                stop,
                fail_at,
                done_in_enter,
                fail_in_enter,
                acts,
            },
        )
}

fn tree() -> impl Strategy<Value = T> {
    p().prop_map(T::Leaf).prop_recursive(3, 24, 3, |inner| {
        (
            p(),
            prop::bool::weighted(0.2),
            prop::collection::vec(inner, 0..4),
            prop::collection::vec(spare(), 0..3),
        )
            .prop_map(|(p, always, kids, spares)| T::Group {
                p,
                always,
                kids,
                spares,
            })
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..DOIST_TOCKS.len(),
        0..LIMITS.len(),
        any::<bool>(),
        prop::collection::vec(tree(), 1..4),
        prop::collection::vec(spare(), 0..3),
    )
        .prop_map(|(dt, limit, start, top, spares)| Case {
            dt,
            limit,
            start,
            top,
            spares,
        })
}

// ---------------------------------------------------------------------------
// The flat tree the checks work on

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FTo {
    Parent,
    Root,
    Named(usize),
}

#[derive(Debug, Clone)]
struct FAct {
    recur: u32,
    set_tock: Option<u64>,
    extend: bool,
    to: FTo,
    names: Vec<usize>,
}

#[derive(Debug, Clone)]
struct F {
    name: String,
    /// `None`: the Doist.
    parent: Option<usize>,
    spare: bool,
    group: bool,
    always: bool,
    tock: u64,
    stop: Option<u32>,
    fail_at: Option<u32>,
    done_in_enter: bool,
    fail_in_enter: bool,
    acts: Vec<FAct>,
}

struct Flat {
    dt: u64,
    start: u64,
    limit: u64,
    nodes: Vec<F>,
}

impl Flat {
    fn new(c: &Case) -> Flat {
        let mut nodes = Vec::new();
        let mut raw: Vec<Vec<ActP>> = Vec::new();
        let mut later: Vec<(Option<usize>, P)> = c
            .spares
            .iter()
            .filter(|_| REQ)
            .map(|s| (None, s.clone()))
            .collect();
        fn push(
            nodes: &mut Vec<F>,
            raw: &mut Vec<Vec<ActP>>,
            p: &P,
            parent: Option<usize>,
            spare: bool,
            group: Option<bool>,
        ) -> usize {
            let i = nodes.len();
            let leaf = group.is_none();
            nodes.push(F {
                name: format!("{}{i}", if spare { "s" } else { "n" }),
                parent,
                spare,
                group: !leaf,
                always: group.unwrap_or(false),
                tock: TOCKS[p.tock],
                stop: p.stop.filter(|_| leaf),
                fail_at: p.fail_at.filter(|_| leaf),
                done_in_enter: p.done_in_enter && leaf,
                fail_in_enter: p.fail_in_enter,
                acts: Vec::new(),
            });
            // without requests, a doer only changes its tock
            raw.push(
                p.acts
                    .iter()
                    .filter(|a| REQ || a.set_tock.is_some())
                    .cloned()
                    .collect(),
            );
            i
        }
        fn walk(
            nodes: &mut Vec<F>,
            raw: &mut Vec<Vec<ActP>>,
            later: &mut Vec<(Option<usize>, P)>,
            t: &T,
            parent: Option<usize>,
        ) {
            match t {
                T::Leaf(p) => {
                    push(nodes, raw, p, parent, false, None);
                }
                T::Group {
                    p,
                    always,
                    kids,
                    spares,
                } => {
                    let me = push(nodes, raw, p, parent, false, Some(*always));
                    for k in kids {
                        walk(nodes, raw, later, k, Some(me));
                    }
                    later.extend(spares.iter().filter(|_| REQ).map(|s| (Some(me), s.clone())));
                }
            }
        }
        for t in &c.top {
            walk(&mut nodes, &mut raw, &mut later, t, None);
        }
        for (parent, p) in &later {
            push(&mut nodes, &mut raw, p, *parent, true, None);
        }
        let n = nodes.len();
        let groups: Vec<usize> = (0..n).filter(|&i| nodes[i].group).collect();
        let spares: Vec<usize> = (0..n).filter(|&i| nodes[i].spare).collect();
        for (i, acts) in raw.iter().enumerate() {
            nodes[i].acts = acts
                .iter()
                .map(|a| {
                    let to = match a.target % 5 {
                        0 => FTo::Parent,
                        1 => FTo::Root,
                        2 | 3 if !groups.is_empty() => {
                            FTo::Named(groups[a.target as usize / 5 % groups.len()])
                        }
                        _ => FTo::Named(a.target as usize / 5 % n),
                    };
                    let pool: &[usize] = if a.extend && !spares.is_empty() {
                        &spares
                    } else {
                        &[]
                    };
                    let names = a
                        .names
                        .iter()
                        .map(|&k| {
                            if pool.is_empty() {
                                k as usize % n
                            } else {
                                pool[k as usize % pool.len()]
                            }
                        })
                        .collect();
                    FAct {
                        recur: a.recur,
                        set_tock: a.set_tock.map(|k| TOCKS[k]),
                        extend: a.extend,
                        to,
                        names,
                    }
                })
                .collect();
        }
        Flat {
            dt: DOIST_TOCKS[c.dt],
            start: if c.start { 5_000_000_000 } else { 0 },
            limit: LIMITS[c.limit],
            nodes,
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|f| f.name == name)
    }

    fn kids(&self, p: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(move |&j| self.nodes[j].parent == p)
    }

    /// Node `i`'s tock as it is after its recur number `m` (0: at entry).
    fn tock_after(&self, i: usize, m: usize) -> u64 {
        let f = &self.nodes[i];
        f.acts
            .iter()
            .filter(|a| a.recur as usize <= m)
            .filter_map(|a| a.set_tock.map(|t| (a.recur, t)))
            .max_by_key(|(r, _)| *r)
            .map_or(f.tock, |(_, t)| t)
    }

    fn ancestors(&self, mut i: usize) -> Vec<usize> {
        let mut v = Vec::new();
        while let Some(p) = self.nodes[i].parent {
            v.push(p);
            i = p;
        }
        v
    }

    /// Builds the tree with hio-core, runs it, returns its events, its
    /// report and every doer's request results.
    fn run(&self) -> (Vec<Ev>, Ended, Vec<RequestLog>) {
        let log = Log::new();
        let mut doers: Vec<Node<'_, CAP>> = self
            .nodes
            .iter()
            .map(|f| {
                let mut n = Node::make(&f.name, f.group).tock(Tock::from_nanos(f.tock));
                if f.always {
                    n = n.always();
                }
                n.stop = f.stop;
                n.fail_at = f.fail_at;
                n.done_in_enter = f.done_in_enter;
                n.fail_in_enter = f.fail_in_enter;
                for a in &f.acts {
                    if let Some(tock) = a.set_tock {
                        n.on.push((a.recur, Act::SetTock(Tock::from_nanos(tock))));
                        continue;
                    }
                    let to = match a.to {
                        FTo::Parent => To::Parent,
                        FTo::Root => To::Root,
                        FTo::Named(j) => To::Named(self.nodes[j].name.as_str()),
                    };
                    let names = a
                        .names
                        .iter()
                        .map(|&j| self.nodes[j].name.as_str())
                        .collect();
                    n.on.push((
                        a.recur,
                        if a.extend {
                            Act::Extend(to, names)
                        } else {
                            Act::Remove(to, names)
                        },
                    ));
                }
                n
            })
            .collect();
        let cells: Vec<_> = doers.iter().map(|d| d.results.clone()).collect();
        let report = {
            let mut refs: Vec<Option<&mut Node<'_, CAP>>> = doers.iter_mut().map(Some).collect();
            let mut doist: Doist<'_, CAP, 4> = Doist::new(Tock::from_nanos(self.dt))
                .unwrap()
                .with_limit(Tock::from_nanos(self.limit))
                .with_start(Tyme::from_nanos(self.start));
            doist.observe(&log);
            // children come after their parent in pre-order: going backwards,
            // every group gets its children before it is handed to its parent
            for i in (0..self.nodes.len()).rev() {
                if !self.nodes[i].group {
                    continue;
                }
                for j in self.kids(Some(i)) {
                    let d = refs[j].take().unwrap();
                    let g = refs[i].as_mut().unwrap().group.as_mut().unwrap();
                    if self.nodes[j].spare {
                        #[cfg(feature = "requests")]
                        assert!(g.spare(d).is_ok());
                        #[cfg(not(feature = "requests"))]
                        unreachable!("a spare without requests: {}", d.name);
                    } else {
                        assert!(g.add(d).is_ok());
                    }
                }
            }
            for j in self.kids(None) {
                let d = refs[j].take().unwrap();
                if self.nodes[j].spare {
                    #[cfg(feature = "requests")]
                    assert!(doist.spare(d).is_ok());
                    #[cfg(not(feature = "requests"))]
                    unreachable!("a spare without requests: {}", d.name);
                } else {
                    assert!(doist.add(d).is_ok());
                }
            }
            let r = doist.run(&mut SimClock::new(), None);
            Ended {
                end: r.end,
                tyme: r.tyme,
                origin: doist.origin().map(String::from),
            }
        };
        let results = cells.iter().map(|c| c.borrow().clone()).collect();
        (log.events(), report, results)
    }
}

// ---------------------------------------------------------------------------
// The checks

type Check = Result<(), String>;

/// How a run ended, with the fault's origin.
#[derive(Debug)]
struct Ended {
    end: End,
    tyme: Tyme,
    origin: Option<String>,
}

macro_rules! ensure {
    ($c:expr, $($fmt:tt)+) => {
        if !$c {
            return Err(format!($($fmt)+));
        }
    };
}

struct Life {
    seq: Vec<Context>,
    idx: Vec<usize>,
    recurs: Vec<Tyme>,
}

impl Life {
    fn first(&self) -> usize {
        self.idx[0]
    }
    fn last(&self) -> usize {
        *self.idx.last().unwrap()
    }
    fn end_ctx(&self) -> Context {
        self.seq[self.seq.len() - 2]
    }
    fn end_tyme(&self, evs: &[Ev]) -> Tyme {
        evs[self.idx[self.idx.len() - 2]].tyme
    }
}

fn check(flat: &Flat, evs: &[Ev], report: &Ended, results: &[RequestLog]) -> Check {
    let n = flat.nodes.len();
    let dt = flat.dt;
    let start = Tyme::from_nanos(flat.start);
    let on_grid = |t: Tyme| t >= start && (t.as_nanos() - flat.start) % dt == 0;

    // --- per-doer lifecycles
    let mut lives: Vec<Option<Life>> = (0..n).map(|_| None).collect();
    for (k, e) in evs.iter().enumerate() {
        let i = flat
            .index(&e.doer)
            .ok_or(format!("unknown doer {}", e.doer))?;
        let l = lives[i].get_or_insert(Life {
            seq: Vec::new(),
            idx: Vec::new(),
            recurs: Vec::new(),
        });
        l.seq.push(e.ctx);
        l.idx.push(k);
        if e.ctx == Context::Recur {
            l.recurs.push(e.tyme);
        }
        ensure!(on_grid(e.tyme), "event {e} off the tock grid");
    }
    for (i, l) in lives.iter().enumerate() {
        let Some(l) = l else { continue };
        let f = &flat.nodes[i];
        ensure!(
            allowed(&l.seq),
            "{}: sequence {:?} not allowed",
            f.name,
            l.seq
        );
        // at most one recur per pass
        ensure!(
            l.recurs.windows(2).all(|w| w[0] < w[1]),
            "{}: two recurs in one pass: {:?}",
            f.name,
            l.recurs
        );
        // a leaf ends the way its script says
        let r = l.recurs.len() as u32;
        if f.fail_in_enter {
            ensure!(
                l.seq == ctxs("enter abort exit"),
                "{}: enter failed: {:?}",
                f.name,
                l.seq
            );
        } else if f.done_in_enter {
            ensure!(
                l.seq == ctxs("enter clean exit"),
                "{}: done in enter: {:?}",
                f.name,
                l.seq
            );
        } else if !f.group {
            let fail = f.fail_at.unwrap_or(u32::MAX);
            let stop = f.stop.unwrap_or(u32::MAX);
            match l.end_ctx() {
                Context::Abort => ensure!(r == fail, "{}: aborted after {r} recurs", f.name),
                Context::Clean => ensure!(r == stop && stop < fail, "{}: done after {r}", f.name),
                _ => ensure!(r < fail.min(stop), "{}: ceased after {r}", f.name),
            }
        } else {
            if f.always {
                ensure!(
                    l.end_ctx() != Context::Clean,
                    "{}: always group finished",
                    f.name
                );
            }
            if l.end_ctx() == Context::Clean {
                ensure!(r >= 1, "{}: group done in enter", f.name);
            }
        }
    }

    // --- never entered: nothing; initial enters are the pre-order up to the
    // first enter failure
    let first_recur = evs
        .iter()
        .position(|e| e.ctx == Context::Recur)
        .unwrap_or(evs.len());
    let initial: Vec<&str> = evs[..first_recur]
        .iter()
        .filter(|e| e.ctx == Context::Enter)
        .map(|e| e.doer.as_str())
        .collect();
    let mut want = Vec::new();
    for f in flat.nodes.iter().filter(|f| !f.spare) {
        want.push(f.name.as_str());
        if f.fail_in_enter {
            break;
        }
    }
    ensure!(initial == want, "initial enters {initial:?}, want {want:?}");
    for (i, f) in flat.nodes.iter().enumerate() {
        if lives[i].is_some() {
            continue;
        }
        // not entered: a spare, or after an enter failure
        ensure!(
            f.spare || !want.contains(&f.name.as_str()),
            "{} never entered",
            f.name
        );
    }

    // --- nesting: a child's life lies inside its parent's; a parent ceasing
    // or aborting stops its children in reverse order, then exits
    for (i, f) in flat.nodes.iter().enumerate() {
        let (Some(l), Some(p)) = (&lives[i], f.parent) else {
            continue;
        };
        let pl = lives[p]
            .as_ref()
            .ok_or(format!("{} entered, parent not", f.name))?;
        ensure!(
            pl.first() < l.first() && l.last() < pl.last(),
            "{} not nested in {}",
            f.name,
            flat.nodes[p].name
        );
    }
    for (p, pl) in lives.iter().enumerate() {
        let Some(pl) = pl else { continue };
        let stop_at = pl.idx[pl.idx.len() - 2];
        if !flat.nodes[p].group || !matches!(pl.end_ctx(), Context::Cease | Context::Abort) {
            continue;
        }
        let window = &evs[stop_at + 1..pl.last()];
        let mut exits = Vec::new();
        for e in window {
            let j = flat.index(&e.doer).unwrap();
            ensure!(
                matches!(e.ctx, Context::Cease | Context::Exit) && flat.ancestors(j).contains(&p),
                "{} stopping: unexpected {e}",
                flat.nodes[p].name
            );
            if e.ctx == Context::Exit && flat.nodes[j].parent == Some(p) {
                exits.push(lives[j].as_ref().unwrap().first());
            }
        }
        ensure!(
            exits.windows(2).all(|w| w[0] > w[1]),
            "{}: children not stopped in reverse order",
            flat.nodes[p].name
        );
    }

    // --- a non-always group with no children left finishes at that recur
    for (p, pl) in lives.iter().enumerate() {
        let (Some(pl), f) = (pl, &flat.nodes[p]) else {
            continue;
        };
        if !f.group || f.always {
            continue;
        }
        for (k, c) in pl.seq.iter().enumerate() {
            if *c != Context::Recur {
                continue;
            }
            let at = pl.idx[k];
            let live = flat.kids(Some(p)).any(|j| {
                lives[j]
                    .as_ref()
                    .is_some_and(|l| l.first() < at && l.last() > at)
            });
            if !live {
                ensure!(
                    pl.seq[k + 1] == Context::Clean,
                    "{}: empty group kept going",
                    f.name
                );
            }
        }
    }

    // --- the run's end matches the events
    let contained = |i: usize| flat.nodes[i].spare && flat.nodes[i].fail_in_enter;
    let first_fault = evs
        .iter()
        .position(|e| e.ctx == Context::Abort && !contained(flat.index(&e.doer).unwrap()));
    let last_recur = evs
        .iter()
        .rev()
        .find(|e| e.ctx == Context::Recur)
        .map(|e| e.tyme);
    match (&report.end, first_fault) {
        (End::Fault(fault), Some(k)) => {
            let o = &evs[k];
            let oi = flat.index(&o.doer).unwrap();
            ensure!(
                report.origin.as_deref() == Some(o.doer.as_str()),
                "origin {:?}, first abort {o}",
                report.origin
            );
            ensure!(
                report.tyme == o.tyme,
                "fault at {}, report {}",
                o.tyme,
                report.tyme
            );
            let reason = if flat.nodes[oi].fail_in_enter {
                "fail_in_enter"
            } else {
                "fail_at"
            };
            ensure!(*fault == Fault::failed(reason), "fault {fault:?}");
            // after it: the chain of ancestors aborts, everything else ceases
            let mut chain = flat.ancestors(oi).into_iter();
            for e in &evs[k + 1..] {
                ensure!(
                    matches!(e.ctx, Context::Cease | Context::Exit | Context::Abort),
                    "after the fault: {e}"
                );
                ensure!(e.tyme == o.tyme, "after the fault, at another tyme: {e}");
                if e.ctx == Context::Abort {
                    let want = chain.next().map(|a| flat.nodes[a].name.as_str());
                    ensure!(want == Some(e.doer.as_str()), "abort of {e}, want {want:?}");
                }
            }
            ensure!(
                chain.next().is_none(),
                "an ancestor of the origin did not abort"
            );
        }
        (End::Fault(_), None) => return Err("fault end without an abort".into()),
        (_, Some(k)) => return Err(format!("abort {} but end {:?}", evs[k], report.end)),
        (End::Limit, None) => {
            let l = flat.limit.div_ceil(dt) * dt;
            ensure!(
                report.tyme == start + Tock::from_nanos(l),
                "limit end at {}",
                report.tyme
            );
            ensure!(report.origin.is_none(), "origin without a fault");
            ensure!(
                last_recur.is_none_or(|t| t < start + Tock::from_nanos(flat.limit)),
                "recur at or past the limit"
            );
            for (i, l) in lives.iter().enumerate() {
                if let Some(l) = l {
                    let t = l.end_tyme(evs);
                    ensure!(
                        t <= report.tyme,
                        "{} ended after the limit",
                        flat.nodes[i].name
                    );
                    if t == report.tyme {
                        ensure!(
                            l.end_ctx() == Context::Cease,
                            "{} not ceased at the limit",
                            flat.nodes[i].name
                        );
                    }
                }
            }
        }
        (End::Done, None) => {
            let last = last_recur.unwrap_or(start);
            ensure!(
                report.tyme == last + Tock::from_nanos(dt),
                "done at {}, last recur {last}",
                report.tyme
            );
            ensure!(
                evs.iter().all(|e| e.tyme <= last),
                "events after the last pass"
            );
        }
        (End::Stopped, None) => return Err("stopped without a stop".into()),
    }

    // --- request results agree with the tree and the events
    for (i, rs) in results.iter().enumerate() {
        let f = &flat.nodes[i];
        let l = lives[i].as_ref();
        let mut acts: Vec<FAct> = f
            .acts
            .iter()
            .filter(|a| a.set_tock.is_none())
            .cloned()
            .collect();
        for &(recur, r) in rs {
            let k = acts
                .iter()
                .position(|a| a.recur == recur)
                .ok_or("result without act")?;
            let a = acts.remove(k);
            let at = l.and_then(|l| l.recurs.get(recur as usize - 1)).copied();
            let at = at.ok_or(format!("{}: request without its recur {recur}", f.name))?;
            let anc = flat.ancestors(i);
            if !a.extend {
                // refused iff it names an ancestor of the requester
                let names_anc = a.names.iter().any(|j| anc.contains(j));
                ensure!(
                    (r == Err(RequestError::Ancestor)) == names_anc,
                    "{}: remove {:?} gave {r:?}",
                    f.name,
                    a.names
                );
            } else if a.names.len() == 1 {
                let s = a.names[0];
                let entered = lives[s].as_ref().map(|l| evs[l.first()].tyme);
                match r {
                    Ok(()) => ensure!(entered == Some(at), "{}: extend ok, not entered", f.name),
                    Err(RequestError::EnterFailed(_)) => ensure!(
                        entered == Some(at)
                            && lives[s].as_ref().unwrap().seq == ctxs("enter abort exit"),
                        "{}: enter failed, trace differs",
                        f.name
                    ),
                    Err(_) => {}
                }
            }
        }
    }

    // --- every recur falls where the retyme rules put it
    let root_runs: Vec<Tyme> = (0..)
        .map(|k: u64| start + Tock::from_nanos(k * dt))
        .take_while(|t| *t <= report.tyme)
        .collect();
    for (i, l) in lives.iter().enumerate() {
        let Some(l) = l else { continue };
        let f = &flat.nodes[i];
        // the parent's runs, each with the parent's tock during that run
        let runs: Vec<(Tyme, u64)> = match f.parent {
            None => root_runs.iter().map(|&t| (t, dt)).collect(),
            Some(p) => lives[p]
                .as_ref()
                .unwrap()
                .recurs
                .iter()
                .enumerate()
                .map(|(m, &t)| (t, flat.tock_after(p, m + 1)))
                .collect(),
        };
        let t0 = evs[l.first()].tyme;
        let mut retyme = t0;
        let mut expect = Vec::new();
        for &(r, period) in &runs {
            if r < t0 || (f.spare && r == t0) || r < retyme {
                continue;
            }
            expect.push(r);
            // the tock as it is after this recur
            let tock = flat.tock_after(i, expect.len());
            retyme = if tock == 0 {
                r + Tock::from_nanos(period)
            } else {
                retyme + Tock::from_nanos(tock)
            };
        }
        let end = l.end_tyme(evs);
        let before: Vec<Tyme> = expect.iter().copied().filter(|t| *t < end).collect();
        let mut with_end = before.clone();
        if expect.contains(&end) {
            with_end.push(end);
        }
        let ok = match l.end_ctx() {
            Context::Cease => l.recurs == before || l.recurs == with_end,
            _ if l.recurs.is_empty() => true,
            _ => l.recurs == with_end && l.recurs.last() == Some(&end),
        };
        ensure!(
            ok,
            "{}: recurs {:?}, retyme rules give {:?} (ended {} at {end})",
            f.name,
            l.recurs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            expect.iter().map(ToString::to_string).collect::<Vec<_>>(),
            l.end_ctx()
        );
    }
    Ok(())
}

/// `NotRunning` only for a target that is not running: every running DoDoer
/// can be named, wherever it is in the tree. Checked for leaf requesters
/// with one action in that recur, so the request's place in the events is
/// known: right after the recur (and the leaf's own clean, exit).
#[cfg_attr(not(feature = "requests"), allow(dead_code))]
fn check_named(flat: &Flat, evs: &[Ev], results: &[RequestLog]) -> Check {
    for (i, rs) in results.iter().enumerate() {
        let f = &flat.nodes[i];
        for &(recur, r) in rs {
            let mut acts = f
                .acts
                .iter()
                .filter(|a| a.recur == recur && a.set_tock.is_none());
            let (Some(a), None) = (acts.next(), acts.next()) else {
                continue;
            };
            let (FTo::Named(j), Err(RequestError::NotRunning)) = (a.to, r) else {
                continue;
            };
            if !flat.nodes[j].group || f.group {
                continue;
            }
            // the requester's recur, then its own clean and exit if it finished
            let ri = evs
                .iter()
                .enumerate()
                .filter(|(_, e)| e.doer == f.name && e.ctx == Context::Recur)
                .nth(recur as usize - 1)
                .map(|(k, _)| k)
                .ok_or("no recur")?;
            let k = (ri + 1..evs.len())
                .find(|&k| evs[k].doer != f.name)
                .unwrap_or(evs.len());
            let first = evs.iter().position(|e| e.doer == flat.nodes[j].name);
            let exit = evs
                .iter()
                .position(|e| e.doer == flat.nodes[j].name && e.ctx == Context::Exit);
            let running = first.is_some_and(|x| x < k) && exit.is_none_or(|x| x >= k);
            ensure!(
                !running,
                "{} (recur {recur}) got NotRunning naming {}, which is running",
                f.name,
                flat.nodes[j].name
            );
        }
    }
    Ok(())
}

fn describe(flat: &Flat, evs: &[Ev], report: &Ended) -> String {
    let mut s = format!(
        "doist tock {} start {} limit {}\n",
        Tock::from_nanos(flat.dt),
        Tyme::from_nanos(flat.start),
        Tock::from_nanos(flat.limit)
    );
    for f in &flat.nodes {
        let parent = f
            .parent
            .map_or("root".to_string(), |p| flat.nodes[p].name.clone());
        s += &format!("  {} in {parent}: {f:?}\n", f.name);
    }
    for e in evs {
        s += &format!("{e}\n");
    }
    s + &format!("{report:?}\n")
}

/// 256 cases (a fraction of a second); `PROPTEST_CASES=N` runs more.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_trees_keep_the_contract(c in case()) {
        let flat = Flat::new(&c);
        let (evs, report, results) = flat.run();
        let r = check(&flat, &evs, &report, &results);
        prop_assert!(r.is_ok(), "{}\n{}", r.unwrap_err(), describe(&flat, &evs, &report));
    }
}

#[cfg(feature = "requests")]
proptest! {
    #![proptest_config(config())]

    #[test]
    fn named_targets_reach_every_running_dodoer(c in case()) {
        let flat = Flat::new(&c);
        let (evs, report, results) = flat.run();
        let r = check(&flat, &evs, &report, &results).and_then(|()| check_named(&flat, &evs, &results));
        prop_assert!(r.is_ok(), "{}\n{}", r.unwrap_err(), describe(&flat, &evs, &report));
    }
}

/// The counts that show the generator reaches every part of the contract.
#[test]
fn generator_covers_the_contract() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: HashMap<&'static str, u32> = HashMap::new();
    for _ in 0..400 {
        let c = case().new_tree(&mut runner).unwrap().current();
        let flat = Flat::new(&c);
        let (evs, report, results) = flat.run();
        for r in results.iter().flatten() {
            #[allow(unreachable_patterns)] // RequestError is non-exhaustive
            let k = match r.1 {
                Ok(()) => "ok",
                Err(RequestError::NotRunning) => "NotRunning",
                Err(RequestError::NoSuchSpare) => "NoSuchSpare",
                Err(RequestError::Full) => "Full",
                Err(RequestError::Ancestor) => "Ancestor",
                Err(RequestError::EnterFailed(_)) => "EnterFailed",
                Err(_) => "other",
            };
            *seen.entry(k).or_default() += 1;
        }
        check(&flat, &evs, &report, &results)
            .unwrap_or_else(|e| panic!("{e}\n{}", describe(&flat, &evs, &report)));
        *seen.entry(report.end.as_str()).or_default() += 1;
        let spare_entered = evs
            .iter()
            .any(|e| e.ctx == Context::Enter && e.doer.starts_with('s'));
        if spare_entered {
            *seen.entry("extended").or_default() += 1;
        }
        let removed = evs
            .iter()
            .any(|e| e.ctx == Context::Cease && e.tyme < report.tyme);
        if removed {
            *seen.entry("removed").or_default() += 1;
        }
        if flat.nodes.iter().any(|f| {
            f.parent.is_some_and(|p| {
                flat.nodes[p]
                    .parent
                    .is_some_and(|q| flat.nodes[q].parent.is_some())
            })
        }) {
            *seen.entry("depth3").or_default() += 1;
        }
    }
    eprintln!("coverage: {seen:?}");
    let wanted: &[&str] = if REQ {
        &[
            "done",
            "limit",
            "fault",
            "extended",
            "removed",
            "depth3",
            "ok",
            "NotRunning",
            "NoSuchSpare",
            "Full",
            "Ancestor",
            "EnterFailed",
        ]
    } else {
        &["done", "limit", "fault", "depth3"]
    };
    for &k in wanted {
        assert!(seen.get(k).copied().unwrap_or(0) >= 3, "{k}: {seen:?}");
    }
}
