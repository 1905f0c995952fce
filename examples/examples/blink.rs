//! Blink: one doer flipping an LED every half second of tyme, in simulated
//! time (the run takes no wall time) and then in real time.
//!
//! ```text
//! cargo run -p hio-examples --example blink
//! ```

use hio_core::{Cx, Doer, Doist, Fault, SimClock, Step, Tick, Tock};
use hio_std::StdClock;

/// The "LED": a flag, and how often it turned on.
struct Blink {
    on: bool,
    flashes: u32,
}

impl Doer for Blink {
    fn name(&self) -> &str {
        "blink"
    }
    fn tock(&self) -> Tock {
        Tock::from_millis(500)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.on = !self.on;
        if self.on {
            self.flashes += 1;
        }
        println!(
            "{:>6} s  led {}",
            cx.tyme().to_string(),
            if self.on { "on" } else { "off" }
        );
        Ok(Step::Continue)
    }
}

fn main() {
    for real in [false, true] {
        println!("-- {} time", if real { "real" } else { "simulated" });
        let mut led = Blink {
            on: false,
            flashes: 0,
        };
        let report = {
            let mut doist: Doist<'_, 1> =
                Doist::ticking(Tick::millis::<100>()).with_limit(Tock::from_secs(2));
            if let Err(e) = doist.add(&mut led) {
                eprintln!("blink: {e}");
                std::process::exit(1);
            }
            if real {
                doist.run(&mut StdClock::new(), None)
            } else {
                doist.run(&mut SimClock::new(), None)
            }
        };
        // the doist has ended its borrow of `led`: read what it did
        println!(
            "{} at {}: {} flashes",
            report.end.as_str(),
            report.tyme,
            led.flashes
        );
    }
}
