//! Linux ttys as UARTs: [`Tty`] opens a serial device (or takes any
//! non-blocking file descriptor: a pseudo-terminal, a socket) and exposes
//! it through the `embedded-io` traits, so hio-embedded's
//! [`SerialDoer`](hio_embedded::SerialDoer) and framers drive it unchanged;
//! [`TtyDoer`] runs a tty on the [`Reactor`](crate::reactor::Reactor) (it
//! reads in chunks and frames them at once, and sends through that
//! SerialDoer, a pass's frames in one write), parked until the tty is
//! readable (or writable again), and reopens the device when it comes back
//! after it went away.
//!
//! ```no_run
//! use hio_std::tty::{Tty, TtyConfig};
//! let tty = Tty::open("/dev/ttyUSB0", TtyConfig::new(115_200))?;
//! # Ok::<(), hio_std::tty::TtyError>(())
//! ```
//!
//! [`Pty`] makes a pseudo-terminal pair: a simulated board on one end, a
//! program that expects a serial device on the other (its
//! [`path`](Pty::path)).

mod batch;
mod config;
mod cut;
mod device;
mod doer;
mod error;
mod pty;

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

pub use config::{Parity, StopBits, TtyConfig};
pub(crate) use cut::Cutter;
pub use device::Device;
pub use doer::{TtyDoer, TtyStatus, RETRY};
pub use error::TtyError;
pub use pty::Pty;

/// Bytes read from the device at once (served to the framer from memory).
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// A non-blocking tty (or any non-blocking byte stream's descriptor) with
/// the `embedded-io` traits.
///
/// - [`ReadReady`] reads what the device has into a buffer of its own and
///   answers whether there is a byte; `false` means the device had nothing
///   (the read would block), so an edge-triggered poll announces the next
///   byte.
/// - [`WriteReady`] asks the system whether the device takes bytes now.
/// - [`Read`] and [`Write`] never wait when their `*_ready` said yes (a
///   [`SerialDoer`](hio_embedded::SerialDoer) always asks first); called
///   without asking, they wait as `embedded-io` requires (a write at most
///   100 ms, then [`TtyError::Full`]).
///
/// A device that goes away (unplugged, a pseudo-terminal's other end
/// closed) is noticed on the next read or write: from then on it reads
/// nothing, takes nothing, and [`lost`](Tty::lost) says why, until
/// [`reopen`](Tty::reopen) succeeds.
pub struct Tty {
    fd: Option<OwnedFd>,
    path: Option<PathBuf>,
    config: Option<TtyConfig>,
    /// Kept open and never used (a pseudo-terminal's other end, so this
    /// end never reads its hang-up).
    hold: Option<OwnedFd>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    lost: Option<TtyError>,
    /// A read found nothing since the flags were cleared.
    read_empty: bool,
    /// The device refused bytes since the flags were cleared.
    write_full: bool,
    /// Ask the system (a poll) before a read whether there are bytes.
    probe: bool,
}

/// `open(2)` of `path` for reading and writing, non-blocking, not as the
/// controlling terminal.
fn open_fd(path: &Path) -> Result<OwnedFd, TtyError> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| TtyError::NotFound)?;
    // SAFETY: `c` is a NUL-terminated path that lives across the call.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(TtyError::from_io(&io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets `fd` up as `config` says.
fn configure(fd: RawFd, config: &TtyConfig) -> Result<(), TtyError> {
    // SAFETY: an all-zero termios is a valid value, overwritten by tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a live termios for tcgetattr to fill.
    if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
        return Err(TtyError::from_io(&io::Error::last_os_error()));
    }
    config.apply(&mut t)?;
    // SAFETY: `t` is a live, filled termios.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) } != 0 {
        return Err(TtyError::from_io(&io::Error::last_os_error()));
    }
    Ok(())
}

/// Makes `fd` non-blocking.
fn set_nonblocking(fd: RawFd) -> Result<(), TtyError> {
    // SAFETY: fcntl with F_GETFL/F_SETFL takes and returns integers only.
    let r = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)
        }
    };
    if r < 0 {
        return Err(TtyError::from_io(&io::Error::last_os_error()));
    }
    Ok(())
}

/// `poll(2)` of one descriptor for `events`, waiting at most `ms`
/// milliseconds (0: not at all); the events that came.
fn poll_fd(fd: RawFd, events: libc::c_short, ms: libc::c_int) -> libc::c_short {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: one live pollfd, and its count.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r >= 0 {
            return p.revents;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return libc::POLLERR;
        }
    }
}

/// What a failed `write(2)` on a device means.
fn write_error(e: &io::Error) -> TtyError {
    match e.raw_os_error() {
        Some(libc::EIO | libc::EPIPE | libc::ENXIO | libc::ECONNRESET) => TtyError::Lost,
        _ => TtyError::from_io(e),
    }
}

