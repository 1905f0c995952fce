//! A tree whose doers live in `static`s: each is built by a `const fn`
//! into a `ConstStaticCell` (so nothing is built on the stack and copied:
//! the values are in the image's data) and borrowed for `'static` once, at
//! start-up. The schedulers (a DoDoer and the Doist, also `const fn`) hold
//! `&mut dyn Doer`s, which are not `Send`, so they live in `main`'s frame,
//! which never returns: the whole tree's memory is still fixed at link
//! time. It runs one second of simulated tyme and prints what the doers did
//! over semihosting.
//!
//! ```text
//! cargo run --release --bin static-tree
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, SimClock, Step, Tick, Tock};
use hio_firmware::{exit, vector_table};
use static_cell::ConstStaticCell;

vector_table!();

/// Counts its recurs.
struct Counter {
    name: &'static str,
    tock: Tock,
    runs: u32,
}

impl Counter {
    const fn new(name: &'static str, tock: Tock) -> Self {
        Counter {
            name,
            tock,
            runs: 0,
        }
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
        self.runs += 1;
        Ok(Step::Continue)
    }
}

static FAST: ConstStaticCell<Counter> =
    ConstStaticCell::new(Counter::new("fast", Tock::from_millis(100)));
static SLOW: ConstStaticCell<Counter> =
    ConstStaticCell::new(Counter::new("slow", Tock::from_millis(250)));
#[entry]
fn main() -> ! {
    let fast: &'static mut Counter = FAST.take();
    let slow: &'static mut Counter = SLOW.take();
    let report = {
        let mut group: DoDoer<'_, 2> = DoDoer::new("group");
        let mut doist: Doist<'_, 1> =
            Doist::ticking(Tick::millis::<50>()).with_limit(Tock::from_secs(1));
        if group.add(&mut *fast).is_err()
            || group.add(&mut *slow).is_err()
            || doist.add(&mut group).is_err()
        {
            exit(false)
        }
        doist.run(&mut SimClock::new(), None)
    };
    hprintln!(
        "static-tree: {} at {}: fast ran {} times, slow {} times",
        report.end.as_str(),
        report.tyme,
        fast.runs,
        slow.runs
    );
    exit(report.end == End::Limit && fast.runs == 10 && slow.runs == 4)
}
