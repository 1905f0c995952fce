//! [`NetError`]: what can go wrong with a socket, as data.

use std::fmt;
use std::io;

/// Why a network operation failed or a connection ended. Every variant
/// converts to an [`io::Error`] (`?` in a function returning
/// `io::Result`).
///
/// ```
/// use hio_std::net::NetError;
/// let e: std::io::Error = NetError::Refused.into();
/// assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
/// assert!(NetError::Refused.to_string().contains("refused"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetError {
    /// The address could not be parsed or resolved.
    BadAddress,
    /// Nothing listens at the address (the peer answered with a reset).
    Refused,
    /// The connect did not complete within its timeout.
    ConnectTimeout,
    /// The peer reset the connection (or it broke: a write to a closed
    /// peer).
    Reset,
    /// The connection is closed (by either side), or not open yet.
    Closed,
    /// Nothing was heard on the connection for its idle timeout.
    IdleTimeout,
    /// The buffer is full: try again once the doer has sent some.
    Full,
    /// A datagram or line longer than the buffer; it was dropped.
    TooLong,
    /// The server is at its connection limit.
    Limit,
    /// The reactor's wake board is full: build fewer socket doers, or
    /// raise [`BOARD_SLOTS`](crate::reactor::BOARD_SLOTS).
    NoWaker,
    /// The stored doers have less room than the configuration asks for.
    Capacity,
    /// Any other error of the system, by kind.
    Io(io::ErrorKind),
    /// TLS failed (the handshake, a bad record, a missing close_notify).
    Tls(super::tls::TlsFailure),
}

impl NetError {
    /// The error of a failed system call, by kind (resets and refusals get
    /// their own variants).
    pub fn from_io(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => NetError::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => NetError::Reset,
            io::ErrorKind::TimedOut => NetError::ConnectTimeout,
            io::ErrorKind::NotConnected => NetError::Closed,
            k => NetError::Io(k),
        }
    }

    /// The matching [`io::ErrorKind`].
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            NetError::BadAddress => io::ErrorKind::InvalidInput,
            NetError::Refused => io::ErrorKind::ConnectionRefused,
            NetError::ConnectTimeout | NetError::IdleTimeout => io::ErrorKind::TimedOut,
            NetError::Reset => io::ErrorKind::ConnectionReset,
            NetError::Closed => io::ErrorKind::NotConnected,
            NetError::Full => io::ErrorKind::WouldBlock,
            NetError::TooLong => io::ErrorKind::InvalidData,
            NetError::Limit | NetError::NoWaker | NetError::Capacity => io::ErrorKind::OutOfMemory,
            NetError::Io(k) => *k,
            NetError::Tls(t) => t.kind(),
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::BadAddress => f.write_str(
                "bad address: give IP:PORT, e.g. 127.0.0.1:7000 or [::1]:7000",
            ),
            NetError::Refused => f.write_str(
                "connection refused: nothing listens at that address (is the server running?)",
            ),
            NetError::ConnectTimeout => f.write_str(
                "connect timed out: the address is unreachable or the server does not answer",
            ),
            NetError::Reset => f.write_str("connection reset by the peer"),
            NetError::Closed => f.write_str("the connection is closed"),
            NetError::IdleTimeout => f.write_str("the connection was idle for too long"),
            NetError::Full => {
                f.write_str("the buffer is full; try again after the doer has sent some")
            }
            NetError::TooLong => f.write_str("longer than the buffer; it was dropped"),
            NetError::Limit => f.write_str("the server is at its connection limit"),
            NetError::NoWaker => f.write_str(
                "the reactor's wake board is full; use fewer socket doers per reactor",
            ),
            NetError::Capacity => f.write_str(
                "the doers' storage is smaller than the configuration; build it with a larger capacity",
            ),
            NetError::Io(k) => write!(f, "i/o error: {k}"),
            NetError::Tls(t) => write!(f, "TLS: {t}"),
        }
    }
}

impl std::error::Error for NetError {}

impl From<NetError> for io::Error {
    fn from(e: NetError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

impl From<&io::Error> for NetError {
    fn from(e: &io::Error) -> Self {
        NetError::from_io(e)
    }
}

impl From<io::Error> for NetError {
    fn from(e: io::Error) -> Self {
        NetError::from_io(&e)
    }
}

impl From<hio_core::WakeError> for NetError {
    fn from(_: hio_core::WakeError) -> Self {
        NetError::NoWaker
    }
}
