//! A whole tree in `static`s: two doers in a DoDoer under a Doist. The
//! doers are built by `const fn`s into `ConstStaticCell`s (their values are
//! in the image's data: nothing is built on the stack and copied) and
//! borrowed for `'static` once. The schedulers hold `&mut dyn Doer`s, which
//! are not `Send`, so a `StaticCell` will not take them: `cortex_m`'s
//! `singleton!` (a static of its own, taken once in a critical section)
//! does. The tree runs one second of simulated tyme and prints what the
//! doers did over semihosting.
//!
//! ```text
//! cargo run --release --bin static-tree
//! ```
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::singleton;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, SimClock, Step, Tick, Tock};
use hio_firmware::{exit, vector_table};
use static_cell::ConstStaticCell;

vector_table!();

/// Counts its recurs into a static counter.
struct Counter {
    name: &'static str,
    tock: Tock,
    runs: &'static AtomicU32,
}

impl Counter {
    const fn new(name: &'static str, tock: Tock, runs: &'static AtomicU32) -> Self {
        Counter { name, tock, runs }
    }
}

impl Doer for Counter {
    fn name(&self) -> &str {
        self.name
    }
    fn tock(&self) -> Tock {
        self.tock
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        Ok(Step::Continue)
    }
}

static FAST_RUNS: AtomicU32 = AtomicU32::new(0);
static SLOW_RUNS: AtomicU32 = AtomicU32::new(0);
static FAST: ConstStaticCell<Counter> =
    ConstStaticCell::new(Counter::new("fast", Tock::from_millis(100), &FAST_RUNS));
static SLOW: ConstStaticCell<Counter> =
    ConstStaticCell::new(Counter::new("slow", Tock::from_millis(250), &SLOW_RUNS));

#[entry]
fn main() -> ! {
    let fast: &'static mut Counter = FAST.take();
    let slow: &'static mut Counter = SLOW.take();
    // the schedulers, in statics of their own, taken once
    let (Some(group), Some(doist)) = (
        singleton!(GROUP: DoDoer<'static, 2> = DoDoer::new("group")),
        singleton!(DOIST: Doist<'static, 1> =
            Doist::ticking(Tick::millis::<50>()).with_limit(Tock::from_secs(1))),
    ) else {
        exit(false)
    };
    if group.add(fast).is_err() || group.add(slow).is_err() || doist.add(group).is_err() {
        exit(false)
    }
    let report = doist.run(&mut SimClock::new(), None);
    let (fast_runs, slow_runs) = (
        FAST_RUNS.load(Ordering::Relaxed),
        SLOW_RUNS.load(Ordering::Relaxed),
    );
    hprintln!(
        "static-tree: {} at {}: fast ran {} times, slow {} times",
        report.end.as_str(),
        report.tyme,
        fast_runs,
        slow_runs
    );
    exit(report.end == End::Limit && fast_runs == 10 && slow_runs == 4)
}
