//! Binary frames that survive a noisy line: COBS with `0x00` delimiters and
//! a CRC-16 in every frame.
//!
//! # Wire format
//!
//! ```text
//! COBS( payload ++ crc16(payload) as 2 bytes big-endian ) ++ 0x00
//! ```
//!
//! - [COBS] (Consistent Overhead Byte Stuffing) removes every `0x00` from
//!   the frame, at a cost of one byte per 254 bytes (at most), so `0x00`
//!   appears on the wire only as the delimiter. A receiver that starts
//!   mid-stream, or that lost bytes, is back in step at the next `0x00`.
//! - The CRC is CRC-16/CCITT-FALSE (see [`crate::crc`]), so damaged frames
//!   are dropped rather than delivered.
//! - Empty frames (two delimiters in a row) are ignored by the decoder, so a
//!   sender may emit a lone `0x00` at start-up, or before every frame, to
//!   flush whatever noise the receiver collected.
//! - Both a trailing `0x01` block after a 254-byte run (as [`encode`]
//!   writes) and its absence decode to the same payload.
//!
//! ```
//! use hio_embedded::cobs::{encode, max_encoded_len, CobsDecoder};
//!
//! let mut wire = [0_u8; max_encoded_len(5)];
//! let n = encode(b"h\0llo", &mut wire)?;
//!
//! let mut decoder = CobsDecoder::<32>::new();
//! let mut frames = 0;
//! decoder.feed_each(wire.get(..n).unwrap_or_default(), |frame| {
//!     assert_eq!(frame, Ok(&b"h\0llo"[..]));
//!     frames += 1;
//! });
//! assert_eq!(frames, 1);
//! # Ok::<(), hio_embedded::error::FrameEncodeError>(())
//! ```
//!
//! [COBS]: https://en.wikipedia.org/wiki/Consistent_Overhead_Byte_Stuffing

use heapless::Vec;

use crate::crc::crc16;
use crate::error::{FrameDecodeError, FrameEncodeError};

/// The frame delimiter.
pub const DELIMITER: u8 = 0x00;

/// Bytes of CRC carried by every frame.
pub const CRC_LEN: usize = 2;

/// The largest number of bytes [`encode`] writes for a payload of
/// `payload_len` bytes, delimiter included. Use it to size buffers:
///
/// ```
/// use hio_embedded::cobs::max_encoded_len;
///
/// let buffer = [0_u8; max_encoded_len(64)];
/// assert_eq!(buffer.len(), 64 + 2 + 1 + 1);
/// ```
pub const fn max_encoded_len(payload_len: usize) -> usize {
    let stuffed = payload_len.saturating_add(CRC_LEN);
    // One code byte per started block of 254, plus the final one, plus 0x00.
    stuffed
        .saturating_add(stuffed / 254)
        .saturating_add(1)
        .saturating_add(1)
}

/// Encode `payload` as one frame (COBS, CRC-16, delimiter) into `out`,
/// returning the number of bytes written.
///
/// `out` needs at most [`max_encoded_len`]`(payload.len())` bytes; if it is
/// too small, [`FrameEncodeError::BufferTooSmall`] is returned and the
/// contents of `out` are unspecified.
///
/// ```
/// use hio_embedded::cobs::encode;
/// use hio_embedded::error::FrameEncodeError;
///
/// let mut out = [0_u8; 8];
/// let n = encode(&[0x11, 0x00, 0x22], &mut out)?;
/// assert_eq!(out.get(n - 1), Some(&0x00)); // ends with the delimiter
/// assert!(out.get(..n - 1).unwrap_or_default().iter().all(|&b| b != 0));
/// assert_eq!(encode(&[0; 10], &mut out), Err(FrameEncodeError::BufferTooSmall));
/// # Ok::<(), FrameEncodeError>(())
/// ```
pub fn encode(payload: &[u8], out: &mut [u8]) -> Result<usize, FrameEncodeError> {
    let crc = crc16(payload).to_be_bytes();
    let mut stuffer = Stuffer::new(out);
    for &byte in payload.iter().chain(crc.iter()) {
        stuffer.push(byte)?;
    }
    stuffer.finish()
}

/// The COBS encoder's state over a caller-provided buffer.
struct Stuffer<'a> {
    out: &'a mut [u8],
    /// Where the current block's code byte goes.
    code_at: usize,
    /// Where the next data byte goes.
    pos: usize,
    /// The current block's code: 1 + data bytes so far.
    code: u8,
}

