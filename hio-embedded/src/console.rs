//! [`Console`], a line command doer, and [`Heartbeat`]: the logic of the
//! serial flow that runs the same on a Cortex-M, under QEMU and on a host.

use core::fmt::Write as _;

use hio_core::{Cx, Doer, Fault, Pull, Push, Step, StopFlag, Tock};

use crate::serial::{Frame, SerialStats};

/// Writes into a frame, truncating what does not fit.
struct FrameWriter<'f, const M: usize>(&'f mut Frame<M>);

impl<const M: usize> core::fmt::Write for FrameWriter<'_, M> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.0.push(b).is_err() {
                break;
            }
        }
        Ok(())
    }
}

fn frame<const M: usize>(args: core::fmt::Arguments<'_>) -> Frame<M> {
    let mut f = Frame::new();
    let _ = FrameWriter(&mut f).write_fmt(args);
    f
}

/// Answers line commands from its rx Deck on its tx Deck:
///
/// | command | reply |
/// |---|---|
/// | `echo TEXT` | `TEXT` |
/// | `tyme` | the current tyme in seconds, e.g. `12.5` |
/// | `stats` | `in N out N overrun N framing N parity N noise N overlong N crc N malformed N` |
/// | `quit` | `bye`, then a clean stop: the [`StopFlag`] is raised, the Doist ceases every doer |
/// | anything else | `error: unknown command` |
///
/// A reply that does not fit the tx Deck is held and sent later; no more
/// commands are taken meanwhile (backpressure). Replies are cut to the
/// frame size `M`: a whole `stats` line needs `M` of 96 or more.
pub struct Console<'a, const M: usize> {
    rx: &'a dyn Pull<Frame<M>>,
    tx: &'a dyn Push<Frame<M>>,
    stats: &'a SerialStats,
    stop: &'a StopFlag,
    held: Option<Frame<M>>,
    quitting: bool,
}

impl<'a, const M: usize> Console<'a, M> {
    /// A console reading `rx`, replying on `tx`, reporting `stats`, and
    /// raising `stop` on `quit`.
    pub fn new(
        rx: &'a dyn Pull<Frame<M>>,
        tx: &'a dyn Push<Frame<M>>,
        stats: &'a SerialStats,
        stop: &'a StopFlag,
    ) -> Self {
        Console {
            rx,
            tx,
            stats,
            stop,
            held: None,
            quitting: false,
        }
    }

    fn answer(&mut self, line: &[u8], cx: &Cx<'_>) -> Frame<M> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(text) = line.strip_prefix(b"echo ") {
            return Frame::from_slice(text.get(..M.min(text.len())).unwrap_or(&[]))
                .unwrap_or_default();
        }
        match line {
            b"echo" => Frame::new(),
            b"tyme" => frame(format_args!("{}", cx.tyme())),
            b"stats" => frame(format_args!("{}", self.stats)),
            b"quit" => {
                self.quitting = true;
                frame(format_args!("bye"))
            }
            _ => frame(format_args!("error: unknown command")),
        }
    }
}

impl<const M: usize> Doer for Console<'_, M> {
    fn name(&self) -> &str {
        "console"
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        loop {
            if let Some(reply) = self.held.take() {
                if let Err(reply) = self.tx.push(reply) {
                    self.held = Some(reply);
                    break;
                }
                if self.quitting {
                    self.stop.stop();
                    break;
                }
            }
            let Some(line) = self.rx.pull() else { break };
            self.held = Some(self.answer(&line, cx));
        }
        Ok(Step::Continue)
    }
}

impl<const M: usize> core::fmt::Debug for Console<'_, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Console")
            .field("held", &self.held.is_some())
            .field("quitting", &self.quitting)
            .finish()
    }
}

/// Sends `beat N T` (N counting from 1, T the tyme in seconds) once per
/// tock, one second by default. A beat that finds the tx Deck full is
/// counted as missed, not queued, so beats never pile up.
pub struct Heartbeat<'a, const M: usize> {
    tx: &'a dyn Push<Frame<M>>,
    tock: Tock,
    beats: u32,
    missed: u32,
}

impl<'a, const M: usize> Heartbeat<'a, M> {
    /// A heartbeat onto `tx`, every second of tyme.
    pub fn new(tx: &'a dyn Push<Frame<M>>) -> Self {
        Heartbeat {
            tx,
            tock: Tock::from_secs(1),
            beats: 0,
            missed: 0,
        }
    }

    /// Beats every `tock` instead.
    pub fn with_tock(mut self, tock: Tock) -> Self {
        self.tock = tock;
        self
    }

    /// Beats sent and missed.
    pub fn counts(&self) -> (u32, u32) {
        (self.beats, self.missed)
    }
}

impl<const M: usize> Doer for Heartbeat<'_, M> {
    fn name(&self) -> &str {
        "heartbeat"
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        let n = self.beats + self.missed + 1;
        match self.tx.push(frame(format_args!("beat {n} {}", cx.tyme()))) {
            Ok(()) => self.beats += 1,
            Err(_) => self.missed += 1,
        }
        Ok(Step::Continue)
    }
}

impl<const M: usize> core::fmt::Debug for Heartbeat<'_, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heartbeat")
            .field("beats", &self.beats)
            .field("missed", &self.missed)
            .finish()
    }
}
