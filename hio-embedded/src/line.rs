//! Newline-delimited text lines: a [`LineFramer`] that splits received bytes
//! into lines, and [`encode_line`] that terminates a line for sending.
//!
//! This is the framing of hio's serial `Driver`: one message per line, ended
//! by `\n`. A `\r` just before the `\n` is dropped, so both `\n` and `\r\n`
//! peers (terminals, Windows tools, AT modems) work unchanged. A `\r`
//! anywhere else is an ordinary byte.
//!
//! The framer stores at most `N` bytes of a line (not counting its ending)
//! in a [`heapless::Vec`]. A longer line is reported once as
//! [`LineError::Overlong`] and the rest of it is discarded up to the next
//! `\n`; the framer then resynchronises and reads the next line normally.
//!
//! ```
//! use hio_embedded::line::{encode_line, LineEnding, LineFramer};
//!
//! let mut out = [0_u8; 16];
//! let n = encode_line(b"ping", LineEnding::CrLf, &mut out)?;
//! assert_eq!(out.get(..n), Some(&b"ping\r\n"[..]));
//!
//! let mut framer = LineFramer::<16>::new();
//! let mut lines = 0;
//! for &byte in out.get(..n).unwrap_or_default() {
//!     if let Some(line) = framer.feed(byte) {
//!         assert_eq!(line, Ok(&b"ping"[..]));
//!         lines += 1;
//!     }
//! }
//! assert_eq!(lines, 1);
//! # Ok::<(), hio_embedded::error::LineEncodeError>(())
//! ```

use heapless::Vec;

use crate::error::{LineEncodeError, LineError};

/// How [`encode_line`] ends a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LineEnding {
    /// A bare `\n` (Unix, hio's serial Driver).
    #[default]
    Lf,
    /// `\r\n` (terminals, AT-command modems, Windows tools).
    CrLf,
}

impl LineEnding {
    /// The bytes of this ending.
    pub const fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::Lf => b"\n",
            Self::CrLf => b"\r\n",
        }
    }
}

/// Where the framer is within the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting the bytes of a line.
    Filling,
    /// A line was just returned; the next byte starts a new one.
    Delivered,
    /// The current line was too long; skipping to the next `\n`.
    Discarding,
}

/// Splits a byte stream into lines of at most `N` bytes, without heap.
///
/// Feed it every received byte, in order, with [`feed`](Self::feed); it
/// answers `Some` when a byte completes a line (or overflows one) and `None`
/// otherwise. Lines are returned without their `\n` or `\r\n`. Empty lines
/// are returned too (as empty slices); the caller decides whether they mean
/// anything.
///
/// ```
/// use hio_embedded::error::LineError;
/// use hio_embedded::line::LineFramer;
///
/// let mut framer = LineFramer::<4>::new();
/// let mut lines = 0;
/// let mut overlong = 0;
/// framer.feed_each(b"abc\r\ntoo long\nok\n", |line| match line {
///     Ok(line) => {
///         assert!(line == b"abc" || line == b"ok");
///         lines += 1;
///     }
///     Err(LineError::Overlong) => overlong += 1,
///     Err(_) => {}
/// });
/// assert_eq!((lines, overlong), (2, 1));
/// ```
#[derive(Debug, Clone)]
pub struct LineFramer<const N: usize> {
    buf: Vec<u8, N>,
    /// A `\r` was received and not yet stored: it is dropped if `\n` follows.
    pending_cr: bool,
    state: State,
}

impl<const N: usize> LineFramer<N> {
    /// An empty framer, at the start of a line.
    pub const fn new() -> Self {
        Self {
            buf: Vec::new(),
            pending_cr: false,
            state: State::Filling,
        }
    }

