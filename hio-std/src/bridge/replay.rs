//! [`replay`]: reruns a bridge's doers (the hub and the device's doer) in
//! simulated time against what its wire log recorded, and gives the trace
//! the live run had beside the trace of the rerun.
//!
//! The wire log of a `hio bridge --wirelog FILE` run holds, besides the
//! frames, every answer the bridge's two edges gave (what a read of the
//! device returned, what the TCP side said: a client came, sent these
//! bytes, has this much room) and every lifecycle event of the hub and the
//! device's doer with its tyme: each `recur` is a wake that ran it. The
//! replay builds the same doers on the recorded edges, wakes each at the
//! tyme it ran live (in simulated time, no waiting), stops at the tyme the
//! live run stopped, and traces them. The doers decide everything else
//! (what they read, send, hold back, when they are due again) as they did
//! live: a replay that asks for an answer the live run did not give, or
//! runs a doer the live run did not, shows where they part.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;

use hio_core::{Clock, Context, Doist, Observer, SimClock, StopFlag, Tyme, Waker};
use hio_embedded::{Cobs, Framer, Lines, SerialStats};
use serde_json::Value;

use super::clients::Clients;
use super::record::{Answers, NoClients, Recorded};
use super::{BridgeStats, FrameDeck, Hub, ENCODED, FRAME, TRACED};
use crate::reactor::{Reactor, NET_TOCK};
use crate::scenario::TraceWriter;
use crate::tty::{Tty, TtyDoer, TtyStatus};

/// Why a wire log cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// A line is not JSON.
    Malformed {
        /// Its number, from 1.
        line: usize,
    },
    /// The log does not start with the bridge's set-up line.
    NoHeader,
    /// The log has no trace, or no end: it was cut short (the bridge was
    /// killed), or it is not a `hio bridge --wirelog` log.
    NoTrace,
    /// The replay could not be set up (out of file descriptors).
    Setup(String),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Malformed { line } => {
                write!(f, "line {line} is not JSON: give a wire log written by `hio bridge --wirelog`")
            }
            ReplayError::NoHeader => f.write_str(
                "no set-up line: give a wire log written by `hio bridge --wirelog`",
            ),
            ReplayError::NoTrace => f.write_str(
                "no trace or no end in the log: it was cut short (stop the bridge with Ctrl-C or SIGTERM, not SIGKILL)",
            ),
            ReplayError::Setup(s) => write!(f, "cannot set up the replay: {s}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// A replay's result.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The trace of the live run (JSON Lines, as `hio trace` writes).
    pub live: String,
    /// The trace of the replay.
    pub replay: String,
    /// Where the replay first asked for an answer the live run did not
    /// give, if it did.
    pub diverged: Option<String>,
    /// Answers the replay did not ask for.
    pub unused: usize,
}

/// What the log holds.
struct Log {
    framing: String,
    answers: VecDeque<(String, Value)>,
    events: Vec<(u64, String, String)>,
    end: (u64, String),
}

fn parse(text: &str) -> Result<Log, ReplayError> {
    let mut framing = None;
    let mut answers = VecDeque::new();
    let mut events = Vec::new();
    let mut end = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|_| ReplayError::Malformed { line: i + 1 })?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(f) = s("bridge") {
            framing = Some(f);
        } else if let Some(kind) = s("io") {
            answers.push_back((kind, v.get("v").cloned().unwrap_or(Value::Null)));
        } else if let (Some(doer), Some(context)) = (s("doer"), s("context")) {
            let ns = v.get("ns").and_then(Value::as_u64).unwrap_or(0);
            events.push((ns, doer, context));
        } else if let Some(e) = s("end") {
            end = Some((v.get("ns").and_then(Value::as_u64).unwrap_or(0), e));
        }
    }
    let framing = framing.ok_or(ReplayError::NoHeader)?;
    let end = end.ok_or(ReplayError::NoTrace)?;
    if events.is_empty() {
        return Err(ReplayError::NoTrace);
    }
    Ok(Log {
        framing,
        answers,
        events,
        end,
    })
}

/// Collects a trace.
struct Collect {
    trace: RefCell<TraceWriter>,
}

impl Observer for Collect {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        if TRACED.contains(&doer) {
            self.trace
                .borrow_mut()
                .event(doer, context.as_str(), tyme.as_nanos());
        }
    }
}

/// Simulated time that stops the run at the live run's end.
struct ReplayClock<'w> {
    sim: SimClock<'w>,
    end: Tyme,
    stop: &'static StopFlag,
}

