//! The demo's client: a scripted conversation with the board through the
//! bridge, shown as it happens.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use hio_core::{Cx, Doer, Fault, FaultKind, Step, StopFlag, Tock, Tyme, Waker};

use crate::net::{Client, ClientState};
use crate::reactor::Reactor;

/// How long the script waits for a reply (wall time) before it gives up.
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The commands the script sends first, in order; `quit` comes last, when
/// the demo's time is up.
pub const COMMANDS: [&str; 3] = ["echo hello", "tyme", "stats"];

/// How the conversation went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    /// Commands sent.
    pub sent: u32,
    /// Replies received.
    pub replies: u32,
    /// Heartbeats received.
    pub beats: u32,
    /// Each round trip, in order.
    pub round_trips: Vec<Duration>,
    /// `quit` was answered with `bye`.
    pub finished: bool,
    /// What went wrong, if anything.
    pub failure: Option<String>,
}

impl Conversation {
    /// `round trips: N, min … µs, mean … µs, max … µs`.
    pub fn summary(&self) -> String {
        let n = self.round_trips.len();
        if n == 0 {
            return "round trips: none".into();
        }
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let min = self.round_trips.iter().copied().min().unwrap_or_default();
        let max = self.round_trips.iter().copied().max().unwrap_or_default();
        let mean = self.round_trips.iter().map(|d| us(*d)).sum::<f64>() / n as f64;
        format!(
            "round trips: {n}, min {:.0} µs, mean {mean:.0} µs, max {:.0} µs",
            us(min),
            us(max)
        )
    }
}

/// The script doer: once connected it sends [`COMMANDS`] one by one, each
/// after the reply to the one before, printing every line out and in
/// (with the round trip of each reply) and every heartbeat as it comes;
/// at `quit_at` it sends `quit`, and after `bye` it stops the run.
pub(crate) struct Script<'a, 'w> {
    pub(crate) client: &'a Client<'a>,
    pub(crate) reactor: &'a Reactor,
    pub(crate) waker: Waker,
    pub(crate) out: &'a RefCell<&'w mut dyn Write>,
    pub(crate) stop: &'static StopFlag,
    /// When to send `quit` (`None`: never).
    pub(crate) quit_at: Option<Tyme>,
    pub(crate) next: usize,
    /// The command waiting for its reply, and when it was sent.
    pub(crate) waiting: Option<(&'static str, Instant)>,
    pub(crate) line: Vec<u8>,
    pub(crate) tock: Tock,
    pub(crate) result: &'a RefCell<Conversation>,
    pub(crate) connected: bool,
    /// Send nothing before the first beat.
    pub(crate) wait_beat: bool,
}

impl Script<'_, '_> {
    fn say(&self, t: Tyme, text: fmt::Arguments<'_>) {
        if let Ok(mut out) = self.out.try_borrow_mut() {
            let _ = writeln!(out, "[{t}] {text}");
            let _ = out.flush();
        }
    }

    fn fail(&mut self, t: Tyme, why: String) -> Result<Step, Fault> {
        self.say(t, format_args!("client: {why}"));
        self.result.borrow_mut().failure = Some(why);
        self.stop.stop();
        Ok(Step::Done)
    }

    fn send(&mut self, t: Tyme, command: &'static str) -> Result<Step, Fault> {
        let mut bytes = command.as_bytes().to_vec();
        bytes.push(b'\n');
        match self.client.send(&bytes) {
            Ok(n) if n == bytes.len() => {}
            _ => return self.fail(t, format!("cannot send `{command}`: the connection closed")),
        }
        self.say(t, format_args!("client → board: {command}"));
        self.waiting = Some((command, Instant::now()));
        self.result.borrow_mut().sent += 1;
        self.tock = Tock::try_from(REPLY_TIMEOUT).unwrap_or(Tock::from_secs(1));
        Ok(Step::Continue)
    }
}

impl Doer for Script<'_, '_> {
    fn name(&self) -> &str {
        "script"
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "script: no waker"))?;
        self.client.wake_on_rx(Some(self.waker));
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes from one recur to the next
        cx.retock();
        let t = cx.tyme();
        match self.client.state() {
            ClientState::Connected if !self.connected => {
                self.connected = true;
                self.say(
                    t,
                    format_args!(
                        "client: connected to the bridge at {}",
                        self.client.remote()
                    ),
                );
            }
            ClientState::Closed => {
                return self.fail(t, "the bridge closed the connection".into());
            }
            _ => {}
        }
        if !self.connected {
            self.tock = Tock::NEVER;
            return Ok(Step::Continue);
        }
        // every line in: a beat, or the reply to the command in flight
        loop {
            match self.client.recv_line(&mut self.line) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => continue,
            }
            let text = String::from_utf8_lossy(&self.line).into_owned();
            match self.waiting {
                Some((command, sent)) if !text.starts_with("beat ") => {
                    let rtt = sent.elapsed();
                    self.waiting = None;
                    self.say(
                        t,
                        format_args!(
                            "client ← board: {text}   (round trip {:.0} µs)",
                            rtt.as_secs_f64() * 1e6
                        ),
                    );
                    let mut r = self.result.borrow_mut();
                    r.replies += 1;
                    r.round_trips.push(rtt);
                    if command == "quit" && text == "bye" {
                        r.finished = true;
                        drop(r);
                        self.say(
                            t,
                            format_args!("client: the conversation is over; stopping"),
                        );
                        self.stop.stop();
                        return Ok(Step::Done);
                    }
                }
                _ => {
                    self.wait_beat = false;
                    self.result.borrow_mut().beats += 1;
                    self.say(t, format_args!("client ← board: {text}"));
                }
            }
        }
        if let Some((command, sent)) = self.waiting {
            let left = REPLY_TIMEOUT.saturating_sub(sent.elapsed());
            if left.is_zero() {
                return self.fail(
                    t,
                    format!("no reply to `{command}` within {REPLY_TIMEOUT:?}"),
                );
            }
            self.tock = Tock::try_from(left).unwrap_or(Tock::from_secs(1));
            return Ok(Step::Continue);
        }
        if self.wait_beat {
            self.tock = Tock::NEVER;
            return Ok(Step::Continue);
        }
        if let Some(command) = COMMANDS.get(self.next) {
            self.next += 1;
            self.tock = Tock::NEVER;
            return self.send(t, command);
        }
        match self.quit_at {
            Some(at) if t >= at => {
                self.quit_at = None;
                self.send(t, "quit")
            }
            Some(at) => {
                self.tock = at.since(t);
                Ok(Step::Continue)
            }
            None => {
                self.tock = Tock::NEVER;
                Ok(Step::Continue)
            }
        }
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.client.wake_on_rx(None);
        self.reactor.release(self.waker);
    }
}

impl fmt::Debug for Script<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}