impl Tty {
    /// Opens the serial device at `path` and sets it up as `config` says.
    ///
    /// # Errors
    ///
    /// [`TtyError::NotFound`], [`TtyError::PermissionDenied`],
    /// [`TtyError::NotATty`], [`TtyError::Busy`], [`TtyError::Baud`]: each
    /// says what to fix.
    pub fn open(path: impl AsRef<Path>, config: TtyConfig) -> Result<Tty, TtyError> {
        let path = path.as_ref();
        let fd = open_fd(path)?;
        configure(fd.as_raw_fd(), &config)?;
        let mut tty = Tty::from_fd(fd)?;
        tty.path = Some(path.to_path_buf());
        tty.config = Some(config);
        Ok(tty)
    }

    /// A tty on `fd`, as it is set up (a pseudo-terminal's master, a
    /// socket: anything `read(2)` and `write(2)` move bytes on), made
    /// non-blocking.
    ///
    /// # Errors
    ///
    /// The descriptor cannot be made non-blocking.
    pub fn from_fd(fd: OwnedFd) -> Result<Tty, TtyError> {
        set_nonblocking(fd.as_raw_fd())?;
        Ok(Tty {
            fd: Some(fd),
            path: None,
            config: None,
            hold: None,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            lost: None,
            read_empty: false,
            write_full: false,
            probe: false,
        })
    }

    /// A tty with no device (gone away).
    pub(crate) fn closed() -> Tty {
        Tty {
            fd: None,
            path: None,
            config: None,
            hold: None,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            lost: Some(TtyError::Lost),
            read_empty: false,
            write_full: false,
            probe: false,
        }
    }

    /// Keeps `fd` open for as long as this tty lives (the other end of a
    /// pseudo-terminal pair).
    pub(crate) fn holding(mut self, fd: OwnedFd) -> Tty {
        self.hold = Some(fd);
        self
    }

    /// The path it was opened at, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Its descriptor, while it is open.
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.fd.as_ref().map(|f| f.as_raw_fd())
    }

    /// Why the device went away, if it did (and was not reopened since).
    pub fn lost(&self) -> Option<TtyError> {
        self.lost
    }

    /// Closes the device (after it went away): reads and writes find
    /// nothing until [`reopen`](Tty::reopen).
    pub fn close(&mut self) {
        if self.lost.is_none() {
            self.lost = Some(TtyError::Lost);
        }
        self.fd = None;
        self.hold = None;
        self.start = 0;
        self.end = 0;
    }

    /// Opens the device at its path again, with its configuration.
    ///
    /// # Errors
    ///
    /// As [`open`](Tty::open); [`TtyError::NotFound`] for a tty made
    /// [`from_fd`](Tty::from_fd), which has no path.
    pub fn reopen(&mut self) -> Result<(), TtyError> {
        let (Some(path), Some(config)) = (self.path.clone(), self.config) else {
            return Err(TtyError::NotFound);
        };
        let fresh = Tty::open(path, config)?;
        self.fd = fresh.fd;
        self.lost = None;
        self.start = 0;
        self.end = 0;
        self.read_empty = false;
        self.write_full = false;
        Ok(())
    }

    /// Clears the flags [`read_empty`](Tty::read_empty) and
    /// [`write_full`](Tty::write_full).
    pub fn clear_flags(&mut self) {
        self.read_empty = false;
        self.write_full = false;
    }

    /// From now on (`on`), asks the system whether the device has bytes
    /// (a `poll(2)` that does not wait) before it reads it: a read of a
    /// terminal that finds nothing costs several times as much as the
    /// poll. Worth it when a look may well find nothing (a doer woken to
    /// send); not when bytes were announced (`false`: the read at once,
    /// as by default).
    pub fn probe_reads(&mut self, on: bool) {
        self.probe = on;
    }

    /// Whether a read found the device empty since
    /// [`clear_flags`](Tty::clear_flags): the next byte will be announced
    /// by the poll.
    pub fn read_empty(&self) -> bool {
        self.read_empty
    }

    /// Whether the device refused bytes since
    /// [`clear_flags`](Tty::clear_flags): room will be announced by the
    /// poll.
    pub fn write_full(&self) -> bool {
        self.write_full
    }

    /// Writes what the device takes now and never waits: `Ok(0)` when it
    /// takes nothing (it is full: room is announced by the poll, and
    /// [`write_full`](Tty::write_full) says so).
    ///
    /// # Errors
    ///
    /// As [`Write::write`]: the device went away ([`TtyError::Lost`]) or
    /// failed; either is final until [`reopen`](Tty::reopen).
    pub fn write_now(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        let mut done = 0;
        while done < bytes.len() {
            if let Some(e) = self.lost {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            let Some(fd) = self.raw_fd() else {
                return Err(TtyError::Lost);
            };
            let rest = bytes.get(done..).unwrap_or(&[]);
            // SAFETY: writes at most `rest.len()` bytes from the live slice.
            let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
            if n > 0 {
                done += n as usize;
                continue;
            }
            if n == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => {
                    self.write_full = true;
                    break;
                }
                io::ErrorKind::Interrupted => {}
                _ => {
                    let t = write_error(&e);
                    self.lose(t);
                    if done > 0 {
                        break;
                    }
                    return Err(t);
                }
            }
        }
        Ok(done)
    }

    fn lose(&mut self, e: TtyError) {
        if self.lost.is_none() {
            log::debug!("tty: lost: {e}");
        }
        self.lost = Some(e);
    }

    /// Fills the buffer if it is empty; whether it has a byte.
    fn fill(&mut self) -> Result<bool, TtyError> {
        if self.start < self.end {
            return Ok(true);
        }
        if self.lost.is_some() {
            return Ok(false);
        }
        let Some(fd) = self.fd.as_ref().map(|f| f.as_raw_fd()) else {
            return Ok(false);
        };
        // nothing at all (no bytes, no hang-up, no error): no read
        if self.probe && poll_fd(fd, libc::POLLIN, 0) == 0 {
            self.read_empty = true;
            return Ok(false);
        }
        loop {
            // SAFETY: reads at most `buf.len()` bytes into the live buffer.
            let n = unsafe { libc::read(fd, self.buf.as_mut_ptr().cast(), self.buf.len()) };
            if n > 0 {
                self.start = 0;
                self.end = n as usize;
                return Ok(true);
            }
            if n == 0 {
                // a tty that was hung up, a socket whose peer closed
                self.lose(TtyError::Lost);
                return Ok(false);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => {
                    self.read_empty = true;
                    return Ok(false);
                }
                io::ErrorKind::Interrupted => {}
                _ => {
                    let t = TtyError::from_io(&e);
                    if matches!(t, TtyError::Lost) || e.raw_os_error() == Some(libc::ENXIO) {
                        self.lose(TtyError::Lost);
                        return Ok(false);
                    }
                    // anything else is as final for a device
                    self.lose(t);
                    return Err(t);
                }
            }
        }
    }
}

