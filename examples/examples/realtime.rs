//! A real-time tree stopped with Ctrl-C (or SIGTERM): a heartbeat every
//! second and a parked doer that nothing wakes, on the reactor's clock. The
//! process sleeps between beats (no polling). Ctrl-C ends the run `stopped`:
//! every doer ceases and exits, in reverse order.
//!
//! ```text
//! cargo run -p hio-examples --example realtime             # until Ctrl-C
//! cargo run -p hio-examples --example realtime -- 3        # or 3 s of tyme
//! ```

use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, Step, Tick, Tock};
use hio_std::reactor::Reactor;

/// Beats once a second.
struct Beat(u32);

impl Doer for Beat {
    fn name(&self) -> &str {
        "beat"
    }
    fn tock(&self) -> Tock {
        Tock::from_secs(1)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0 += 1;
        println!("beat {} at {} s", self.0, cx.tyme());
        Ok(Step::Continue)
    }
    fn cease(&mut self, cx: &mut Cx<'_>) {
        println!("beat ceased at {} s", cx.tyme());
    }
    fn exit(&mut self, _: &mut Cx<'_>) {
        println!("beat exited");
    }
}

/// Waits for something that never comes: costs nothing.
struct Waiting;

impl Doer for Waiting {
    fn name(&self) -> &str {
        "waiting"
    }
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        Ok(Step::Continue)
    }
    fn exit(&mut self, _: &mut Cx<'_>) {
        println!("waiting exited");
    }
}

fn main() -> std::io::Result<()> {
    let seconds: u64 = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 0,
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            eprintln!("realtime: give whole seconds to run, or nothing to run until Ctrl-C");
            std::process::exit(2);
        }
    };
    let reactor = Reactor::new()?;
    reactor.stop_on_signals()?;
    let (mut beat, mut waiting) = (Beat(0), Waiting);
    let mut group: DoDoer<'_, 2> = DoDoer::new("group").always(true);
    if group
        .add_all([&mut beat as &mut dyn Doer, &mut waiting])
        .is_err()
    {
        std::process::exit(1);
    }
    let mut doist: Doist<'_, 1> =
        Doist::ticking(Tick::millis::<10>()).with_limit(Tock::from_secs(seconds));
    doist.wakes(reactor.board());
    if doist.add(&mut group).is_err() {
        std::process::exit(1);
    }
    if seconds == 0 {
        println!("running until Ctrl-C");
    }
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    println!("{} at {} s", report.end.as_str(), report.tyme);
    let expected = if seconds == 0 {
        End::Stopped
    } else {
        End::Limit
    };
    std::process::exit(if report.end == expected { 0 } else { 1 });
}
