//! Scheduler cost: nanoseconds per doer-run of hio-core's `Deeds` (through
//! `Doist::pass`), each case beside a REFERENCE measured in the same run.
//!
//! The reference is a faithful port of Python hio's own algorithm
//! (`hio/core/doing.py`, `Doist.recur` and `DoDoer.recur`): a `VecDeque` of
//! deeds `(dog, retyme, doer)`; each pass appends a `(None, ..)` marker, then
//! pops the front deed until it meets the marker; a due deed
//! (`retyme <= tyme`) is sent the tyme (one virtual call, which yields the
//! doer's tock, or "stops" when the doer is done), gets `retyme = tyme +
//! parent tock` for tock 0 or `retyme += tock` otherwise, and is pushed back;
//! a deed not due is pushed back unchanged. Tyme is integer nanoseconds on
//! both sides (hio uses `f64`). A reference DoDoer runs its own deque inside
//! its `send`, as hio's `DoDoer.recur` does.
//!
//! Both sides run the same three doer types (counter, accumulator, toggler:
//! trivial work, never finishing), interleaved 0,1,2,0,1,2,... so dispatch
//! stays dynamic.
//!
//! Cases (each hio-core and reference):
//! - `flat-N`, N = 1, 10, 100, 1000, 10000: N doers, tock 0, in one Doist.
//!   With one doer, a pass is one doer-run and what the pass itself costs
//!   (its line gives ns per pass): beside `flat-10`, it tells a pass's own
//!   cost from a doer-run's.
//! - `nested-100x100`: the Doist holds 100 DoDoers (tock 0) of 100 doers
//!   each. A pass is 10 100 doer-runs (100 DoDoer recurs + 10 000 leaf
//!   recurs); ns/doer-run divides by 10 100.
//! - `sparse-10000`: 10 000 doers; doers 0, 100, 200, ... (100 of them,
//!   spread evenly) have tock = the Doist's tock (1 ms) and are due every
//!   pass; the other 9 900 have tock 10^15 ns (about 11.6 days of tyme) and,
//!   once past their first run at tyme 0 (done in setup, untimed), never come
//!   due during the bench. ns/due-doer-run divides the pass by 100 and is
//!   compared with dense `flat-10000` (goal: ratio <= 3). It is measured
//!   three times: with the opt-in summary (`Doist<'_, N, 0, B>`, B = N /
//!   `SUMMARY_BLOCK`), paired with a dense Doist of the same type; without
//!   it (B = 0); and with the same doers in a DoDoer of tock 0 with its own
//!   summary, under a Doist of one.
//!
//! - `woken-10000`: 10 000 parked doers (tock `Tock::NEVER`, each with its
//!   own waker); before each pass 100 of them, a different 100 each time,
//!   are woken (the wakes are timed with the pass). ns/woken-doer-run divides
//!   the pass by 100 and is compared with dense `flat-10000` (goal: ratio
//!   <= 3), with the summary (B = N / `SUMMARY_BLOCK`). It is measured
//!   twice: with the doers in the Doist itself, and in a lazy DoDoer (a
//!   pool, with its own summary) under a Doist of one, where each wake
//!   also brings the pool forward and the pool then finds its next due
//!   child.
//! - `woken-floor` (printed with `woken-10000`, from the same rounds): the
//!   same wakes, drained and run by the least code that keeps a wake's
//!   constraints (atomic stores only, as on a Cortex-M0; never lost; a
//!   generation check) and nothing else: no scheduler, one dynamic call
//!   per woken doer (`floor/mod.rs`). It tells how much of the woken ratio
//!   any such design pays, and how far hio-core's path is above it.
//!
//! Criterion measures every benchmark (groups `flat-N`, `nested-100x100`,
//! `sparse-10000`, functions `hio-core` and `reference`; 1 s warm-up, 2 s,
//! 10 samples: about 40 s in all). Then, for every case criterion ran, the
//! bench times PAIRED ROUNDS of its own (15 rounds; each round times a
//! batch of about 4 ms of passes of each side in turn, so both sides see the
//! same machine load) and prints one line per case to stdout, after
//! criterion's output:
//!
//! ```text
//! sched flat-1: 7.58 ns/pass, reference 6.08 ns/pass, ratio 1.247 (one doer: a pass's own cost beside one doer-run)
//! sched flat-100: 2.41 ns/doer-run, reference 2.30 ns/doer-run, ratio 1.048
//! sched woken-10000: 26.67 ns/woken-doer-run, dense flat-10000 2.73 ns/doer-run, ratio 9.767 (100 of 10 000 parked doers woken per pass, with the summary)
//! sched woken-floor: 14.15 ns/woken-doer-run, dense flat-10000 2.73 ns/doer-run, ratio 5.183 (the same wakes with no scheduler: flags, drain, one call each; woken-10000 is 1.88x it)
//! sched sparse-10000: 10.88 ns/due-doer-run, dense flat-10000 2.34 ns/doer-run, ratio 4.645 (with the summary, B = N/8)
//! sched sparse-10000: 11.14 ns/due-doer-run, dense flat-10000 2.45 ns/doer-run, ratio 4.551 (in a DoDoer of tock 0, with its summary, B = N/8)
//! ```
//!
//! Each figure is the median over the rounds of the time per pass divided by
//! the doer-runs of one pass. For the sparse line, the dense flat-10000
//! figure comes from a second dense Doist paired with the sparse one (so it
//! may differ a little from the `flat-10000` line). Criterion's own
//! estimates (time per pass, doer-runs/s as throughput) stay in its output.
//!
//! With `-- --test` criterion runs each benchmark once; the lines still
//! print, from ONE pass of each side (a smoke test, not a measurement).
//! Benchmarks filtered out (`cargo bench ... -- flat-10/`) print no line.
//!
//! Everything runs in a thread with a 256 MiB stack (a `Doist<'_, 10000>`
//! is about 240 KB inline; it is also boxed).