impl<'a> Stuffer<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            code_at: 0,
            pos: 1,
            code: 1,
        }
    }

    fn put(&mut self, at: usize, byte: u8) -> Result<(), FrameEncodeError> {
        let slot = self
            .out
            .get_mut(at)
            .ok_or(FrameEncodeError::BufferTooSmall)?;
        *slot = byte;
        Ok(())
    }

    /// Write the current block's code byte and open a new block.
    fn close_block(&mut self) -> Result<(), FrameEncodeError> {
        self.put(self.code_at, self.code)?;
        self.code_at = self.pos;
        self.pos += 1;
        self.code = 1;
        Ok(())
    }

    fn push(&mut self, byte: u8) -> Result<(), FrameEncodeError> {
        if byte == 0 {
            return self.close_block();
        }
        self.put(self.pos, byte)?;
        self.pos += 1;
        self.code += 1;
        if self.code == 0xFF {
            self.close_block()?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<usize, FrameEncodeError> {
        self.put(self.code_at, self.code)?;
        self.put(self.pos, DELIMITER)?;
        Ok(self.pos + 1)
    }
}

/// Where the decoder is within the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No byte since the last delimiter.
    Idle,
    /// Inside a frame.
    InFrame,
    /// A frame was just returned; the next byte starts afresh.
    Delivered,
    /// The frame was too long; skipping to the next delimiter.
    Discarding,
}

/// A streaming decoder for frames written by [`encode`], for payloads of at
/// most `N` bytes, without heap.
///
/// Feed it every received byte, in order, with [`feed`](Self::feed). It
/// answers `Some(Ok(payload))` for each valid frame, `Some(Err(..))` for each
/// frame it had to drop, and `None` otherwise. After any error, and after
/// any garbage, a frame that follows a `0x00` is decoded normally.
///
/// Memory: `N` bytes of payload plus a few bytes of state. The CRC is held
/// apart from the payload, so `N` is the payload's capacity exactly.
///
/// ```
/// use hio_embedded::cobs::{encode, CobsDecoder};
/// use hio_embedded::error::FrameDecodeError;
///
/// let mut wire = [0_u8; 16];
/// let n = encode(b"ok", &mut wire)?;
///
/// let mut decoder = CobsDecoder::<8>::new();
/// // Noise, then a delimiter, then the frame.
/// assert_eq!(decoder.feed(0x05), None);
/// assert_eq!(decoder.feed(0x31), None);
/// assert_eq!(decoder.feed(0x00), Some(Err(FrameDecodeError::Malformed)));
/// let mut got = None;
/// for &byte in wire.get(..n).unwrap_or_default() {
///     if let Some(Ok(payload)) = decoder.feed(byte) {
///         got = Some(payload.len());
///     }
/// }
/// assert_eq!(got, Some(2));
/// # Ok::<(), hio_embedded::error::FrameEncodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CobsDecoder<const N: usize> {
    /// Decoded bytes, except the last two.
    buf: Vec<u8, N>,
    /// The last two decoded bytes: the CRC, if the frame ends here.
    tail: [u8; CRC_LEN],
    tail_len: u8,
    /// Data bytes left in the current COBS block.
    block_left: u8,
    /// Whether the block just finished implies a `0x00` before the next one.
    zero_pending: bool,
    state: State,
}

impl<const N: usize> CobsDecoder<N> {
    /// A decoder waiting for the first frame.
    pub const fn new() -> Self {
        Self {
            buf: Vec::new(),
            tail: [0; CRC_LEN],
            tail_len: 0,
            block_left: 0,
            zero_pending: false,
            state: State::Idle,
        }
    }

    /// The largest payload the decoder accepts: `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Feed one received byte.
    ///
    /// Returns:
    /// - `Some(Ok(payload))` when `byte` is the delimiter ending a valid
    ///   frame; the slice borrows the decoder and is valid until the next
    ///   call;
    /// - `Some(Err(FrameDecodeError::Overlong))` as soon as a payload grows
    ///   past `N` bytes; the rest of the frame is skipped, up to and
    ///   including the next `0x00`;
    /// - `Some(Err(..))` with `Crc`, `Malformed` or `TooShort` when `byte`
    ///   is the delimiter ending an invalid frame;
    /// - `None` otherwise, including for the delimiter of an empty frame.
    pub fn feed(&mut self, byte: u8) -> Option<Result<&[u8], FrameDecodeError>> {
        if self.state == State::Delivered {
            self.reset();
        }
        match (self.state, byte) {
            (State::Discarding, DELIMITER) => {
                self.reset();
                None
            }
            (State::Discarding, _) => None,
            (State::Idle, DELIMITER) => None,
            (_, DELIMITER) => self.end_frame(),
            (_, _) => {
                self.state = State::InFrame;
                self.stuffed_byte(byte).err().map(Err)
            }
        }
    }

