//! Parking and waking (feature `wake`): [`WakeBoard`], [`Waker`],
//! [`Pender`].
//!
//! A doer whose tock is [`Tock::NEVER`](crate::Tock::NEVER) is *parked*
//! after each recur: it costs nothing until something wakes it. What wakes
//! it holds a [`Waker`], a small `Copy` handle to one slot of a
//! [`WakeBoard`]. A wake is three atomic stores (no compare-and-swap, so it
//! works on a Cortex-M0 too) and is safe from an interrupt handler, another
//! thread or a signal handler. The [`Doist`](crate::Doist) drains the board:
//! before each pass for wakes from outside, and right after a recur for
//! wakes made during it, so a consumer after its producer in canonical
//! order gets a pushed item in the same pass (SEMANTICS.md, "Waiting for
//! events").
//!
//! ```
//! use hio_core::{Cx, Doer, Doist, End, Fault, SimClock, Step, Tock, Tyme, WakeBoard, Waker};
//!
//! /// Parks until woken; counts its recurs.
//! struct Io { waker: Waker, recurs: u32 }
//! impl Doer for Io {
//!     fn tock(&self) -> Tock { Tock::NEVER }
//!     fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
//!         cx.attach(self.waker).map_err(|_| Fault::failed("no waker"))?;
//!         Ok(Step::Continue)
//!     }
//!     fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
//!         self.recurs += 1;
//!         Ok(Step::Continue)
//!     }
//! }
//!
//! static BOARD: WakeBoard<4> = WakeBoard::new();
//! let waker = BOARD.waker().unwrap();
//! let mut io = Io { waker, recurs: 0 };
//! let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(100)).unwrap()
//!     .with_limit(Tock::from_secs(10));
//! doist.wakes(&BOARD);
//! doist.add(&mut io).unwrap();
//! // woken twice, at 2.05 s and 7 s of simulated time
//! let plan = [(Tyme::from_millis(2050), waker), (Tyme::from_secs(7), waker)];
//! let report = doist.run(&mut SimClock::with_wakes(&plan), None);
//! assert_eq!(report.end, End::Limit);
//! drop(doist);
//! assert_eq!(io.recurs, 3); // at 0 (its entry), 2.1 s and 7 s
//! ```

use core::fmt;
use core::sync::atomic::{
    fence, AtomicBool, AtomicU16, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
    Ordering::SeqCst,
};

/// Interrupts a clock's wait from elsewhere: another thread, an interrupt
/// handler, a signal handler. A host reactor's pender writes to its poll's
/// waker; on a microcontroller the interrupt itself ends `WFI`, so none is
/// needed there.
///
/// `pend` MUST be safe to call from wherever wakes are made (for a signal
/// handler: async-signal-safe) and MUST NOT block. A pend that comes while
/// the clock is not waiting MUST make its next wait return at once (it is
/// sticky, like an eventfd or a thread's unpark token).
pub trait Pender: Sync {
    /// Makes the clock's current or next wait return.
    fn pend(&self);
}

/// Why a doer could not be attached to a [`Waker`], or a waker made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WakeError {
    /// Every slot of the board is taken: build it with a larger capacity
    /// (one slot per doer that may be woken, plus one per DoDoer above
    /// them).
    Full,
    /// The Doist running this doer drains no board, or another one: give it
    /// this waker's board with [`Doist::wakes`](crate::Doist::wakes).
    Foreign,
    /// The waker was released (or its board reset): make a new one.
    Stale,
    /// Attaching is possible in `enter` and `recur` only.
    NotRunning,
    /// The doer is nested deeper than [`MAX_DEPTH`] levels below the Doist.
    TooDeep,
}

impl fmt::Display for WakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WakeError::Full => "the wake board is full; build it with a larger capacity (a slot per doer that may be woken, plus one per DoDoer above them)",
            WakeError::Foreign => "the Doist drains no board or another one; give it this waker's board with `Doist::wakes`",
            WakeError::Stale => "the waker was released or its board reset; make a new one with `WakeBoard::waker`",
            WakeError::NotRunning => "a doer can attach a waker in `enter` and `recur` only",
            WakeError::TooDeep => "the doer is nested too deep for a waker (at most 32 levels below the Doist)",
        })
    }
}

impl core::error::Error for WakeError {}

/// The most slots a [`WakeBoard`] may have.
pub const MAX_SLOTS: usize = 32_765;

/// How many levels below the Doist a woken doer may be nested.
pub const MAX_DEPTH: usize = 32;

