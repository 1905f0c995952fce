//! [`Deeds`]: the scheduler inside every DoDoer and the Doist. Fixed
//! capacity, caller-owned memory, canonical order, retyme arithmetic.
//!
//! The walk of a pass is here; a deed's next retyme is in `retyme`, what
//! follows a recur that is not the common case in `settle`, skipping deeds
//! that are not due in `skip`, entering and stopping doers in `life`,
//! squeezing out holes in `compact`, run-time requests in `requests`,
//! park and wake in `wake`, and the Doist's own scheduler in `root`.

mod compact;
mod life;
#[cfg(feature = "requests")]
mod requests;
#[cfg(feature = "requests")]
mod restart;
mod retyme;
mod root;
mod settle;
mod skip;
mod wake;

use core::cell::Cell;
use core::fmt;

use core::sync::atomic::Ordering;

use crate::cx::{Env, GroupRef};
use crate::cx::{Origin, Shared};
use crate::wake::Board;
#[cfg(feature = "observe")]
use crate::Context;
#[cfg(feature = "requests")]
use crate::RequestError;
use crate::{Cx, Doer, Fault, Full, Name, Refusal, Step, Tock, Tyme, WakeError, Waker};

#[cfg(feature = "requests")]
use life::enter_keep;
use life::{fail, finish};
use retyme::next_after;
use retyme::waker_of;
pub(crate) use root::Root;
use skip::WIDE;

