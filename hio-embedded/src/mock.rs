//! [`MockUart`]: a scripted UART for host tests, with no heap.
//!
//! It implements the same `embedded-io` traits as a real UART
//! ([`Read`], [`Write`], [`ReadReady`], [`WriteReady`]), so a serial doer
//! under test cannot tell it from [`Pl011`](crate::pl011::Pl011). The test
//! scripts what arrives (bytes, and receive errors at chosen points) and
//! inspects what was sent, and can make the transmitter fill up to exercise
//! backpressure.
//!
//! A mock never blocks, so it answers the two "would block" cases of the
//! embedded-io contract with the values that contract allows:
//!
//! - `read` with nothing queued returns `Ok(0)`: end of file. A doer that
//!   reads only after `read_ready()` said `true` never sees it.
//! - `write` with no room returns `Err(SerialError::TxFull)`, whose kind is
//!   `WriteZero` (embedded-io forbids `Ok(0)` here). A doer that writes
//!   only after `write_ready()` said `true` never sees it.
//!
//! It can also stand for a UART with a receive interrupt
//! ([`set_rx_interrupt`](MockUart::set_rx_interrupt)), to test a parked
//! [`SerialDoer`](crate::SerialDoer): it behaves as a
//! [`Pl011`](crate::Pl011) `with_rx_interrupt` and its handler do, arming
//! when `read_ready` finds nothing queued and waking the doer (once) when
//! something is queued while armed.
//!
//! ```
//! use embedded_io::{Read, ReadReady, Write, WriteReady};
//! use hio_embedded::error::SerialError;
//! use hio_embedded::mock::MockUart;
//!
//! let mut uart = MockUart::<16, 16>::new();
//! uart.push_rx(b"hi").ok();
//! uart.push_rx_error(SerialError::Overrun).ok();
//!
//! let mut buf = [0_u8; 8];
//! assert!(uart.read_ready()?);
//! assert_eq!(uart.read(&mut buf)?, 2); // stops before the error
//! assert_eq!(uart.read(&mut buf), Err(SerialError::Overrun));
//! assert!(!uart.read_ready()?);
//!
//! uart.set_tx_capacity(3);
//! assert_eq!(uart.write(b"hello")?, 3);
//! assert!(!uart.write_ready()?);
//! assert_eq!(uart.take_tx().as_slice(), b"hel");
//! assert!(uart.write_ready()?);
//! # Ok::<(), SerialError>(())
//! ```

use heapless::{Deque, Vec};

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};
use hio_core::Waker;

use crate::error::SerialError;

/// One scripted receive event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RxItem {
    /// A received byte.
    Byte(u8),
    /// A receive error, returned by `read` at this point of the stream.
    Error(SerialError),
}

/// A scripted UART: an rx queue of up to `RX` [`RxItem`]s and a tx sink of
/// up to `TX` bytes. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct MockUart<const RX: usize, const TX: usize> {
    rx: Deque<RxItem, RX>,
    tx: Vec<u8, TX>,
    /// How many unsent bytes the transmitter FIFO holds, at most.
    tx_capacity: usize,
    /// Whether the transmitter is held full regardless of its capacity.
    tx_stuck: bool,
    /// An error the next `write`, `write_ready` or `flush` returns.
    tx_error: Option<SerialError>,
    flushes: usize,
    /// The receive "interrupt": woken when something is queued while armed.
    rx_waker: Option<Waker>,
    /// Armed by a `read_ready` that found nothing queued.
    rx_armed: bool,
    /// Wakes made by the receive interrupt.
    rx_interrupts: usize,
}

impl<const RX: usize, const TX: usize> MockUart<RX, TX> {
    /// A mock with nothing to receive and an empty transmitter that holds
    /// `TX` bytes.
    pub const fn new() -> Self {
        Self {
            rx: Deque::new(),
            tx: Vec::new(),
            tx_capacity: TX,
            tx_stuck: false,
            tx_error: None,
            flushes: 0,
            rx_waker: None,
            rx_armed: false,
            rx_interrupts: 0,
        }
    }

    /// Gives the mock a receive interrupt that wakes `waker` (`None` takes
    /// it away): as a PL011's with its driver's
    /// [`with_rx_interrupt`](crate::Pl011::with_rx_interrupt), it is armed
    /// when `read_ready` finds nothing queued, and then the next byte or
    /// error queued wakes `waker` once (the handler masks it until the next
    /// arming).
    pub fn set_rx_interrupt(&mut self, waker: Option<Waker>) {
        self.rx_waker = waker;
        self.rx_armed = false;
    }

    /// How many wakes the receive interrupt made.
    pub fn rx_interrupts(&self) -> usize {
        self.rx_interrupts
    }

    /// The receive interrupt, when something was queued.
    fn received(&mut self) {
        if let (true, Some(w)) = (self.rx_armed, self.rx_waker) {
            self.rx_armed = false;
            self.rx_interrupts += 1;
            w.wake();
        }
    }

