//! Error types of hio-embedded: one small enum per operation.
//!
//! Every error is data, never a panic: it is `Copy`, compares with `==`, and
//! its `Display` text says what went wrong and how to fix it.
//!
//! | operation | error |
//! |---|---|
//! | reading or writing a UART ([`embedded_io`] traits) | [`SerialError`] |
//! | splitting bytes into lines ([`LineFramer`](crate::line::LineFramer)) | [`LineError`] |
//! | writing a line ([`encode_line`](crate::line::encode_line)) | [`LineEncodeError`] |
//! | writing a COBS frame ([`cobs::encode`](crate::cobs::encode)) | [`FrameEncodeError`] |
//! | reading COBS frames ([`CobsDecoder`](crate::cobs::CobsDecoder)) | [`FrameDecodeError`] |

use core::fmt;

use embedded_hal_nb::serial::ErrorKind as HalErrorKind;
use embedded_io::ErrorKind as IoErrorKind;

/// An error reported by a UART, or by an adapter standing in for one.
///
/// It implements [`embedded_io::Error`], so it is the `Error` type of every
/// UART in this crate ([`Pl011`](crate::pl011::Pl011),
/// [`NbSerial`](crate::nb_adapter::NbSerial),
/// [`MockUart`](crate::mock::MockUart)), and
/// [`embedded_hal_nb::serial::Error`], so it can also stand in a HAL.
///
/// The receive errors (`Overrun`, `Framing`, `Parity`, `Noise`, `Break`) all
/// answer [`kind()`](embedded_io::Error::kind) with
/// [`InvalidData`](embedded_io::ErrorKind::InvalidData): the byte stream is
/// damaged, the frame being received is lost, and a framer should discard it
/// and resynchronise at the next delimiter. The UART itself keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SerialError {
    /// The receive FIFO was full when a byte arrived: at least one byte was
    /// lost.
    Overrun,
    /// A byte had no valid stop bit (wrong baud rate or frame format).
    Framing,
    /// A byte failed its parity check.
    Parity,
    /// The line was too noisy to read a valid byte.
    Noise,
    /// The line was held low for longer than a whole byte (a break
    /// condition, or a disconnected cable).
    Break,
    /// The transmitter accepted no byte because it is full. Only
    /// non-blocking stand-ins such as [`MockUart`](crate::mock::MockUart)
    /// report it; real UARTs wait instead.
    TxFull,
    /// Another device-specific error.
    Other,
}

impl SerialError {
    /// The [`SerialError`] matching an [`embedded_hal_nb`] serial error.
    ///
    /// ```
    /// use embedded_hal_nb::serial::ErrorKind;
    /// use hio_embedded::error::SerialError;
    ///
    /// assert_eq!(SerialError::from_hal(&ErrorKind::Parity), SerialError::Parity);
    /// ```
    pub fn from_hal<E: embedded_hal_nb::serial::Error>(error: &E) -> Self {
        Self::from(error.kind())
    }
}

impl From<HalErrorKind> for SerialError {
    fn from(kind: HalErrorKind) -> Self {
        match kind {
            HalErrorKind::Overrun => Self::Overrun,
            HalErrorKind::FrameFormat => Self::Framing,
            HalErrorKind::Parity => Self::Parity,
            HalErrorKind::Noise => Self::Noise,
            _ => Self::Other,
        }
    }
}

impl fmt::Display for SerialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Overrun => {
                "UART receive overrun: bytes arrived faster than they were read; \
                 poll the serial doer more often, enable the receive FIFO, or lower the baud rate"
            }
            Self::Framing => {
                "UART framing error: a byte had no valid stop bit; \
                 check that both ends use the same baud rate and frame format (e.g. 8N1)"
            }
            Self::Parity => {
                "UART parity error: check that both ends use the same parity setting, \
                 and check the wiring for noise"
            }
            Self::Noise => {
                "UART noise error: the line is too noisy to read; \
                 check the wiring, the ground connection and the cable length"
            }
            Self::Break => {
                "UART break condition: the line was held low for longer than a byte; \
                 check that the peer is powered and the cable is connected"
            }
            Self::TxFull => {
                "UART transmitter full: no byte was accepted; \
                 write only after write_ready() returned true"
            }
            Self::Other => "UART error: see the device's documentation for its error flags",
        })
    }
}

impl core::error::Error for SerialError {}

impl embedded_io::Error for SerialError {
    fn kind(&self) -> IoErrorKind {
        match self {
            Self::Overrun | Self::Framing | Self::Parity | Self::Noise | Self::Break => {
                IoErrorKind::InvalidData
            }
            Self::TxFull => IoErrorKind::WriteZero,
            Self::Other => IoErrorKind::Other,
        }
    }
}

impl embedded_hal_nb::serial::Error for SerialError {
    fn kind(&self) -> HalErrorKind {
        match self {
            Self::Overrun => HalErrorKind::Overrun,
            Self::Framing | Self::Break => HalErrorKind::FrameFormat,
            Self::Parity => HalErrorKind::Parity,
            Self::Noise => HalErrorKind::Noise,
            Self::TxFull | Self::Other => HalErrorKind::Other,
        }
    }
}

