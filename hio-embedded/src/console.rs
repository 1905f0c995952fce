//! [`Console`], a line command doer, and [`Heartbeat`]: the logic of the
//! serial flow that runs the same on a Cortex-M, under QEMU and on a host.

use hio_core::{Cx, Doer, Fault, Pull, Push, Step, StopFlag, Tock, Waker};

use heapless::VecView;

use crate::serial::{attach, Frame, SerialStats, REPORT};

// Replies are formatted by hand, not with `core::fmt`: on a Cortex-M3 that
// keeps about 1.5 KiB of formatting machinery out of the firmware.

/// Appends `bytes`, cutting what does not fit.
fn put(f: &mut VecView<u8>, bytes: &[u8]) {
    for &b in bytes {
        if f.push(b).is_err() {
            break;
        }
    }
}

/// A frame holding `bytes` (cut to fit).
fn frame<const M: usize>(bytes: &[u8]) -> Frame<M> {
    let mut f = Frame::new();
    put(f.as_mut_view(), bytes);
    f
}

/// Appends `n` in decimal; with `secs`, `n` is nanoseconds written in
/// seconds exactly as [`Tyme`](hio_core::Tyme)'s `Display` does: at least
/// one fractional digit, no trailing zeros beyond it (`0.0`, `12.5`,
/// `0.03125`).
///
/// The digits come from dividing `n` by ten with 32-bit divisions only (the
/// high word, then the low word 16 bits at a time), so a 32-bit MCU needs
/// no 64-bit division or shift routine.
fn put_dec(f: &mut VecView<u8>, n: u64, secs: bool) {
    // 20 digits at most, and a point; with `secs` the point is at 11 and
    // the nine fractional digits at 12 to 20
    let mut buf = [0u8; 21];
    let (mut hi, mut lo) = ((n >> 32) as u32, n as u32);
    let mut start = buf.len();
    while let Some(k) = start.checked_sub(1) {
        start = k;
        let Some(d) = buf.get_mut(k) else { break };
        // the point at 11: nine fractional digits after it
        if secs && k == 11 {
            *d = b'.';
            continue;
        }
        let r = hi % 10;
        hi /= 10;
        let cur = (r << 16) | (lo >> 16);
        let upper = cur / 10;
        let cur = ((cur % 10) << 16) | (lo & 0xffff);
        lo = (upper << 16) | (cur / 10);
        *d = b'0' + (cur % 10) as u8;
        if hi | lo == 0 && (!secs || k < 11) {
            break;
        }
    }
    let mut end = buf.len();
    // no trailing zeros beyond the first fractional digit
    while secs && end > 13 && buf.get(end - 1) == Some(&b'0') {
        end -= 1;
    }
    put(f, buf.get(start..end).unwrap_or(&[]));
}

/// Appends the one-line report of `stats`, as its `Display` writes it.
fn put_stats(f: &mut VecView<u8>, stats: &SerialStats) {
    let values = stats.report();
    let mut k = 0;
    for &b in REPORT.as_bytes() {
        if b == b'#' {
            put_dec(f, u64::from(values.get(k).copied().unwrap_or(0)), false);
            k += 1;
        } else if f.push(b).is_err() {
            break;
        }
    }
}

/// Writes the reply to the command `line` into `out`; `true` for `quit`.
fn answer(
    out: &mut VecView<u8>,
    line: &[u8],
    cx: &Cx<'_>,
    stats: &SerialStats,
    wakeups: Option<fn() -> u32>,
) -> bool {
    let line = match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    };
    if let Some(text) = line.strip_prefix(b"echo ") {
        put(out, text);
        return false;
    }
    // a table and a search: a `match` on the byte strings compiles to a
    // comparison per byte
    const COMMANDS: [&[u8]; 4] = [b"echo", b"tyme", b"stats", b"quit"];
    match COMMANDS.iter().position(|c| *c == line) {
        Some(0) => {}
        Some(1) => put_dec(out, cx.tyme().as_nanos(), true),
        Some(2) => {
            put_stats(out, stats);
            if let Some(count) = wakeups {
                put(out, b" wakeups ");
                put_dec(out, u64::from(count()), false);
            }
        }
        Some(_) => {
            put(out, b"bye");
            return true;
        }
        None => put(out, b"error: unknown command"),
    }
    false
}

/// Answers line commands from its rx Deck on its tx Deck:
///
/// | command | reply |
/// |---|---|
/// | `echo TEXT` | `TEXT` |
/// | `tyme` | the current tyme in seconds, e.g. `12.5` |
/// | `stats` | `in N out N overrun N framing N parity N noise N overlong N crc N malformed N`, then ` wakeups N` if given a count ([`with_wakeups`](Console::with_wakeups)) |
/// | `quit` | `bye`, then a clean stop: the [`StopFlag`] is raised, the Doist ceases every doer |
/// | anything else | `error: unknown command` |
///
/// A reply that does not fit the tx Deck is held and sent later; no more
/// commands are taken meanwhile (backpressure). Replies are cut to the
/// frame size `M`: a whole `stats` line needs `M` of 96 or more (112 with
/// the wake-ups).
///
/// It runs every pass unless given a waker
/// ([`with_waker`](Console::with_waker)): then it parks between commands.
pub struct Console<'a, const M: usize> {
    rx: &'a dyn Pull<Frame<M>>,
    tx: &'a dyn Push<Frame<M>>,
    stats: &'a SerialStats,
    stop: &'a StopFlag,
    held: Option<Frame<M>>,
    quitting: bool,
    waker: Option<Waker>,
    wakeups: Option<fn() -> u32>,
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
            waker: None,
            wakeups: None,
        }
    }

    /// Parks between commands, until woken through `waker` (taken on when
    /// it enters; its Doist must drain the waker's board). Give its Decks
    /// the same waker: `rx.wake_on_push(Some(waker))` (a command came) and
    /// `tx.wake_on_pull(Some(waker))` (room for a held reply).
    pub fn with_waker(mut self, waker: Waker) -> Self {
        self.waker = Some(waker);
        self
    }

    /// Ends the `stats` reply with ` wakeups N`, N from `count`: how often
    /// the clock woke from its sleep, say
    /// (`hio_embedded::systick::wakeups` on a Cortex-M).
    pub fn with_wakeups(mut self, count: fn() -> u32) -> Self {
        self.wakeups = Some(count);
        self
    }
}

