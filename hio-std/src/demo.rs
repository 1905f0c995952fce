//! `hio demo`: a small flow that needs no hardware and shows what it does as
//! it does it.
//!
//! ```text
//!  sensor --readings Deck--> filter --notes Deck--> printer --> stdout
//!  (250 ms)                  (every pass)           (every pass)
//!  heartbeat (1 s) ----------------------notes Deck--^
//! ```
//!
//! `sensor` and `filter` run inside the DoDoer `pipeline`. The observer
//! prints every enter, exit, cease and abort as it happens, so the tree's
//! lifecycle is visible next to the work.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, Write};

use hio_core::{
    Clock, Context, Cx, Deck, DoDoer, Doer, Doist, Fault, Observer, Report, Step, StopFlag, Tock,
    Tyme,
};

/// A line for the printer.
type Note = heapless::String<96>;

fn note(args: std::fmt::Arguments<'_>) -> Note {
    let mut s = Note::new();
    let _ = s.write_fmt(args);
    s
}

/// Makes readings: a deterministic random walk around 21 °C, in tenths.
struct Sensor<'a> {
    out: &'a Deck<(Tyme, i32), 8>,
    tenths: i32,
    seed: u32,
    dropped: u32,
}

impl Doer for Sensor<'_> {
    fn name(&self) -> &str {
        "sensor"
    }
    fn tock(&self) -> Tock {
        Tock::from_millis(250)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // xorshift: the same walk on every run
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 17;
        self.seed ^= self.seed << 5;
        self.tenths += (self.seed % 7) as i32 - 3;
        if self.out.push((cx.tyme(), self.tenths)).is_err() {
            self.dropped += 1;
        }
        Ok(Step::Continue)
    }
}

/// Averages the last four readings and notes each, flagging warm ones.
struct Filter<'a> {
    input: &'a Deck<(Tyme, i32), 8>,
    notes: &'a Deck<Note, 16>,
    window: [i32; 4],
    seen: usize,
}

impl Doer for Filter<'_> {
    fn name(&self) -> &str {
        "filter"
    }
    fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // backpressure: leave readings in their Deck while notes is full
        while !self.notes.is_full() {
            let Some((at, tenths)) = self.input.pull() else {
                break;
            };
            if let Some(w) = self.window.get_mut(self.seen % 4) {
                *w = tenths;
            }
            self.seen += 1;
            let n = self.seen.min(4) as i32;
            let avg = self.window.iter().take(n as usize).sum::<i32>() / n;
            let flag = if avg > 215 { "  warm" } else { "" };
            let line = note(format_args!(
                "[{at}] filter: reading {}.{} C, average {}.{} C{flag}",
                tenths / 10,
                (tenths % 10).abs(),
                avg / 10,
                (avg % 10).abs()
            ));
            let _ = self.notes.push(line);
        }
        Ok(Step::Continue)
    }
}

/// Notes the tyme once a second.
struct Heartbeat<'a> {
    notes: &'a Deck<Note, 16>,
    beats: u32,
}

impl Doer for Heartbeat<'_> {
    fn name(&self) -> &str {
        "heartbeat"
    }
    fn tock(&self) -> Tock {
        Tock::from_secs(1)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.beats += 1;
        let _ = self.notes.push(note(format_args!(
            "[{}] heartbeat {}",
            cx.tyme(),
            self.beats
        )));
        Ok(Step::Continue)
    }
}

/// The I/O edge: writes notes out.
struct Printer<'a, 'w> {
    notes: &'a Deck<Note, 16>,
    out: &'a RefCell<&'w mut dyn Write>,
}

impl Doer for Printer<'_, '_> {
    fn name(&self) -> &str {
        "printer"
    }
    fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
        let mut out = self.out.borrow_mut();
        while let Some(line) = self.notes.pull() {
            writeln!(out, "{line}")
                .map_err(|_| Fault::new(hio_core::FaultKind::Io, "cannot write to stdout"))?;
        }
        let _ = out.flush();
        Ok(Step::Continue)
    }
}