/// An error from [`LineFramer::feed`](crate::line::LineFramer::feed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LineError {
    /// The line grew past the framer's capacity. It is discarded up to and
    /// including the next `\n`; the line after it is read normally.
    Overlong,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Overlong => f.write_str(
                "line longer than the framer's capacity was discarded; \
                 raise the LineFramer's N or send shorter lines",
            ),
        }
    }
}

impl core::error::Error for LineError {}

/// An error from [`encode_line`](crate::line::encode_line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LineEncodeError {
    /// The output buffer cannot hold the line and its ending.
    BufferTooSmall,
    /// The line contains `\n`, so the receiver would see two lines.
    ContainsNewline,
    /// The line ends with `\r` and the ending is a bare `\n`, so the
    /// receiver would take the `\r` for part of a `\r\n` and drop it.
    TrailingCarriageReturn,
}

impl fmt::Display for LineEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall => {
                "output buffer too small for the line: \
                 give at least line.len() + 2 bytes"
            }
            Self::ContainsNewline => {
                "line contains '\\n' and would arrive as two lines: \
                 split it, escape it, or use COBS framing for binary data"
            }
            Self::TrailingCarriageReturn => {
                "line ends with '\\r', which the receiver would drop: \
                 use LineEnding::CrLf or strip the '\\r'"
            }
        })
    }
}

impl core::error::Error for LineEncodeError {}

/// An error from [`cobs::encode`](crate::cobs::encode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameEncodeError {
    /// The output buffer cannot hold the encoded frame.
    BufferTooSmall,
}

impl fmt::Display for FrameEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall => f.write_str(
                "output buffer too small for the frame: \
                 size it with cobs::max_encoded_len(payload.len())",
            ),
        }
    }
}

impl core::error::Error for FrameEncodeError {}

/// An error from [`CobsDecoder::feed`](crate::cobs::CobsDecoder::feed): a
/// frame was received but is not valid, and was dropped.
///
/// The decoder is ready for the next frame after any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameDecodeError {
    /// The frame's CRC-16 does not match its payload: bytes were damaged on
    /// the line.
    Crc,
    /// A COBS block was cut short by a delimiter: bytes were lost, or this
    /// is noise rather than a frame.
    Malformed,
    /// The frame is too short to carry its two CRC bytes.
    TooShort,
    /// The payload grew past the decoder's capacity. The rest of the frame
    /// is discarded up to and including the next `0x00`.
    Overlong,
}

impl fmt::Display for FrameDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Crc => {
                "frame dropped: CRC mismatch; the line is corrupting bytes \
                 (check baud rate, wiring and noise), or the peer uses another CRC"
            }
            Self::Malformed => {
                "frame dropped: malformed COBS (a block was cut short); \
                 bytes were lost (check for overruns) or the peer does not send COBS"
            }
            Self::TooShort => {
                "frame dropped: too short to carry a CRC-16; \
                 the peer must append the CRC to every frame"
            }
            Self::Overlong => {
                "frame dropped: payload longer than the decoder's capacity; \
                 raise the CobsDecoder's N or send smaller payloads"
            }
        })
    }
}

impl core::error::Error for FrameDecodeError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    const SERIAL: [SerialError; 7] = [
        SerialError::Overrun,
        SerialError::Framing,
        SerialError::Parity,
        SerialError::Noise,
        SerialError::Break,
        SerialError::TxFull,
        SerialError::Other,
    ];

    #[test]
    fn serial_error_kinds() {
        use embedded_io::Error as _;
        assert_eq!(SerialError::Overrun.kind(), IoErrorKind::InvalidData);
        assert_eq!(SerialError::Break.kind(), IoErrorKind::InvalidData);
        assert_eq!(SerialError::TxFull.kind(), IoErrorKind::WriteZero);
        assert_eq!(SerialError::Other.kind(), IoErrorKind::Other);
    }

    #[test]
    fn hal_kinds_round_trip() {
        use embedded_hal_nb::serial::Error as _;
        for kind in [
            HalErrorKind::Overrun,
            HalErrorKind::FrameFormat,
            HalErrorKind::Parity,
            HalErrorKind::Noise,
            HalErrorKind::Other,
        ] {
            assert_eq!(SerialError::from(kind).kind(), kind);
            assert_eq!(SerialError::from_hal(&kind).kind(), kind);
        }
    }

    #[test]
    fn display_says_how_to_fix() {
        for e in SERIAL {
            assert!(e.to_string().len() > 30, "{e:?}");
        }
        let others = [
            LineError::Overlong.to_string(),
            LineEncodeError::BufferTooSmall.to_string(),
            LineEncodeError::ContainsNewline.to_string(),
            LineEncodeError::TrailingCarriageReturn.to_string(),
            FrameEncodeError::BufferTooSmall.to_string(),
            FrameDecodeError::Crc.to_string(),
            FrameDecodeError::Malformed.to_string(),
            FrameDecodeError::TooShort.to_string(),
            FrameDecodeError::Overlong.to_string(),
        ];
        for text in others {
            assert!(text.contains(':') || text.contains(';'), "{text}");
        }
    }
}
