//! [`NbSerial`]: an `embedded-hal-nb` UART seen through the `embedded-io`
//! traits.
//!
//! Many HALs implement only [`embedded_hal_nb::serial::Read`] and
//! [`Write`](embedded_hal_nb::serial::Write): one word at a time, answering
//! [`nb::Error::WouldBlock`] when the device is not ready. hio's serial doers
//! speak [`embedded_io`] (`Read`, `Write`, `ReadReady`, `WriteReady`), and
//! never block: they ask for readiness first. `NbSerial` bridges the two.
//!
//! # Non-blocking contract
//!
//! `embedded-hal-nb` cannot say whether a byte is waiting without taking it,
//! nor whether the transmitter has room without giving it a byte. So the
//! adapter keeps two one-byte slots:
//!
//! - **rx peek slot**: [`read_ready`](ReadReady::read_ready) tries to read a
//!   byte; if one comes, it is kept and `true` returned. The next
//!   [`read`](Read::read) returns it first, followed by whatever else the
//!   UART has ready, and returns without blocking.
//! - **tx staging slot**: [`write`](Write::write) hands bytes to the UART
//!   until it answers `WouldBlock`; then it keeps one more byte in the slot
//!   (and counts it as written) so a write after `write_ready() == true`
//!   never returns `Ok(0)` nor blocks. The slot is pushed out by the next
//!   `write_ready`, `write` or `flush`. [`write_ready`](WriteReady::write_ready)
//!   is `true` exactly when the slot is empty (after trying to empty it).
//!
//! A caller that follows the contract — `read` only after `read_ready()`
//! said `true`, `write` only after `write_ready()` said `true` — never
//! blocks. A caller that does not is still correct but may block:
//! embedded-io 0.7's `read` must not return `Ok(0)` for a non-empty buffer
//! (that means end of file), so `read` with nothing received spins on the
//! UART until a byte arrives, and `write` with a full slot spins until the
//! UART takes it. hio's serial doer only calls them after readiness.
//!
//! # Errors
//!
//! HAL errors become [`SerialError`] through
//! [`embedded_hal_nb::serial::Error::kind`]. An error that happens after
//! `read` or `write` already moved some bytes is kept and returned by the
//! next call in the same direction, so the bytes are not lost and the error
//! is not either.

use embedded_hal_nb::serial;
use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

use crate::error::SerialError;

/// Adapts a UART implementing `embedded_hal_nb::serial::{Read, Write}` to
/// the `embedded_io` traits, with the non-blocking contract described in
/// the [module documentation](self).
///
/// ```
/// use embedded_io::{Read, ReadReady};
/// use hio_embedded::nb_adapter::NbSerial;
///
/// /// A HAL UART that receives one byte, once.
/// struct Uart(Option<u8>);
/// impl embedded_hal_nb::serial::ErrorType for Uart {
///     type Error = embedded_hal_nb::serial::ErrorKind;
/// }
/// impl embedded_hal_nb::serial::Read for Uart {
///     fn read(&mut self) -> nb::Result<u8, Self::Error> {
///         self.0.take().ok_or(nb::Error::WouldBlock)
///     }
/// }
///
/// let mut serial = NbSerial::new(Uart(Some(b'x')));
/// let mut buf = [0_u8; 4];
/// if serial.read_ready()? {
///     assert_eq!(serial.read(&mut buf)?, 1);
/// }
/// assert!(!serial.read_ready()?);
/// # Ok::<(), hio_embedded::error::SerialError>(())
/// ```
#[derive(Debug, Clone)]
pub struct NbSerial<U> {
    uart: U,
    /// A received byte taken by `read_ready`, not yet returned by `read`.
    peeked: Option<u8>,
    /// A byte counted as written that the UART has not accepted yet.
    staged: Option<u8>,
    /// A receive error that came after `read` had already moved bytes.
    rx_error: Option<SerialError>,
    /// A transmit error that came after `write` had already moved bytes.
    tx_error: Option<SerialError>,
}

impl<U> NbSerial<U> {
    /// Wrap `uart`.
    pub const fn new(uart: U) -> Self {
        Self {
            uart,
            peeked: None,
            staged: None,
            rx_error: None,
            tx_error: None,
        }
    }

    /// The wrapped UART.
    pub fn inner(&self) -> &U {
        &self.uart
    }

