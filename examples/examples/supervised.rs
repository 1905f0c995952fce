//! Supervision: a DoDoer restarts a child that keeps failing, after a delay,
//! at most twice a minute, then gives up and passes the fault up. An
//! observer prints every event and every fault with where it arose.
//!
//! ```text
//! cargo run -p hio-examples --example supervised
//! ```

use hio_core::{
    Context, Cx, DoDoer, Doer, Doist, Fault, FaultKind, Observer, Restart, SimClock, Step, Tick,
    Tock, Tyme,
};

/// A link that drops on its third recur of each life.
struct Link(u32);

impl Doer for Link {
    fn name(&self) -> &str {
        "link"
    }
    fn tock(&self) -> Tock {
        Tock::from_millis(200)
    }
    fn enter(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0 = 0;
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0 += 1;
        if self.0 == 3 {
            Err(Fault::new(FaultKind::Io, "link dropped"))
        } else {
            Ok(Step::Continue)
        }
    }
}

struct Print;

impl Observer for Print {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        if context != Context::Recur {
            println!("{:>5} s  {doer} {context}", tyme.to_string());
        }
    }
    fn fault(&self, doer: &str, fault: &Fault, origin: &str, tyme: Tyme) {
        println!(
            "{:>5} s  {doer} aborts: {fault} (arose in {origin})",
            tyme.to_string()
        );
    }
}

fn main() {
    let mut link = Link(0);
    let print = Print;
    let report = {
        let mut sup: DoDoer<'_, 1, 1> = DoDoer::new("supervisor").restart(Restart {
            delay: Tock::from_secs(1),
            max: 2,
            window: Tock::from_secs(60),
        });
        if sup.add(&mut link).is_err() {
            std::process::exit(1);
        }
        let mut doist: Doist<'_, 1> = Doist::ticking(Tick::millis::<100>());
        doist.observe(&print);
        if doist.add(&mut sup).is_err() {
            std::process::exit(1);
        }
        let report = doist.run(&mut SimClock::new(), None);
        println!(
            "run ended: {} at {} s, in {:?}",
            report.end.as_str(),
            report.tyme,
            doist.origin()
        );
        report
    };
    // the example shows giving up: the fault reached the Doist
    std::process::exit(if matches!(report.end, hio_core::End::Fault(_)) {
        0
    } else {
        1
    });
}