/// No slot.
pub(crate) const NONE: u16 = u16::MAX;
/// The parent link of a doer run by the Doist itself.
pub(crate) const ROOT: u16 = u16::MAX - 1;
/// Slots per block of the board's summary.
const BLOCK: usize = 8;
/// Boards of at most this many slots have no summary: a drain scans them.
const SMALL: usize = 64;
/// Blocks per group of the board's summary.
const GROUP: usize = 8;

/// One slot of a board. Only the thread that runs the Doist changes a
/// slot (wakes read `gen` alone), so its fields are relaxed atomics: they
/// are atomic to be shared, not to order memory, which wakes and drains do
/// with the flags.
struct Slot {
    /// Bumped each time the slot is released: a [`Waker`] of an earlier
    /// generation does nothing.
    gen: AtomicU16,
    /// The slot of the deed's scheduler's owner ([`ROOT`] at the top,
    /// [`NONE`] while the slot is bound to no deed).
    parent: Link,
    /// The deed's index in its scheduler.
    index: AtomicU16,
    /// The next free slot, while this one is free.
    next_free: Link,
    /// Allocated by a scheduler for a DoDoer (released when it ends).
    implicit: AtomicBool,
    /// Allocated (not on the free list).
    taken: AtomicBool,
}

/// A slot number ([`NONE`] for none) kept as its complement, so that
/// [`NONE`] is stored as zero and a new board is all zeros: in a `static`
/// on a microcontroller it takes no flash (`.bss`, not `.data`). Relaxed,
/// as a slot's fields are.
struct Link(AtomicU16);

impl Link {
    /// No slot.
    const fn none() -> Link {
        Link(AtomicU16::new(!NONE))
    }

    #[inline(always)]
    fn get(&self) -> u16 {
        !self.0.load(Relaxed)
    }

    #[inline(always)]
    fn set(&self, slot: u16) {
        self.0.store(!slot, Relaxed);
    }
}

impl Slot {
    const fn new() -> Self {
        Slot {
            gen: AtomicU16::new(0),
            parent: Link::none(),
            index: AtomicU16::new(0),
            next_free: Link::none(),
            implicit: AtomicBool::new(false),
            taken: AtomicBool::new(false),
        }
    }
}

/// The slots that [`Waker`]s point into, drained by a
/// [`Doist`](crate::Doist): up to `W` doers that may be woken (and the
/// DoDoers above them), in memory the caller provides (a `static` on a
/// microcontroller), with no heap and no `unsafe`.
///
/// Wakes are atomic stores only, so a board is shared safely with
/// interrupt handlers and other threads. Making and releasing wakers, and
/// everything the Doist does with the board, happens on the thread that
/// runs the Doist (or before its run).
///
/// A slot costs 13 bytes (with its flags); a drain with nothing woken looks at
/// one flag, and one with K slots woken at one flag per 64 slots and a few
/// per woken slot.
pub struct WakeBoard<const W: usize> {
    slots: [Slot; W],
    /// Woken since the last drain, per slot (apart from the slots, so that a
    /// drain reads 32 flags from one cache line).
    pending: [AtomicBool; W],
    /// One flag per block of [`BLOCK`] slots (the first ⌈W / 8⌉ are used).
    blocks: [AtomicBool; W],
    /// One flag per group of [`GROUP`] blocks (the first ⌈W / 64⌉ are
    /// used).
    groups: [AtomicBool; W],
    /// Anything woken since the last drain.
    any: AtomicBool,
    /// Slots never allocated yet start here.
    fresh: AtomicU16,
    /// Head of the list of released slots.
    free: Link,
    pender: Option<&'static dyn Pender>,
}

impl<const W: usize> WakeBoard<W> {
    /// An empty board whose wakes need no pender (a microcontroller, where
    /// the waking interrupt ends the clock's `WFI`, or simulated time).
    pub const fn new() -> Self {
        // (a scheduler marks a deed's slot number with its top bit)
        const { assert!(W <= MAX_SLOTS, "a wake board holds at most 32 765 slots") };
        WakeBoard {
            slots: [const { Slot::new() }; W],
            pending: [const { AtomicBool::new(false) }; W],
            blocks: [const { AtomicBool::new(false) }; W],
            groups: [const { AtomicBool::new(false) }; W],
            any: AtomicBool::new(false),
            fresh: AtomicU16::new(0),
            free: Link::none(),
            pender: None,
        }
    }

