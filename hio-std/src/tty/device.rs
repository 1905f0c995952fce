//! [`Device`]: what a [`TtyDoer`](super::TtyDoer) needs of its device
//! beyond the `embedded-io` traits.

use std::os::fd::RawFd;

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

use super::{Tty, TtyError};

/// A serial device a [`TtyDoer`](super::TtyDoer) drives: a [`Tty`], or a
/// recording or replay of one
/// ([`Recorded`](crate::bridge::Recorded)).
pub trait Device: Read + Write + ReadReady + WriteReady + ErrorType<Error = TtyError> {
    /// The descriptor to register with the reactor, while open; `None`
    /// for a device with nothing to wait on (a replay).
    fn raw_fd(&self) -> Option<RawFd>;
    /// Why the device went away, if it did.
    fn lost(&self) -> Option<TtyError>;
    /// Closes it after it went away.
    fn close(&mut self);
    /// Opens it again.
    ///
    /// # Errors
    ///
    /// Why it cannot be opened yet.
    fn reopen(&mut self) -> Result<(), TtyError>;
    /// Clears the flags of [`read_empty`](Device::read_empty).
    fn clear_flags(&mut self);
    /// Whether a read found it empty since the flags were cleared.
    fn read_empty(&self) -> bool;
    /// Its name for log lines (its path).
    fn label(&self) -> Option<String>;
    /// Writes what the device takes now, never waiting: `Ok(0)` when it
    /// is full (room is then announced by the poll). By default, a
    /// [`write`](Write::write) after [`write_ready`](WriteReady::write_ready)
    /// said yes.
    ///
    /// # Errors
    ///
    /// The device went away or failed.
    fn write_now(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        if bytes.is_empty() || !self.write_ready()? {
            return Ok(0);
        }
        self.write(bytes)
    }
    /// From now on (`on`), looks (cheaply) whether there are bytes before
    /// it reads, if that is cheaper than a read that finds nothing
    /// ([`Tty::probe_reads`]); or reads at once (`false`). By default,
    /// nothing.
    fn probe_reads(&mut self, on: bool) {
        let _ = on;
    }
}

impl Device for Tty {
    fn raw_fd(&self) -> Option<RawFd> {
        Tty::raw_fd(self)
    }
    fn lost(&self) -> Option<TtyError> {
        Tty::lost(self)
    }
    fn close(&mut self) {
        Tty::close(self)
    }
    fn reopen(&mut self) -> Result<(), TtyError> {
        Tty::reopen(self)
    }
    fn clear_flags(&mut self) {
        Tty::clear_flags(self)
    }
    fn read_empty(&self) -> bool {
        Tty::read_empty(self)
    }
    fn label(&self) -> Option<String> {
        self.path().map(|p| p.display().to_string())
    }
    fn write_now(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        Tty::write_now(self, bytes)
    }
    fn probe_reads(&mut self, on: bool) {
        Tty::probe_reads(self, on)
    }
}
