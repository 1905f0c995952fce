//! [`TtyDoer`]: a [`Tty`] read a chunk at a time and written through
//! hio-embedded's SerialDoer, parked on the reactor, and reopening the
//! device when it comes back.

use std::cell::Cell;
use std::fmt;

use hio_core::{Cx, Doer, Fault, FaultKind, Pull, Push, Step, Tock, Waker};
use hio_embedded::{Frame, FrameError, Framer, SerialDoer, SerialStats};
use mio::unix::SourceFd;
use mio::{Interest, Token};

use super::batch::Batched;
use super::cut::Cutter;
use super::{Device, Tty, TtyError};
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

/// A serial flow's I/O doer on a [`Tty`] (or any [`Device`]), driven by
/// the [`Reactor`]: the tty is registered with the doer's waker, so the
/// doer parks until the device has bytes (or takes bytes again after it
/// was full: room is waited for only while bytes wait for it), and runs at
/// every pass only while it has work it could not finish (its read budget
/// ran out).
///
/// It receives itself: the device is read in large chunks, and every
/// complete frame of a chunk is cut at once and handed to the rx Deck (a
/// frame the full Deck does not take is held, and the rest of the chunk
/// waits). It sends through hio-embedded's [`SerialDoer`]: what the
/// SerialDoer writes in a pass, frame by frame, is gathered and written to
/// the device in one write at the end of the pass (a bounded buffer:
/// frames beyond it wait in the Deck).
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
pub struct TtyDoer<'a, F, const M: usize, const B: usize, D = Tty> {
    /// `None` only while it is replaced (after a loss).
    serial: Option<SerialDoer<'a, Batched<D>, F, M, B>>,
    reactor: &'a Reactor,
    waker: Waker,
    rx: &'a dyn Push<Frame<M>>,
    tx: &'a dyn Pull<Frame<M>>,
    status: &'a TtyStatus,
    token: Option<Token>,
    /// Registered for room too (only while bytes wait for it: a device
    /// that is read from makes room all the time, and each would wake
    /// the doer for nothing).
    writable: bool,
    /// The device went away and is not back yet.
    absent: bool,
    tock: Tock,
    retry: Tock,
    /// The device's path (or the doer's name), for log lines.
    label: String,
    name: &'a str,
    framer: F,
    stats: &'a SerialStats,
    /// Receiving is done here, a chunk of the device at a time (the
    /// SerialDoer only sends): the chunk, where the framer is in it, and
    /// a frame the full rx Deck did not take yet.
    inbox: Inbox<F, M>,
    /// Lines are cut a chunk at a time ([`cut_lines`](TtyDoer::cut_lines)).
    lines: bool,
}

/// Bytes read from the device at once by a [`TtyDoer`] (at most what the
/// device hands over at once).
const CHUNK: usize = super::READ_CHUNK;

/// Bytes a [`TtyDoer`] takes from the device per pass at most, so one busy
/// line cannot starve the rest of the tree.
const BUDGET: usize = 64 * 1024;

/// A [`TtyDoer`]'s receiving side.
struct Inbox<F, const M: usize> {
    cut: Cutter<F>,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    held: Option<Frame<M>>,
}

impl<F: Framer + Clone, const M: usize> Inbox<F, M> {
    fn new(cut: Cutter<F>) -> Self {
        Inbox {
            cut,
            buf: vec![0; CHUNK].into_boxed_slice(),
            pos: 0,
            end: 0,
            held: None,
        }
    }

    /// Hands the held frame on; `false` when the Deck is still full.
    fn hand_on(&mut self, rx: &dyn Push<Frame<M>>, stats: &SerialStats) -> bool {
        let Some(frame) = self.held.take() else {
            return true;
        };
        match rx.push(frame) {
            Ok(()) => {
                bump(&stats.frames_in);
                true
            }
            Err(frame) => {
                self.held = Some(frame);
                bump(&stats.rx_full);
                false
            }
        }
    }