    /// Queue `bytes` to be received. If the queue fills up, the bytes that
    /// did not fit are handed back.
    pub fn push_rx<'a>(&mut self, bytes: &'a [u8]) -> Result<(), &'a [u8]> {
        for (queued, &byte) in bytes.iter().enumerate() {
            if self.rx.push_back(RxItem::Byte(byte)).is_err() {
                return Err(bytes.get(queued..).unwrap_or_default());
            }
            self.received();
        }
        Ok(())
    }

    /// Queue a receive error after the bytes queued so far. If the queue is
    /// full, the error is handed back.
    pub fn push_rx_error(&mut self, error: SerialError) -> Result<(), SerialError> {
        self.rx.push_back(RxItem::Error(error)).map_err(|_| error)?;
        self.received();
        Ok(())
    }

    /// Queue one item; if the queue is full, it is handed back.
    pub fn push_rx_item(&mut self, item: RxItem) -> Result<(), RxItem> {
        self.rx.push_back(item)?;
        self.received();
        Ok(())
    }

    /// How many items (bytes and errors) are queued to be received.
    pub fn rx_pending(&self) -> usize {
        self.rx.len()
    }

    /// The bytes written so far and not yet taken.
    pub fn tx(&self) -> &[u8] {
        self.tx.as_slice()
    }

    /// Take the bytes written so far, emptying the transmitter (as if they
    /// had gone out on the wire).
    pub fn take_tx(&mut self) -> Vec<u8, TX> {
        core::mem::take(&mut self.tx)
    }

    /// Limit the transmitter to `capacity` unsent bytes (a hardware FIFO
    /// size); it can never exceed `TX`. Writes take only what fits.
    pub fn set_tx_capacity(&mut self, capacity: usize) {
        self.tx_capacity = capacity;
    }

    /// Hold the transmitter full (`true`: `write_ready` is `false`, `write`
    /// fails with [`SerialError::TxFull`]) or release it (`false`).
    pub fn set_tx_full(&mut self, full: bool) {
        self.tx_stuck = full;
    }

    /// Make the next `write`, `write_ready` or `flush` fail with `error`.
    pub fn fail_next_tx(&mut self, error: SerialError) {
        self.tx_error = Some(error);
    }

    /// How many times `flush` succeeded.
    pub fn flushes(&self) -> usize {
        self.flushes
    }

    /// How many more bytes the transmitter takes now.
    pub fn tx_room(&self) -> usize {
        if self.tx_stuck {
            return 0;
        }
        self.tx_capacity.min(TX).saturating_sub(self.tx.len())
    }
}

impl<const RX: usize, const TX: usize> Default for MockUart<RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RX: usize, const TX: usize> ErrorType for MockUart<RX, TX> {
    type Error = SerialError;
}

impl<const RX: usize, const TX: usize> ReadReady for MockUart<RX, TX> {
    /// `true` when a byte or an error is queued. Finding nothing arms the
    /// receive interrupt, if the mock has one.
    fn read_ready(&mut self) -> Result<bool, SerialError> {
        let ready = !self.rx.is_empty();
        if !ready && self.rx_waker.is_some() {
            self.rx_armed = true;
        }
        Ok(ready)
    }
}

impl<const RX: usize, const TX: usize> Read for MockUart<RX, TX> {
    /// Return the queued bytes up to the next queued error (or the end of
    /// `buf`); if an error is first, return it. With nothing queued:
    /// `Ok(0)`, end of file.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, SerialError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(&RxItem::Error(error)) = self.rx.front() {
            self.rx.pop_front();
            return Err(error);
        }
        let mut count = 0;
        for slot in buf.iter_mut() {
            match self.rx.front() {
                Some(&RxItem::Byte(byte)) => {
                    *slot = byte;
                    count += 1;
                    self.rx.pop_front();
                }
                Some(RxItem::Error(_)) | None => break,
            }
        }
        Ok(count)
    }
}

impl<const RX: usize, const TX: usize> WriteReady for MockUart<RX, TX> {
    /// `true` when the transmitter has room for a byte; a scripted error
    /// is returned instead if one is set.
    fn write_ready(&mut self) -> Result<bool, SerialError> {
        match self.tx_error.take() {
            Some(error) => Err(error),
            None => Ok(self.tx_room() > 0),
        }
    }
}