    /// The wrapped UART, mutably (for configuration; reading or writing
    /// through it bypasses the slots).
    pub fn inner_mut(&mut self) -> &mut U {
        &mut self.uart
    }

    /// Unwrap, returning the UART and a peeked byte not yet read, if any.
    /// Call [`flush`](Write::flush) first so no staged byte is left behind.
    pub fn into_parts(self) -> (U, Option<u8>) {
        (self.uart, self.peeked)
    }
}

impl<U: serial::ErrorType> ErrorType for NbSerial<U> {
    type Error = SerialError;
}

/// Map a HAL error, keeping `WouldBlock` apart.
fn hal<T, E: serial::Error>(result: nb::Result<T, E>) -> nb::Result<T, SerialError> {
    result.map_err(|e| e.map(|e| SerialError::from_hal(&e)))
}

/// Fill `buf` from `next`, which yields received bytes one at a time:
/// spin until the first byte (or error), then take what is ready without
/// blocking. Returns the count and an error that came after some bytes.
pub(crate) fn read_into<F>(buf: &mut [u8], mut next: F) -> (usize, Option<SerialError>)
where
    F: FnMut() -> nb::Result<u8, SerialError>,
{
    let mut count = 0;
    for slot in buf.iter_mut() {
        loop {
            match next() {
                Ok(byte) => {
                    *slot = byte;
                    count += 1;
                    break;
                }
                Err(nb::Error::WouldBlock) if count == 0 => core::hint::spin_loop(),
                Err(nb::Error::WouldBlock) => return (count, None),
                Err(nb::Error::Other(e)) => return (count, Some(e)),
            }
        }
    }
    (count, None)
}

/// Send `buf` through `put`, which takes bytes one at a time: if
/// `wait_first`, spin until the first byte is taken (or fails); then send
/// what fits without blocking. Returns the count and an error that came
/// after some bytes.
pub(crate) fn write_from<F>(
    buf: &[u8],
    wait_first: bool,
    mut put: F,
) -> (usize, Option<SerialError>)
where
    F: FnMut(u8) -> nb::Result<(), SerialError>,
{
    let mut count = 0;
    for &byte in buf {
        loop {
            match put(byte) {
                Ok(()) => {
                    count += 1;
                    break;
                }
                Err(nb::Error::WouldBlock) if wait_first && count == 0 => {
                    core::hint::spin_loop();
                }
                Err(nb::Error::WouldBlock) => return (count, None),
                Err(nb::Error::Other(e)) => return (count, Some(e)),
            }
        }
    }
    (count, None)
}

/// Turn a count and a late error into the `read`/`write` answer, keeping
/// the error for the next call if bytes were moved.
pub(crate) fn settle(
    (count, error): (usize, Option<SerialError>),
    keep: &mut Option<SerialError>,
) -> Result<usize, SerialError> {
    match error {
        Some(e) if count == 0 => Err(e),
        Some(e) => {
            *keep = Some(e);
            Ok(count)
        }
        None => Ok(count),
    }
}

impl<U: serial::Read<u8>> NbSerial<U> {
    fn next_byte(&mut self) -> nb::Result<u8, SerialError> {
        match self.peeked.take() {
            Some(byte) => Ok(byte),
            None => hal(self.uart.read()),
        }
    }
}

impl<U: serial::Read<u8>> ReadReady for NbSerial<U> {
    /// `true` if a byte is waiting (it is then held in the peek slot) or an
    /// error is pending; `Err` if the UART reported an error just now.
    fn read_ready(&mut self) -> Result<bool, SerialError> {
        if self.peeked.is_some() || self.rx_error.is_some() {
            return Ok(true);
        }
        match hal(self.uart.read()) {
            Ok(byte) => {
                self.peeked = Some(byte);
                Ok(true)
            }
            Err(nb::Error::WouldBlock) => Ok(false),
            Err(nb::Error::Other(e)) => Err(e),
        }
    }
}

impl<U: serial::Read<u8>> Read for NbSerial<U> {
    /// Return the peeked byte and whatever else is ready, at least one
    /// byte: without blocking if `read_ready()` said `true`, otherwise
    /// spinning until a byte arrives.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, SerialError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(e) = self.rx_error.take() {
            return Err(e);
        }
        let moved = read_into(buf, || self.next_byte());
        settle(moved, &mut self.rx_error)
    }
}