mod floor;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use hio_core::{Cx, DoDoer, Doer, Doist, Fault, Step, Tock, WakeBoard, Waker};

/// The Doist's tock, in both schedulers.
const DOIST_TOCK: u64 = 1_000_000;
/// A tock so long that such a doer never comes due again during the bench.
const NEVER: u64 = 1_000_000_000_000_000;

// ---------------------------------------------------------------------------
// The three doer types, with the same work on both sides.

/// Counts its runs.
struct Counter {
    n: u64,
    tock: u64,
}

impl Counter {
    #[inline(always)]
    fn work(&mut self, _tyme: u64) {
        self.n = self.n.wrapping_add(1);
    }
}

/// Sums the tymes it ran at.
struct Accumulator {
    sum: u64,
    tock: u64,
}

impl Accumulator {
    #[inline(always)]
    fn work(&mut self, tyme: u64) {
        self.sum = self.sum.wrapping_add(tyme);
    }
}

/// Flips a flag, counting the flips to "on".
struct Toggler {
    on: bool,
    ons: u64,
    tock: u64,
}

impl Toggler {
    #[inline(always)]
    fn work(&mut self, _tyme: u64) {
        self.on = !self.on;
        self.ons += u64::from(self.on);
    }
}

/// The reference's doer interface: hio's `dog.send(tyme)`. `Some(tock)` is
/// the tock the generator yielded (0: run again at the parent's next run);
/// `None` is `StopIteration` (the doer is done).
trait RefDoer {
    fn send(&mut self, tyme: u64) -> Option<u64>;
}

macro_rules! doer_both_ways {
    ($t:ty) => {
        impl Doer for $t {
            fn tock(&self) -> Tock {
                Tock::from_nanos(self.tock)
            }
            fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
                self.work(cx.tyme().as_nanos());
                Ok(Step::Continue)
            }
        }
        impl RefDoer for $t {
            fn send(&mut self, tyme: u64) -> Option<u64> {
                self.work(tyme);
                Some(self.tock)
            }
        }
    };
}

doer_both_ways!(Counter);
doer_both_ways!(Accumulator);
doer_both_ways!(Toggler);

/// `n` doers for hio-core, doer `i` of type `i % 3` with tock `tock_of(i)`.
struct Doers {
    n: usize,
    counters: Vec<Counter>,
    accumulators: Vec<Accumulator>,
    togglers: Vec<Toggler>,
}

impl Doers {
    fn new(n: usize, tock_of: impl Fn(usize) -> u64) -> Self {
        let mut d = Doers {
            n,
            counters: Vec::new(),
            accumulators: Vec::new(),
            togglers: Vec::new(),
        };
        for i in 0..n {
            let tock = tock_of(i);
            match i % 3 {
                0 => d.counters.push(Counter { n: 0, tock }),
                1 => d.accumulators.push(Accumulator { sum: 0, tock }),
                _ => d.togglers.push(Toggler {
                    on: false,
                    ons: 0,
                    tock,
                }),
            }
        }
        d
    }

