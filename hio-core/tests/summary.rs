//! The opt-in block summary (`B` > 0) must never change a schedule: random
//! flat trees, large enough to span many blocks, with run-time tock changes,
//! additions and removals, parked doers and wakes (during passes and from
//! outside), over runs long enough for the summary's horizon to move on
//! many times, give the very same events and end with and without it.

use std::cell::RefCell;

use hio_core::scenario::{Action, ActionKind, ScnLeaf, Spec};
use hio_core::{
    Context, DoDoer, Doer, Doist, Observer, Report, Restart, SimClock, Target, Tock, Tyme,
    WakeBoard, Waker,
};
use proptest::prelude::*;

const CAP: usize = 80;
/// A scheduler of two blocks.
const SMALL: usize = 16;
const SPARES: usize = 16;

#[derive(Default)]
struct Log(RefCell<Vec<(String, Context, Tyme)>>);

impl Observer for Log {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        self.0.borrow_mut().push((doer.to_string(), context, tyme));
    }
}

#[derive(Debug, Clone)]
struct LeafP {
    tock: u64,
    stop: Option<u32>,
    fail_at: Option<u32>,
    done_in_enter: bool,
    parked: bool,
    acts: Vec<(u32, u8, usize)>, // recur, kind (0 tock, 1 extend, 2 remove, 3 wake), which
}

/// Wakers for a case's doers, shared by the two runs of a case: one board
/// per property, as the two run at once (and a case resets its board).
type Board = WakeBoard<{ CAP + SPARES }>;
static BOARD: Board = Board::new();
static SMALL_BOARD: Board = Board::new();
static NESTED_BOARD: Board = Board::new();

fn leaf() -> impl Strategy<Value = LeafP> {
    (
        prop::sample::select(vec![0u64, 1, 2, 3, 5, 7, 16, 40]),
        prop::option::weighted(0.3, 1u32..12),
        prop::option::weighted(0.03, 1u32..12),
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.4),
        prop::collection::vec((1u32..10, 0u8..4, 0usize..200), 0..3),
    )
        .prop_map(|(tock, stop, fail_at, done_in_enter, parked, acts)| LeafP {
            tock,
            stop,
            fail_at,
            done_in_enter,
            parked,
            acts,
        })
}

/// Runs the tree in a Doist of `C` deeds with a summary of `B` blocks,
/// woken from outside by `plan`; returns its events and end.
fn run<const C: usize, const B: usize>(
    specs: &[Spec<'_>],
    top: usize,
    tock: Tock,
    limit: Tock,
    plan: &[(Tyme, Waker)],
    board: &'static Board,
) -> (Vec<(String, Context, Tyme)>, Report) {
    let log = Log::default();
    let mut leaves: Vec<ScnLeaf<'_>> = specs.iter().map(ScnLeaf::new).collect();
    let mut doist: Box<Doist<'_, C, SPARES, B>> =
        Box::new(Doist::new(tock).unwrap().with_limit(limit));
    doist.observe(&log);
    doist.wakes(board);
    for (i, l) in leaves.iter_mut().enumerate() {
        let d: &mut dyn Doer = l;
        let _ = if i < top {
            doist.add(d)
        } else {
            doist.spare(d)
        };
    }
    let report = doist.run(&mut SimClock::with_wakes(plan), None);
    drop(doist);
    (log.0.into_inner(), report)
}

/// How the leaves are held: by the Doist itself, or by a DoDoer (the
/// Doist's only doer, or the only doer of another DoDoer).
#[derive(Debug, Clone, Copy)]
enum Holder {
    Doist,
    /// A DoDoer of this kind.
    Alone(Kind),
    /// Lazy, and restarting a failed child 3 ns after its failure (at
    /// most twice in 50 ns).
    LazySupervisor,
    /// A DoDoer of the second kind, in one of the first.
    Within(Kind, Kind),
}

/// A kind of DoDoer: of tock 0, lazy, or parked (tock `NEVER`).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Tock0,
    Lazy,
    Parked,
}

impl Kind {
    /// `g`, made of this kind.
    fn make<'a, const N: usize, const S: usize, const B: usize>(
        self,
        g: DoDoer<'a, N, S, B>,
    ) -> DoDoer<'a, N, S, B> {
        match self {
            Kind::Tock0 => g,
            Kind::Lazy => g.lazy(true),
            Kind::Parked => g.with_tock(Tock::NEVER),
        }
    }
}

