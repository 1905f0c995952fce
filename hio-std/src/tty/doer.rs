//! [`TtyDoer`]: hio-embedded's SerialDoer on a [`Tty`], parked on the
//! reactor, and reopening the device when it comes back.

use std::cell::Cell;
use std::fmt;

use hio_core::{Cx, Doer, Fault, FaultKind, Pull, Push, Step, Tock, Waker};
use hio_embedded::{Frame, Framer, SerialDoer, SerialStats};
use mio::unix::SourceFd;
use mio::{Interest, Token};

use super::{Tty, TtyError};
use crate::reactor::Reactor;

/// How often a [`TtyDoer`] tries to reopen a device that went away.
pub const RETRY: Tock = Tock::from_millis(250);

/// What a [`TtyDoer`] tells the rest of its tree about its device, shared
/// by reference.
#[derive(Debug)]
pub struct TtyStatus {
    /// The device is open now.
    pub up: Cell<bool>,
    /// Times it went away.
    pub losses: Cell<u32>,
    /// Times it came back.
    pub returns: Cell<u32>,
    /// Frames for the device dropped because it was away.
    pub dropped: Cell<u64>,
    /// Why it last went away, or why the last reopen failed.
    pub error: Cell<Option<TtyError>>,
    /// Woken when the device goes away or comes back.
    watcher: Cell<Option<Waker>>,
}

impl Default for TtyStatus {
    fn default() -> Self {
        TtyStatus::new()
    }
}

impl TtyStatus {
    /// A device that is up, nothing counted.
    pub const fn new() -> Self {
        TtyStatus {
            up: Cell::new(true),
            losses: Cell::new(0),
            returns: Cell::new(0),
            dropped: Cell::new(0),
            error: Cell::new(None),
            watcher: Cell::new(None),
        }
    }

    /// Wakes `waker` whenever the device goes away or comes back.
    pub fn wake_on_change(&self, waker: Option<Waker>) {
        self.watcher.set(waker);
    }

    fn changed(&self) {
        if let Some(w) = self.watcher.get() {
            w.wake();
        }
    }
}

/// hio-embedded's [`SerialDoer`] on a [`Tty`], driven by the
/// [`Reactor`]: the tty is registered with the doer's waker, so the doer
/// parks until the device has bytes (or takes bytes again after it was
/// full), and runs at every pass only while it has work it could not
/// finish (its read budget ran out).
///
/// Wire the Decks to the same waker ([`waker`](TtyDoer::waker)):
/// `tx.wake_on_push(Some(w))` (a frame to send) and `rx.wake_on_pull(Some(w))`
/// (room for a frame it holds).
///
/// When the device goes away (unplugged; a pseudo-terminal's other end
/// closed) it logs it, counts it in its [`TtyStatus`], drops what waits
/// for the device (counted), and tries to reopen the device's path every
/// [`RETRY`] (a timer, not a busy loop); when the device is back, the flow
/// goes on.
pub struct TtyDoer<'a, F, const M: usize, const B: usize> {
    serial: SerialDoer<'a, Tty, F, M, B>,
    reactor: &'a Reactor,
    waker: Waker,
    rx: &'a dyn Push<Frame<M>>,
    tx: &'a dyn Pull<Frame<M>>,
    status: &'a TtyStatus,
    token: Option<Token>,
    tock: Tock,
    retry: Tock,
    /// The device's path (or the doer's name), for log lines.
    label: String,
    name: &'a str,
    framer: F,
    stats: &'a SerialStats,
}

