//! A future doer: Python hio's generator doer (`yield tock`) as an `async`
//! block. It counts down, then waits, parked, for a "go" pushed into a
//! Deck by another doer, then finishes.
//!
//! ```text
//! cargo run -p hio-examples --example future_doer
//! ```

use hio_core::{future_doer, Cx, Deck, Doer, Doist, Fault, SimClock, Step, Tick, Tock, WakeBoard};

/// Says "go" at 2.5 s.
struct Starter<'a> {
    go: &'a Deck<&'static str, 1>,
}

impl Doer for Starter<'_> {
    fn name(&self) -> &str {
        "starter"
    }
    fn tock(&self) -> Tock {
        Tock::from_millis(2500)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if cx.tyme() > hio_core::Tyme::ZERO {
            let _ = self.go.push("go");
            return Ok(Step::Done);
        }
        Ok(Step::Continue)
    }
}

static BOARD: WakeBoard<2> = WakeBoard::new();

fn main() {
    let go: Deck<&'static str, 1> = Deck::new();
    let Ok(waker) = BOARD.waker() else {
        std::process::exit(1);
    };
    future_doer!(let mut countdown = "countdown", |y| {
        for n in (1..=3).rev() {
            println!("{:>5} s  {n}", y.tyme().to_string());
            y.tock(Tock::from_millis(500)).await; // like `yield 0.5` in hio
        }
        println!("{:>5} s  waiting (parked: not run until woken)", y.tyme().to_string());
        let word = y.pull(&go).await;
        println!("{:>5} s  {word}!", y.tyme().to_string());
        Ok::<(), Fault>(())
    }, waker = waker);
    let mut starter = Starter { go: &go };
    let mut doist: Doist<'_, 2> = Doist::ticking(Tick::millis::<100>());
    doist.wakes(&BOARD);
    if doist
        .add_all([&mut countdown as &mut dyn Doer, &mut starter])
        .is_err()
    {
        std::process::exit(1);
    }
    let mut clock = SimClock::new();
    let report = doist.run(&mut clock, None);
    println!(
        "{} at {} s, after {} waits of the clock",
        report.end.as_str(),
        report.tyme,
        clock.wakes()
    );
}