/// [`run`], with the leaves in a DoDoer of `C` deeds and a summary of `B`
/// blocks, held by a Doist of one doer.
fn run_nested<const C: usize, const B: usize>(
    specs: &[Spec<'_>],
    top: usize,
    (tock, limit): (Tock, Tock),
    plan: &[(Tyme, Waker)],
    board: &'static Board,
    holder: Holder,
) -> (Vec<(String, Context, Tyme)>, Report) {
    let log = Log::default();
    let mut leaves: Vec<ScnLeaf<'_>> = specs.iter().map(ScnLeaf::new).collect();
    let group = DoDoer::new("group");
    let group = match holder {
        Holder::Alone(kind) | Holder::Within(_, kind) => kind.make(group),
        Holder::LazySupervisor => group.lazy(true).restart(Restart {
            delay: Tock::from_nanos(3),
            max: 2,
            window: Tock::from_nanos(50),
        }),
        Holder::Doist => group,
    };
    let mut group: Box<DoDoer<'_, C, SPARES, B>> = Box::new(group);
    for (i, l) in leaves.iter_mut().enumerate() {
        let d: &mut dyn Doer = l;
        let _ = if i < top {
            group.add(d)
        } else {
            group.spare(d)
        };
    }
    let outer = DoDoer::new("outer");
    let mut outer: DoDoer<'_, 1> = match holder {
        Holder::Within(kind, _) => kind.make(outer),
        _ => outer,
    };
    let report = {
        let mut doist: Doist<'_, 1> = Doist::new(tock).unwrap().with_limit(limit);
        doist.observe(&log);
        doist.wakes(board);
        if let Holder::Within(..) = holder {
            let _ = outer.add(&mut *group);
            let _ = doist.add(&mut outer);
        } else {
            let _ = doist.add(&mut *group);
        }
        doist.run(&mut SimClock::with_wakes(plan), None)
    };
    (log.0.into_inner(), report)
}

/// Runs the case in a Doist of `C` deeds without a summary and with one of
/// `B` blocks; both must give the same events and end.
fn same_with_summary<const C: usize, const B: usize>(
    ps: &[LeafP],
    tick: u64,
    limit: u64,
    outside: &[(u64, usize)],
    board: &'static Board,
) -> Result<(), TestCaseError> {
    same_held::<C, B>(ps, (tick, limit), outside, board, Holder::Doist)
}

/// [`same_with_summary`], with the leaves held as `holder` says.
fn same_held<const C: usize, const B: usize>(
    ps: &[LeafP],
    (tick, limit): (u64, u64),
    outside: &[(u64, usize)],
    board: &'static Board,
    holder: Holder,
) -> Result<(), TestCaseError> {
    let n = ps.len();
    let top = (n * 4 / 5).min(C);
    board.reset();
    let wakers: Vec<Waker> = (0..n).map(|_| board.waker().unwrap()).collect();
    let names: Vec<String> = (0..n).map(|i| format!("d{i}")).collect();
    let lists: Vec<Vec<Vec<&str>>> = ps
        .iter()
        .map(|p| {
            p.acts
                .iter()
                .map(|&(_, _, w)| vec![names[w % n].as_str()])
                .collect()
        })
        .collect();
    let woken: Vec<Vec<[Waker; 1]>> = ps
        .iter()
        .map(|p| p.acts.iter().map(|&(_, _, w)| [wakers[w % n]]).collect())
        .collect();
    let actions: Vec<Vec<Action<'_>>> = ps
        .iter()
        .zip(lists.iter().zip(&woken))
        .map(|(p, (lists, woken))| {
            p.acts
                .iter()
                .zip(lists.iter().zip(woken))
                .map(|(&(recur, kind, w), (names, woken))| Action {
                    recur,
                    kind: match kind {
                        0 if w % 10 == 9 => ActionKind::Tock(Tock::NEVER),
                        0 => ActionKind::Tock(Tock::from_nanos((w % 9) as u64)),
                        1 => ActionKind::Extend {
                            names,
                            into: Target::Parent,
                        },
                        2 => ActionKind::Remove {
                            names,
                            from: Target::Parent,
                        },
                        _ => ActionKind::Wake(woken),
                    },
                })
                .collect()
        })
        .collect();
    let specs: Vec<Spec<'_>> = ps
        .iter()
        .zip(&names)
        .zip(actions.iter().zip(&wakers))
        .map(|((p, name), (on, &waker))| Spec {
            tock: if p.parked {
                Tock::NEVER
            } else {
                Tock::from_nanos(p.tock)
            },
            stop: p.stop,
            fail_at: p.fail_at,
            done_in_enter: p.done_in_enter,
            waker: Some(waker),
            on,
            ..Spec::new(name)
        })
        .collect();
    let mut plan: Vec<(Tyme, Waker)> = outside
        .iter()
        .map(|&(at, w)| (Tyme::from_nanos(at), wakers[w % n]))
        .collect();
    plan.sort_by_key(|&(at, _)| at);
    let (tock, limit) = (Tock::from_nanos(tick), Tock::from_nanos(limit));
    let (plain, summed) = match holder {
        Holder::Doist => (
            run::<C, 0>(&specs, top, tock, limit, &plan, board),
            run::<C, B>(&specs, top, tock, limit, &plan, board),
        ),
        _ => (
            run_nested::<C, 0>(&specs, top, (tock, limit), &plan, board, holder),
            run_nested::<C, B>(&specs, top, (tock, limit), &plan, board, holder),
        ),
    };
    prop_assert!(plain.0.len() > n, "the run did something");
    prop_assert_eq!(&plain.1, &summed.1);
    prop_assert_eq!(plain.0, summed.0);
    Ok(())
}