impl<const RX: usize, const TX: usize> Write for MockUart<RX, TX> {
    /// Take as many bytes as there is room for; with no room,
    /// `Err(SerialError::TxFull)`.
    fn write(&mut self, buf: &[u8]) -> Result<usize, SerialError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(error) = self.tx_error.take() {
            return Err(error);
        }
        let count = self.tx_room().min(buf.len());
        if count == 0 {
            return Err(SerialError::TxFull);
        }
        let taken = buf.get(..count).unwrap_or_default();
        self.tx
            .extend_from_slice(taken)
            .map_err(|_| SerialError::TxFull)?;
        Ok(count)
    }

    /// Succeeds at once (the bytes are already "sent") unless an error was
    /// scripted.
    fn flush(&mut self) -> Result<(), SerialError> {
        match self.tx_error.take() {
            Some(error) => Err(error),
            None => {
                self.flushes = self.flushes.saturating_add(1);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_with_nothing_queued_is_eof() {
        let mut uart = MockUart::<4, 4>::new();
        assert_eq!(uart.read_ready(), Ok(false));
        assert_eq!(uart.read(&mut [0; 4]), Ok(0));
        assert_eq!(uart.read(&mut []), Ok(0));
    }

    #[test]
    fn rx_queue_hands_back_what_does_not_fit() {
        let mut uart = MockUart::<3, 4>::default();
        assert_eq!(uart.push_rx(b"abcde"), Err(&b"de"[..]));
        assert_eq!(
            uart.push_rx_error(SerialError::Parity),
            Err(SerialError::Parity)
        );
        assert_eq!(uart.push_rx_item(RxItem::Byte(1)), Err(RxItem::Byte(1)));
        assert_eq!(uart.rx_pending(), 3);
    }

    #[test]
    fn errors_arrive_in_stream_order() {
        let mut uart = MockUart::<8, 4>::new();
        assert!(uart.push_rx_error(SerialError::Framing).is_ok());
        assert!(uart.push_rx(b"ab").is_ok());
        assert!(uart
            .push_rx_item(RxItem::Error(SerialError::Overrun))
            .is_ok());
        assert!(uart.push_rx(b"c").is_ok());
        let mut buf = [0; 4];
        assert_eq!(uart.read_ready(), Ok(true));
        assert_eq!(uart.read(&mut buf), Err(SerialError::Framing));
        assert_eq!(uart.read(&mut buf), Ok(2));
        assert_eq!(uart.read(&mut buf), Err(SerialError::Overrun));
        assert_eq!(uart.read(&mut buf), Ok(1));
        assert_eq!(buf, *b"cb\0\0");
        assert_eq!(uart.rx_pending(), 0);
    }

    #[test]
    fn read_stops_at_buffer_end() {
        let mut uart = MockUart::<8, 4>::new();
        assert!(uart.push_rx(b"abc").is_ok());
        let mut buf = [0; 2];
        assert_eq!(uart.read(&mut buf), Ok(2));
        assert_eq!(uart.read(&mut buf), Ok(1));
        assert_eq!(buf, *b"cb");
    }

    #[test]
    fn tx_fills_to_capacity_and_drains_on_take() {
        let mut uart = MockUart::<1, 8>::new();
        assert_eq!(uart.tx_room(), 8);
        uart.set_tx_capacity(2);
        assert_eq!(uart.write(b"abc"), Ok(2));
        assert_eq!(uart.write_ready(), Ok(false));
        assert_eq!(uart.write(b"c"), Err(SerialError::TxFull));
        assert_eq!(uart.write(&[]), Ok(0));
        assert_eq!(uart.tx(), b"ab");
        assert_eq!(uart.take_tx().as_slice(), b"ab");
        assert_eq!(uart.write(b"c"), Ok(1));
        assert_eq!(uart.tx(), b"c");
    }

    #[test]
    fn storage_bounds_capacity() {
        let mut uart = MockUart::<1, 2>::new();
        uart.set_tx_capacity(100);
        assert_eq!(uart.write(b"abc"), Ok(2));
        assert_eq!(uart.tx_room(), 0);
    }

    #[test]
    fn tx_can_be_held_full_and_fail() {
        let mut uart = MockUart::<1, 4>::new();
        uart.set_tx_full(true);
        assert_eq!(uart.write_ready(), Ok(false));
        assert_eq!(uart.write(b"a"), Err(SerialError::TxFull));
        uart.set_tx_full(false);
        uart.fail_next_tx(SerialError::Other);
        assert_eq!(uart.write_ready(), Err(SerialError::Other));
        assert_eq!(uart.write_ready(), Ok(true));
        uart.fail_next_tx(SerialError::Noise);
        assert_eq!(uart.write(b"a"), Err(SerialError::Noise));
        uart.fail_next_tx(SerialError::Break);
        assert_eq!(uart.flush(), Err(SerialError::Break));
        assert_eq!(uart.flush(), Ok(()));
        assert_eq!(uart.flushes(), 1);
    }

    #[test]
    fn drives_a_line_framer_end_to_end() {
        use crate::line::LineFramer;
        let mut uart = MockUart::<32, 4>::new();
        assert!(uart.push_rx(b"go\r\n").is_ok());
        assert!(uart.push_rx_error(SerialError::Noise).is_ok());
        assert!(uart.push_rx(b"stop\n").is_ok());
        let mut framer = LineFramer::<8>::new();
        let mut lines = 0;
        let mut errors = 0;
        let mut buf = [0; 3];
        while uart.read_ready() == Ok(true) {
            match uart.read(&mut buf) {
                Ok(n) => framer.feed_each(buf.get(..n).unwrap_or_default(), |line| {
                    assert!(matches!(line, Ok(b"go" | b"stop")));
                    lines += 1;
                }),
                Err(_) => {
                    errors += 1;
                    framer.reset();
                }
            }
        }
        assert_eq!((lines, errors), (2, 1));
    }
}
