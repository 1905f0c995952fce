//! On-target conformance: every vector of `tests/conformance/` runs on the
//! Cortex-M3 and is checked against its expected trace, event by event.
//!
//! `build.rs` turns each scenario into a function that builds its doer tree
//! from hio-core's heap-free scenario doers (each DoDoer with the exact
//! capacity it needs) and runs it under a Doist in simulated time, and
//! embeds the expected events and end. An [`Observer`] prints every event
//! over semihosting and compares it with the next expected one:
//!
//! ```text
//! SCENARIO <file> <name>
//! E <doer> <context> <tyme_ns>
//! END <end> <tyme_ns> <fault origin, or ->
//! MISMATCH <file> ...            (the first difference of a scenario)
//! conformance: N passed, M failed
//! ```
//!
//! The image exits with status 0 if every scenario matched, else 1. The host
//! test `tests/tests/qemu.rs` also rebuilds each JSON trace from these lines
//! and compares it with the expected file, as `hio trace` is compared.
//!
//! ```text
//! cargo test --release --test conformance
//! ```
#![no_std]
#![no_main]

use core::cell::Cell;
use core::fmt::Write as _;

use cortex_m_rt::entry;
use hio_core::scenario::{Action, ActionKind, ScnGroup, ScnLeaf, Spec};
use hio_core::{
    Context, Doist, Name, Observer, Report, SimClock, Target, Tock, Tyme, WakeBoard, Waker,
};
use hio_firmware::host::Line;
use hio_firmware::{exit, vector_table};

vector_table!();

/// How a run ended, and for a fault, the origin's name.
type Ended = (Report, Option<Name>);

/// One conformance vector: how to run it and what it must print.
struct Vector {
    /// The file name without `.json`.
    file: &'static str,
    /// The scenario's name.
    name: &'static str,
    /// Builds the tree and runs it; `None` if the Doist could not be built.
    run: fn(&dyn Observer) -> Option<Ended>,
    /// Every doer of the scenario; events name doers by index.
    names: &'static [&'static str],
    /// Expected events: doer, context (see [`CONTEXTS`]), tyme in ns.
    events: &'static [(u16, u8, u64)],
    /// Expected end line.
    end: ExpectedEnd,
}

/// The expected end line of a trace.
struct ExpectedEnd {
    end: &'static str,
    tyme: u64,
    fault: Option<&'static str>,
    /// Doer and outcome (see [`OUTCOMES`]), in the order first entered.
    outcomes: &'static [(u16, u8)],
}

include!(concat!(env!("OUT_DIR"), "/conformance.rs"));

/// The wakers of the scenario being run: one slot per doer and spare of
/// the largest scenario, reset before each scenario.
static BOARD: WakeBoard<WAKE_SLOTS> = WakeBoard::new();

/// `N` new wakers of [`BOARD`], in the order they are made (as `hio trace`
/// makes them: one per doer and spare, in layout order); `None` if the
/// board is full.
fn wakers<const N: usize>() -> Option<[Waker; N]> {
    let first = BOARD.waker().ok()?;
    let mut all = [first; N];
    for w in all.iter_mut().skip(1) {
        *w = BOARD.waker().ok()?;
    }
    Some(all)
}

const CONTEXTS: [&str; 6] = ["enter", "recur", "clean", "exit", "cease", "abort"];
const OUTCOMES: [&str; 3] = ["done", "ceased", "aborted"];
const NO_OUTCOME: u8 = u8::MAX;

fn context_code(c: Context) -> u8 {
    match c {
        Context::Enter => 0,
        Context::Recur => 1,
        Context::Clean => 2,
        Context::Exit => 3,
        Context::Cease => 4,
        Context::Abort => 5,
    }
}

fn context_name(code: u8) -> &'static str {
    CONTEXTS.get(usize::from(code)).copied().unwrap_or("?")
}

/// Prints every event and checks it against the vector.
struct Checker {
    v: &'static Vector,
    /// Events seen so far.
    seen: Cell<usize>,
    /// Whether a difference was found (and reported).
    failed: Cell<bool>,
    /// The last outcome of each doer (`NO_OUTCOME` if none yet).
    outcome: [Cell<u8>; MAX_DOERS],
    /// Doers in the order they were first entered.
    entered: [Cell<u16>; MAX_DOERS],
    entered_len: Cell<usize>,
}

impl Checker {
    fn new(v: &'static Vector) -> Self {
        Checker {
            v,
            seen: Cell::new(0),
            failed: Cell::new(false),
            outcome: [const { Cell::new(NO_OUTCOME) }; MAX_DOERS],
            entered: [const { Cell::new(0) }; MAX_DOERS],
            entered_len: Cell::new(0),
        }
    }