    /// The doers in order `0..n`, interleaving the three types.
    fn refs(&mut self) -> Vec<&mut dyn Doer> {
        let mut a = self.counters.iter_mut();
        let mut b = self.accumulators.iter_mut();
        let mut c = self.togglers.iter_mut();
        let mut out: Vec<&mut dyn Doer> = Vec::with_capacity(self.n);
        for i in 0..self.n {
            let d: Option<&mut dyn Doer> = match i % 3 {
                0 => a.next().map(|d| d as &mut dyn Doer),
                1 => b.next().map(|d| d as &mut dyn Doer),
                _ => c.next().map(|d| d as &mut dyn Doer),
            };
            out.extend(d);
        }
        out
    }

    /// Something that depends on every doer's work, so none of it is dead.
    fn checksum(&self) -> u64 {
        self.counters.iter().map(|d| d.n).sum::<u64>()
            + self.accumulators.iter().map(|d| d.sum).sum::<u64>()
            + self.togglers.iter().map(|d| d.ons).sum::<u64>()
    }
}

/// The same `n` doers for the reference, each in its own box.
fn ref_doers(n: usize, tock_of: impl Fn(usize) -> u64) -> Vec<Box<dyn RefDoer>> {
    (0..n)
        .map(|i| -> Box<dyn RefDoer> {
            let tock = tock_of(i);
            match i % 3 {
                0 => Box::new(Counter { n: 0, tock }),
                1 => Box::new(Accumulator { sum: 0, tock }),
                _ => Box::new(Toggler {
                    on: false,
                    ons: 0,
                    tock,
                }),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The reference: hio's Doist.recur / DoDoer.recur.

/// hio's deed triple `(dog, retyme, doer)`; `dog: None` is the pass marker.
struct Deed {
    dog: Option<Box<dyn RefDoer>>,
    retyme: u64,
    doer: usize,
}

/// One pass over `deeds` at `tyme`, `tock` being the scheduler's own tock
/// (hio's `recur` body, line for line).
fn ref_recur(deeds: &mut VecDeque<Deed>, done: &mut [bool], tyme: u64, tock: u64) {
    deeds.push_back(Deed {
        dog: None,
        retyme: 0,
        doer: usize::MAX,
    }); // append run through once marker
    while let Some(Deed {
        dog,
        mut retyme,
        doer,
    }) = deeds.pop_front()
    {
        let Some(mut dog) = dog else {
            break; // marker: once through
        };
        if retyme <= tyme {
            match dog.send(tyme) {
                None => {
                    // StopIteration: assign done state, do not re-append
                    if let Some(d) = done.get_mut(doer) {
                        *d = true;
                    }
                }
                Some(t) => {
                    if t == 0 {
                        retyme = tyme + tock; // rerun at next recur
                    } else {
                        retyme += t; // cumulative retyme of doer tock
                    }
                    deeds.push_back(Deed {
                        dog: Some(dog),
                        retyme,
                        doer,
                    });
                }
            }
        } else {
            deeds.push_back(Deed {
                dog: Some(dog),
                retyme,
                doer,
            });
        }
    }
}

/// hio's `enter`: every doer gets a deed due at the current tyme (the
/// bench's doers have nothing to do in enter).
fn ref_enter(doers: Vec<Box<dyn RefDoer>>, tyme: u64) -> VecDeque<Deed> {
    doers
        .into_iter()
        .enumerate()
        .map(|(doer, dog)| Deed {
            dog: Some(dog),
            retyme: tyme,
            doer,
        })
        .collect()
}

/// hio's `Doist`, reduced to what a pass needs.
struct RefDoist {
    tyme: u64,
    tock: u64,
    deeds: VecDeque<Deed>,
    done: Vec<bool>,
}

impl RefDoist {
    fn new(tock: u64, doers: Vec<Box<dyn RefDoer>>) -> Self {
        let done = vec![false; doers.len()];
        RefDoist {
            tyme: 0,
            tock,
            deeds: ref_enter(doers, 0),
            done,
        }
    }

    /// `Doist.recur` then the loop's `if not self.deeds` check. True once
    /// no deed is left.
    fn pass(&mut self) -> bool {
        ref_recur(&mut self.deeds, &mut self.done, self.tyme, self.tock);
        self.tyme += self.tock; // self.tick()
        self.deeds.is_empty()
    }
}

/// hio's `DoDoer`: its `send` runs its own deque at the parent's tyme.
struct RefDoDoer {
    tock: u64,
    always: bool,
    deeds: VecDeque<Deed>,
    done: Vec<bool>,
}

impl RefDoer for RefDoDoer {
    fn send(&mut self, tyme: u64) -> Option<u64> {
        ref_recur(&mut self.deeds, &mut self.done, tyme, self.tock);
        if self.deeds.is_empty() && !self.always {
            None
        } else {
            Some(self.tock)
        }
    }
}

// ---------------------------------------------------------------------------
// Timing.

/// What ran, and the figures to print.
#[derive(Default)]
struct Records {
    /// Per criterion benchmark: ns per pass of every timed call.
    criterion: RefCell<BTreeMap<String, Vec<f64>>>,
    /// Per case: median ns per pass of each side, from paired rounds.
    paired: RefCell<BTreeMap<String, Vec<f64>>>,
}

impl Records {
    fn push(&self, key: &str, elapsed: Duration, iters: u64) {
        let per = elapsed.as_nanos() as f64 / iters.max(1) as f64;
        self.criterion
            .borrow_mut()
            .entry(key.to_owned())
            .or_default()
            .push(per);
    }

    /// Whether criterion ran (timed) benchmark `key` (it was not filtered
    /// out, and this is not `--list`).
    fn ran(&self, key: &str) -> bool {
        self.criterion.borrow().contains_key(key)
    }

    fn paired(&self, case: &str) -> Option<Vec<f64>> {
        self.paired.borrow().get(case).cloned()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// What a ratio line adds in `--test` mode: its figures come from one pass.
fn smoke() -> &'static str {
    if test_mode() {
        " [smoke run (--test): one pass of each side, not a measurement]"
    } else {
        ""
    }
}

/// Whether criterion was asked to run each benchmark once (`--test`).
fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// Paired rounds: each round times a batch of passes of every side in turn,
/// so all sides see the same machine load. Records, under `case`, the median
/// ns per pass of each side.
fn paired(rec: &Records, case: &str, sides: &mut [&mut dyn FnMut()]) {
    const ROUNDS: usize = 15;
    const BATCH_NS: f64 = 4e6;
    let time = |f: &mut dyn FnMut(), n: u64| {
        let t0 = Instant::now();
        for _ in 0..n {
            f();
        }
        t0.elapsed().as_nanos() as f64 / n as f64
    };
    let (rounds, batches): (usize, Vec<u64>) = if test_mode() {
        (1, vec![1; sides.len()])
    } else {
        let b = sides
            .iter_mut()
            .map(|f| (BATCH_NS / time(&mut **f, 3).max(1.0)).clamp(1.0, 1e7) as u64)
            .collect();
        (ROUNDS, b)
    };
    let mut per: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); sides.len()];
    for _ in 0..rounds {
        for ((f, &n), out) in sides.iter_mut().zip(&batches).zip(per.iter_mut()) {
            out.push(time(&mut **f, n));
        }
    }
    let medians = per.iter_mut().map(|v| median(v)).collect();
    rec.paired.borrow_mut().insert(case.to_owned(), medians);
}

/// Benchmarks `pass` as one criterion function, timing passes with
/// `iter_custom` and recording them under `key`.
fn bench_passes(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    rec: &Records,
    key: &str,
    pass: &mut dyn FnMut(),
) {
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                pass();
            }
            let elapsed = t0.elapsed();
            rec.push(key, elapsed, iters);
            elapsed
        })
    });
}