    /// An empty board whose every wake also calls `pender` (a host
    /// reactor's, so that a wake from another thread ends its poll).
    pub const fn with_pender(pender: &'static dyn Pender) -> Self {
        let mut b = Self::new();
        b.pender = Some(pender);
        b
    }

    /// A new waker: one slot of the board, bound to no doer yet. A doer
    /// takes it on with [`Cx::attach`](crate::Cx::attach); until then (and
    /// after that doer ends) waking it does nothing.
    ///
    /// Call it on the thread that runs the Doist, or before the run.
    pub fn waker(&'static self) -> Result<Waker, WakeError> {
        let slot = Board::alloc(self, false).ok_or(WakeError::Full)?;
        let gen = self.slot(slot).map_or(0, |s| s.gen.load(Relaxed));
        Ok(Waker {
            board: self,
            slot,
            gen,
        })
    }

    /// Gives a waker's slot back: that waker (and its copies) then does
    /// nothing, and the slot may serve another doer. The doer it was
    /// attached to, if still running, can no longer be woken through it.
    pub fn release(&self, waker: Waker) {
        if self.is(waker.board) && self.current(waker.slot, waker.gen) {
            self.unbind(waker.slot);
            self.free_slot(waker.slot);
        }
    }

    /// Releases every slot at once: every waker made so far does nothing
    /// from now on. For reusing a board between runs; not during one.
    pub fn reset(&self) {
        for p in &self.pending {
            p.store(false, Relaxed);
        }
        for s in &self.slots {
            s.gen.store(s.gen.load(Relaxed).wrapping_add(1), Relaxed);
            s.parent.set(NONE);
            s.implicit.store(false, Relaxed);
            s.taken.store(false, Relaxed);
        }
        for b in self.blocks.iter().chain(&self.groups) {
            b.store(false, Relaxed);
        }
        self.any.store(false, Relaxed);
        self.fresh.store(0, Relaxed);
        self.free.set(NONE);
    }

    /// How many slots are taken.
    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.taken.load(Relaxed)).count()
    }

    /// Its capacity, `W`.
    pub const fn capacity(&self) -> usize {
        W
    }

    fn slot(&self, slot: u16) -> Option<&Slot> {
        self.slots.get(usize::from(slot))
    }

    fn is(&self, other: &dyn Board) -> bool {
        core::ptr::addr_eq(self as *const Self, other as *const dyn Board)
    }

    fn current(&self, slot: u16, gen: u16) -> bool {
        self.slot(slot)
            .is_some_and(|s| s.taken.load(Relaxed) && s.gen.load(Relaxed) == gen)
    }

    /// Lowers the raised block flags of group `g`; returns them, a bit per
    /// block.
    fn lower_blocks(&self, g: usize) -> u8 {
        let first = g * GROUP;
        let flags = self
            .blocks
            .get(first..(first + GROUP).min(W))
            .unwrap_or(&[]);
        let mut raised = 0u8;
        for (k, flag) in flags.iter().enumerate() {
            if flag.load(Acquire) {
                flag.store(false, Relaxed);
                raised |= 1 << k;
            }
        }
        raised
    }

    /// The woken slots of block `b`, whose flag is lowered.
    fn drain_block(&self, b: usize, f: &mut dyn FnMut(u16, u16, u16)) {
        let lo = b * BLOCK;
        self.drain_slots(lo, (lo + BLOCK).min(W), f);
    }

    /// The woken slots from `lo` to `hi`.
    fn drain_slots(&self, lo: usize, hi: usize, f: &mut dyn FnMut(u16, u16, u16)) {
        let flags = self.pending.get(lo..hi).unwrap_or(&[]);
        for (k, p) in flags.iter().enumerate() {
            if !p.load(Acquire) {
                continue;
            }
            // lowered before the wake is applied: a wake after this runs the
            // doer again, one before it is served now
            p.store(false, Relaxed);
            // (a slot bound to no deed wakes nothing)
            if let Some(s) = self.slots.get(lo + k) {
                let parent = s.parent.get();
                if parent != NONE {
                    f((lo + k) as u16, parent, s.index.load(Relaxed));
                }
            }
        }
    }

    fn unpend(&self, slot: u16) {
        if let Some(p) = self.pending.get(usize::from(slot)) {
            p.store(false, Relaxed);
        }
    }

    fn free_slot(&self, slot: u16) {
        let Some(s) = self.slot(slot) else { return };
        if !s.taken.load(Relaxed) {
            return;
        }
        s.taken.store(false, Relaxed);
        s.gen.store(s.gen.load(Relaxed).wrapping_add(1), Relaxed);
        self.unpend(slot);
        s.implicit.store(false, Relaxed);
        s.next_free.set(self.free.get());
        self.free.set(slot);
    }
}