impl Clock for ReplayClock<'_> {
    fn now(&mut self) -> Tyme {
        self.sim.now()
    }

    fn wait_until(&mut self, deadline: Tyme) {
        self.sim.wait_until(if deadline > self.end {
            self.end
        } else {
            deadline
        });
        if self.sim.now() >= self.end {
            self.stop.stop();
        }
    }
}

/// Replays the wire log `text`: reruns the hub and the device's doer in
/// simulated time on the answers their edges gave live, each woken at the
/// tyme it ran live, stopped when the live run stopped; gives both traces
/// and where the replay first asked for something the live run did not.
///
/// # Errors
///
/// [`ReplayError`] if it is not a whole `hio bridge --wirelog` log.
pub fn replay(text: &str) -> Result<Replayed, ReplayError> {
    let log = parse(text)?;
    let mut live = TraceWriter::new();
    for (ns, doer, context) in &log.events {
        live.event(doer, context, *ns);
    }
    live.end(&log.end.1, log.end.0, None);
    let answers = Answers::new(log.answers.clone());
    let replay = match log.framing.as_str() {
        "cobs" => rerun(&log, &answers, Cobs::<FRAME>::new(), false)?,
        _ => rerun(&log, &answers, Lines::<FRAME>::new(), true)?,
    };
    Ok(Replayed {
        live: live.as_str().to_string(),
        replay,
        diverged: answers.diverged(),
        unused: answers.left(),
    })
}

/// `lines`: the framer is [`Lines`] (cut a chunk at a time, as live).
fn rerun<F: Framer + Clone>(
    log: &Log,
    answers: &Answers,
    framer: F,
    lines: bool,
) -> Result<String, ReplayError> {
    let setup = |e: &dyn fmt::Display| ReplayError::Setup(e.to_string());
    let reactor = Reactor::new().map_err(|e| setup(&e))?;
    let from_dev = FrameDeck::new();
    let to_dev = FrameDeck::new();
    let stats = BridgeStats::default();
    let status = TtyStatus::new();
    let serial_stats = SerialStats::new();
    let device: Recorded<'_, Tty> = Recorded::replay(answers);
    let mut serial: TtyDoer<'_, F, FRAME, ENCODED, Recorded<'_, Tty>> = TtyDoer::new(
        "serial",
        &reactor,
        device,
        framer.clone(),
        &from_dev,
        &to_dev,
        &serial_stats,
        &status,
    )
    .map_err(|e| setup(&e))?;
    let clients: Recorded<'_, NoClients> = Recorded::replay(answers);
    let mut hub = Hub::new(
        &clients, &reactor, &from_dev, &to_dev, framer, &status, &stats,
    )
    .map_err(|e| setup(&e))?;
    if lines {
        serial = serial.cut_lines();
        hub = hub.cut_lines();
    }
    to_dev.wake_on_push(Some(serial.waker()));
    from_dev.wake_on_pull(Some(serial.waker()));
    from_dev.wake_on_push(Some(hub.waker()));
    to_dev.wake_on_pull(Some(hub.waker()));
    let plan: Vec<(Tyme, Waker)> = log
        .events
        .iter()
        .filter(|(_, _, c)| c == "recur")
        .filter_map(|(ns, doer, _)| {
            let w = match doer.as_str() {
                "hub" => hub.waker(),
                "serial" => serial.waker(),
                _ => return None,
            };
            Some((Tyme::from_nanos(*ns), w))
        })
        .collect();
    let collect = Collect {
        trace: RefCell::new(TraceWriter::new()),
    };
    let report = {
        let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK).map_err(|e| setup(&e))?;
        doist.wakes(reactor.board());
        doist.observe(&collect);
        let refused = |_| ReplayError::Setup("the replay tree is too small".into());
        doist.add(&mut hub).map_err(refused)?;
        doist.add(&mut serial).map_err(refused)?;
        let mut clock = ReplayClock {
            sim: SimClock::with_wakes(&plan),
            end: Tyme::from_nanos(log.end.0),
            stop: reactor.stop_flag(),
        };
        doist.run(&mut clock, Some(reactor.stop_flag()))
    };
    let _ = &clients as &dyn Clients;
    let mut trace = collect.trace.into_inner();
    trace.end(report.end.as_str(), report.tyme.as_nanos(), None);
    Ok(trace.as_str().to_string())
}