/// A case: the leaves (from `leaves`), a tick of 1 to 3 ns, a limit below
/// `span` ns, and up to `wakes` wakes from outside before it.
fn case(
    leaves: std::ops::Range<usize>,
    span: u64,
    wakes: usize,
) -> impl Strategy<Value = (Vec<LeafP>, u64, u64, Vec<(u64, usize)>)> {
    (
        prop::collection::vec(leaf(), leaves),
        1u64..4,
        5u64..span,
        prop::collection::vec((0u64..span, 0usize..200), 0..wakes),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_summary_never_changes_a_schedule(
        (ps, tick, limit, outside) in case(20..CAP + SPARES, 700, 40),
    ) {
        const B: usize = CAP.div_ceil(hio_core::SUMMARY_BLOCK);
        same_with_summary::<CAP, B>(&ps, tick, limit, &outside, &BOARD)?;
    }

    /// The same leaves in a DoDoer (of tock 0, lazy, lazy and restarting
    /// failed children, or parked, alone or in another) with a summary of
    /// its own.
    #[test]
    fn a_dodoers_summary_never_changes_a_schedule(
        (ps, tick, limit, outside) in case(20..CAP + SPARES, 700, 40),
        holder in prop::sample::select(vec![
            Holder::Alone(Kind::Tock0),
            Holder::Alone(Kind::Lazy),
            Holder::Alone(Kind::Parked),
            Holder::LazySupervisor,
            Holder::Within(Kind::Lazy, Kind::Lazy),
            Holder::Within(Kind::Tock0, Kind::Lazy),
            Holder::Within(Kind::Parked, Kind::Lazy),
            Holder::Within(Kind::Lazy, Kind::Tock0),
            Holder::Within(Kind::Lazy, Kind::Parked),
        ]),
    ) {
        const B: usize = CAP.div_ceil(hio_core::SUMMARY_BLOCK);
        same_held::<CAP, B>(&ps, (tick, limit), &outside, &NESTED_BOARD, holder)?;
    }

    /// Small schedulers: with the least summary, whose bits have no room
    /// for a run bit per deed (a wake makes its block hot instead), and
    /// with one more block, which has.
    #[test]
    fn a_small_summary_never_changes_a_schedule(
        (ps, tick, limit, outside) in case(6..SMALL + SPARES, 300, 20),
    ) {
        same_with_summary::<SMALL, 2>(&ps, tick, limit, &outside, &SMALL_BOARD)?;
        same_with_summary::<SMALL, 3>(&ps, tick, limit, &outside, &SMALL_BOARD)?;
    }
}

/// Counts the clock's waits.
struct Waits(hio_core::SimClock<'static>, u32);

impl hio_core::Clock for Waits {
    fn now(&mut self) -> Tyme {
        self.0.now()
    }
    fn wait_until(&mut self, deadline: Tyme) {
        self.1 += 1;
        self.0.wait_until(deadline);
    }
}

#[test]
fn an_idle_tree_with_a_summary_sleeps_until_its_next_due_doer() {
    // 40 doers (5 blocks), all due every 10 s, under a 1 ms Doist tock, for
    // 60 s: 6 passes with work; with the summary's lower bounds the Doist
    // may look once more after each before it knows it is idle
    let specs: Vec<String> = (0..40).map(|i| format!("d{i}")).collect();
    let specs: Vec<Spec<'_>> = specs
        .iter()
        .map(|n| Spec {
            tock: Tock::from_secs(10),
            ..Spec::new(n)
        })
        .collect();
    let mut leaves: Vec<ScnLeaf<'_>> = specs.iter().map(ScnLeaf::new).collect();
    let mut doist: Box<Doist<'_, 40, 0, 5>> = Box::new(
        Doist::new(Tock::from_millis(1))
            .unwrap()
            .with_limit(Tock::from_secs(60)),
    );
    for l in leaves.iter_mut() {
        doist.add(l).unwrap();
    }
    let mut clock = Waits(SimClock::new(), 0);
    let report = doist.run(&mut clock, None);
    assert_eq!(report.tyme, Tyme::from_secs(60));
    assert!(clock.1 <= 13, "{} waits for 6 passes with work", clock.1);
    assert!(clock.1 >= 6);
}

/// A doer with a tock (or parked), counting its recurs' tymes.
struct Timed {
    tock: hio_core::Tock,
    recurs: Vec<hio_core::Tyme>,
}

impl hio_core::Doer for Timed {
    fn tock(&self) -> hio_core::Tock {
        self.tock
    }
    fn recur(&mut self, cx: &mut hio_core::Cx<'_>) -> Result<hio_core::Step, hio_core::Fault> {
        self.recurs.push(cx.tyme());
        Ok(hio_core::Step::Continue)
    }
}

static POOL: WakeBoard<4> = WakeBoard::new();

/// A lazy DoDoer of 1,200 doers with a summary (150 blocks, three words of
/// them), all parked but a few with tocks far apart in canonical order:
/// after each recur it waits for the earliest of them, whichever word of
/// blocks it is in, and runs when each is due, never between.
fn lazy_pool_runs_when_its_timed_children_are_due(
    timed: &[(usize, u64)],
) -> Result<(), TestCaseError> {
    use hio_core::{DoDoer, Doist, SimClock, Tock, Tyme};
    const N: usize = 1200;
    POOL.reset();
    let mut doers: Vec<Timed> = (0..N)
        .map(|_| Timed {
            tock: Tock::NEVER,
            recurs: Vec::new(),
        })
        .collect();
    for &(k, ms) in timed {
        doers[k % N].tock = Tock::from_millis(ms);
    }
    let limit = Tock::from_millis(100);
    let pool_recurs = {
        let mut pool: Box<DoDoer<'_, N, 0, { N / 8 }>> = Box::new(DoDoer::new("pool").lazy(true));
        for d in doers.iter_mut() {
            pool.add(d).map_err(|_| TestCaseError::fail("full"))?;
        }
        let log = std::cell::RefCell::new(Vec::new());
        struct Pools<'l>(&'l std::cell::RefCell<Vec<Tyme>>);
        impl hio_core::Observer for Pools<'_> {
            fn event(&self, doer: &str, context: hio_core::Context, tyme: Tyme) {
                if doer == "pool" && context == hio_core::Context::Recur {
                    self.0.borrow_mut().push(tyme);
                }
            }
        }
        let observer = Pools(&log);
        {
            let mut doist: Doist<'_, 1> =
                Doist::new(Tock::from_millis(1)).unwrap().with_limit(limit);
            doist.observe(&observer);
            doist.wakes(&POOL);
            doist.add(&mut *pool).unwrap();
            doist.run(&mut SimClock::new(), None);
        }
        log.into_inner()
    };
    // the pool runs exactly at the tymes some child runs
    let mut child_tymes: Vec<Tyme> = doers
        .iter()
        .flat_map(|d| d.recurs.iter().copied())
        .collect();
    child_tymes.sort();
    child_tymes.dedup();
    prop_assert_eq!(pool_recurs, child_tymes);
    // and every timed child ran at each of its tocks
    for &(k, ms) in timed {
        let d = &doers[k % N];
        let want: Vec<Tyme> = (0..100 / ms + 1)
            .map(|j| Tyme::from_millis(j * ms))
            .filter(|t| *t < Tyme::ZERO + limit)
            .collect();
        if timed.iter().filter(|&&(j, _)| j % N == k % N).count() == 1 {
            prop_assert_eq!(&d.recurs, &want, "doer {}", k % N);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_large_lazy_pool_waits_for_its_earliest_child_in_any_word_of_blocks(
        timed in prop::collection::vec((0usize..1200, 3u64..40), 1..5),
    ) {
        lazy_pool_runs_when_its_timed_children_are_due(&timed)?;
    }
}