    /// Feed several bytes, calling `on_frame` for every `Some` that
    /// [`feed`](Self::feed) would return, in order.
    pub fn feed_each<F>(&mut self, bytes: &[u8], mut on_frame: F)
    where
        F: FnMut(Result<&[u8], FrameDecodeError>),
    {
        for &byte in bytes {
            if let Some(result) = self.feed(byte) {
                on_frame(result);
            }
        }
    }

    /// Whether the decoder is skipping the rest of an overlong frame.
    pub fn is_discarding(&self) -> bool {
        self.state == State::Discarding
    }

    /// Forget any partial frame, as if a delimiter had just been received
    /// (for example after the UART reported an error).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.tail_len = 0;
        self.block_left = 0;
        self.zero_pending = false;
        self.state = State::Idle;
    }

    /// The byte stream was damaged (for example the UART reported an
    /// error): drop any partly received frame and skip to the next `0x00`.
    /// Between frames nothing changes, so the next frame is not lost.
    pub fn resync(&mut self) {
        if self.state == State::InFrame {
            self.reset();
            self.state = State::Discarding;
        }
    }

    /// Handle a non-zero byte inside a frame.
    fn stuffed_byte(&mut self, byte: u8) -> Result<(), FrameDecodeError> {
        if self.block_left == 0 {
            // A code byte: 1 + the number of data bytes in its block.
            if self.zero_pending {
                self.decoded(0)?;
            }
            self.block_left = byte - 1;
            self.zero_pending = byte != 0xFF;
            Ok(())
        } else {
            self.block_left -= 1;
            self.decoded(byte)
        }
    }

    /// Append one decoded byte, keeping the last two apart as the CRC.
    fn decoded(&mut self, byte: u8) -> Result<(), FrameDecodeError> {
        match self.tail_len {
            0 => {
                self.tail[0] = byte;
                self.tail_len = 1;
            }
            1 => {
                self.tail[1] = byte;
                self.tail_len = 2;
            }
            _ => {
                let [oldest, newest] = self.tail;
                if self.buf.push(oldest).is_err() {
                    self.reset();
                    self.state = State::Discarding;
                    return Err(FrameDecodeError::Overlong);
                }
                self.tail = [newest, byte];
            }
        }
        Ok(())
    }

    /// Handle the delimiter that ends a non-empty frame.
    fn end_frame(&mut self) -> Option<Result<&[u8], FrameDecodeError>> {
        let error = if self.block_left != 0 {
            Some(FrameDecodeError::Malformed)
        } else if usize::from(self.tail_len) < CRC_LEN {
            Some(FrameDecodeError::TooShort)
        } else if crc16(&self.buf) != u16::from_be_bytes(self.tail) {
            Some(FrameDecodeError::Crc)
        } else {
            None
        };
        if let Some(error) = error {
            self.reset();
            return Some(Err(error));
        }
        self.state = State::Delivered;
        Some(Ok(self.buf.as_slice()))
    }
}

