//! [`Console`], a line command doer, and [`Heartbeat`]: the logic of the
//! serial flow that runs the same on a Cortex-M, under QEMU and on a host.

use hio_core::{Cx, Doer, Fault, Pull, Push, Step, StopFlag, Tock, Tyme};

use crate::serial::{Frame, SerialStats};

// Replies are formatted by hand, not with `core::fmt`: on a Cortex-M3 that
// keeps about 1.5 KiB of formatting machinery out of the firmware.

/// Appends `bytes`, cutting what does not fit.
fn put<const M: usize>(f: &mut Frame<M>, bytes: &[u8]) {
    for &b in bytes {
        if f.push(b).is_err() {
            break;
        }
    }
}

/// A frame holding `bytes` (cut to fit).
fn frame<const M: usize>(bytes: &[u8]) -> Frame<M> {
    let mut f = Frame::new();
    put(&mut f, bytes);
    f
}

/// `n / 10` and `n % 10` with 32-bit divisions only (16 bits at a time),
/// so a 32-bit MCU needs no 64-bit division routine.
fn div10(n: u64) -> (u64, u8) {
    let mut q: u64 = 0;
    let mut r: u32 = 0;
    for shift in [48u32, 32, 16, 0] {
        let cur = (r << 16) | ((n >> shift) & 0xffff) as u32;
        q |= u64::from(cur / 10) << shift;
        r = cur % 10;
    }
    (q, r as u8)
}

/// The decimal digits of `n`, at least `min` of them (zero-padded), in the
/// tail of a 20-byte array; returns the array and where the digits start.
fn digits(mut n: u64, min: usize) -> ([u8; 20], usize) {
    let mut out = [b'0'; 20];
    let mut start = out.len();
    for (k, d) in out.iter_mut().rev().enumerate() {
        let (q, r) = div10(n);
        *d = b'0' + r;
        n = q;
        start -= 1;
        if n == 0 && k + 1 >= min {
            break;
        }
    }
    (out, start)
}

/// Appends `n` in decimal.
fn put_u64<const M: usize>(f: &mut Frame<M>, n: u64) {
    let (d, start) = digits(n, 1);
    put(f, d.get(start..).unwrap_or(&[]));
}

/// Appends `t` in seconds exactly as [`Tyme`]'s `Display` does: at least
/// one fractional digit, no trailing zeros beyond it (`0.0`, `12.5`,
/// `0.03125`).
fn put_tyme<const M: usize>(f: &mut Frame<M>, t: Tyme) {
    // at least 10 digits: one of seconds, nine of nanoseconds
    let (d, start) = digits(t.as_nanos(), 10);
    let point = d.len() - 9;
    put(f, d.get(start..point).unwrap_or(&[]));
    put(f, b".");
    let mut end = d.len();
    while end > point + 1 && d.get(end - 1) == Some(&b'0') {
        end -= 1;
    }
    put(f, d.get(point..end).unwrap_or(&[]));
}

/// Appends the one-line report of `stats`, as its `Display` writes it.
fn put_stats<const M: usize>(f: &mut Frame<M>, stats: &SerialStats) {
    for (i, (name, value)) in stats.report().iter().enumerate() {
        if i > 0 {
            put(f, b" ");
        }
        put(f, name.as_bytes());
        put(f, b" ");
        put_u64(f, u64::from(*value));
    }
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
            b"tyme" => {
                let mut f = Frame::new();
                put_tyme(&mut f, cx.tyme());
                f
            }
            b"stats" => {
                let mut f = Frame::new();
                put_stats(&mut f, self.stats);
                f
            }
            b"quit" => {
                self.quitting = true;
                frame(b"bye")
            }
            _ => frame(b"error: unknown command"),
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
        let mut beat = frame(b"beat ");
        put_u64(&mut beat, u64::from(n));
        put(&mut beat, b" ");
        put_tyme(&mut beat, cx.tyme());
        match self.tx.push(beat) {
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

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};

    use super::*;

    fn text<const M: usize>(f: &Frame<M>) -> String {
        String::from_utf8_lossy(f).into_owned()
    }

    #[test]
    fn tyme_is_written_as_its_display() {
        let cases = [
            0,
            1,
            10,
            31_250_000,
            93_750_000,
            300_000_000,
            999_999_999,
            1_000_000_000,
            12_500_000_000,
            86_400_010_000_000,
            u64::MAX,
        ];
        for ns in cases {
            let t = Tyme::from_nanos(ns);
            let mut f: Frame<64> = Frame::new();
            put_tyme(&mut f, t);
            assert_eq!(text(&f), t.to_string(), "{ns} ns");
        }
    }

    #[test]
    fn numbers_and_stats_are_written_as_their_display() {
        for n in [0, 7, 10, 4_294_967_295, u64::MAX] {
            let mut f: Frame<32> = Frame::new();
            put_u64(&mut f, n);
            assert_eq!(text(&f), n.to_string());
        }
        let stats = SerialStats::new();
        stats.frames_in.set(12);
        stats.frames_out.set(3);
        stats.crc.set(u32::MAX);
        let mut f: Frame<128> = Frame::new();
        put_stats(&mut f, &stats);
        assert_eq!(text(&f), stats.to_string());
        assert_eq!(
            text(&f),
            "in 12 out 3 overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 4294967295 malformed 0"
        );
    }

    #[test]
    fn replies_are_cut_to_the_frame() {
        let mut f: Frame<4> = Frame::new();
        put_tyme(&mut f, Tyme::from_nanos(123_456_789_000));
        assert_eq!(text(&f), "123.");
        let f: Frame<5> = frame(b"error: unknown command");
        assert_eq!(text(&f), "error");
    }
}