impl ErrorType for Tty {
    type Error = TtyError;
}

impl ReadReady for Tty {
    fn read_ready(&mut self) -> Result<bool, TtyError> {
        self.fill()
    }
}

impl Read for Tty {
    fn read(&mut self, out: &mut [u8]) -> Result<usize, TtyError> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.fill()? {
                let n = (self.end - self.start).min(out.len());
                let src = self.buf.get(self.start..self.start + n).unwrap_or(&[]);
                if let Some(dst) = out.get_mut(..n) {
                    dst.copy_from_slice(src);
                }
                self.start += n;
                return Ok(n);
            }
            let Some(fd) = self.raw_fd().filter(|_| self.lost.is_none()) else {
                return Ok(0); // end of data: the device went away
            };
            // embedded-io's read waits for a byte
            poll_fd(fd, libc::POLLIN, -1);
        }
    }
}

impl WriteReady for Tty {
    fn write_ready(&mut self) -> Result<bool, TtyError> {
        if self.lost.is_some() {
            return Ok(false);
        }
        let Some(fd) = self.raw_fd() else {
            return Ok(false);
        };
        let r = poll_fd(fd, libc::POLLOUT, 0);
        if r & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 && r & libc::POLLOUT == 0 {
            self.lose(TtyError::Lost);
            return Ok(false);
        }
        let ready = r & libc::POLLOUT != 0;
        if !ready {
            self.write_full = true;
        }
        Ok(ready)
    }
}

impl Write for Tty {
    fn write(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let mut waited = false;
        loop {
            if let Some(e) = self.lost {
                return Err(e);
            }
            let Some(fd) = self.raw_fd() else {
                return Err(TtyError::Lost);
            };
            // SAFETY: writes at most `bytes.len()` bytes from the live slice.
            let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
            if n > 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock if !waited => {
                    self.write_full = true;
                    waited = true;
                    poll_fd(fd, libc::POLLOUT, 100);
                }
                io::ErrorKind::WouldBlock => return Err(TtyError::Full),
                io::ErrorKind::Interrupted => {}
                _ => {
                    let t = write_error(&e);
                    self.lose(t);
                    return Err(t);
                }
            }
        }
    }

    fn flush(&mut self) -> Result<(), TtyError> {
        // what was written is in the kernel's buffer: it goes out on its own
        Ok(())
    }
}

impl fmt::Debug for Tty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tty")
            .field("path", &self.path)
            .field("fd", &self.raw_fd())
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}