impl<const M: usize> Doer for Console<'_, M> {
    fn name(&self) -> &str {
        "console"
    }

    fn tock(&self) -> Tock {
        match self.waker {
            Some(_) => Tock::NEVER,
            None => Tock::ZERO,
        }
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        attach(cx, &self.waker)
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
            // looked at where it was pulled to: not moved out of the Option
            let pulled = self.rx.pull();
            let Some(line) = pulled.as_deref() else { break };
            let reply = self.held.insert(Frame::new());
            self.quitting |= answer(reply.as_mut_view(), line, cx, self.stats, self.wakeups);
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
        let out = beat.as_mut_view();
        put_dec(out, u64::from(n), false);
        put(out, b" ");
        put_dec(out, cx.tyme().as_nanos(), true);
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

    use hio_core::Tyme;

    use super::*;

    fn text<const M: usize>(f: &Frame<M>) -> String {
        String::from_utf8_lossy(f).into_owned()
    }

    fn dec<const M: usize>(n: u64, secs: bool) -> String {
        let mut f: Frame<M> = Frame::new();
        put_dec(f.as_mut_view(), n, secs);
        text(&f)
    }

    #[test]
    fn tyme_is_written_as_its_display() {
        let cases = [
            0,
            1,
            10,
            31_250_000,
            93_750_000,
            100_000_000,
            300_000_000,
            999_999_999,
            1_000_000_000,
            1_000_000_001,
            12_500_000_000,
            86_400_010_000_000,
            u64::MAX,
        ];
        for ns in cases {
            let t = Tyme::from_nanos(ns);
            assert_eq!(dec::<64>(ns, true), t.to_string(), "{ns} ns");
        }
    }

    #[test]
    fn numbers_and_stats_are_written_as_their_display() {
        for n in [0, 7, 10, 4_294_967_295, 4_294_967_296, u64::MAX] {
            assert_eq!(dec::<32>(n, false), n.to_string());
        }
        let stats = SerialStats::new();
        stats.frames_in.set(12);
        stats.frames_out.set(3);
        stats.crc.set(u32::MAX);
        let mut f: Frame<128> = Frame::new();
        put_stats(f.as_mut_view(), &stats);
        assert_eq!(text(&f), stats.to_string());
        assert_eq!(
            text(&f),
            "in 12 out 3 overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 4294967295 malformed 0"
        );
        let counters = [
            &stats.frames_in,
            &stats.frames_out,
            &stats.overrun,
            &stats.framing,
            &stats.parity,
            &stats.noise,
            &stats.overlong,
            &stats.crc,
            &stats.malformed,
        ];
        for (i, c) in counters.iter().enumerate() {
            c.set(i as u32 + 1);
        }
        let mut f: Frame<128> = Frame::new();
        put_stats(f.as_mut_view(), &stats);
        assert_eq!(
            text(&f),
            "in 1 out 2 overrun 3 framing 4 parity 5 noise 6 overlong 7 crc 8 malformed 9"
        );
        assert_eq!(text(&f), stats.to_string());
    }

    #[test]
    fn replies_are_cut_to_the_frame() {
        assert_eq!(dec::<4>(123_456_789_000, true), "123.");
        assert_eq!(dec::<3>(12_345, false), "123");
        let f: Frame<5> = frame(b"error: unknown command");
        assert_eq!(text(&f), "error");
        let stats = SerialStats::new();
        let mut f: Frame<10> = Frame::new();
        put_stats(f.as_mut_view(), &stats);
        assert_eq!(text(&f), "in 0 out 0");
    }

    proptest::proptest! {
        #[test]
        fn any_number_or_tyme_is_written_as_its_display(n in proptest::num::u64::ANY) {
            proptest::prop_assert_eq!(dec::<32>(n, false), n.to_string());
            let t = Tyme::from_nanos(n);
            proptest::prop_assert_eq!(dec::<32>(n, true), t.to_string());
            // whole seconds, and few fractional digits, are the common tymes
            let whole = Tyme::from_nanos(n / 1_000_000_000 * 1_000_000_000);
            proptest::prop_assert_eq!(dec::<32>(whole.as_nanos(), true), whole.to_string());
            let ms = Tyme::from_nanos(n / 1_000_000 * 1_000_000);
            proptest::prop_assert_eq!(dec::<32>(ms.as_nanos(), true), ms.to_string());
        }
    }
}