fn doist_tock() -> Tock {
    Tock::from_nanos(DOIST_TOCK)
}

/// A boxed hio-core Doist running `doers`, entered, with `warm` passes done.
fn core_doist<'a, const N: usize, const B: usize>(
    doers: Vec<&'a mut dyn Doer>,
    warm: usize,
) -> Box<Doist<'a, N, 0, B>> {
    let mut doist: Box<Doist<'a, N, 0, B>> = Box::new(Doist::new(doist_tock()).unwrap());
    for d in doers {
        doist.add(d).unwrap();
    }
    assert!(doist.enter().is_none());
    for _ in 0..warm {
        assert!(doist.pass().is_none());
    }
    doist
}

/// A reference Doist running `doers`, with `warm` passes done.
fn ref_doist(doers: Vec<Box<dyn RefDoer>>, warm: usize) -> RefDoist {
    let mut refd = RefDoist::new(DOIST_TOCK, doers);
    for _ in 0..warm {
        assert!(!refd.pass());
    }
    refd
}

// ---------------------------------------------------------------------------
// The cases.

fn flat<const N: usize>(c: &mut Criterion, rec: &Records) {
    let case = format!("flat-{N}");
    let (core_key, ref_key) = (format!("{case}/core"), format!("{case}/ref"));
    let mut doers = Doers::new(N, |_| 0);
    let mut doist = core_doist::<N, 0>(doers.refs(), 3);
    let mut refd = ref_doist(ref_doers(N, |_| 0), 3);
    let mut core_pass = || {
        black_box(doist.pass());
    };
    let mut ref_pass = || {
        black_box(refd.pass());
    };

    let mut group = c.benchmark_group(&case);
    group.throughput(Throughput::Elements(N as u64));
    let id = |side| BenchmarkId::new(side, N);
    bench_passes(&mut group, id("hio-core"), rec, &core_key, &mut core_pass);
    bench_passes(&mut group, id("reference"), rec, &ref_key, &mut ref_pass);
    group.finish();

    if rec.ran(&core_key) && rec.ran(&ref_key) {
        paired(rec, &case, &mut [&mut core_pass, &mut ref_pass]);
    }
    drop(doist);
    black_box(doers.checksum());
}

