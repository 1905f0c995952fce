//! [`Framer`]: how a [`SerialDoer`](crate::SerialDoer) cuts bytes into
//! frames and frames into bytes, with [`Lines`] and [`Cobs`] framings.

use crate::cobs::{self, CobsDecoder};
use crate::error::{FrameDecodeError, FrameEncodeError, LineEncodeError, LineError};
use crate::line::{encode_line, LineEnding, LineFramer};

/// Why a frame was dropped (received) or refused (sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameError {
    /// Longer than the framer's buffer; discarded up to the next delimiter.
    Overlong,
    /// The CRC did not match: bytes were damaged on the line.
    Crc,
    /// Not a well-formed frame (noise, lost bytes, too short).
    Malformed,
    /// A frame to send does not fit the encode buffer, or cannot be
    /// encoded in this framing (a newline inside a line).
    Encode,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FrameError::Overlong => "frame longer than the framer's buffer; it was dropped",
            FrameError::Crc => "frame failed its CRC check; it was dropped",
            FrameError::Malformed => "malformed frame (noise or lost bytes); it was dropped",
            FrameError::Encode => {
                "frame cannot be encoded: too long for the encode buffer or not valid in this framing"
            }
        })
    }
}

impl core::error::Error for FrameError {}

/// Cuts a byte stream into frames and frames into bytes. No heap: a framer
/// keeps at most one frame in a buffer of its own.
pub trait Framer {
    /// Feeds one received byte. `Some(Ok(frame))` when a frame completes,
    /// `Some(Err(_))` when one was dropped. MUST resynchronise by itself
    /// after any error: the next well-formed frame is delivered.
    fn feed(&mut self, byte: u8) -> Option<Result<&[u8], FrameError>>;

    /// The line was damaged (a UART error): drop any partly received frame
    /// and skip to the next delimiter. A frame not yet begun is unaffected.
    fn resync(&mut self);

    /// Encodes `payload` into `out`, returning the bytes written.
    fn encode(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, FrameError>;
}

/// Newline-delimited lines (hio's serial Driver), of at most `N` bytes.
#[derive(Debug, Clone, Default)]
pub struct Lines<const N: usize> {
    framer: LineFramer<N>,
    ending: LineEnding,
}

impl<const N: usize> Lines<N> {
    /// Lines ending in `\n` (`\r\n` is accepted on input too).
    pub const fn new() -> Self {
        Lines {
            framer: LineFramer::new(),
            ending: LineEnding::Lf,
        }
    }

    /// Sends lines ending in `\r\n` instead.
    pub const fn crlf(mut self) -> Self {
        self.ending = LineEnding::CrLf;
        self
    }
}

impl<const N: usize> Framer for Lines<N> {
    fn feed(&mut self, byte: u8) -> Option<Result<&[u8], FrameError>> {
        self.framer
            .feed(byte)
            .map(|r| r.map_err(|LineError::Overlong| FrameError::Overlong))
    }

    fn resync(&mut self) {
        self.framer.resync();
    }

    fn encode(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
        if payload.len() > N {
            return Err(FrameError::Encode);
        }
        encode_line(payload, self.ending, out).map_err(|_: LineEncodeError| FrameError::Encode)
    }
}

/// Binary frames: COBS with `0x00` delimiters and a CRC-16 each, payloads
/// of at most `N` bytes. Survives noise: a damaged frame fails its CRC and
/// the decoder picks up again at the next delimiter.
#[derive(Debug, Clone, Default)]
pub struct Cobs<const N: usize> {
    decoder: CobsDecoder<N>,
}

impl<const N: usize> Cobs<N> {
    /// A COBS framer.
    pub const fn new() -> Self {
        Cobs {
            decoder: CobsDecoder::new(),
        }
    }
}

impl<const N: usize> Framer for Cobs<N> {
    fn feed(&mut self, byte: u8) -> Option<Result<&[u8], FrameError>> {
        self.decoder.feed(byte).map(|r| {
            r.map_err(|e| match e {
                FrameDecodeError::Crc => FrameError::Crc,
                FrameDecodeError::Overlong => FrameError::Overlong,
                _ => FrameError::Malformed,
            })
        })
    }

    fn resync(&mut self) {
        self.decoder.resync();
    }

    fn encode(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
        if payload.len() > N {
            return Err(FrameError::Encode);
        }
        cobs::encode(payload, out).map_err(|_: FrameEncodeError| FrameError::Encode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames<F: Framer>(
        f: &mut F,
        bytes: &[u8],
    ) -> heapless::Vec<Result<heapless::Vec<u8, 64>, FrameError>, 8> {
        let mut out = heapless::Vec::new();
        for &b in bytes {
            if let Some(r) = f.feed(b) {
                let _ = out.push(r.map(|s| heapless::Vec::from_slice(s).unwrap_or_default()));
            }
        }
        out
    }

    #[test]
    fn resync_mid_line_drops_that_line_only() {
        let mut f: Lines<16> = Lines::new();
        assert!(frames(&mut f, b"abc").is_empty());
        f.resync(); // a UART error in the middle of "abc..."
        let got = frames(&mut f, b"def\nok\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_deref().ok(), Some(&b"ok"[..]));
    }

    #[test]
    fn resync_between_lines_loses_nothing() {
        let mut f: Lines<16> = Lines::new();
        assert_eq!(frames(&mut f, b"one\n").len(), 1);
        f.resync();
        let got = frames(&mut f, b"two\n");
        assert_eq!(got[0].as_deref().ok(), Some(&b"two"[..]));
    }

    #[test]
    fn cobs_round_trip_and_resync() {
        let f: Cobs<32> = Cobs::new();
        let mut buf = [0u8; 48];
        let n = f.encode(b"hello\0world", &mut buf).unwrap();
        let mut d: Cobs<32> = Cobs::new();
        let mut stream: heapless::Vec<u8, 128> = heapless::Vec::new();
        stream.extend_from_slice(&buf[..3]).unwrap();
        let got = frames(&mut d, &stream);
        assert!(got.is_empty());
        d.resync();
        let got = frames(&mut d, &buf[3..n]); // tail of the damaged frame, then nothing
        assert!(got.is_empty());
        let got = frames(&mut d, &buf[..n]);
        assert_eq!(got[0].as_deref().ok(), Some(&b"hello\0world"[..]));
        assert_eq!(f.encode(&[1; 40], &mut buf), Err(FrameError::Encode));
    }
}