    /// Moves what the device has into frames on `rx`: a chunk read at
    /// once, every complete frame of it cut in one go. `true` when it
    /// stopped before the device was drained (a full rx Deck: the rest
    /// waits here; the budget used up).
    fn receive<D: Device>(
        &mut self,
        dev: &mut D,
        rx: &dyn Push<Frame<M>>,
        stats: &SerialStats,
    ) -> bool {
        if !self.hand_on(rx, stats) {
            return true;
        }
        let mut budget = BUDGET;
        loop {
            while self.pos < self.end {
                let chunk = self.buf.get(self.pos..self.end).unwrap_or(&[]);
                let held = &mut self.held;
                let mut dropped = None;
                let n = self.cut.next(chunk, |r| match r {
                    Ok(payload) if payload.len() <= M => {
                        // built where it is held: moved only into the Deck
                        let _ = held.insert(Frame::new()).extend_from_slice(payload);
                    }
                    Ok(_) => dropped = Some(FrameError::Overlong),
                    Err(e) => dropped = Some(e),
                });
                self.pos += n.max(1);
                if let Some(e) = dropped {
                    log::warn!("serial: frame dropped: {e}");
                    stats.frame_error(e);
                }
                if !self.hand_on(rx, stats) {
                    return true;
                }
            }
            if budget == 0 {
                return true;
            }
            let n = match dev.read_ready() {
                Ok(true) => dev.read(self.buf.get_mut(..budget.min(CHUNK)).unwrap_or(&mut [])),
                Ok(false) => return false,
                Err(e) => Err(e),
            };
            match n {
                Ok(0) => return false,
                Ok(n) => {
                    self.pos = 0;
                    self.end = n.min(self.buf.len());
                    budget = budget.saturating_sub(n);
                    let bytes = u32::try_from(n).unwrap_or(u32::MAX);
                    stats.bytes_in.set(stats.bytes_in.get().wrapping_add(bytes));
                }
                Err(e) => {
                    log::debug!("serial: read error: {e}");
                    stats.uart_error(e.into());
                    self.cut.resync();
                    return false;
                }
            }
        }
    }
}

fn bump(c: &std::cell::Cell<u32>) {
    c.set(c.get().wrapping_add(1));
}