const GROUPS: usize = 100;
const PER_GROUP: usize = 100;
/// Doer-runs in one nested pass: every DoDoer and every leaf.
const NESTED_RUNS: usize = GROUPS * (PER_GROUP + 1);

fn nested(c: &mut Criterion, rec: &Records) {
    let case = "nested-100x100";
    let (core_key, ref_key) = (format!("{case}/core"), format!("{case}/ref"));

    let mut leaves: Vec<Doers> = (0..GROUPS).map(|_| Doers::new(PER_GROUP, |_| 0)).collect();
    let mut dodoers: Vec<DoDoer<'_, PER_GROUP>> = Vec::with_capacity(GROUPS);
    for l in leaves.iter_mut() {
        let mut g: DoDoer<'_, PER_GROUP> = DoDoer::new("group");
        for d in l.refs() {
            g.add(d).unwrap();
        }
        dodoers.push(g);
    }
    let tops: Vec<&mut dyn Doer> = dodoers.iter_mut().map(|g| g as &mut dyn Doer).collect();
    let mut doist = core_doist::<GROUPS, 0>(tops, 3);

    let ref_tops: Vec<Box<dyn RefDoer>> = (0..GROUPS)
        .map(|_| -> Box<dyn RefDoer> {
            Box::new(RefDoDoer {
                tock: 0,
                always: false,
                deeds: ref_enter(ref_doers(PER_GROUP, |_| 0), 0),
                done: vec![false; PER_GROUP],
            })
        })
        .collect();
    let mut refd = ref_doist(ref_tops, 3);

    let mut core_pass = || {
        black_box(doist.pass());
    };
    let mut ref_pass = || {
        black_box(refd.pass());
    };
    let mut group = c.benchmark_group(case);
    group.throughput(Throughput::Elements(NESTED_RUNS as u64));
    let id = |side| BenchmarkId::new(side, "100x100");
    bench_passes(&mut group, id("hio-core"), rec, &core_key, &mut core_pass);
    bench_passes(&mut group, id("reference"), rec, &ref_key, &mut ref_pass);
    group.finish();

    if rec.ran(&core_key) && rec.ran(&ref_key) {
        paired(rec, case, &mut [&mut core_pass, &mut ref_pass]);
    }
    drop(doist);
    drop(dodoers);
    black_box(leaves.iter().map(Doers::checksum).sum::<u64>());
}

const SPARSE_N: usize = 10_000;
const SPARSE_EVERY: usize = 100;
const SPARSE_DUE: usize = SPARSE_N / SPARSE_EVERY;
/// Summary blocks for 10 000 deeds.
const SUMMARY: usize = SPARSE_N.div_ceil(hio_core::SUMMARY_BLOCK);