    /// The longest line (without its ending) the framer can return: `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Feed one received byte.
    ///
    /// Returns:
    /// - `Some(Ok(line))` when `byte` is the `\n` ending a line; the slice
    ///   borrows the framer and is valid until the next call;
    /// - `Some(Err(LineError::Overlong))` once, when a line grows past `N`
    ///   bytes; the framer then discards bytes up to and including the next
    ///   `\n`;
    /// - `None` otherwise.
    pub fn feed(&mut self, byte: u8) -> Option<Result<&[u8], LineError>> {
        if self.state == State::Delivered {
            self.buf.clear();
            self.state = State::Filling;
        }
        if self.state == State::Discarding {
            if byte == b'\n' {
                self.state = State::Filling;
            }
            return None;
        }
        if byte == b'\n' {
            self.pending_cr = false;
            self.state = State::Delivered;
            return Some(Ok(self.buf.as_slice()));
        }
        // a `\r` held back is data: no `\n` came right after it
        if self.pending_cr {
            self.pending_cr = false;
            if let Err(e) = self.push(b'\r') {
                return Some(Err(e));
            }
        }
        if byte == b'\r' {
            self.pending_cr = true;
            return None;
        }
        self.push(byte).err().map(Err)
    }

    /// Feed several bytes, calling `on_line` for every `Some` that
    /// [`feed`](Self::feed) would return, in order.
    pub fn feed_each<F>(&mut self, bytes: &[u8], mut on_line: F)
    where
        F: FnMut(Result<&[u8], LineError>),
    {
        for &byte in bytes {
            if let Some(result) = self.feed(byte) {
                on_line(result);
            }
        }
    }

    /// The bytes of the line received so far (empty right after a line was
    /// returned, and while discarding an overlong line).
    pub fn partial(&self) -> &[u8] {
        match self.state {
            State::Filling => self.buf.as_slice(),
            State::Delivered | State::Discarding => &[],
        }
    }

    /// Whether the framer is skipping the rest of an overlong line.
    pub fn is_discarding(&self) -> bool {
        self.state == State::Discarding
    }

    /// Forget any partial line, as if a `\n` had just been received (for
    /// example after the UART reported an error).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.pending_cr = false;
        self.state = State::Filling;
    }

    /// The byte stream was damaged (for example the UART reported an
    /// error): drop any partly received line and skip to the next `\n`.
    /// Between lines nothing changes, so the next line is not lost.
    pub fn resync(&mut self) {
        let mid_line = self.state == State::Filling && (!self.buf.is_empty() || self.pending_cr);
        if mid_line {
            self.buf.clear();
            self.pending_cr = false;
            self.state = State::Discarding;
        }
    }

    /// Store one byte of the line, or start discarding if it does not fit.
    fn push(&mut self, byte: u8) -> Result<(), LineError> {
        self.buf.push(byte).map_err(|_| {
            self.buf.clear();
            self.pending_cr = false;
            self.state = State::Discarding;
            LineError::Overlong
        })
    }
}