/// A borrowed doer, as schedulers hold them.
pub type DoerRef<'a> = &'a mut (dyn Doer + 'a);

const NONE: u16 = u16::MAX;

/// A cell of the bookkeeping of run-time requests (where a pass ends and
/// goes on after its scheduler was compacted, what was appended during it):
/// without requests it holds nothing, its writes are lost and its reads,
/// which `REQ` guards, are never used.
#[cfg(feature = "requests")]
type ReqCell<T> = Cell<T>;
#[cfg(not(feature = "requests"))]
type ReqCell<T> = NoCell<T>;

/// [`ReqCell`] without requests: no memory, so none to set up.
#[cfg(not(feature = "requests"))]
struct NoCell<T>(core::marker::PhantomData<T>);

#[cfg(not(feature = "requests"))]
impl<T: Copy + Default> NoCell<T> {
    const fn new(_: T) -> Self {
        NoCell(core::marker::PhantomData)
    }

    fn get(&self) -> T {
        T::default()
    }

    fn set(&self, _: T) {}
}

/// Whether run-time requests exist. Without them a scheduler's slots never
/// move during its own pass (it compacts only at the end of the pass) and
/// nothing is appended while it runs, so the bookkeeping for both is left
/// out.
const REQ: bool = cfg!(feature = "requests");

/// RAM one deed (one scheduled doer) costs in a [`Deeds`]: a doer reference,
/// a 64-bit retyme and the 16-bit slot of its waker. 18 bytes on a 32-bit
/// target, 26 on a 64-bit one.
pub const DEED_BYTES: usize = core::mem::size_of::<Cell<Option<DoerRef<'static>>>>()
    + core::mem::size_of::<Cell<Tyme>>()
    + core::mem::size_of::<Cell<u16>>();

// The build check of the memory goal: at most 18 bytes per scheduled doer
// on every 32-bit target.
#[cfg(target_pointer_width = "32")]
const _: () = assert!(
    DEED_BYTES <= 18,
    "a deed must cost at most 18 bytes on 32-bit targets"
);

/// Operations every scheduler offers to wakes and run-time requests,
/// whatever its capacity. Implemented by [`Deeds`] only.
#[doc(hidden)]
pub trait Group {
    /// The owning DoDoer's name (`"root"` for the Doist).
    fn group_name(&self) -> &str;
    /// The waker slot of the deed that owns this scheduler.
    fn own_slot(&self) -> u16;
    /// Before the deed that owns this scheduler, at `index` of the
    /// scheduler `up`, is entered: if that one's deeds can be woken, takes
    /// a waker slot for the owner and writes it into `up`'s slot for it.
    /// `root` is the Doist's scheduler, which keeps the code of wakes
    /// through DoDoers from then on. (The parent only asks: the code is
    /// reached through a DoDoer, so a tree without one does not link it.)
    fn place(&self, up: wake::Parent<'_>, index: u16, root: &dyn Group);
    /// A DoDoer was placed: the Doist's scheduler keeps `wake` to apply
    /// wakes through DoDoers (a DoDoer's scheduler does nothing).
    fn nested(&self, wake: wake::Nested);
    /// Applies the wake `w` of a slot bound to a deed of this scheduler or
    /// below it. Returns whether the owner of this scheduler is to be
    /// brought forward too. (A DoDoer's only: the Doist's own scheduler
    /// applies wakes in [`apply_wakes`](Group::apply_wakes).)
    fn wake_path(&self, w: &wake::Woken<'_>) -> bool;
    /// Applies every wake recorded on the tree's board (the Doist's own
    /// scheduler only; a DoDoer's does nothing).
    fn apply_wakes(&self, env: &Env<'_>);
    /// Binds `waker` to the deed at `index`.
    fn attach_at(&self, index: u16, waker: Waker) -> Result<(), WakeError>;
    /// Entered and not yet ended.
    #[cfg(feature = "requests")]
    fn is_running(&self) -> bool;
    /// Calls `f` with the running group named `name` in this subtree.
    #[cfg(feature = "requests")]
    fn find(&self, name: &str, f: &mut dyn FnMut(&dyn Group)) -> bool;
    /// Enters the spare `name` and appends it.
    #[cfg(feature = "requests")]
    fn extend_one(&self, shared: &Shared<'_>, name: &str) -> Result<(), RequestError>;
    /// Stops the present doers among `names`, in reverse canonical order.
    #[cfg(feature = "requests")]
    fn remove_names(&self, shared: &Shared<'_>, names: &[&str]);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Running,
    Ended,
}

/// Deeds per block of the opt-in summary.
pub const SUMMARY_BLOCK: usize = 8;

/// The deeds of one scheduler: up to `N` running doers in canonical order,
/// each with its `retyme`, and up to `S` spare doers that run-time requests
/// may add.
///
/// All its memory is inline (no heap): on a 32-bit target a deed costs 16
/// bytes (a doer reference and a 64-bit retyme). Interior mutability (`Cell`)
/// lets nested doers change any scheduler of the tree while it runs, without
/// locks (one Doist runs on one thread) and without `unsafe`.
///
/// A pass finds due deeds by a scan that skips those not due at a fraction
/// of a nanosecond each. Large trees on hosts may opt into a summary: with
/// `B` = ⌈`N` / [`SUMMARY_BLOCK`]⌉ (or more) it keeps a lower bound of the
/// retymes of every block of [`SUMMARY_BLOCK`] deeds, a bit per block that
/// may come due within the next 64 periods (on a host, never fewer than 64
/// of the Doist's tocks), and a bit per deed that a wake brought forward,
/// so a pass goes from one due deed to the next through these bits: its
/// cost grows with the doers due or woken, not with all doers (two bytes
/// more per deed). With it, a real-time Doist whose tree falls idle runs
/// one more pass (with no events) before it knows and sleeps until the
/// next due doer; a lazy DoDoer still finds its earliest child exactly
/// after each recur, looking only into the blocks whose bound is not
/// never. `B` = 0, the default, keeps no summary.
/// A `B` that is neither 0 nor large enough is refused at compile time.
pub struct Deeds<'a, const N: usize, const S: usize, const B: usize = 0> {
    name: &'a str,
    doers: [Cell<Option<DoerRef<'a>>>; N],
    retymes: [Cell<Tyme>; N],
    #[cfg_attr(not(feature = "requests"), allow(dead_code))]
    spares: [Cell<Option<DoerRef<'a>>>; S],
    len: Cell<u16>,
    live: Cell<u16>,
    running: Cell<u16>,
    moves: ReqCell<u32>,
    next: ReqCell<u16>,
    pass_end: ReqCell<u16>,
    fresh_from: ReqCell<u16>,
    fresh_tyme: ReqCell<Tyme>,
    min_due: Cell<Tyme>,
    state: Cell<State>,
    /// How it contains a child's fault, when it does.
    contain: Cell<Option<Contain<'a, N, S, B>>>,
    contained: Cell<u32>,
    /// The last contained fault.
    last_fault: Cell<Option<Fault>>,
    /// Where it arose.
    last_origin: Cell<Origin>,
    /// Lower bounds of each block's retymes (opt-in summary).
    mins: [Cell<Tyme>; B],
    /// Bits of the summary, in two parts. First a hot bit per block (bit
    /// `b % 64` of word `b / 64`): a block whose bit is clear has a bound
    /// past `horizon`, so a pass finds the blocks to look into from the
    /// bits, not by comparing every bound. Then, from word ⌈B / 64⌉, a run
    /// bit per deed that a wake brought forward and the walk has not yet
    /// reached. (An array cannot be sized by `B / 64`; `B` words hold
    /// both when `N` > 16.)
    bits: [Cell<u64>; B],
    /// A deed taken by its run bit from a block that was not hot, whose
    /// block is to be made hot if its next retyme is within the horizon
    /// (`NONE` if none).
    lent: Cell<u16>,
    /// How many words of run bits have any set.
    run_words: Cell<u16>,
    /// See `bits`; the hot bits are made again from the bounds once a pass's
    /// tyme is past it.
    horizon: Cell<Tyme>,
    /// The restart policy (supervision), if any.
    #[cfg(feature = "requests")]
    restart: Cell<Option<crate::Restart>>,
    /// When the current window of restarts began, and how many it had.
    #[cfg(feature = "requests")]
    window_start: Cell<Tyme>,
    #[cfg(feature = "requests")]
    restarts: Cell<u32>,
    /// For each spare slot holding a failed child: when it is entered
    /// again (`Tyme::MAX` for a plain spare).
    #[cfg(feature = "requests")]
    spare_due: [Cell<Tyme>; S],
    /// The earliest of those.
    #[cfg(feature = "requests")]
    next_restart: Cell<Tyme>,
    /// Each deed's waker slot (`wake::NONE` when it has none).
    slots: [Cell<u16>; N],
    /// The board of the tree, once entered under a Doist that drains one.
    board: Cell<Option<&'static dyn Board>>,
    /// The waker slot of the deed that owns this scheduler.
    own: Cell<u16>,
    /// The owning DoDoer's own waker, if it was given one.
    user: Cell<Option<Waker>>,
    /// The owner is lazy or parked: wakes below bring it forward.
    propagate: Cell<bool>,
    /// How many levels below the Doist it is (0 for the Doist's own).
    depth: Cell<u8>,
    /// The least tyme a wake brought a deed the walk had passed forward to.
    woke: Cell<Tyme>,
}

impl<'a, const N: usize, const S: usize, const B: usize> Deeds<'a, N, S, B> {
    // The arrays of an empty scheduler, as constants: `new` built from them
    // takes less code on thumbv7m than with repeat expressions in its body
    // (as for a Deck's slots). Each is only ever used by value, to set up
    // fresh cells, so no two schedulers share a cell.
    #[allow(clippy::declare_interior_mutable_const)]
    const NO_DOERS: [Cell<Option<DoerRef<'a>>>; N] = [const { Cell::new(None) }; N];
    #[allow(clippy::declare_interior_mutable_const)]
    const NO_SPARES: [Cell<Option<DoerRef<'a>>>; S] = [const { Cell::new(None) }; S];
    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO_TYMES: [Cell<Tyme>; N] = [const { Cell::new(Tyme::ZERO) }; N];
    #[allow(clippy::declare_interior_mutable_const)]
    const NO_SLOTS: [Cell<u16>; N] = [const { Cell::new(wake::NONE) }; N];

    /// An empty scheduler named `name`.
    pub const fn new(name: &'a str) -> Self {
        const {
            assert!(
                B == 0 || B * SUMMARY_BLOCK >= N,
                "the summary needs B = 0 or at least N / SUMMARY_BLOCK (rounded up) blocks"
            )
        };
        Deeds {
            name,
            doers: Self::NO_DOERS,
            retymes: Self::ZERO_TYMES,
            spares: Self::NO_SPARES,
            len: Cell::new(0),
            live: Cell::new(0),
            running: Cell::new(NONE),
            moves: ReqCell::new(0),
            next: ReqCell::new(0),
            pass_end: ReqCell::new(0),
            fresh_from: ReqCell::new(0),
            fresh_tyme: ReqCell::new(Tyme::MAX),
            min_due: Cell::new(Tyme::MAX),
            state: Cell::new(State::Idle),
            contain: Cell::new(None),
            contained: Cell::new(0),
            last_fault: Cell::new(None),
            last_origin: Cell::new(Origin::NONE),
            mins: [const { Cell::new(Tyme::ZERO) }; B],
            bits: [const { Cell::new(u64::MAX) }; B],
            horizon: Cell::new(Tyme::ZERO),
            lent: Cell::new(NONE),
            run_words: Cell::new(0),
            #[cfg(feature = "requests")]
            restart: Cell::new(None),
            #[cfg(feature = "requests")]
            window_start: Cell::new(Tyme::ZERO),
            #[cfg(feature = "requests")]
            restarts: Cell::new(0),
            #[cfg(feature = "requests")]
            spare_due: [const { Cell::new(Tyme::MAX) }; S],
            #[cfg(feature = "requests")]
            next_restart: Cell::new(Tyme::MAX),
            slots: Self::NO_SLOTS,
            board: Cell::new(None),
            own: Cell::new(wake::NONE),
            user: Cell::new(None),
            propagate: Cell::new(false),
            depth: Cell::new(0),
            woke: Cell::new(Tyme::MAX),
        }
    }

    const fn cap() -> usize {
        if N < NONE as usize {
            N
        } else {
            NONE as usize - 1
        }
    }

    /// The scheduler's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// How many doers it can run at once.
    pub const fn capacity(&self) -> usize {
        Self::cap()
    }

    /// How many doers it runs now (or will enter, before it is entered).
    pub fn len(&self) -> usize {
        self.live.get() as usize
    }

    /// Whether it runs no doer.
    pub fn is_empty(&self) -> bool {
        self.live.get() == 0
    }

    /// Contains its children's recur faults (opt-in, beyond hio): a child
    /// whose recur fails ends aborted (abort, exit) and its siblings keep
    /// running; the fault is counted, not passed up.
    pub fn contain(&self, contain: bool) {
        self.contain
            .set(contain.then_some(Self::contain_fault as Contain<'a, N, S, B>));
    }

    /// How many child faults it has contained.
    pub fn contained(&self) -> u32 {
        self.contained.get()
    }

    /// The last child fault it contained, and the name of the doer where
    /// it arose (the child, or a doer below it).
    pub fn last_contained(&self) -> Option<(Fault, Name)> {
        let fault = self.last_fault.get()?;
        let mut name = Name::new();
        let _ = name.push_str(self.last_origin.get().as_str());
        Some((fault, name))
    }

    /// Keeps a contained fault and where it arose (the doer blamed, or `d`).
    pub(super) fn keep_fault(&self, fault: Fault, shared: &Shared<'_>, d: &dyn Doer) {
        self.last_fault.set(Some(fault));
        self.last_origin.set(shared.origin_of(d));
    }

    /// The earliest retyme among its doers (`Tyme::MAX` when none).
    pub fn next_due(&self) -> Tyme {
        self.min_due.get()
    }

    /// Adds a doer to enter when the scheduler is entered. Hands it back if
    /// the scheduler is full or already entered.
    pub fn add(&self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        let n = self.len.get() as usize;
        if self.state.get() != State::Idle {
            return Err(Full::new(doer, self.name, Refusal::Running));
        }
        match self.doers.get(n).filter(|_| n < Self::cap()) {
            Some(cell) => {
                cell.set(Some(doer));
                self.len.set(n as u16 + 1);
                self.live.set(self.live.get() + 1);
                Ok(())
            }
            None => Err(Full::new(
                doer,
                self.name,
                Refusal::AtCapacity {
                    capacity: Self::cap(),
                },
            )),
        }
    }

    /// Keeps a doer aside for a run-time request to add by name. Hands it
    /// back if the spare slots are full.
    #[cfg(feature = "requests")]
    #[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
    pub fn spare(&self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        match self.spares.iter().find(|c| !is_some(c)) {
            Some(cell) => {
                cell.set(Some(doer));
                Ok(())
            }
            None => Err(Full::new(
                doer,
                self.name,
                Refusal::AtCapacity { capacity: S },
            )),
        }
    }

    /// One pass at the current tyme: runs every due doer once, in canonical
    /// order. `period` is the scheduler's own tock (the Doist's tock at the
    /// top level). On a fault the failing doer has run abort, exit and the
    /// rest of the pass is skipped; the others are left for the caller.
    /// (Inlined on a host, where it saves the Doist's pass a call; a
    /// microcontroller keeps one copy.)
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub(crate) fn pass(&self, env: &Env<'_>, period: Tock) -> Result<(), Fault> {
        let t = env.shared.tyme;
        if self.min_due.get() > t {
            return Ok(());
        }
        #[cfg(feature = "requests")]
        if self.next_restart.get() <= t {
            self.reenter_due(env, t)?;
        }
        let end = if REQ && self.fresh_tyme.get() == t {
            self.fresh_from.get()
        } else {
            self.len.get()
        };
        self.pass_end.set(end);
        self.woke.set(Tyme::MAX);
        let (result, mut min_due) = self.run_pass(env, period);
        // deeds the walk had passed that a wake brought forward
        min_due = min_due.min(self.woke.replace(Tyme::MAX));
        // failed children held for a restart
        #[cfg(feature = "requests")]
        {
            min_due = min_due.min(self.next_restart.get());
        }
        // doers added during this pass are due at `t` too
        if REQ && self.fresh_tyme.get() == t {
            min_due = min_due.min(t);
        }
        // keep what was found beyond the failing doer if the pass broke off
        if result.is_err() {
            min_due = Tyme::ZERO;
        }
        self.min_due.set(min_due);
        // Without run-time requests nothing is appended, so the holes that
        // ended doers leave can stay: the walk passes over them (and a
        // tree that cannot change keeps less code).
        if REQ && self.live.get() != self.len.get() {
            self.compact();
        }
        result
    }

    /// The walk of one pass. Requests made by nested doers may compact this
    /// scheduler while it runs: `moves` tells, and the running doer's slot
    /// and the pass's end are read again then.
    #[inline]
    fn run_pass(&self, env: &Env<'_>, period: Tock) -> (Result<(), Fault>, Tyme) {
        let shared = env.shared;
        let t = shared.tyme;
        let woken = shared.woken;
        #[cfg(feature = "observe")]
        let observer = shared.observer;
        // the retyme of a doer whose tock is 0
        let next_pass = t + period;
        let mut i = 0usize;
        // (without requests neither changes in a pass)
        #[cfg_attr(not(feature = "requests"), allow(unused_mut))]
        let mut end = if REQ {
            self.pass_end.get()
        } else {
            self.len.get()
        } as usize;
        #[cfg_attr(not(feature = "requests"), allow(unused_mut))]
        let mut moves = self.moves.get();
        let mut min_due = Tyme::MAX;
        let mut ran = false;
        // one context for the whole pass, made ready for each recur
        let mut cx = Cx::at(env, 0);
        if B > 0 && t > self.horizon.get() {
            // A DoDoer whose tock is shorter than the Doist's (0, most
            // often) passes no more often than the Doist: on a host its
            // horizon is as far off as the Doist's would be, not made again
            // every pass. (A microcontroller keeps the Doist's tock out of
            // its passes: there the horizon follows the scheduler's tock.)
            #[cfg(not(target_os = "none"))]
            let period = period.max(shared.tock);
            self.rebuild_hot(t, period);
        }
        while i < end {
            let Some(rcell) = self.retymes.get(i) else {
                break;
            };
            let retyme = rcell.get();
            if retyme > t {
                min_due = min_due.min(retyme);
                if N >= WIDE || B > 0 {
                    // not due: run ahead to the next deed that may be due
                    (i, min_due) = self.skip_from(i, end, t, min_due);
                } else {
                    i += 1;
                }
                continue;
            }
            let (Some(dcell), Some(scell)) = (self.doers.get(i), self.slots.get(i)) else {
                break;
            };
            let Some(d) = dcell.take() else {
                // a hole (kept without requests): never due again
                if !REQ {
                    rcell.set(Tyme::MAX);
                }
                i += 1;
                continue;
            };
            // (left set until the next due deed: no doer runs meanwhile)
            self.running.set(i as u16);
            ran = true;
            cx.reuse(i);
            #[cfg(feature = "observe")]
            if let Some(o) = observer {
                shared.tell(o, d, Context::Recur);
            }
            let step = d.recur(&mut cx);
            // the common case: it goes on, nothing moved, no requests; most
            // often its tock is known. Tested without short cuts, for fewer
            // branches.
            let next = if matches!(step, Ok(Step::Continue))
                && !cx.requested()
                && (!REQ || self.moves.get() == moves)
            {
                Some(next_after(Some(scell), d, &cx, retyme, next_pass))
            } else {
                None
            };
            if let Some(next) = next {
                min_due = min_due.min(next);
                rcell.set(next);
                dcell.set(Some(d));
                i += 1;
                if woken.load(Ordering::Relaxed) {
                    // wakes it made: applied right after it
                    self.drain_at(env, i);
                }
                continue;
            }
            let w = Walk {
                i,
                #[cfg(feature = "requests")]
                end,
                #[cfg(feature = "requests")]
                moves,
                min_due,
            };
            let after = After {
                step,
                cx: &mut cx,
                #[cfg(feature = "requests")]
                retyme,
                #[cfg(feature = "requests")]
                next_pass,
            };
            match self.settle(env, w, d, after) {
                Ok(w) => {
                    (i, min_due) = (w.i, w.min_due);
                    #[cfg(feature = "requests")]
                    {
                        (end, moves) = (w.end, w.moves);
                    }
                }
                Err(e) => return e,
            }
        }
        self.running.set(NONE);
        if B > 0 {
            self.settle_lent();
            // Deeds passed over are not due (> t); those that ran are in
            // `min_due`. After a pass that ran a doer, `t` bounds the rest
            // from below. After one that ran none, every block it looked
            // into was made exact, so the bounds give the next due tyme: an
            // idle tree sleeps until then.
            min_due = if ran {
                min_due.min(t)
            } else {
                let blocks = end.div_ceil(SUMMARY_BLOCK);
                let bounds = self.mins.get(..blocks).unwrap_or(&[]);
                bounds.iter().map(Cell::get).fold(min_due, Tyme::min)
            };
        }
        (Ok(()), min_due)
    }

    /// How the running code refers to this scheduler.
    #[inline(always)]
    pub(crate) fn group_ref(&self) -> GroupRef<'_> {
        self
    }

    /// Makes this the Doist's own scheduler, whose deeds can be woken
    /// through `board`.
    pub(crate) fn make_root(&self, board: &'static dyn Board) {
        self.board.set(Some(board));
        self.own.set(wake::ROOT);
    }

    /// The owning DoDoer is lazy (`lazy`) or parked (`parked`): wakes of its
    /// children bring it forward.
    pub(crate) fn set_propagate(&self, propagate: bool) {
        self.propagate.set(propagate);
    }

    /// With the owning DoDoer's own waker.
    pub(crate) const fn with_user(mut self, waker: Waker) -> Self {
        self.user = Cell::new(Some(waker));
        self
    }

    /// The owner is lazy or parked (or not).
    pub(crate) const fn propagating(mut self, propagate: bool) -> Self {
        self.propagate = Cell::new(propagate);
        self
    }

    /// Whether it holds failed children to be entered again.
    pub(crate) fn awaits_restart(&self) -> bool {
        #[cfg(feature = "requests")]
        return self.next_restart.get() != Tyme::MAX;
        #[cfg(not(feature = "requests"))]
        return false;
    }

    /// Whether its deeds can be woken (it runs under a Doist that drains a
    /// board).
    pub(crate) fn has_board(&self) -> bool {
        self.own.get() != wake::NONE
    }

    /// One present doer left (finished, failed or removed). `live` counts
    /// the present doers, so it is at least one here.
    #[inline(always)]
    fn leave(&self) {
        debug_assert!(self.live.get() > 0, "a doer left an empty scheduler");
        self.live.set(self.live.get().wrapping_sub(1));
    }
}

/// Whether `c` holds a value (taken out to look, and put back).
fn is_some<T>(c: &Cell<Option<T>>) -> bool {
    let v = c.take();
    let some = v.is_some();
    c.set(v);
    some
}

impl<const N: usize, const S: usize, const B: usize> Group for Deeds<'_, N, S, B> {
    fn group_name(&self) -> &str {
        self.name
    }

    fn own_slot(&self) -> u16 {
        self.own.get()
    }

    fn place(&self, up: wake::Parent<'_>, index: u16, root: &dyn Group) {
        self.place_in(up, index, root)
    }

    fn nested(&self, _: wake::Nested) {}

    fn wake_path(&self, w: &wake::Woken<'_>) -> bool {
        self.wake_slot(w)
    }

    fn apply_wakes(&self, _env: &Env<'_>) {}

    fn attach_at(&self, index: u16, waker: Waker) -> Result<(), WakeError> {
        self.attach_deed(index, waker)
    }

    #[cfg(feature = "requests")]
    fn is_running(&self) -> bool {
        self.state.get() == State::Running
    }

    #[cfg(feature = "requests")]
    fn find(&self, name: &str, f: &mut dyn FnMut(&dyn Group)) -> bool {
        self.find_named(name, f)
    }

    #[cfg(feature = "requests")]
    fn extend_one(&self, shared: &Shared<'_>, name: &str) -> Result<(), RequestError> {
        self.extend_named(shared, name)
    }

    #[cfg(feature = "requests")]
    fn remove_names(&self, shared: &Shared<'_>, names: &[&str]) {
        self.remove_named(shared, names)
    }
}

impl<const N: usize, const S: usize, const B: usize> fmt::Debug for Deeds<'_, N, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deeds")
            .field("name", &self.name)
            .field("len", &self.len())
            .field("capacity", &Self::cap())
            .field("next_due", &self.min_due.get())
            .finish()
    }
}

/// How a scheduler contains a child's fault ([`Deeds::contain`]): a
/// function it keeps once told to, so that an image whose schedulers
/// contain nothing does not link it.
type Contain<'a, const N: usize, const S: usize, const B: usize> =
    fn(&Deeds<'a, N, S, B>, DoerRef<'a>, &Fault, &mut Cx<'_>);

/// Where a pass's walk is.
#[derive(Debug, Clone, Copy)]
struct Walk {
    /// The next slot to look at.
    i: usize,
    /// The end of this pass's slots (doers added during it are past it).
    /// (Without requests, neither this nor `moves` changes in a pass.)
    #[cfg(feature = "requests")]
    end: usize,
    /// `Deeds::moves` as last seen: a change means slots moved.
    #[cfg(feature = "requests")]
    moves: u32,
    /// The least retyme seen.
    min_due: Tyme,
}

/// A supervising DoDoer's restart policy ([`DoDoer::restart`](crate::DoDoer::restart)).
#[cfg(feature = "requests")]
#[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Restart {
    /// How long after its failure a child is entered again.
    pub delay: Tock,
    /// How many restarts are allowed within one window.
    pub max: u32,
    /// The window: restarts are counted from the first failure in it.
    pub window: Tock,
}

/// What a recur left for [`Deeds::settle`] to handle.
#[derive(Debug)]
struct After<'x, 'c> {
    /// Its result.
    step: Result<Step, Fault>,
    /// Its context, as the recur left it (the pass's, which serves the
    /// contexts that end the doer too).
    cx: &'x mut Cx<'c>,
    /// Its retyme before it ran.
    #[cfg(feature = "requests")]
    retyme: Tyme,
    /// The retyme of a doer whose tock is 0 (the pass's tyme and the
    /// scheduler's own period).
    #[cfg(feature = "requests")]
    next_pass: Tyme,
}