fn sparse_tock(i: usize) -> u64 {
    if i % SPARSE_EVERY == 0 {
        DOIST_TOCK
    } else {
        NEVER
    }
}

fn sparse(c: &mut Criterion, rec: &Records) {
    let case = "sparse-10000";
    let (core_key, ref_key) = (format!("{case}/core"), format!("{case}/ref"));

    // the first pass (tyme 0, in the warm-up) runs all 10 000; later ones
    // only the 100 due
    // with the opt-in summary (B = N / SUMMARY_BLOCK): a pass skips a block
    // of deeds not due
    // with one compare
    let mut doers = Doers::new(SPARSE_N, sparse_tock);
    let mut doist = core_doist::<SPARSE_N, SUMMARY>(doers.refs(), 3);
    // without it: the plain scan
    let mut plain_doers = Doers::new(SPARSE_N, sparse_tock);
    let mut plain = core_doist::<SPARSE_N, 0>(plain_doers.refs(), 3);
    // for the record only: hio's algorithm walks every deed each pass too
    let mut refd = ref_doist(ref_doers(SPARSE_N, sparse_tock), 3);
    // the same under a DoDoer of tock 0, with its own summary
    let mut nested_doers = Doers::new(SPARSE_N, sparse_tock);
    let mut group_doer: Box<DoDoer<'_, SPARSE_N, 0, SUMMARY>> = Box::new(DoDoer::new("group"));
    for d in nested_doers.refs() {
        group_doer.add(d).unwrap();
    }
    let mut nested = core_doist::<1, 0>(vec![&mut *group_doer], 3);
    // the dense flat-10000 case again, to pair with the sparse one
    let mut dense_doers = Doers::new(SPARSE_N, |_| 0);
    let mut dense = core_doist::<SPARSE_N, SUMMARY>(dense_doers.refs(), 3);
    let mut plain_dense_doers = Doers::new(SPARSE_N, |_| 0);
    let mut plain_dense = core_doist::<SPARSE_N, 0>(plain_dense_doers.refs(), 3);

    let mut core_pass = || {
        black_box(doist.pass());
    };
    let mut ref_pass = || {
        black_box(refd.pass());
    };
    let mut dense_pass = || {
        black_box(dense.pass());
    };
    let mut plain_pass = || {
        black_box(plain.pass());
    };
    let mut plain_dense_pass = || {
        black_box(plain_dense.pass());
    };
    let mut nested_pass = || {
        black_box(nested.pass());
    };
    let mut group = c.benchmark_group(case);
    group.throughput(Throughput::Elements(SPARSE_DUE as u64));
    let id = |side| BenchmarkId::new(side, SPARSE_N);
    bench_passes(&mut group, id("hio-core"), rec, &core_key, &mut core_pass);
    bench_passes(&mut group, id("reference"), rec, &ref_key, &mut ref_pass);
    group.finish();

    if rec.ran(&core_key) {
        paired(rec, case, &mut [&mut core_pass, &mut dense_pass]);
        paired(
            rec,
            "sparse-10000-plain",
            &mut [&mut plain_pass, &mut plain_dense_pass],
        );
        paired(
            rec,
            "sparse-10000-nested",
            &mut [&mut nested_pass, &mut dense_pass],
        );
    }
    drop((doist, dense, plain, plain_dense, nested));
    drop(group_doer);
    black_box(
        doers.checksum()
            + nested_doers.checksum()
            + dense_doers.checksum()
            + plain_doers.checksum()
            + plain_dense_doers.checksum(),
    );
}

/// A parked doer: runs only when woken.
struct Parked {
    waker: Waker,
    n: u64,
}

impl Doer for Parked {
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::failed("no room on the board"))?;
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.n = self.n.wrapping_add(1);
        Ok(Step::Continue)
    }
}

/// The board of the woken case: a slot per parked doer.
static BOARD: WakeBoard<SPARSE_N> = WakeBoard::new();
/// The board of the lazy pool: a slot per parked doer, and the pool's own.
static POOL_BOARD: WakeBoard<{ SPARSE_N + 1 }> = WakeBoard::new();