impl<U: serial::Write<u8>> NbSerial<U> {
    /// Try to hand the staged byte to the UART.
    fn push_staged(&mut self) -> nb::Result<(), SerialError> {
        if let Some(byte) = self.staged {
            hal(self.uart.write(byte))?;
            self.staged = None;
        }
        Ok(())
    }
}

impl<U: serial::Write<u8>> WriteReady for NbSerial<U> {
    /// `true` when the staging slot is empty (after trying to empty it) or
    /// an error is pending, so the next `write` returns at once.
    fn write_ready(&mut self) -> Result<bool, SerialError> {
        if self.tx_error.is_some() {
            return Ok(true);
        }
        match self.push_staged() {
            Ok(()) => Ok(true),
            Err(nb::Error::WouldBlock) => Ok(false),
            Err(nb::Error::Other(e)) => Err(e),
        }
    }
}

impl<U: serial::Write<u8>> Write for NbSerial<U> {
    /// Send what the UART accepts now, then stage one more byte; at least
    /// one byte is taken. Blocks only if the staging slot was full and the
    /// UART does not take its byte.
    fn write(&mut self, buf: &[u8]) -> Result<usize, SerialError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(e) = self.tx_error.take() {
            return Err(e);
        }
        nb::block!(self.push_staged())?;
        let uart = &mut self.uart;
        let (count, error) = write_from(buf, false, |byte| hal(uart.write(byte)));
        let mut count = count;
        if error.is_none() {
            // The UART is full (or everything was sent): stage one more.
            if let Some(&byte) = buf.get(count) {
                self.staged = Some(byte);
                count += 1;
            }
        }
        settle((count, error), &mut self.tx_error)
    }

    /// Push out the staged byte, then wait for the UART to drain.
    fn flush(&mut self) -> Result<(), SerialError> {
        if let Some(e) = self.tx_error.take() {
            return Err(e);
        }
        nb::block!(self.push_staged())?;
        nb::block!(hal(self.uart.flush()))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use embedded_hal_nb::serial::ErrorKind;
    use std::collections::VecDeque;
    use std::vec::Vec;

    /// A scripted HAL UART.
    #[derive(Default)]
    struct Script {
        rx: VecDeque<nb::Result<u8, ErrorKind>>,
        /// How many more bytes the transmitter takes before WouldBlock.
        tx_room: usize,
        tx: Vec<u8>,
        /// Fail once, with this error, when `tx` holds this many bytes.
        tx_fail: Option<(usize, ErrorKind)>,
        flushes: usize,
    }

    impl serial::ErrorType for Script {
        type Error = ErrorKind;
    }

    impl serial::Read<u8> for Script {
        fn read(&mut self) -> nb::Result<u8, ErrorKind> {
            self.rx.pop_front().unwrap_or(Err(nb::Error::WouldBlock))
        }
    }

    impl serial::Write<u8> for Script {
        fn write(&mut self, word: u8) -> nb::Result<(), ErrorKind> {
            if let Some((at, e)) = self.tx_fail {
                if at == self.tx.len() {
                    self.tx_fail = None;
                    return Err(nb::Error::Other(e));
                }
            }
            if self.tx_room == 0 {
                return Err(nb::Error::WouldBlock);
            }
            self.tx_room -= 1;
            self.tx.push(word);
            Ok(())
        }
        fn flush(&mut self) -> nb::Result<(), ErrorKind> {
            self.flushes += 1;
            Ok(())
        }
    }

    fn with_rx(items: &[nb::Result<u8, ErrorKind>]) -> NbSerial<Script> {
        NbSerial::new(Script {
            rx: items.iter().cloned().collect(),
            ..Script::default()
        })
    }

    #[test]
    fn read_ready_peeks_and_read_returns_peeked_first() {
        let mut s = with_rx(&[Ok(1), Ok(2), Ok(3)]);
        assert_eq!(s.read_ready(), Ok(true));
        assert_eq!(s.read_ready(), Ok(true)); // Still the same peeked byte.
        let mut buf = [0; 8];
        assert_eq!(s.read(&mut buf), Ok(3));
        assert_eq!(buf.get(..3), Some(&[1, 2, 3][..]));
        assert_eq!(s.read_ready(), Ok(false));
        assert_eq!(s.read(&mut []), Ok(0));
    }

    #[test]
    fn read_stops_at_buffer_end_and_would_block() {
        let mut s = with_rx(&[Ok(1), Ok(2), Ok(3)]);
        let mut buf = [0; 2];
        assert_eq!(s.read(&mut buf), Ok(2));
        assert_eq!(s.read(&mut buf), Ok(1));
        assert_eq!(buf, [3, 2]);
    }

    #[test]
    fn errors_map_and_late_errors_wait_their_turn() {
        let mut s = with_rx(&[
            Err(nb::Error::Other(ErrorKind::Overrun)),
            Ok(7),
            Err(nb::Error::Other(ErrorKind::Parity)),
            Ok(8),
        ]);
        assert_eq!(s.read_ready(), Err(SerialError::Overrun));
        let mut buf = [0; 4];
        assert_eq!(s.read(&mut buf), Ok(1));
        assert_eq!(s.read_ready(), Ok(true));
        assert_eq!(s.read(&mut buf), Err(SerialError::Parity));
        assert_eq!(s.read(&mut buf), Ok(1));
        assert_eq!(buf.first(), Some(&8));
        let mut s = with_rx(&[Err(nb::Error::Other(ErrorKind::FrameFormat))]);
        assert_eq!(s.read(&mut buf), Err(SerialError::Framing));
    }

    #[test]
    fn write_sends_what_fits_and_stages_one() {
        let mut s = NbSerial::new(Script {
            tx_room: 2,
            ..Script::default()
        });
        assert_eq!(s.write_ready(), Ok(true));
        assert_eq!(s.write(b"abcd"), Ok(3));
        assert_eq!(s.inner().tx, b"ab");
        assert_eq!(s.write_ready(), Ok(false));
        s.inner_mut().tx_room = 10;
        assert_eq!(s.write_ready(), Ok(true));
        assert_eq!(s.inner().tx, b"abc");
        assert_eq!(s.write(b"d"), Ok(1));
        assert_eq!(s.flush(), Ok(()));
        assert_eq!(s.inner().tx, b"abcd");
        assert_eq!(s.inner().flushes, 1);
        assert_eq!(s.write(&[]), Ok(0));
    }

    #[test]
    fn write_into_full_uart_stages_without_blocking() {
        let mut s = NbSerial::new(Script::default());
        assert_eq!(s.write_ready(), Ok(true));
        assert_eq!(s.write(b"xy"), Ok(1));
        assert_eq!(s.write_ready(), Ok(false));
        assert!(s.inner().tx.is_empty());
    }

    #[test]
    fn write_errors_are_reported_now_or_next_time() {
        let mut s = NbSerial::new(Script {
            tx_room: 10,
            tx_fail: Some((0, ErrorKind::Other)),
            ..Script::default()
        });
        assert_eq!(s.write(b"a"), Err(SerialError::Other));
        // Fail on the second byte: the first counts, the error waits.
        s.inner_mut().tx_fail = Some((1, ErrorKind::Noise));
        assert_eq!(s.write(b"abc"), Ok(1));
        assert_eq!(s.write_ready(), Ok(true));
        assert_eq!(s.write(b"bc"), Err(SerialError::Noise));
        assert_eq!(s.write(b"bc"), Ok(2));
        s.inner_mut().tx_fail = Some((4, ErrorKind::Parity));
        assert_eq!(s.write(b"de"), Ok(1));
        assert_eq!(s.flush(), Err(SerialError::Parity));
        assert_eq!(s.flush(), Ok(()));
        let (uart, peeked) = s.into_parts();
        assert_eq!(uart.tx, b"abcd");
        assert_eq!(peeked, None);
    }

    #[test]
    fn staged_byte_error_surfaces_in_write_ready() {
        let mut s = NbSerial::new(Script::default());
        assert_eq!(s.write(b"z"), Ok(1));
        s.inner_mut().tx_fail = Some((0, ErrorKind::Overrun));
        assert_eq!(s.write_ready(), Err(SerialError::Overrun));
        s.inner_mut().tx_room = 1;
        assert_eq!(s.write_ready(), Ok(true));
        assert_eq!(s.inner().tx, b"z");
    }
}