impl<const W: usize> Default for WakeBoard<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize> fmt::Debug for WakeBoard<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeBoard")
            .field("capacity", &W)
            .field("used", &self.used())
            .field("woken", &self.any.load(Relaxed))
            .finish()
    }
}

/// What the scheduler needs of a board, whatever its capacity. Implemented
/// by [`WakeBoard`] only.
#[doc(hidden)]
pub trait Board: Sync {
    /// Records a wake of `slot` if `gen` is its generation.
    fn wake(&self, slot: u16, gen: u16);
    /// Records a wake of `slot` made by the scheduler itself.
    #[cfg(feature = "requests")]
    fn poke(&self, slot: u16);
    /// Calls `f(slot, parent, index)` for every bound slot woken since the
    /// last drain, with its link ([`link`](Board::link)), and lowers their
    /// flags (each flag before its slot is handed on, so a wake that comes
    /// meanwhile is kept for the next drain).
    fn drain(&self, f: &mut dyn FnMut(u16, u16, u16));
    /// A free slot, unbound; `implicit` for a DoDoer's, released when it
    /// is unbound. (One function for wakers and DoDoers: a tree without
    /// DoDoers links no code of theirs.)
    fn alloc(&self, implicit: bool) -> Option<u16>;
    /// Whether `slot` is allocated with generation `gen`.
    fn valid(&self, slot: u16, gen: u16) -> bool;
    /// Binds `slot` to the deed at `index` of the scheduler whose owner's
    /// slot is `parent`; a wake left from before is dropped.
    fn bind(&self, slot: u16, parent: u16, index: u16);
    /// Unbinds `slot` if it is still bound to the deed at `index` of the
    /// scheduler whose owner's slot is `parent`.
    fn unbind_from(&self, slot: u16, parent: u16, index: u16);
    /// The deed moved to `index` in its scheduler.
    #[cfg(feature = "requests")]
    fn moved(&self, slot: u16, index: u16);
    /// The parent link of `slot` ([`NONE`] if unbound) and the index of
    /// its deed.
    fn link(&self, slot: u16) -> (u16, u16);
}

impl<const W: usize> WakeBoard<W> {
    /// Unbinds `slot` (an implicit slot is released).
    fn unbind(&self, slot: u16) {
        let Some(s) = self.slot(slot) else { return };
        s.parent.set(NONE);
        if s.implicit.load(Relaxed) {
            self.free_slot(slot);
        }
    }

    /// Raised by every wake, lowered by a drain.
    pub(crate) fn woken(&self) -> &AtomicBool {
        &self.any
    }
}

impl<const W: usize> Board for WakeBoard<W> {
    #[inline]
    fn wake(&self, slot: u16, gen: u16) {
        let Some(s) = self.slot(slot) else { return };
        if s.gen.load(Relaxed) != gen {
            return;
        }
        // inner flag first: a drain that sees an outer flag sees the inner
        if let Some(p) = self.pending.get(usize::from(slot)) {
            p.store(true, Release);
        }
        if W > SMALL {
            if let Some(b) = self.blocks.get(usize::from(slot) / BLOCK) {
                b.store(true, Release);
            }
            if let Some(g) = self.groups.get(usize::from(slot) / (BLOCK * GROUP)) {
                g.store(true, Release);
            }
        }
        self.any.store(true, Release);
        if let Some(p) = self.pender {
            p.pend();
        }
    }

    #[cfg(feature = "requests")]
    fn poke(&self, slot: u16) {
        let gen = self.slot(slot).map_or(0, |s| s.gen.load(Relaxed));
        self.wake(slot, gen);
    }