/// `SPARSE_N` parked doers, each with a waker of `board`, and their wakers.
fn parked_doers<const W: usize>(board: &'static WakeBoard<W>) -> (Vec<Parked>, Vec<Waker>) {
    let parked: Vec<Parked> = (0..SPARSE_N)
        .map(|_| Parked {
            waker: board.waker().expect("a slot per doer"),
            n: 0,
        })
        .collect();
    let wakers = parked.iter().map(|p| p.waker).collect();
    (parked, wakers)
}

/// Wakes a different 100 of `wakers` at each call: stride 100 from an
/// offset that moves on.
fn wake_hundred(wakers: &[Waker], offset: &mut usize) {
    hundred(offset, |k| {
        if let Some(w) = wakers.get(k) {
            w.wake();
        }
    });
}

/// Calls `wake` with a different 100 of `SPARSE_N` slots at each call (see
/// [`wake_hundred`]).
fn hundred(offset: &mut usize, mut wake: impl FnMut(usize)) {
    for k in 0..SPARSE_DUE {
        wake((*offset + k * SPARSE_EVERY) % SPARSE_N);
    }
    *offset = (*offset + 37) % SPARSE_N;
}

/// The warm-up of an entered Doist of parked doers: the entry recurs,
/// then passes that each follow wakes (a pass with every doer parked and
/// nothing woken would end the run).
fn warm_parked(pass: &mut dyn FnMut() -> bool, wakers: &[Waker]) {
    for k in 0..3 {
        if k > 0 {
            for w in wakers.iter().skip(k).step_by(SPARSE_EVERY) {
                w.wake();
            }
        }
        assert!(pass(), "the run ended in its warm-up");
    }
}

fn woken(c: &mut Criterion, rec: &Records) {
    let case = "woken-10000";
    let key = format!("{case}/core");
    let (mut parked, wakers) = parked_doers(&BOARD);
    let mut doist: Box<Doist<'_, SPARSE_N, 0, SUMMARY>> =
        Box::new(Doist::new(doist_tock()).unwrap());
    doist.wakes(&BOARD);
    for p in parked.iter_mut() {
        doist.add(p).unwrap();
    }
    assert!(doist.enter().is_none());
    warm_parked(&mut || doist.pass().is_none(), &wakers);
    let mut dense_doers = Doers::new(SPARSE_N, |_| 0);
    let mut dense = core_doist::<SPARSE_N, SUMMARY>(dense_doers.refs(), 3);
    let mut offset = 0usize;
    let mut core_pass = || {
        wake_hundred(&wakers, &mut offset);
        black_box(doist.pass());
    };
    let mut dense_pass = || {
        black_box(dense.pass());
    };
    let mut group = c.benchmark_group(case);
    group.throughput(Throughput::Elements(SPARSE_DUE as u64));
    bench_passes(
        &mut group,
        BenchmarkId::new("hio-core", SPARSE_N),
        rec,
        &key,
        &mut core_pass,
    );
    group.finish();
    // the same doers in a lazy DoDoer (a pool) with its own summary, under
    // a Doist of one: each wake brings the pool forward too, and after its
    // recur the pool waits for its earliest child
    let (mut pooled, pool_wakers) = parked_doers(&POOL_BOARD);
    let mut pool: Box<DoDoer<'_, SPARSE_N, 0, SUMMARY>> = Box::new(DoDoer::new("pool").lazy(true));
    for p in pooled.iter_mut() {
        pool.add(p).unwrap();
    }
    let mut pool_doist: Box<Doist<'_, 1>> = Box::new(Doist::new(doist_tock()).unwrap());
    pool_doist.wakes(&POOL_BOARD);
    pool_doist.add(&mut *pool).unwrap();
    assert!(pool_doist.enter().is_none());
    warm_parked(&mut || pool_doist.pass().is_none(), &pool_wakers);
    let mut pool_offset = 0usize;
    let mut pool_pass = || {
        wake_hundred(&pool_wakers, &mut pool_offset);
        black_box(pool_doist.pass());
    };
    // the floor: the same wakes, drained and run with nothing else
    let mut counters: Vec<floor::Counter> =
        (0..SPARSE_N).map(|_| floor::Counter { n: 0 }).collect();
    let mut least = floor::Floor::new(
        counters
            .iter_mut()
            .map(|c| c as &mut dyn floor::Run)
            .collect(),
    );
    let mut floor_offset = 0usize;
    let mut floor_pass = || {
        let board = &least.board;
        hundred(&mut floor_offset, |k| board.wake(black_box(k as u16), 0));
        least.pass();
    };
    if rec.ran(&key) {
        paired(
            rec,
            case,
            &mut [&mut core_pass, &mut dense_pass, &mut floor_pass],
        );
        paired(
            rec,
            "woken-10000-pool",
            &mut [&mut pool_pass, &mut dense_pass],
        );
    }
    drop((doist, dense, pool_doist, least));
    drop(pool);
    let runs: u64 = parked.iter().chain(&pooled).map(|p| p.n).sum();
    let floor_runs: u64 = counters.iter().map(|c| c.n).sum();
    black_box(runs + floor_runs + dense_doers.checksum());
}

