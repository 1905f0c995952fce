//! A flow: a sensor doer pushes readings into a Deck, a filter doer pulls
//! them and pushes alarms into a second Deck, and a logger doer prints the
//! alarms. The filter parks until a reading arrives (a push wakes it, in
//! the same pass since it comes after the sensor). Results are read while
//! the tree runs through a shared counter (a `Cell`) and between passes
//! stepped by hand: no borrow fights with the Doist.
//!
//! ```text
//! cargo run -p hio-examples --example deck_flow
//! ```

use std::cell::Cell;

use hio_core::{Cx, Deck, Doer, Doist, Fault, Step, Tick, Tock, Tyme, WakeBoard, Waker};

/// Readings that go up and down.
struct Sensor<'a> {
    out: &'a Deck<(Tyme, i32), 8>,
    k: i32,
    dropped: &'a Cell<u32>,
}

impl Doer for Sensor<'_> {
    fn name(&self) -> &str {
        "sensor"
    }
    fn tock(&self) -> Tock {
        Tock::from_millis(250)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.k += 1;
        let value = (self.k * 37) % 100;
        if self.out.push((cx.tyme(), value)).is_err() {
            // nothing is lost silently: a full Deck hands the item back
            self.dropped.set(self.dropped.get() + 1);
        }
        Ok(Step::Continue)
    }
}

/// Passes on readings over a threshold; parked until woken by a push.
struct Filter<'a> {
    input: &'a Deck<(Tyme, i32), 8>,
    alarms: &'a Deck<String, 8>,
    waker: Waker,
    seen: &'a Cell<u32>,
}

impl Doer for Filter<'_> {
    fn name(&self) -> &str {
        "filter"
    }
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::failed("the filter could not take its waker"))?;
        self.input.wake_on_push(Some(self.waker));
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        while let Some((at, v)) = self.input.pull() {
            self.seen.set(self.seen.get() + 1);
            if v > 70 {
                let _ = self.alarms.push(format!("{at} s: reading {v} over 70"));
            }
        }
        Ok(Step::Continue)
    }
}

/// Prints alarms once a second.
struct Logger<'a> {
    alarms: &'a Deck<String, 8>,
}

impl Doer for Logger<'_> {
    fn name(&self) -> &str {
        "logger"
    }
    fn tock(&self) -> Tock {
        Tock::from_secs(1)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        while let Some(a) = self.alarms.pull() {
            println!("[{} s] alarm: {a}", cx.tyme());
        }
        Ok(Step::Continue)
    }
}

static BOARD: WakeBoard<4> = WakeBoard::new();

fn main() {
    let readings: Deck<(Tyme, i32), 8> = Deck::new();
    let alarms: Deck<String, 8> = Deck::new();
    let (seen, dropped) = (Cell::new(0), Cell::new(0));
    let Ok(waker) = BOARD.waker() else {
        eprintln!("deck_flow: the wake board is full");
        std::process::exit(1);
    };
    let mut sensor = Sensor {
        out: &readings,
        k: 0,
        dropped: &dropped,
    };
    let mut filter = Filter {
        input: &readings,
        alarms: &alarms,
        waker,
        seen: &seen,
    };
    let mut logger = Logger { alarms: &alarms };
    let mut doist: Doist<'_, 3> =
        Doist::ticking(Tick::millis::<50>()).with_limit(Tock::from_secs(3));
    doist.wakes(&BOARD);
    if let Err(e) = doist.add_all([&mut sensor as &mut dyn Doer, &mut filter, &mut logger]) {
        eprintln!("deck_flow: {e}");
        std::process::exit(1);
    }
    // step by hand, reading the shared counters between passes
    let report = loop {
        if let Some(report) = doist.pass() {
            break report;
        }
        if doist.tyme() == Tyme::from_secs(1) {
            println!(
                "after 1 s: {} readings seen, {} in the Deck",
                seen.get(),
                readings.len()
            );
        }
    };
    println!(
        "{} at {} s: {} readings filtered, {} dropped",
        report.end.as_str(),
        report.tyme,
        seen.get(),
        dropped.get()
    );
}