impl<'a, F: Framer + Clone, const M: usize, const B: usize, D: Device> TtyDoer<'a, F, M, B, D> {
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
        tty: D,
        framer: F,
        rx: &'a dyn Push<Frame<M>>,
        tx: &'a dyn Pull<Frame<M>>,
        stats: &'a SerialStats,
        status: &'a TtyStatus,
    ) -> Result<Self, hio_core::WakeError> {
        let waker = reactor.waker()?;
        let absent = tty.lost().is_some();
        status.up.set(!absent);
        let label = tty.label().unwrap_or_else(|| name.to_string());
        let serial = SerialDoer::new(name, Batched::new(tty), framer.clone(), rx, tx, stats)
            .with_waker(waker)
            .with_budget(64 * 1024);
        Ok(TtyDoer {
            serial: Some(serial),
            reactor,
            waker,
            rx,
            tx,
            status,
            token: None,
            writable: false,
            absent,
            tock: Tock::NEVER,
            retry: RETRY,
            label,
            name,
            inbox: Inbox::new(Cutter::new(framer.clone())),
            lines: false,
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

    /// Its framer is [`Lines`](hio_embedded::Lines) of at most `M` bytes:
    /// received lines are cut a chunk at a time (the same lines, without
    /// feeding the framer byte by byte).
    pub(crate) fn cut_lines(mut self) -> Self {
        self.lines = true;
        self.inbox = Inbox::new(self.cutter());
        self
    }

    fn cutter(&self) -> Cutter<F> {
        if self.lines {
            Cutter::lines(self.framer.clone(), M)
        } else {
            Cutter::new(self.framer.clone())
        }
    }

    /// The device.
    pub fn device(&mut self) -> Option<&mut D> {
        self.serial.as_mut().map(|s| s.uart().device())
    }

    fn register(&mut self) -> Result<(), TtyError> {
        // a device with nothing to wait on (a replay) needs no registration
        let Some(fd) = self.device().and_then(|d| d.raw_fd()) else {
            return Ok(());
        };
        let interest = if self.writable {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let token = self
            .reactor
            .register(&mut SourceFd(&fd), interest, self.waker)
            .map_err(|e| TtyError::Io(e.kind()))?;
        self.token = Some(token);
        Ok(())
    }

    /// Registers the device for room too (`on`), or for bytes only. The
    /// registration looks at the device's state at once, so room that
    /// came before it is announced too.
    fn want_writable(&mut self, on: bool) -> Result<(), TtyError> {
        if on == self.writable || self.token.is_none() {
            return Ok(());
        }
        self.deregister();
        self.writable = on;
        self.register()
    }

    fn deregister(&mut self) {
        let fd = self.device().and_then(|d| d.raw_fd());
        if let (Some(token), Some(fd)) = (self.token.take(), fd) {
            self.reactor.deregister(&mut SourceFd(&fd), token);
        }
    }

    /// The device went away: close it, drop what waits for it (in the
    /// Deck, and a frame half written: a fresh SerialDoer takes over the
    /// closed device, with a fresh framer), retry.
    fn lost(&mut self, e: TtyError) {
        self.deregister();
        self.writable = false;
        if let Some(old) = self.serial.take() {
            // what was gathered for the device and not written is dropped
            let mut dev = old.into_uart().into_device();
            dev.close();
            self.serial = Some(
                SerialDoer::new(
                    self.name,
                    Batched::new(dev),
                    self.framer.clone(),
                    self.rx,
                    self.tx,
                    self.stats,
                )
                .with_waker(self.waker)
                .with_budget(64 * 1024),
            );
        }
        // and what was received of a frame, with the frame the rx Deck had
        // no room for
        self.inbox = Inbox::new(self.cutter());
        self.absent = true;
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
            self.label,
            self.retry
        );
        self.tock = self.retry;
    }

    /// Tries to reopen the device; whether it is back.
    fn reopen(&mut self) -> bool {
        let r = match self.device() {
            Some(d) => d.reopen(),
            None => Err(TtyError::Lost),
        };
        if let Err(e) = r {
            if self.status.error.get() != Some(e) {
                log::info!("serial: {}: not back yet: {e}", self.label);
                self.status.error.set(Some(e));
            }
            return false;
        }
        if let Err(e) = self.register() {
            if let Some(d) = self.device() {
                d.close();
            }
            self.status.error.set(Some(e));
            return false;
        }
        self.absent = false;
        let s = self.status;
        s.up.set(true);
        s.returns.set(s.returns.get().wrapping_add(1));
        s.error.set(None);
        s.changed();
        log::warn!("serial: {}: the device is back", self.label);
        true
    }
}

impl<F: Framer + Clone, const M: usize, const B: usize, D: Device> Doer
    for TtyDoer<'_, F, M, B, D>
{
    fn name(&self) -> &str {
        self.name
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if let Some(s) = self.serial.as_mut() {
            s.enter(cx)?;
        }
        if !self.absent {
            self.register().map_err(|e| {
                log::error!("serial: cannot register the device: {e}");
                Fault::new(FaultKind::Io, "serial: cannot register the device")
            })?;
        }
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes from one recur to the next
        cx.retock();
        if self.absent && !self.reopen() {
            self.tock = self.retry;
            return Ok(Step::Continue);
        }
        let Some(serial) = self.serial.as_mut() else {
            return Ok(Step::Continue);
        };
        serial.uart().clear_flags();
        // woken with frames to send, perhaps for them alone: the device is
        // asked before it is read; without, bytes were announced
        let probe = !self.tx.is_empty();
        // sending first, so a frame from a client is on its way before the
        // device is read; the SerialDoer finds nothing to read
        let step = serial.recur(cx)?;
        // what the pass wrote, in one write (an error is the device's
        // loss, looked at below; what failed is not tried again)
        if let Err(e) = serial.uart().push_out() {
            log::debug!("serial: {}: write failed: {e}", self.label);
            serial.uart().discard();
        }
        serial.uart().device().probe_reads(probe);
        let receiving = self
            .inbox
            .receive(serial.uart().device(), self.rx, self.stats);
        if let Some(e) = serial.uart().device().lost() {
            self.lost(e);
            return Ok(step);
        }
        // (its SerialDoer never reads: busy, it stopped at a full buffer
        // with a frame begun)
        let sending = !serial.tock().is_never();
        let busy = receiving || sending;
        let read_empty = serial.uart().device().read_empty();
        let pending = serial.uart().pending() > 0;
        // Written next pass: bytes gathered that the device did not take
        // although it did not refuse them, and a frame begun when the
        // device took all it was last given. (It may have refused bytes
        // earlier in this recur and made room since: no poll would tell.)
        let unwritten = (pending && !serial.uart().refused()) || (sending && !pending);
        // room is waited for only while bytes wait for it
        if let Err(e) = self.want_writable(pending) {
            self.lost(e);
            return Ok(step);
        }
        // busy only for what a wake will announce: the device's readiness
        // (it read the device empty, or found it full) or room in rx
        self.tock = if unwritten {
            Tock::ZERO
        } else if !busy || read_empty || self.rx.is_full() {
            Tock::NEVER
        } else {
            Tock::ZERO
        };
        Ok(step)
    }

    fn clean(&mut self, cx: &mut Cx<'_>) {
        if let Some(s) = self.serial.as_mut() {
            s.clean(cx);
        }
    }

    fn cease(&mut self, cx: &mut Cx<'_>) {
        if let Some(s) = self.serial.as_mut() {
            s.cease(cx);
        }
    }

    fn exit(&mut self, cx: &mut Cx<'_>) {
        if let Some(s) = self.serial.as_mut() {
            s.exit(cx);
        }
        self.deregister();
        self.reactor.release(self.waker);
    }
}

impl<F, const M: usize, const B: usize, D> fmt::Debug for TtyDoer<'_, F, M, B, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtyDoer")
            .field("label", &self.label)
            .field("absent", &self.absent)
            .field("tock", &self.tock)
            .finish_non_exhaustive()
    }
}