impl<'a, F: Framer + Clone, const M: usize, const B: usize> TtyDoer<'a, F, M, B> {
    /// A doer named `name` moving frames between `tty` and the Decks
    /// (`rx`: frames from the device; `tx`: frames to it), counting in
    /// `stats` and `status`.
    ///
    /// # Errors
    ///
    /// [`hio_core::WakeError`] if the reactor's board has no room.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &'a str,
        reactor: &'a Reactor,
        tty: Tty,
        framer: F,
        rx: &'a dyn Push<Frame<M>>,
        tx: &'a dyn Pull<Frame<M>>,
        stats: &'a SerialStats,
        status: &'a TtyStatus,
    ) -> Result<Self, hio_core::WakeError> {
        let waker = reactor.waker()?;
        status.up.set(tty.lost().is_none());
        let label = match tty.path() {
            Some(p) => p.display().to_string(),
            None => name.to_string(),
        };
        let serial = SerialDoer::new(name, tty, framer.clone(), rx, tx, stats)
            .with_waker(waker)
            .with_budget(64 * 1024);
        Ok(TtyDoer {
            serial,
            reactor,
            waker,
            rx,
            tx,
            status,
            token: None,
            tock: Tock::NEVER,
            retry: RETRY,
            label,
            name,
            framer,
            stats,
        })
    }

    /// Tries to reopen a device that went away every `retry` instead of
    /// every [`RETRY`].
    pub fn with_retry(mut self, retry: Tock) -> Self {
        self.retry = retry;
        self
    }

    /// Its waker, for the Decks.
    pub fn waker(&self) -> Waker {
        self.waker
    }

    /// The tty.
    pub fn tty(&mut self) -> &mut Tty {
        self.serial.uart()
    }

    fn name_of(&self) -> &str {
        &self.label
    }

    fn register(&mut self) -> Result<(), TtyError> {
        let Some(fd) = self.serial.uart().raw_fd() else {
            return Err(TtyError::Lost);
        };
        let token = self
            .reactor
            .register(
                &mut SourceFd(&fd),
                Interest::READABLE | Interest::WRITABLE,
                self.waker,
            )
            .map_err(|e| TtyError::Io(e.kind()))?;
        self.token = Some(token);
        Ok(())
    }

    fn deregister(&mut self) {
        if let (Some(token), Some(fd)) = (self.token.take(), self.serial.uart().raw_fd()) {
            self.reactor.deregister(&mut SourceFd(&fd), token);
        }
    }

    /// The device went away: close it, drop what waits for it (in the
    /// Deck, and a frame half written: a fresh SerialDoer takes over the
    /// closed tty, with a fresh framer), retry.
    fn lost(&mut self, e: TtyError) {
        self.deregister();
        self.serial.uart().close();
        let fresh = SerialDoer::new(
            self.name,
            Tty::closed(),
            self.framer.clone(),
            self.rx,
            self.tx,
            self.stats,
        )
        .with_waker(self.waker)
        .with_budget(64 * 1024);
        let old = std::mem::replace(&mut self.serial, fresh);
        *self.serial.uart() = old.into_uart();
        let mut dropped = 0u64;
        while self.tx.pull().is_some() {
            dropped += 1;
        }
        let s = self.status;
        s.up.set(false);
        s.losses.set(s.losses.get().wrapping_add(1));
        s.dropped.set(s.dropped.get().wrapping_add(dropped));
        s.error.set(Some(e));
        s.changed();
        log::warn!(
            "serial: {}: {e}; {dropped} frames for it dropped; trying to reopen it every {} s",
            self.name_of(),
            self.retry
        );
        self.tock = self.retry;
    }

    /// Tries to reopen the device; whether it is back.
    fn reopen(&mut self) -> bool {
        match self.serial.uart().reopen() {
            Ok(()) => {}
            Err(e) => {
                if self.status.error.get() != Some(e) {
                    log::info!("serial: {}: not back yet: {e}", self.name_of());
                    self.status.error.set(Some(e));
                }
                return false;
            }
        }
        if let Err(e) = self.register() {
            self.serial.uart().close();
            self.status.error.set(Some(e));
            return false;
        }
        let s = self.status;
        s.up.set(true);
        s.returns.set(s.returns.get().wrapping_add(1));
        s.error.set(None);
        s.changed();
        log::warn!("serial: {}: the device is back", self.name_of());
        true
    }
}

impl<F: Framer + Clone, const M: usize, const B: usize> Doer for TtyDoer<'_, F, M, B> {
    fn name(&self) -> &str {
        self.serial.name()
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.serial.enter(cx)?;
        if self.serial.uart().lost().is_none() {
            self.register().map_err(|e| {
                log::error!("serial: cannot register the device: {e}");
                Fault::new(FaultKind::Io, "serial: cannot register the device")
            })?;
        }
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if self.token.is_none() && !self.reopen() {
            self.tock = self.retry;
            return Ok(Step::Continue);
        }
        self.serial.uart().clear_flags();
        let step = self.serial.recur(cx)?;
        if let Some(e) = self.serial.uart().lost() {
            self.lost(e);
            return Ok(step);
        }
        let inner = self.serial.tock();
        let tty = self.serial.uart();
        // busy only for what a wake will announce: the device's readiness
        // (it read the device empty, or found it full) or room in rx
        self.tock = if inner.is_never() || tty.read_empty() || self.rx.is_full() {
            Tock::NEVER
        } else {
            inner
        };
        Ok(step)
    }

    fn clean(&mut self, cx: &mut Cx<'_>) {
        self.serial.clean(cx);
    }

    fn cease(&mut self, cx: &mut Cx<'_>) {
        self.serial.cease(cx);
    }

    fn exit(&mut self, cx: &mut Cx<'_>) {
        self.serial.exit(cx);
        self.deregister();
        self.reactor.release(self.waker);
    }
}

impl<F, const M: usize, const B: usize> fmt::Debug for TtyDoer<'_, F, M, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtyDoer")
            .field("serial", &self.serial)
            .field("tock", &self.tock)
            .finish_non_exhaustive()
    }
}
