//! [`Pty`]: a pseudo-terminal pair, a serial line inside the host.

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::{configure, Tty, TtyConfig, TtyError};

/// A pseudo-terminal pair in raw mode: a simulated device talks on
/// [`into_tty`](Pty::into_tty) (the master end) while a program that wants
/// a serial device opens [`path`](Pty::path) (the slave end, e.g.
/// `/dev/pts/3`), exactly as it would open `/dev/ttyUSB0`.
///
/// The pair keeps a descriptor of the slave end open for as long as the
/// master end lives, so the master never reads a hang-up while no program
/// has the slave open; dropping the master's [`Tty`] closes both, and a
/// program on the slave end sees its device go away.
///
/// ```
/// use embedded_io::{Read, ReadReady, Write};
/// use hio_std::tty::{Pty, Tty, TtyConfig};
///
/// let pty = Pty::open()?;
/// let mut device = Tty::open(pty.path(), TtyConfig::default())?;
/// let mut board = pty.into_tty();
/// board.write(b"beat 1 0.0\n")?;
/// let mut got = [0u8; 11];
/// let mut n = 0;
/// while n < got.len() {
///     n += device.read(&mut got[n..])?;
/// }
/// assert_eq!(&got, b"beat 1 0.0\n");
/// # Ok::<(), hio_std::tty::TtyError>(())
/// ```
pub struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
    path: PathBuf,
}

impl Pty {
    /// A new pair, both ends raw (8N1, no echo, no translation).
    ///
    /// # Errors
    ///
    /// [`TtyError::NoPty`] if the system has no pseudo-terminal to give.
    pub fn open() -> Result<Pty, TtyError> {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two descriptors into the two live ints;
        // the name, termios and window size pointers may be null.
        let r = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if r != 0 || master < 0 || slave < 0 {
            log::warn!("pty: openpty failed: {}", io::Error::last_os_error());
            return Err(TtyError::NoPty);
        }
        // SAFETY: both are fresh descriptors that nothing else owns.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        for fd in [&master, &slave] {
            // SAFETY: FD_CLOEXEC on a descriptor this function owns.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // raw before anything is written: no echo of the board's own lines
        configure(slave.as_raw_fd(), &TtyConfig::default())?;
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: ptsname_r writes at most `name.len()` bytes, NUL included.
        let r = unsafe { libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) };
        if r != 0 {
            return Err(TtyError::NoPty);
        }
        // SAFETY: ptsname_r succeeded, so `name` holds a NUL-terminated string.
        let path = unsafe { CStr::from_ptr(name.as_ptr()) };
        let path = PathBuf::from(path.to_string_lossy().into_owned());
        Ok(Pty {
            master,
            slave,
            path,
        })
    }

    /// The slave end's path, to open as a serial device.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The master end, as a [`Tty`] (holding the slave end open). A master
    /// that cannot be made non-blocking (which does not happen on Linux)
    /// is returned closed, as a device that went away.
    pub fn into_tty(self) -> Tty {
        let master = self.master;
        let slave = self.slave;
        match Tty::from_fd(master) {
            Ok(t) => t.holding(slave),
            Err(e) => {
                let mut t = Tty::closed();
                t.lose(e);
                t
            }
        }
    }
}

impl fmt::Debug for Pty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pty")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