    /// Reports the first difference of this scenario.
    fn mismatch(&self, what: core::fmt::Arguments<'_>) {
        if !self.failed.replace(true) {
            let mut line = Line::new();
            let _ = write!(line, "MISMATCH {} {}", self.v.file, what);
            line.print();
        }
    }

    fn name(&self, d: u16) -> &'static str {
        self.v.names.get(usize::from(d)).copied().unwrap_or("?")
    }

    /// Checks the end of the run and the outcomes; true if all matched.
    fn finish(&self, ended: Option<&Ended>) -> bool {
        let Some((report, origin)) = ended else {
            self.mismatch(format_args!("the Doist could not be built"));
            return false;
        };
        let seen = self.seen.get();
        if seen < self.v.events.len() {
            self.mismatch(format_args!(
                "the run ended after {seen} events; {} expected",
                self.v.events.len()
            ));
        }
        let e = &self.v.end;
        let origin = origin.as_ref().map(|o| o.as_str());
        let tyme = report.tyme.as_nanos();
        let end = report.end.as_str();
        if end != e.end || tyme != e.tyme || origin != e.fault {
            self.mismatch(format_args!(
                "end: expected {} {} {}, got {end} {tyme} {}",
                e.end,
                e.tyme,
                e.fault.unwrap_or("-"),
                origin.unwrap_or("-")
            ));
        }
        let n = self.entered_len.get();
        let outcome_name = |o: u8| OUTCOMES.get(usize::from(o)).copied().unwrap_or("null");
        for i in 0..n.max(e.outcomes.len()) {
            let got = self.entered.get(i).filter(|_| i < n).map(|d| {
                let d = d.get();
                let o = self
                    .outcome
                    .get(usize::from(d))
                    .map_or(NO_OUTCOME, Cell::get);
                (d, o)
            });
            let want = e.outcomes.get(i).copied();
            if got != want {
                let show = |x: Option<(u16, u8)>| x.map(|(d, o)| (self.name(d), outcome_name(o)));
                let (w, g) = (show(want), show(got));
                self.mismatch(format_args!(
                    "outcome {i}: expected {} {}, got {} {}",
                    w.map_or("-", |w| w.0),
                    w.map_or("-", |w| w.1),
                    g.map_or("-", |g| g.0),
                    g.map_or("-", |g| g.1)
                ));
                break;
            }
        }
        let mut line = Line::new();
        let _ = write!(line, "END {end} {tyme} {}", origin.unwrap_or("-"));
        line.print();
        !self.failed.get()
    }
}

impl Observer for Checker {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        let c = context_code(context);
        let ns = tyme.as_nanos();
        let mut line = Line::new();
        let _ = write!(line, "E {doer} {} {ns}", context.as_str());
        line.print();

        let k = self.seen.get();
        self.seen.set(k + 1);
        let d = self.v.names.iter().position(|n| *n == doer);
        if let Some(d) = d {
            let d16 = d as u16;
            let n = self.entered_len.get();
            let first = !self.entered.iter().take(n).any(|e| e.get() == d16);
            if c == 0 && first {
                if let Some(slot) = self.entered.get(n) {
                    slot.set(d16);
                    self.entered_len.set(n + 1);
                }
            }
            let outcome = match context {
                Context::Clean => Some(0),
                Context::Cease => Some(1),
                Context::Abort => Some(2),
                _ => None,
            };
            if let (Some(o), Some(cell)) = (outcome, self.outcome.get(d)) {
                cell.set(o);
            }
        }
        let got = d.map(|d| (d as u16, c, ns));
        match self.v.events.get(k) {
            Some(&want) if got == Some(want) => {}
            Some(&(wd, wc, wt)) => self.mismatch(format_args!(
                "event {k}: expected {} {} {wt}, got {doer} {} {ns}",
                self.name(wd),
                context_name(wc),
                context.as_str()
            )),
            None => self.mismatch(format_args!(
                "event {k}: expected the end, got {doer} {} {ns}",
                context.as_str()
            )),
        }
    }
}

#[entry]
fn main() -> ! {
    let mut line = Line::new();
    if let Some(e) = BUILD_ERROR {
        let _ = write!(line, "MISMATCH the vectors could not be built: {e}");
        line.print();
        exit(false)
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for v in VECTORS {
        let _ = write!(line, "SCENARIO {} {}", v.file, v.name);
        line.print();
        let checker = Checker::new(v);
        let report = (v.run)(&checker);
        if checker.finish(report.as_ref()) {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    if VECTORS.is_empty() {
        failed += 1;
        let _ = write!(line, "MISMATCH no conformance vectors were built");
        line.print();
    }
    let _ = write!(line, "conformance: {passed} passed, {failed} failed");
    line.print();
    exit(failed == 0)
}