// ---------------------------------------------------------------------------

fn summary(rec: &Records) {
    if let Some(&[x, y]) = rec.paired("flat-1").as_deref() {
        println!(
            "sched flat-1: {x:.2} ns/pass, reference {y:.2} ns/pass, ratio {:.3} (one doer: a pass's own cost beside one doer-run){}",
            x / y,
            smoke()
        );
    }
    let cases: [(&str, usize); 5] = [
        ("flat-10", 10),
        ("flat-100", 100),
        ("flat-1000", 1000),
        ("flat-10000", 10_000),
        ("nested-100x100", NESTED_RUNS),
    ];
    for (case, runs) in cases {
        if let Some(&[x, y]) = rec.paired(case).as_deref() {
            let (x, y) = (x / runs as f64, y / runs as f64);
            println!(
                "sched {case}: {x:.2} ns/doer-run, reference {y:.2} ns/doer-run, ratio {:.3}{}",
                x / y,
                smoke()
            );
        }
    }
    for (key, what) in [
        (
            "woken-10000",
            "100 of 10 000 parked doers woken per pass, with the summary",
        ),
        (
            "woken-10000-pool",
            "100 of 10 000 parked doers woken per pass, in a lazy DoDoer with its summary",
        ),
    ] {
        due_line(rec, key, "woken-10000", "woken-doer-run", what);
    }
    if let Some(&[z, x, f]) = rec.paired("woken-10000").as_deref() {
        let (z, x, f) = (
            z / SPARSE_DUE as f64,
            x / SPARSE_N as f64,
            f / SPARSE_DUE as f64,
        );
        println!(
            "sched woken-floor: {f:.2} ns/woken-doer-run, dense flat-10000 {x:.2} ns/doer-run, ratio {:.3} (the same wakes with no scheduler: flags, drain, one call each; woken-10000 is {:.2}x it){}",
            f / x,
            z / f,
            smoke()
        );
    }
    for (key, what) in [
        ("sparse-10000", "with the summary, B = N/8"),
        ("sparse-10000-plain", "without a summary, B = 0"),
        (
            "sparse-10000-nested",
            "in a DoDoer of tock 0, with its summary, B = N/8",
        ),
    ] {
        due_line(rec, key, "sparse-10000", "due-doer-run", what);
    }
}

/// The line of a case whose pass runs `SPARSE_DUE` of `SPARSE_N` doers,
/// recorded under `key` with the dense flat-10000 pass second: ns per
/// `unit` beside ns per dense doer-run.
fn due_line(rec: &Records, key: &str, case: &str, unit: &str, what: &str) {
    if let Some(&[z, x, ..]) = rec.paired(key).as_deref() {
        let z = z / SPARSE_DUE as f64;
        let x = x / SPARSE_N as f64;
        println!(
            "sched {case}: {z:.2} ns/{unit}, dense flat-10000 {x:.2} ns/doer-run, ratio {:.3} ({what}){}",
            z / x,
            smoke()
        );
    }
}

fn run() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .without_plots()
        .configure_from_args();
    let rec = Records::default();
    flat::<1>(&mut c, &rec);
    flat::<10>(&mut c, &rec);
    flat::<100>(&mut c, &rec);
    flat::<1000>(&mut c, &rec);
    flat::<10_000>(&mut c, &rec);
    nested(&mut c, &rec);
    sparse(&mut c, &rec);
    woken(&mut c, &rec);
    c.final_summary();
    summary(&rec);
}

fn main() {
    // Big Doists are built (then boxed) on this thread's stack.
    std::thread::Builder::new()
        .name("sched-bench".into())
        .stack_size(256 << 20)
        .spawn(run)
        .expect("spawn the bench thread")
        .join()
        .expect("the bench thread panicked");
}