impl<const N: usize> Default for CobsDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec as StdVec;

    type Outcome = Result<StdVec<u8>, FrameDecodeError>;

    /// Plain COBS of `bytes` (no CRC, no delimiter), through the encoder.
    fn stuff(bytes: &[u8]) -> StdVec<u8> {
        let mut out = [0_u8; 1024];
        let mut s = Stuffer::new(&mut out);
        for &b in bytes {
            assert!(s.push(b).is_ok());
        }
        let n = s.finish().unwrap_or(0);
        out.get(..n.saturating_sub(1)).unwrap_or_default().to_vec()
    }

    fn frame(payload: &[u8]) -> StdVec<u8> {
        let mut out = std::vec![0; max_encoded_len(payload.len())];
        let n = encode(payload, &mut out).unwrap_or(0);
        out.truncate(n);
        out
    }

    fn run<const N: usize>(d: &mut CobsDecoder<N>, bytes: &[u8]) -> StdVec<Outcome> {
        let mut out = StdVec::new();
        d.feed_each(bytes, |r| out.push(r.map(<[u8]>::to_vec)));
        out
    }

    #[test]
    fn cobs_reference_vectors() {
        // From the COBS paper / Wikipedia's examples.
        assert_eq!(stuff(&[0x00]), [0x01, 0x01]);
        assert_eq!(stuff(&[0x00, 0x00]), [0x01, 0x01, 0x01]);
        assert_eq!(stuff(&[0x00, 0x11, 0x00]), [0x01, 0x02, 0x11, 0x01]);
        assert_eq!(
            stuff(&[0x11, 0x22, 0x00, 0x33]),
            [0x03, 0x11, 0x22, 0x02, 0x33]
        );
        assert_eq!(
            stuff(&[0x11, 0x00, 0x00, 0x00]),
            [0x02, 0x11, 0x01, 0x01, 0x01]
        );
        let run254: StdVec<u8> = (1..=254).collect();
        let mut expected = StdVec::from([0xFF]);
        expected.extend_from_slice(&run254);
        expected.push(0x01);
        assert_eq!(stuff(&run254), expected);
    }

    #[test]
    fn frame_is_cobs_of_payload_and_crc() {
        let payload = [0x11, 0x00, 0x22];
        let mut raw = payload.to_vec();
        raw.extend_from_slice(&crc16(&payload).to_be_bytes());
        let mut expected = stuff(&raw);
        expected.push(DELIMITER);
        assert_eq!(frame(&payload), expected);
    }

    #[test]
    fn decodes_empty_and_zero_payloads() {
        let mut d = CobsDecoder::<4>::new();
        assert_eq!(run(&mut d, &frame(&[])), [Ok(StdVec::new())]);
        assert_eq!(
            run(&mut d, &frame(&[0, 0, 0, 0])),
            [Ok(StdVec::from([0; 4]))]
        );
    }

    #[test]
    fn long_runs_decode_with_or_without_trailing_block() {
        let payload: StdVec<u8> = (0..600).map(|i| (i % 255 + 1) as u8).collect();
        let mut d = CobsDecoder::<600>::new();
        assert_eq!(run(&mut d, &frame(&payload)), [Ok(payload.clone())]);
        // 252 bytes + CRC = 254 non-zero bytes, when the CRC has no zero byte.
        let payload: StdVec<u8> = (1..=252).collect();
        assert!(!crc16(&payload).to_be_bytes().contains(&0));
        let mut wire = frame(&payload);
        assert_eq!(wire.len(), 1 + 254 + 1 + 1);
        assert_eq!(wire.get(255), Some(&0x01));
        assert_eq!(run(&mut d, &wire), [Ok(payload.clone())]);
        wire.remove(255); // A sender that omits the trailing 0x01 block.
        assert_eq!(run(&mut d, &wire), [Ok(payload)]);
    }

    #[test]
    fn empty_frames_are_ignored() {
        let mut d = CobsDecoder::<8>::new();
        let mut wire = StdVec::from([0, 0, 0]);
        wire.extend(frame(b"x"));
        wire.extend([0, 0]);
        assert_eq!(run(&mut d, &wire), [Ok(StdVec::from(*b"x"))]);
    }

    #[test]
    fn reports_crc_malformed_too_short() {
        let mut d = CobsDecoder::<8>::new();
        let mut bad = frame(b"abc");
        if let Some(b) = bad.get_mut(2) {
            *b ^= 0x40;
        }
        assert_eq!(run(&mut d, &bad), [Err(FrameDecodeError::Crc)]);
        assert_eq!(
            run(&mut d, &[0x05, 0x31, 0x00]),
            [Err(FrameDecodeError::Malformed)]
        );
        assert_eq!(
            run(&mut d, &[0x02, 0x31, 0x00]),
            [Err(FrameDecodeError::TooShort)]
        );
        assert_eq!(
            run(&mut d, &[0x01, 0x00]),
            [Err(FrameDecodeError::TooShort)]
        );
        // Still in step afterwards.
        assert_eq!(run(&mut d, &frame(b"ok")), [Ok(StdVec::from(*b"ok"))]);
    }

    #[test]
    fn overlong_is_reported_at_once_and_skipped_to_delimiter() {
        let mut d = CobsDecoder::<3>::new();
        let wire = frame(b"four");
        let (body, end) = wire.split_at(wire.len() - 1);
        assert_eq!(run(&mut d, body), [Err(FrameDecodeError::Overlong)]);
        assert!(d.is_discarding());
        assert!(run(&mut d, end).is_empty());
        assert!(!d.is_discarding());
        assert_eq!(run(&mut d, &frame(b"abc")), [Ok(StdVec::from(*b"abc"))]);
        assert_eq!(d.capacity(), 3);
    }

    #[test]
    fn resync_skips_only_a_partial_frame() {
        let mut d = CobsDecoder::<8>::new();
        let wire = frame(b"abc");
        let _ = run(&mut d, wire.get(..3).unwrap_or_default());
        d.resync();
        assert!(d.is_discarding());
        // The rest of the damaged frame is skipped, delimiter included.
        assert!(run(&mut d, wire.get(3..).unwrap_or_default()).is_empty());
        d.resync(); // Between frames: nothing to drop.
        assert!(!d.is_discarding());
        assert_eq!(run(&mut d, &wire), [Ok(StdVec::from(*b"abc"))]);
        d.resync(); // Right after a delivered frame: still between frames.
        assert_eq!(run(&mut d, &wire), [Ok(StdVec::from(*b"abc"))]);
    }

    #[test]
    fn zero_capacity_passes_empty_payloads_only() {
        let mut d = CobsDecoder::<0>::new();
        assert_eq!(run(&mut d, &frame(&[])), [Ok(StdVec::new())]);
        assert_eq!(run(&mut d, &frame(&[1])), [Err(FrameDecodeError::Overlong)]);
    }

    #[test]
    fn reset_drops_partial_frame() {
        let mut d = CobsDecoder::<8>::new();
        let wire = frame(b"abc");
        let _ = run(&mut d, wire.get(..3).unwrap_or_default());
        d.reset();
        assert_eq!(run(&mut d, &frame(b"z")), [Ok(StdVec::from(*b"z"))]);
    }

    #[test]
    fn small_buffer_is_an_error() {
        for len in 0..max_encoded_len(3) {
            let mut out = std::vec![0_u8; len];
            let result = encode(b"abc", &mut out);
            // Exactly the needed length is accepted; anything shorter is not.
            if len < frame(b"abc").len() {
                assert_eq!(result, Err(FrameEncodeError::BufferTooSmall));
            } else {
                assert!(result.is_ok());
            }
        }
    }

    proptest! {
        #[test]
        fn round_trip(payload in proptest::collection::vec(any::<u8>(), 0..700)) {
            let wire = frame(&payload);
            prop_assert!(wire.len() <= max_encoded_len(payload.len()));
            prop_assert_eq!(wire.last(), Some(&DELIMITER));
            prop_assert!(!wire.get(..wire.len() - 1).unwrap_or_default().contains(&0));
            let mut d = CobsDecoder::<700>::new();
            prop_assert_eq!(run(&mut d, &wire), [Ok(payload)]);
        }

        #[test]
        fn garbage_never_loses_a_frame_after_a_delimiter(
            parts in proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..80),
                    proptest::collection::vec(any::<u8>(), 0..40),
                ),
                1..8,
            ),
        ) {
            let mut wire = StdVec::new();
            let mut sent = StdVec::new();
            for (garbage, payload) in &parts {
                wire.extend_from_slice(garbage);
                wire.push(DELIMITER);
                wire.extend(frame(payload));
                sent.push(payload.clone());
            }
            let mut d = CobsDecoder::<40>::new();
            let got: StdVec<StdVec<u8>> = run(&mut d, &wire).into_iter().flatten().collect();
            // Every frame sent arrives, in order; garbage may (rarely) pass
            // the CRC and add frames in between.
            let mut wanted = sent.iter().peekable();
            for frame in &got {
                if wanted.peek() == Some(&frame) {
                    wanted.next();
                }
            }
            prop_assert!(wanted.peek().is_none(), "lost a frame: got {:?}", got);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut small = CobsDecoder::<5>::new();
            let mut empty = CobsDecoder::<0>::new();
            for &b in &bytes {
                if let Some(Ok(p)) = small.feed(b) {
                    prop_assert!(p.len() <= 5);
                }
                let _ = empty.feed(b);
            }
        }

        #[test]
        fn never_panics_encoding(
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            len in 0_usize..320,
        ) {
            let mut out = std::vec![0_u8; len];
            let _ = encode(&payload, &mut out);
        }
    }
}