impl<const N: usize> Default for LineFramer<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Write `line` followed by `ending` into `out`, returning the number of
/// bytes written.
///
/// The line must not contain `\n`, and with [`LineEnding::Lf`] it must not
/// end with `\r` (the receiver would drop it); either is reported as an
/// error rather than sent as something the peer would read differently.
/// Nothing meaningful is written to `out` on error.
///
/// ```
/// use hio_embedded::error::LineEncodeError;
/// use hio_embedded::line::{encode_line, LineEnding};
///
/// let mut out = [0_u8; 8];
/// assert_eq!(encode_line(b"hi", LineEnding::Lf, &mut out), Ok(3));
/// assert_eq!(encode_line(b"a\nb", LineEnding::Lf, &mut out), Err(LineEncodeError::ContainsNewline));
/// assert_eq!(encode_line(b"too long!", LineEnding::Lf, &mut out), Err(LineEncodeError::BufferTooSmall));
/// ```
pub fn encode_line(
    line: &[u8],
    ending: LineEnding,
    out: &mut [u8],
) -> Result<usize, LineEncodeError> {
    // One pass that looks for a newline and copies what fits (a plain
    // loop: `contains` brings in a word-at-a-time search, large on a MCU).
    let mut n = 0;
    for &b in line {
        if b == b'\n' {
            return Err(LineEncodeError::ContainsNewline);
        }
        if let Some(o) = out.get_mut(n) {
            *o = b;
        }
        n += 1;
    }
    if ending == LineEnding::Lf && line.last() == Some(&b'\r') {
        return Err(LineEncodeError::TrailingCarriageReturn);
    }
    for &b in ending.as_bytes() {
        match out.get_mut(n) {
            Some(o) => *o = b,
            None => return Err(LineEncodeError::BufferTooSmall),
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    type Outcome = Result<Vec<u8>, LineError>;

    fn run<const N: usize>(framer: &mut LineFramer<N>, bytes: &[u8]) -> Vec<Outcome> {
        let mut out = Vec::new();
        framer.feed_each(bytes, |r| out.push(r.map(<[u8]>::to_vec)));
        out
    }

    fn ok(s: &[u8]) -> Outcome {
        Ok(s.to_vec())
    }

    #[test]
    fn splits_on_lf_and_crlf() {
        let mut f = LineFramer::<8>::new();
        assert_eq!(
            run(&mut f, b"one\ntwo\r\nthree\n"),
            [ok(b"one"), ok(b"two"), ok(b"three")]
        );
        assert!(f.partial().is_empty());
    }

    #[test]
    fn returns_empty_lines() {
        let mut f = LineFramer::<8>::new();
        assert_eq!(run(&mut f, b"\n\r\n\n"), [ok(b""), ok(b""), ok(b"")]);
    }

    #[test]
    fn lone_cr_is_data() {
        let mut f = LineFramer::<8>::new();
        assert_eq!(run(&mut f, b"a\rb\n\r\r\nx\r"), [ok(b"a\rb"), ok(b"\r")]);
        // The trailing '\r' is held back until the next byte decides.
        assert_eq!(f.partial(), b"x");
        assert_eq!(run(&mut f, b"y\n"), [ok(b"x\ry")]);
    }

    #[test]
    fn partial_line_accumulates_across_feeds() {
        let mut f = LineFramer::<8>::new();
        assert!(run(&mut f, b"hel").is_empty());
        assert_eq!(f.partial(), b"hel");
        assert_eq!(run(&mut f, b"lo\n"), [ok(b"hello")]);
    }

    #[test]
    fn exactly_full_line_fits_with_either_ending() {
        let mut f = LineFramer::<4>::new();
        assert_eq!(run(&mut f, b"abcd\nwxyz\r\n"), [ok(b"abcd"), ok(b"wxyz")]);
    }

    #[test]
    fn overlong_line_is_reported_once_then_resyncs() {
        let mut f = LineFramer::<4>::new();
        assert_eq!(
            run(&mut f, b"abcdefghij\nok\n"),
            [Err(LineError::Overlong), ok(b"ok")]
        );
        assert!(!f.is_discarding());
    }

    #[test]
    fn overlong_by_stored_cr() {
        // "abcd\r" followed by a non-'\n' byte: the '\r' becomes data and overflows.
        let mut f = LineFramer::<4>::new();
        assert_eq!(run(&mut f, b"abcd\rx\n"), [Err(LineError::Overlong)]);
        let mut f = LineFramer::<4>::new();
        assert_eq!(
            run(&mut f, b"abcd\r\r\nz\n"),
            [Err(LineError::Overlong), ok(b"z")]
        );
    }

    #[test]
    fn discarding_state_is_visible_and_reset_clears_it() {
        let mut f = LineFramer::<2>::new();
        assert_eq!(run(&mut f, b"abc"), [Err(LineError::Overlong)]);
        assert!(f.is_discarding());
        assert!(f.partial().is_empty());
        f.reset();
        assert!(!f.is_discarding());
        assert_eq!(run(&mut f, b"ok\n"), [ok(b"ok")]);
    }

    #[test]
    fn resync_mid_line_drops_that_line_only() {
        let mut f = LineFramer::<8>::new();
        assert!(run(&mut f, b"abc").is_empty());
        f.resync();
        assert!(f.is_discarding());
        assert_eq!(run(&mut f, b"def\nok\n"), [ok(b"ok")]);
        // A lone pending '\r' is a partial line too.
        assert!(run(&mut f, b"\r").is_empty());
        f.resync();
        assert_eq!(run(&mut f, b"x\ny\n"), [ok(b"y")]);
    }

    #[test]
    fn resync_between_lines_loses_nothing() {
        let mut f = LineFramer::<8>::new();
        f.resync();
        assert_eq!(run(&mut f, b"one\n"), [ok(b"one")]);
        f.resync();
        assert!(!f.is_discarding());
        assert_eq!(run(&mut f, b"two\n"), [ok(b"two")]);
        assert_eq!(run(&mut f, b"abcdefghi"), [Err(LineError::Overlong)]);
        f.resync(); // Already discarding: still skips to the '\n'.
        assert_eq!(run(&mut f, b"j\nthree\n"), [ok(b"three")]);
    }

    #[test]
    fn zero_capacity_only_passes_empty_lines() {
        let mut f = LineFramer::<0>::new();
        assert_eq!(f.capacity(), 0);
        assert_eq!(
            run(&mut f, b"\nx\n\r\n"),
            [ok(b""), Err(LineError::Overlong), ok(b"")]
        );
    }

    #[test]
    fn encode_line_endings_and_errors() {
        let mut out = [0_u8; 6];
        assert_eq!(encode_line(b"abcd", LineEnding::CrLf, &mut out), Ok(6));
        assert_eq!(&out, b"abcd\r\n");
        assert_eq!(
            encode_line(b"abcde", LineEnding::CrLf, &mut out),
            Err(LineEncodeError::BufferTooSmall)
        );
        assert_eq!(encode_line(b"", LineEnding::Lf, &mut out), Ok(1));
        assert_eq!(
            encode_line(b"a\r", LineEnding::Lf, &mut out),
            Err(LineEncodeError::TrailingCarriageReturn)
        );
        assert_eq!(encode_line(b"a\r", LineEnding::CrLf, &mut out), Ok(4));
        assert_eq!(
            encode_line(b"\n", LineEnding::CrLf, &mut out),
            Err(LineEncodeError::ContainsNewline)
        );
        assert_eq!(LineEnding::default().as_bytes(), b"\n");
        // the errors' order when a line has several faults
        assert_eq!(
            encode_line(b"too long\r", LineEnding::Lf, &mut out),
            Err(LineEncodeError::TrailingCarriageReturn)
        );
        assert_eq!(
            encode_line(b"too long\n\r", LineEnding::Lf, &mut out),
            Err(LineEncodeError::ContainsNewline)
        );
        assert_eq!(
            encode_line(b"abcde", LineEnding::Lf, &mut out[..5]),
            Err(LineEncodeError::BufferTooSmall)
        );
    }

    proptest! {
        #[test]
        fn encode_then_frame_round_trips(
            lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
            crlf in any::<bool>(),
        ) {
            let ending = if crlf { LineEnding::CrLf } else { LineEnding::Lf };
            let mut wire = Vec::new();
            let mut sent = Vec::new();
            for line in &lines {
                let mut out = [0_u8; 64];
                match encode_line(line, ending, &mut out) {
                    Ok(n) => {
                        wire.extend_from_slice(out.get(..n).unwrap_or_default());
                        sent.push(ok(line));
                    }
                    Err(LineEncodeError::ContainsNewline) => prop_assert!(line.contains(&b'\n')),
                    Err(e) => prop_assert_eq!(e, LineEncodeError::TrailingCarriageReturn),
                }
            }
            let mut f = LineFramer::<40>::new();
            prop_assert_eq!(run(&mut f, &wire), sent);
        }

        #[test]
        fn resyncs_after_any_garbage(
            garbage in proptest::collection::vec(any::<u8>(), 0..100),
            line in proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..16),
        ) {
            let mut f = LineFramer::<16>::new();
            let _ = run(&mut f, &garbage);
            let _ = f.feed(b'\n');
            let mut wire = line.clone();
            wire.extend_from_slice(b"\r\n");
            let got = run(&mut f, &wire);
            // A line ending in '\r' followed by "\r\n" keeps that '\r'.
            prop_assert_eq!(got, [ok(&line)]);
        }

        #[test]
        fn never_panics_and_lines_fit(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut f = LineFramer::<7>::new();
            for &b in &bytes {
                if let Some(Ok(line)) = f.feed(b) {
                    prop_assert!(line.len() <= 7);
                    prop_assert!(!line.contains(&b'\n'));
                }
            }
        }
    }
}
