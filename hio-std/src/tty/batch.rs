//! [`Batched`]: the bytes a [`TtyDoer`](super::TtyDoer)'s SerialDoer
//! writes in one pass, gathered and written to the device at once.

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

use super::{Device, TtyError};

/// Bytes gathered for the device at most (frames beyond wait in the
/// Deck: the SerialDoer finds no room).
pub(crate) const OUT: usize = 16 * 1024;

/// How many times a [`flush`](Write::flush) waits for the device to take
/// what is left (each wait at most the device's own write wait).
const FLUSH_TRIES: usize = 10;

/// A [`Device`] whose writes are gathered in memory: the SerialDoer
/// writes frame by frame into the buffer (no system call), and
/// [`push_out`](Batched::push_out), once a pass, hands them all to the
/// device in one write. It reads nothing: the TtyDoer reads the device
/// itself, a chunk at a time, and frames the chunk in one go.
///
/// The buffer is bounded: when it is full, [`write_ready`](WriteReady::write_ready)
/// pushes it out first, and says no if the device takes nothing; the
/// frames then wait in the Deck (backpressure, nothing dropped).
#[derive(Debug)]
pub(crate) struct Batched<D> {
    dev: D,
    out: Vec<u8>,
    /// Bytes of `out` before this were written.
    start: usize,
    /// The device took less than it was given since the flags were
    /// cleared: its room will be announced by the poll.
    refused: bool,
}

impl<D: Device> Batched<D> {
    pub(crate) fn new(dev: D) -> Self {
        Batched {
            dev,
            out: Vec::new(),
            start: 0,
            refused: false,
        }
    }

    pub(crate) fn device(&mut self) -> &mut D {
        &mut self.dev
    }

    /// The device (what was gathered and not written is dropped).
    pub(crate) fn into_device(self) -> D {
        self.dev
    }

    /// Bytes gathered and not yet written.
    pub(crate) fn pending(&self) -> usize {
        self.out.len() - self.start
    }

    fn room(&self) -> usize {
        OUT.saturating_sub(self.pending())
    }

    /// Clears the device's flags and this buffer's own.
    pub(crate) fn clear_flags(&mut self) {
        self.refused = false;
        self.dev.clear_flags();
    }

    /// Whether the device took less than it was given since the flags
    /// were cleared (its room is announced by the poll).
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    /// Writes what was gathered, as far as the device takes it now (one
    /// write, never waiting).
    ///
    /// # Errors
    ///
    /// The device went away or failed (what was gathered stays; the
    /// caller looks at [`Device::lost`]).
    pub(crate) fn push_out(&mut self) -> Result<(), TtyError> {
        let pending = self.pending();
        if pending == 0 {
            return Ok(());
        }
        let n = self
            .dev
            .write_now(self.out.get(self.start..).unwrap_or(&[]))?;
        self.advance(n);
        if n < pending {
            self.refused = true;
        }
        Ok(())
    }

    /// Drops what was gathered and not written.
    pub(crate) fn discard(&mut self) {
        self.out.clear();
        self.start = 0;
    }

    fn advance(&mut self, n: usize) {
        self.start = (self.start + n).min(self.out.len());
        if self.start == self.out.len() {
            self.out.clear();
            self.start = 0;
        }
    }
}

impl<D: Device> ErrorType for Batched<D> {
    type Error = TtyError;
}

impl<D: Device> ReadReady for Batched<D> {
    /// Never: the [`TtyDoer`](super::TtyDoer) reads the device itself,
    /// a chunk at a time, and the SerialDoer only sends.
    fn read_ready(&mut self) -> Result<bool, TtyError> {
        Ok(false)
    }
}

impl<D: Device> Read for Batched<D> {
    /// Nothing (see [`read_ready`](Batched::read_ready)).
    fn read(&mut self, _: &mut [u8]) -> Result<usize, TtyError> {
        Ok(0)
    }
}

impl<D: Device> WriteReady for Batched<D> {
    /// Yes while the buffer has room; when it is full, it is pushed out
    /// first (unless the device already refused bytes in this pass).
    fn write_ready(&mut self) -> Result<bool, TtyError> {
        if self.room() == 0 && !self.refused {
            self.push_out()?;
        }
        Ok(self.room() > 0)
    }
}