/// Prints the lifecycle contexts other than recur.
struct Lifecycle<'a, 'w> {
    out: &'a RefCell<&'w mut dyn Write>,
}

impl Observer for Lifecycle<'_, '_> {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        if context != Context::Recur {
            if let Ok(mut out) = self.out.try_borrow_mut() {
                let _ = writeln!(out, "[{tyme}] {doer}: {context}");
            }
        }
    }
}

/// Runs the demo flow for `seconds` of tyme on `clock` (a `StdClock` for
/// real time, a `SimClock` for a test), writing to `out`.
pub fn run<C: Clock>(
    out: &mut dyn Write,
    clock: &mut C,
    seconds: u64,
    stop: Option<&StopFlag>,
) -> io::Result<Report> {
    let out = RefCell::new(out);
    let readings: Deck<(Tyme, i32), 8> = Deck::new();
    let notes: Deck<Note, 16> = Deck::new();
    let mut sensor = Sensor {
        out: &readings,
        tenths: 210,
        seed: 0x9e37_79b9,
        dropped: 0,
    };
    let mut filter = Filter {
        input: &readings,
        notes: &notes,
        window: [0; 4],
        seen: 0,
    };
    let mut heartbeat = Heartbeat {
        notes: &notes,
        beats: 0,
    };
    let mut printer = Printer {
        notes: &notes,
        out: &out,
    };
    let observer = Lifecycle { out: &out };
    let mut pipeline: DoDoer<'_, 2> = DoDoer::new("pipeline");
    let mut doist: Doist<'_, 3> = Doist::new(Tock::from_millis(50))
        .map_err(io::Error::other)?
        .with_limit(Tock::from_secs(seconds));
    let refused = || io::Error::other("demo tree is larger than its capacity");
    pipeline.add(&mut sensor).map_err(|_| refused())?;
    pipeline.add(&mut filter).map_err(|_| refused())?;
    doist.add(&mut pipeline).map_err(|_| refused())?;
    doist.add(&mut heartbeat).map_err(|_| refused())?;
    doist.add(&mut printer).map_err(|_| refused())?;
    doist.observe(&observer);
    let report = doist.run(clock, stop);
    let mut out = out.borrow_mut();
    // anything noted in the last pass after the printer ran
    while let Some(line) = notes.pull() {
        writeln!(out, "{line}")?;
    }
    match report.end {
        hio_core::End::Fault(f) => writeln!(out, "[{}] end: fault: {f}", report.tyme)?,
        e => writeln!(out, "[{}] end: {}", report.tyme, e.as_str())?,
    }
    if sensor.dropped > 0 {
        writeln!(out, "sensor: {} readings dropped", sensor.dropped)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hio_core::{End, SimClock};

    #[test]
    fn demo_runs_in_simulated_time_and_shows_its_work() {
        let mut buf: Vec<u8> = Vec::new();
        let mut clock = SimClock::new();
        let report = run(&mut buf, &mut clock, 2, None).unwrap();
        assert_eq!(report.end, End::Limit);
        assert_eq!(report.tyme, Tyme::from_secs(2));
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "[0.0] pipeline: enter");
        assert_eq!(lines[1], "[0.0] sensor: enter");
        assert!(lines.contains(&"[0.0] heartbeat 1"), "{text}");
        assert!(lines.contains(&"[1.0] heartbeat 2"), "{text}");
        // eight readings at 0, 0.25, ... 1.75
        assert_eq!(text.matches("filter: reading").count(), 8, "{text}");
        assert!(lines.contains(&"[2.0] printer: cease"), "{text}");
        assert_eq!(*lines.last().unwrap(), "[2.0] end: limit");
        // the pipeline exits after its children
        let pos = |s: &str| lines.iter().position(|l| *l == s).unwrap();
        assert!(pos("[2.0] sensor: exit") < pos("[2.0] pipeline: exit"));
        // real-time waits: one per pass with work (every 50 ms tick, since the
        // printer and filter run every pass), not more
        assert_eq!(clock.wakes(), 40);
    }
}
