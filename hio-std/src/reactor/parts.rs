//! The `'static` parts a reactor lends its Doist: a wake board, the pender
//! that ends the reactor's poll, and a stop flag. They live for the whole
//! process (a Doist's board must be `'static`) and are pooled: a dropped
//! reactor gives its parts back, reset, for the next one.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

use hio_core::{Pender, StopFlag, WakeBoard};

/// How many doers (and DoDoers above them) one reactor's board can wake:
/// one slot per socket doer (a server takes two, its acceptor and its
/// remoter, however many connections it serves; a client one), plus a few
/// for the DoDoers and application doers. Every pass with a wake scans
/// the board's summary flags, so it is no larger than that needs.
pub const BOARD_SLOTS: usize = 4096;

/// The board type of a [`Reactor`](crate::reactor::Reactor).
pub type Board = WakeBoard<BOARD_SLOTS>;

/// A [`Pender`] on an eventfd registered in the reactor's poll.
///
/// It writes to the eventfd only while the reactor sleeps in its poll (the
/// `sleeping` flag, raised by the clock before it checks for wakes one last
/// time): wakes made by the Doist's own thread between polls cost one
/// atomic load. The write is async-signal-safe and never blocks.
#[derive(Debug)]
pub(crate) struct EventPender {
    fd: OwnedFd,
    pub(crate) sleeping: AtomicBool,
    /// How many times it wrote to the eventfd.
    pub(crate) pends: AtomicU64,
}

impl EventPender {
    fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; a negative result is an error.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventPender {
            fd,
            sleeping: AtomicBool::new(false),
            pends: AtomicU64::new(0),
        })
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads the eventfd back to zero.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into an 8-byte buffer; the fd is
        // non-blocking, so this never waits.
        unsafe {
            libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len());
        }
    }
}

impl Pender for EventPender {
    fn pend(&self) {
        if self.sleeping.load(SeqCst) {
            self.pends.fetch_add(1, SeqCst);
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64; write(2) is
            // async-signal-safe and the fd is non-blocking. A full counter
            // (EAGAIN) already means "pending", so the result is ignored.
            unsafe {
                libc::write(
                    self.fd.as_raw_fd(),
                    (&one as *const u64).cast(),
                    core::mem::size_of::<u64>(),
                );
            }
        }
    }
}

/// A reactor's `'static` parts.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) board: Board,
    pub(crate) pender: &'static EventPender,
    pub(crate) stop: StopFlag,
}

static POOL: Mutex<Vec<&'static Parts>> = Mutex::new(Vec::new());

impl Parts {
    /// Parts from the pool, or new ones (leaked: they live as long as the
    /// process, and go back to the pool when their reactor is dropped).
    pub(crate) fn take() -> io::Result<&'static Parts> {
        if let Ok(mut pool) = POOL.lock() {
            if let Some(p) = pool.pop() {
                return Ok(p);
            }
        }
        let pender: &'static EventPender = Box::leak(Box::new(EventPender::new()?));
        let parts = Box::leak(Box::new(Parts {
            board: WakeBoard::with_pender(pender),
            pender,
            stop: StopFlag::with_pender(pender),
        }));
        Ok(parts)
    }

    /// Resets the parts and gives them back to the pool.
    pub(crate) fn give_back(parts: &'static Parts) {
        parts.board.reset();
        parts.stop.reset();
        parts.pender.sleeping.store(false, SeqCst);
        parts.pender.drain();
        if let Ok(mut pool) = POOL.lock() {
            pool.push(parts);
        }
    }
}
