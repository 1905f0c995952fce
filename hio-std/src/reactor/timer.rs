//! A timerfd: the reactor's precise deadline, registered in its poll (the
//! poll's own timeout counts in whole milliseconds).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use hio_core::Tyme;

/// A timer armed this much (or less) before a new deadline is kept: it
/// fires that much early at most (the Doist then waits again), where
/// arming it anew would cost a system call on every pass that has a
/// deadline. Deadlines such as a timeout's move by a pass's length from
/// one pass to the next.
const KEEP: u64 = 1_000_000;

/// A monotonic, non-blocking timerfd.
#[derive(Debug)]
pub(crate) struct TimerFd {
    fd: OwnedFd,
    /// The deadline it is armed for, while armed.
    armed: Option<Tyme>,
}

impl TimerFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create takes no pointers; a negative result is an
        // error.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(TimerFd { fd, armed: None })
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Fires once at `deadline`, `after` from now (at least one
    /// nanosecond) — unless it is armed already for a little earlier (see
    /// [`KEEP`]).
    pub(crate) fn arm(&mut self, deadline: Tyme, after: Duration) {
        if let Some(at) = self.armed {
            if at <= deadline && (deadline - at).as_nanos() <= KEEP {
                return;
            }
        }
        let after = after.max(Duration::from_nanos(1));
        self.set(libc::timespec {
            tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(after.subsec_nanos() as i32),
        });
        self.armed = Some(deadline);
    }

    /// Stops it, if armed.
    pub(crate) fn disarm(&mut self) {
        if self.armed.take().is_some() {
            self.set(libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            });
        }
    }

    /// It fired: read its count back to zero.
    pub(crate) fn fired(&mut self) {
        let mut buf = [0u8; 8];
        // SAFETY: at most 8 bytes into an 8-byte buffer; non-blocking.
        unsafe {
            libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len());
        }
        self.armed = None;
    }

    fn set(&self, value: libc::timespec) {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` is a valid itimerspec; the old value is not asked
        // for (null).
        unsafe {
            libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, core::ptr::null_mut());
        }
    }
}

/// Lets the calling thread's timers fire within a microsecond of their
/// deadline instead of Linux's default 50 µs slack: the reactor's waits
/// are often a few tens of microseconds (the next tick of a fine grid).
pub(crate) fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0);
    }
}
