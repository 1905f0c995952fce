//! [`TtyError`]: why a tty could not be opened, or failed.

use std::fmt;
use std::io;

use hio_embedded::SerialError;

/// Why a tty could not be opened or configured, or why its I/O failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TtyError {
    /// No device at the path.
    NotFound,
    /// The device exists but this user may not open it.
    PermissionDenied,
    /// The path is not a terminal device (a regular file, a directory).
    NotATty,
    /// Another program holds the device exclusively.
    Busy,
    /// The baud rate is not one the system supports.
    Baud(u32),
    /// The device went away: unplugged, or the other end of a
    /// pseudo-terminal closed.
    Lost,
    /// The device's output buffer is full (it does not take bytes as fast
    /// as they come).
    Full,
    /// No pseudo-terminal could be made.
    NoPty,
    /// Another error of the system.
    Io(io::ErrorKind),
}

impl TtyError {
    /// The error matching a system error of an open or a configure.
    pub fn from_io(e: &io::Error) -> TtyError {
        match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => TtyError::NotFound,
            Some(libc::EACCES) | Some(libc::EPERM) => TtyError::PermissionDenied,
            Some(libc::ENOTTY) => TtyError::NotATty,
            Some(libc::EBUSY) => TtyError::Busy,
            Some(libc::EIO) => TtyError::Lost,
            _ => TtyError::Io(e.kind()),
        }
    }
}

impl fmt::Display for TtyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TtyError::NotFound => f.write_str(
                "no such device: check the path (ls /dev/serial/by-id/) and that it is plugged in",
            ),
            TtyError::PermissionDenied => f.write_str(
                "permission denied: add yourself to the device's group (usually `dialout`: \
                 sudo usermod -aG dialout $USER, then log in again)",
            ),
            TtyError::NotATty => f.write_str(
                "not a terminal device: give a serial device such as /dev/ttyUSB0 or /dev/ttyACM0",
            ),
            TtyError::Busy => {
                f.write_str("device busy: another program holds it; close that program first")
            }
            TtyError::Baud(b) => write!(
                f,
                "baud rate {b} is not supported: give a standard rate such as 9600, 57600, \
                 115200, 230400, 460800 or 921600"
            ),
            TtyError::Lost => {
                f.write_str("the device went away (unplugged, or its other end closed)")
            }
            TtyError::Full => f.write_str(
                "the device's output buffer is full: it takes bytes slower than they come",
            ),
            TtyError::NoPty => {
                f.write_str("no pseudo-terminal could be made: is /dev/pts mounted (devpts)?")
            }
            TtyError::Io(k) => write!(f, "i/o error on the device: {k}"),
        }
    }
}

impl std::error::Error for TtyError {}

impl embedded_io::Error for TtyError {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as K;
        match self {
            TtyError::NotFound => K::NotFound,
            TtyError::PermissionDenied => K::PermissionDenied,
            TtyError::NotATty | TtyError::Baud(_) => K::InvalidInput,
            TtyError::Busy => K::AddrInUse,
            TtyError::Lost => K::NotConnected,
            TtyError::Full => K::OutOfMemory,
            TtyError::NoPty | TtyError::Io(_) => K::Other,
        }
    }
}

impl From<TtyError> for SerialError {
    fn from(e: TtyError) -> SerialError {
        match e {
            TtyError::Full => SerialError::TxFull,
            _ => SerialError::Other,
        }
    }
}

impl From<TtyError> for io::Error {
    fn from(e: TtyError) -> io::Error {
        let kind = match e {
            TtyError::NotFound => io::ErrorKind::NotFound,
            TtyError::PermissionDenied => io::ErrorKind::PermissionDenied,
            TtyError::NotATty | TtyError::Baud(_) => io::ErrorKind::InvalidInput,
            TtyError::Busy => io::ErrorKind::ResourceBusy,
            TtyError::Lost => io::ErrorKind::NotConnected,
            TtyError::Full => io::ErrorKind::WouldBlock,
            TtyError::NoPty => io::ErrorKind::Other,
            TtyError::Io(k) => k,
        };
        io::Error::new(kind, e)
    }
}