impl<D: Device> Write for Batched<D> {
    /// Gathers as much of `bytes` as the buffer has room for.
    ///
    /// # Errors
    ///
    /// [`TtyError::Full`] when it has none (ask
    /// [`write_ready`](WriteReady::write_ready) first).
    fn write(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        if bytes.is_empty() {
            return Ok(0);
        }
        if self.start > 0 && self.out.len() + bytes.len() > OUT {
            // make the written part room again
            self.out.drain(..self.start);
            self.start = 0;
        }
        let n = self.room().min(bytes.len());
        if n == 0 {
            return Err(TtyError::Full);
        }
        self.out.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
        Ok(n)
    }

    /// Writes everything gathered, waiting a bounded time for a full
    /// device (so a stuck device cannot hang a stop).
    fn flush(&mut self) -> Result<(), TtyError> {
        self.push_out()?;
        for _ in 0..FLUSH_TRIES {
            if self.pending() == 0 {
                break;
            }
            // the device's own write waits (a bounded time) for room
            let n = self.dev.write(self.out.get(self.start..).unwrap_or(&[]))?;
            self.advance(n);
        }
        self.dev.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::RawFd;

    /// A device taking at most `room` bytes, counting its writes.
    struct Sink {
        got: Vec<u8>,
        room: usize,
        writes: usize,
    }

    impl ErrorType for Sink {
        type Error = TtyError;
    }
    impl Read for Sink {
        fn read(&mut self, _: &mut [u8]) -> Result<usize, TtyError> {
            Ok(0)
        }
    }
    impl ReadReady for Sink {
        fn read_ready(&mut self) -> Result<bool, TtyError> {
            Ok(false)
        }
    }
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> Result<usize, TtyError> {
            self.writes += 1;
            let n = b.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&b[..n]);
            if n == 0 {
                return Err(TtyError::Full);
            }
            Ok(n)
        }
        fn flush(&mut self) -> Result<(), TtyError> {
            Ok(())
        }
    }
    impl WriteReady for Sink {
        fn write_ready(&mut self) -> Result<bool, TtyError> {
            Ok(self.room > 0)
        }
    }
    impl Device for Sink {
        fn raw_fd(&self) -> Option<RawFd> {
            None
        }
        fn lost(&self) -> Option<TtyError> {
            None
        }
        fn close(&mut self) {}
        fn reopen(&mut self) -> Result<(), TtyError> {
            Ok(())
        }
        fn clear_flags(&mut self) {}
        fn read_empty(&self) -> bool {
            true
        }
        fn label(&self) -> Option<String> {
            None
        }
    }

    fn sink(room: usize) -> Batched<Sink> {
        Batched::new(Sink {
            got: Vec::new(),
            room,
            writes: 0,
        })
    }

    #[test]
    fn frames_of_a_pass_go_out_in_one_write() {
        let mut b = sink(usize::MAX);
        for i in 0..10u8 {
            assert!(b.write_ready().unwrap());
            assert_eq!(b.write(&[i, b'\n']).unwrap(), 2);
        }
        assert_eq!(b.device().writes, 0);
        b.push_out().unwrap();
        assert_eq!(b.device().writes, 1);
        assert_eq!(b.device().got.len(), 20);
        assert_eq!(b.pending(), 0);
        assert!(!b.refused());
        b.push_out().unwrap(); // nothing gathered: no write
        assert_eq!(b.device().writes, 1);
    }

    #[test]
    fn a_full_device_keeps_the_rest_in_order_and_the_buffer_is_bounded() {
        let mut b = sink(5);
        assert_eq!(b.write(b"abcdefgh").unwrap(), 8);
        b.push_out().unwrap();
        assert!(b.refused());
        assert_eq!(b.pending(), 3);
        // room for the rest of the buffer, not beyond
        let big = vec![b'x'; OUT];
        assert_eq!(b.write(&big).unwrap(), OUT - 3);
        assert_eq!(b.write(b"y"), Err(TtyError::Full));
        assert!(!b.write_ready().unwrap()); // refused in this pass: not tried again
        b.clear_flags();
        b.device().room = usize::MAX;
        assert!(b.write_ready().unwrap()); // pushed out first, room again
        assert_eq!(b.pending(), 0);
        assert_eq!(&b.device().got[..8], b"abcdefgh");
        assert_eq!(b.device().got.len(), 8 + OUT - 3);
    }

    #[test]
    fn flush_writes_everything_gathered() {
        let mut b = sink(usize::MAX);
        b.write(b"hello\n").unwrap();
        b.flush().unwrap();
        assert_eq!(b.device().got, b"hello\n");
        assert_eq!(b.pending(), 0);
        b.write(b"lost\n").unwrap();
        b.discard();
        b.push_out().unwrap();
        assert_eq!(b.device().got, b"hello\n");
    }
}