    fn drain(&self, f: &mut dyn FnMut(u16, u16, u16)) {
        if !self.any.load(Acquire) {
            return;
        }
        // Each flag is lowered before what it covers is read (a fence keeps
        // that order): a wake that comes meanwhile raises it again and is
        // seen by the next drain, never lost. The flags of one level are
        // lowered in one sweep of up to 64 groups, remembered in bits on
        // the stack, then one fence.
        self.any.store(false, Relaxed);
        fence(SeqCst);
        if W <= SMALL {
            // a small board (a microcontroller's): one scan of its flags
            self.drain_slots(0, W, f);
            return;
        }
        let groups = W.div_ceil(BLOCK * GROUP);
        for window in 0..groups.div_ceil(64) {
            let first = window * 64;
            let flags = self
                .groups
                .get(first..groups.min(first + 64))
                .unwrap_or(&[]);
            let mut raised = 0u64;
            for (k, flag) in flags.iter().enumerate() {
                if flag.load(Acquire) {
                    flag.store(false, Relaxed);
                    raised |= 1 << k;
                }
            }
            if raised == 0 {
                continue;
            }
            fence(SeqCst);
            // the block flags of the raised groups: 8 per group
            let mut blocks = [0u64; GROUP];
            let mut bits = raised;
            while bits != 0 {
                let k = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(word) = blocks.get_mut(k / GROUP) {
                    *word |= u64::from(self.lower_blocks(first + k)) << (k % GROUP * GROUP);
                }
            }
            fence(SeqCst);
            for (w, &word) in blocks.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let b = (first + w * GROUP) * GROUP + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    self.drain_block(b, f);
                }
            }
        }
    }

    fn alloc(&self, implicit: bool) -> Option<u16> {
        let head = self.free.get();
        let slot = if head != NONE {
            let next = self.slot(head).map_or(NONE, |s| s.next_free.get());
            self.free.set(next);
            head
        } else {
            let n = self.fresh.load(Relaxed);
            if usize::from(n) >= W {
                return None;
            }
            self.fresh.store(n + 1, Relaxed);
            n
        };
        let s = self.slot(slot)?;
        s.taken.store(true, Relaxed);
        s.implicit.store(implicit, Relaxed);
        s.parent.set(NONE);
        self.unpend(slot);
        Some(slot)
    }

    fn valid(&self, slot: u16, gen: u16) -> bool {
        self.current(slot, gen)
    }

    fn bind(&self, slot: u16, parent: u16, index: u16) {
        self.unpend(slot);
        if let Some(s) = self.slot(slot) {
            s.index.store(index, Relaxed);
            s.parent.set(parent);
        }
    }

    fn unbind_from(&self, slot: u16, parent: u16, index: u16) {
        if self.link(slot) == (parent, index) {
            self.unbind(slot);
        }
    }

    #[cfg(feature = "requests")]
    fn moved(&self, slot: u16, index: u16) {
        if let Some(s) = self.slot(slot) {
            s.index.store(index, Relaxed);
        }
    }

    #[inline]
    fn link(&self, slot: u16) -> (u16, u16) {
        self.slot(slot)
            .map_or((NONE, NONE), |s| (s.parent.get(), s.index.load(Relaxed)))
    }
}

/// A handle that wakes one doer: small, `Copy`, no heap, usable from an
/// interrupt handler or another thread. Made by [`WakeBoard::waker`], taken
/// on by a doer with [`Cx::attach`](crate::Cx::attach), handed to whatever
/// will wake it (a [`Deck`](crate::Deck), a reactor, an interrupt handler).
///
/// A wake costs O(1) and is never lost: the woken doer runs at the next
/// pass of its Doist (or in the same pass, for a wake made during a recur
/// by a doer before it in canonical order). Waking a doer that is not
/// running (not yet entered, or ended) does nothing, and so does a waker
/// whose slot was released. Like any waker, it may wake a doer that has
/// nothing to do: a woken doer checks what is ready.
#[derive(Clone, Copy)]
pub struct Waker {
    board: &'static dyn Board,
    slot: u16,
    gen: u16,
}

impl Waker {
    /// Wakes the doer.
    #[inline]
    pub fn wake(&self) {
        self.board.wake(self.slot, self.gen);
    }

    /// The slot it points to (for logs).
    pub const fn slot(&self) -> u16 {
        self.slot
    }

    pub(crate) fn board(&self) -> &'static dyn Board {
        self.board
    }

    pub(crate) fn gen(&self) -> u16 {
        self.gen
    }

    /// Whether `self` and `other` wake the same doer.
    pub fn same(&self, other: &Waker) -> bool {
        self.slot == other.slot
            && self.gen == other.gen
            && core::ptr::addr_eq(
                self.board as *const dyn Board,
                other.board as *const dyn Board,
            )
    }
}

impl PartialEq for Waker {
    fn eq(&self, other: &Self) -> bool {
        self.same(other)
    }
}

impl Eq for Waker {}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker")
            .field("slot", &self.slot)
            .field("gen", &self.gen)
            .finish()
    }
}

/// Whether two boards are the same.
pub(crate) fn same_board(a: &dyn Board, b: &dyn Board) -> bool {
    core::ptr::addr_eq(a as *const dyn Board, b as *const dyn Board)
}
