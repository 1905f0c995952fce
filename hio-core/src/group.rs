//! [`Deeds`]: the scheduler inside every DoDoer and the Doist. Fixed
//! capacity, caller-owned memory, canonical order, retyme arithmetic.

use core::cell::Cell;
use core::fmt;

#[cfg(feature = "requests")]
use crate::cx::Shared;
use crate::cx::{Env, GroupRef};
use crate::{Context, Cx, Doer, Fault, Step, Tock, Tyme};
#[cfg(feature = "requests")]
use crate::{RequestError, Requests};

/// A borrowed doer, as schedulers hold them.
pub type DoerRef<'a> = &'a mut (dyn Doer + 'a);

const NONE: u16 = u16::MAX;

/// Whether run-time requests exist. Without them a scheduler's slots never
/// move during its own pass (it compacts only at the end of the pass) and
/// nothing is appended while it runs, so the bookkeeping for both is left
/// out.
const REQ: bool = cfg!(feature = "requests");

/// RAM one deed (one scheduled doer) costs in a [`Deeds`]: a doer reference
/// and a 64-bit retyme. 16 bytes on a 32-bit target, 24 on a 64-bit one.
pub const DEED_BYTES: usize =
    core::mem::size_of::<Cell<Option<DoerRef<'static>>>>() + core::mem::size_of::<Cell<Tyme>>();

// The build check of the memory goal: at most 16 bytes per scheduled doer
// on every 32-bit target.
#[cfg(target_pointer_width = "32")]
const _: () = assert!(
    DEED_BYTES <= 16,
    "a deed must cost at most 16 bytes on 32-bit targets"
);

/// The capacity of a scheduler was exhausted; the doer is handed back.
pub struct Full<T>(pub T);

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the scheduler is full (or has capacity 0); build it with a larger capacity")
    }
}

impl<T> core::error::Error for Full<T> {}

/// Operations every scheduler offers to run-time requests, whatever its
/// capacity. Implemented by [`Deeds`] only.
#[doc(hidden)]
pub trait Group {
    /// The owning DoDoer's name (`"root"` for the Doist).
    fn group_name(&self) -> &str;
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
/// `B` = ⌈`N` / [`SUMMARY_BLOCK`]⌉ (or more) it keeps a lower bound of the retymes
/// of every block of [`SUMMARY_BLOCK`] deeds, so a pass skips a block with one compare and
/// its cost grows with the doers due, not with all doers (one byte more
/// per deed). With it, a real-time Doist whose tree falls idle runs one
/// more pass (with no events) before it knows and sleeps until the next due
/// doer. `B` = 0, the default, keeps no summary. A `B` that is neither 0 nor
/// large enough is refused at compile time.
pub struct Deeds<'a, const N: usize, const S: usize, const B: usize = 0> {
    name: &'a str,
    doers: [Cell<Option<DoerRef<'a>>>; N],
    retymes: [Cell<Tyme>; N],
    #[cfg_attr(not(feature = "requests"), allow(dead_code))]
    spares: [Cell<Option<DoerRef<'a>>>; S],
    len: Cell<u16>,
    live: Cell<u16>,
    running: Cell<u16>,
    moves: Cell<u32>,
    next: Cell<u16>,
    pass_end: Cell<u16>,
    fresh_from: Cell<u16>,
    fresh_tyme: Cell<Tyme>,
    min_due: Cell<Tyme>,
    state: Cell<State>,
    contain: Cell<bool>,
    contained: Cell<u32>,
    /// Lower bounds of each block's retymes (opt-in summary).
    mins: [Cell<Tyme>; B],
}

impl<'a, const N: usize, const S: usize, const B: usize> Deeds<'a, N, S, B> {
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
            doers: [const { Cell::new(None) }; N],
            retymes: [const { Cell::new(Tyme::ZERO) }; N],
            spares: [const { Cell::new(None) }; S],
            len: Cell::new(0),
            live: Cell::new(0),
            running: Cell::new(NONE),
            moves: Cell::new(0),
            next: Cell::new(0),
            pass_end: Cell::new(0),
            fresh_from: Cell::new(0),
            fresh_tyme: Cell::new(Tyme::MAX),
            min_due: Cell::new(Tyme::MAX),
            state: Cell::new(State::Idle),
            contain: Cell::new(false),
            contained: Cell::new(0),
            mins: [const { Cell::new(Tyme::ZERO) }; B],
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
        self.contain.set(contain);
    }

    /// How many child faults it has contained.
    pub fn contained(&self) -> u32 {
        self.contained.get()
    }

    /// The earliest retyme among its doers (`Tyme::MAX` when none).
    pub fn next_due(&self) -> Tyme {
        self.min_due.get()
    }

    /// Adds a doer to enter when the scheduler is entered. Hands it back if
    /// the scheduler is full or already entered.
    pub fn add(&self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        let n = self.len.get() as usize;
        if self.state.get() != State::Idle || n >= Self::cap() {
            return Err(Full(doer));
        }
        match self.doers.get(n) {
            Some(cell) => {
                cell.set(Some(doer));
                self.len.set(n as u16 + 1);
                self.live.set(self.live.get() + 1);
                Ok(())
            }
            None => Err(Full(doer)),
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
            None => Err(Full(doer)),
        }
    }

    /// Enters every added doer in order at the current tyme. On a fault the
    /// failing doer has run enter, abort, exit; the later ones are never
    /// entered; the earlier ones are left running for the caller to stop.
    pub(crate) fn enter_all(&self, env: &Env<'_>) -> Result<(), Fault> {
        let shared = env.shared;
        let t = shared.tyme;
        self.state.set(State::Running);
        self.min_due.set(t);
        let len = self.len.get() as usize;
        for i in 0..len {
            let Some(cell) = self.doers.get(i) else { break };
            let Some(d) = cell.take() else { continue };
            match enter_one(env, d) {
                Ok(Some(d)) => {
                    cell.set(Some(d));
                    if let Some(r) = self.retymes.get(i) {
                        r.set(t);
                    }
                }
                Ok(None) => self.leave(),
                Err(f) => {
                    // never enter the rest
                    for c in self.doers.get(i..len).unwrap_or(&[]) {
                        if c.take().is_some() {
                            self.leave();
                        }
                    }
                    return Err(f);
                }
            }
        }
        Ok(())
    }

    /// One pass at the current tyme: runs every due doer once, in canonical
    /// order. `period` is the scheduler's own tock (the Doist's tock at the
    /// top level). On a fault the failing doer has run abort, exit and the
    /// rest of the pass is skipped; the others are left for the caller.
    pub(crate) fn pass(&self, env: &Env<'_>, period: Tock) -> Result<(), Fault> {
        let t = env.shared.tyme;
        if self.min_due.get() > t {
            return Ok(());
        }
        let end = if REQ && self.fresh_tyme.get() == t {
            self.fresh_from.get()
        } else {
            self.len.get()
        };
        self.pass_end.set(end);
        let (result, mut min_due) = self.run_pass(env, period);
        // doers added during this pass are due at `t` too
        if REQ && self.fresh_tyme.get() == t {
            min_due = min_due.min(t);
        }
        // keep what was found beyond the failing doer if the pass broke off
        if result.is_err() {
            min_due = Tyme::ZERO;
        }
        self.min_due.set(min_due);
        self.compact();
        result
    }

    /// The walk of one pass. Requests made by nested doers may compact this
    /// scheduler while it runs: `moves` tells, and the running doer's slot
    /// and the pass's end are read again then.
    #[inline]
    fn run_pass(&self, env: &Env<'_>, period: Tock) -> (Result<(), Fault>, Tyme) {
        let shared = env.shared;
        let t = shared.tyme;
        let mut i = 0usize;
        let mut end = self.pass_end.get() as usize;
        let mut moves = self.moves.get();
        let mut min_due = Tyme::MAX;
        let mut ran = false;
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
            let Some(dcell) = self.doers.get(i) else {
                break;
            };
            let Some(d) = dcell.take() else {
                i += 1;
                continue;
            };
            if REQ {
                self.running.set(i as u16);
            }
            ran = true;
            let mut cx = Cx::new(env);
            shared.note(d, Context::Recur);
            let step = d.recur(&mut cx);
            if matches!(step, Ok(Step::Continue))
                && !cx.requested()
                && (!REQ || self.moves.get() == moves)
            {
                // the common case: it goes on, nothing moved, no requests
                let next = next_retyme(d.tock(), retyme, t, period);
                min_due = min_due.min(next);
                rcell.set(next);
                if REQ {
                    self.running.set(NONE);
                }
                dcell.set(Some(d));
                i += 1;
                continue;
            }
            let w = Walk {
                i,
                end,
                moves,
                min_due,
            };
            match self.settle(env, w, d, step, cx.requested(), retyme, period) {
                Ok(w) => (i, end, moves, min_due) = (w.i, w.end, w.moves, w.min_due),
                Err(e) => return e,
            }
        }
        if B > 0 {
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

    /// Everything after a recur but the common case: the doer finished or
    /// failed, asked for requests, or nested requests moved this scheduler's
    /// slots. Returns where the walk goes on, or how the pass ends.
    // out of the hot loop where requests make it large; inlined without
    // them, where the loop knows it never sees a recur that goes on
    #[cfg_attr(feature = "requests", cold, inline(never))]
    #[cfg_attr(not(feature = "requests"), inline(always))]
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        env: &Env<'_>,
        mut w: Walk,
        d: DoerRef<'a>,
        step: Result<Step, Fault>,
        request: bool,
        retyme: Tyme,
        period: Tock,
    ) -> Result<Walk, (Result<(), Fault>, Tyme)> {
        let shared = env.shared;
        let t = shared.tyme;
        let mut cx = Cx::new(env);
        let mut i = w.i;
        if REQ && self.moves.get() != w.moves {
            w.moves = self.moves.get();
            i = self.running.get() as usize;
            w.end = self.pass_end.get() as usize;
        }
        let kept = match step {
            Ok(Step::Continue) => {
                let next = next_retyme(d.tock(), retyme, t, period);
                w.min_due = w.min_due.min(next);
                if let Some(r) = self.retymes.get(i) {
                    r.set(next);
                }
                true
            }
            Ok(Step::Done) => {
                // its slot is a hole now; if requests compact this
                // scheduler, `next` says where the pass goes on
                if REQ {
                    self.running.set(NONE);
                    self.next.set(i as u16 + 1);
                }
                self.leave();
                finish(&mut cx, d, Context::Clean);
                false
            }
            Err(f) => {
                if REQ {
                    self.running.set(NONE);
                }
                self.leave();
                if self.contain.get() {
                    // opt-in containment: the child ends aborted, its
                    // siblings go on, the fault goes no further
                    finish(&mut cx, d, Context::Abort);
                    self.contained.set(self.contained.get().wrapping_add(1));
                    // a fault from deeper down was blamed on its way here:
                    // it ends nothing, so it is the origin of nothing
                    shared.blamed.set(false);
                    w.i = i + 1;
                    return Ok(w);
                }
                shared.blame(d);
                finish(&mut cx, d, Context::Abort);
                return Err((Err(f), w.min_due));
            }
        };
        // set by a request to remove the requester itself
        #[cfg_attr(not(feature = "requests"), allow(unused_mut))]
        let mut remove_me = false;
        #[cfg(not(feature = "requests"))]
        let _ = request;
        #[cfg(feature = "requests")]
        if request {
            let me: &dyn Doer = &*d;
            let mut rq = Requests {
                env,
                me: me.name(),
                me_group: me.as_group(),
                remove_me: false,
            };
            me.request(&mut rq);
            remove_me = rq.remove_me;
            if self.moves.get() != w.moves {
                w.moves = self.moves.get();
                w.end = self.pass_end.get() as usize;
                if !kept {
                    self.running.set(NONE);
                    w.i = self.next.get() as usize;
                    return Ok(w);
                }
                i = self.running.get() as usize;
            }
        }
        if REQ {
            self.running.set(NONE);
        }
        if kept {
            if remove_me {
                self.leave();
                finish(&mut Cx::new(env), d, Context::Cease);
            } else if let Some(c) = self.doers.get(i) {
                c.set(Some(d));
            }
        }
        w.i = i + 1;
        Ok(w)
    }

    /// From deed `i`, not due at `t`: the index of the next deed that may be
    /// due (or `end`), and the least retyme passed over, with `min`. Kept
    /// out of the pass loop, which it would crowd.
    #[inline(never)]
    fn skip_from(&self, i: usize, end: usize, t: Tyme, min: Tyme) -> (usize, Tyme) {
        if B == 0 {
            // (small schedulers step over deeds in the pass loop instead)
            let rest = self.retymes.get(i + 1..end).unwrap_or(&[]);
            let (k, m) = skip(rest, t, min);
            return (i + 1 + k, m);
        }
        // With a summary, a walk only looks for the next due deed; the least
        // retyme comes from the bounds at the end of the pass (`run_pass`).
        let len = self.len.get() as usize;
        let here = i / SUMMARY_BLOCK;
        let block_end = ((here + 1) * SUMMARY_BLOCK).min(end);
        let rest = self.retymes.get(i + 1..block_end).unwrap_or(&[]);
        let mut j = i + 1 + find_due(rest, t);
        if j < block_end {
            return (j, min);
        }
        if i % SUMMARY_BLOCK == 0 && block_end == ((here + 1) * SUMMARY_BLOCK).min(len) {
            // a whole block, from its start, with nothing due: exact bound
            if let (Some(bound), Some(rs)) = (self.mins.get(here), self.retymes.get(i..block_end)) {
                bound.set(rs.iter().map(Cell::get).min().unwrap_or(Tyme::MAX));
            }
        }
        // whole blocks: one compare each (branch-free, four at a time) while
        // the bound says nothing in them is due; else a scan, which also
        // heals a bound left too low
        let blocks = end.div_ceil(SUMMARY_BLOCK);
        while j < end {
            let b = j / SUMMARY_BLOCK;
            let k = find_due(self.mins.get(b..blocks).unwrap_or(&[]), t);
            j = ((b + k) * SUMMARY_BLOCK).min(end);
            let Some(bound) = self.mins.get(b + k).filter(|_| j < end) else {
                break;
            };
            let next = ((b + k + 1) * SUMMARY_BLOCK).min(end);
            let rest = self.retymes.get(j..next).unwrap_or(&[]);
            let k2 = find_due(rest, t);
            if j + k2 < next {
                return (j + k2, min);
            }
            if next == ((b + k + 1) * SUMMARY_BLOCK).min(len) {
                // the whole block is not due: its bound becomes exact
                bound.set(rest.iter().map(Cell::get).min().unwrap_or(Tyme::MAX));
            }
            j = next;
        }
        (j.min(end), min)
    }

    /// How the running code refers to this scheduler.
    #[inline(always)]
    pub(crate) fn group_ref(&self) -> GroupRef<'_> {
        #[cfg(feature = "requests")]
        return self;
        #[cfg(not(feature = "requests"))]
        return self.name;
    }

    /// One present doer left (finished, failed or removed). `live` counts
    /// the present doers, so it is at least one here.
    #[inline(always)]
    fn leave(&self) {
        debug_assert!(self.live.get() > 0, "a doer left an empty scheduler");
        self.live.set(self.live.get().wrapping_sub(1));
    }

    /// Recomputes block `b`'s bound from its deeds.
    fn refresh(&self, b: usize) {
        let len = self.len.get() as usize;
        let lo = (b * SUMMARY_BLOCK).min(len);
        let hi = ((b + 1) * SUMMARY_BLOCK).min(len);
        if let (Some(rs), Some(bound)) = (self.retymes.get(lo..hi), self.mins.get(b)) {
            bound.set(rs.iter().map(Cell::get).min().unwrap_or(Tyme::MAX));
        }
    }

    /// Stops every running doer in reverse canonical order (cease, exit)
    /// and ends the scheduler.
    pub(crate) fn stop_all(&self, env: &Env<'_>) {
        // doers of a scheduler that was never entered were never entered
        // either: they are dropped without a context
        let entered = self.state.get() == State::Running;
        let len = self.len.get() as usize;
        for cell in self.doers.get(..len).unwrap_or(&[]).iter().rev() {
            if let Some(d) = cell.take().filter(|_| entered) {
                let mut cx = Cx::new(env);
                env.shared.note(d, Context::Cease);
                d.cease(&mut cx);
                env.shared.note(d, Context::Exit);
                d.exit(&mut cx);
            }
        }
        self.len.set(0);
        self.live.set(0);
        self.min_due.set(Tyme::MAX);
        self.state.set(State::Ended);
    }

    /// Squeezes out the holes left by finished and removed doers, keeping
    /// canonical order, and moves the pass's bookkeeping along.
    fn compact(&self) {
        let len = self.len.get() as usize;
        if self.live.get() as usize == len {
            return;
        }
        // the pass's bookkeeping moves along (with requests, a compaction
        // may happen in the middle of a pass)
        let (end, fresh, running, next) = if REQ {
            (
                self.pass_end.get(),
                self.fresh_from.get(),
                self.running.get(),
                self.next.get(),
            )
        } else {
            (NONE, NONE, NONE, NONE)
        };
        let mut w: u16 = 0;
        for r in 0..len {
            let r16 = r as u16;
            if REQ {
                if r16 == end {
                    self.pass_end.set(w);
                }
                if r16 == next {
                    self.next.set(w);
                }
                if r16 == fresh {
                    self.fresh_from.set(w);
                }
            }
            let (Some(cell), Some(rt)) = (self.doers.get(r), self.retymes.get(r)) else {
                break;
            };
            let d = cell.take();
            // the running doer is out of its slot but keeps its place
            if d.is_some() || r16 == running {
                if r16 == running {
                    self.running.set(w);
                }
                let retyme = rt.get();
                if let (Some(wc), Some(wr)) =
                    (self.doers.get(w as usize), self.retymes.get(w as usize))
                {
                    wc.set(d);
                    wr.set(retyme);
                }
                w += 1;
            }
        }
        let len16 = len as u16;
        if REQ {
            if end >= len16 {
                self.pass_end.set(w);
            }
            if fresh >= len16 {
                self.fresh_from.set(w);
            }
            if next >= len16 {
                self.next.set(w);
            }
        }
        self.len.set(w);
        self.moves.set(self.moves.get().wrapping_add(1));
        for b in 0..B {
            self.refresh(b);
        }
    }

    #[cfg(feature = "requests")]
    fn append(&self, d: DoerRef<'a>, t: Tyme) -> Result<(), DoerRef<'a>> {
        if self.len.get() as usize >= Self::cap() {
            self.compact();
        }
        let n = self.len.get() as usize;
        let (Some(cell), Some(rt)) = (self.doers.get(n), self.retymes.get(n)) else {
            return Err(d);
        };
        if self.fresh_tyme.get() != t {
            self.fresh_tyme.set(t);
            self.fresh_from.set(n as u16);
        }
        cell.set(Some(d));
        rt.set(t);
        if let Some(bound) = self.mins.get(n / SUMMARY_BLOCK) {
            bound.set(bound.get().min(t));
        }
        self.len.set(n as u16 + 1);
        self.live.set(self.live.get() + 1);
        self.min_due.set(self.min_due.get().min(t));
        Ok(())
    }
}

#[cfg(feature = "requests")]
fn is_some<T>(c: &Cell<Option<T>>) -> bool {
    let v = c.take();
    let some = v.is_some();
    c.set(v);
    some
}

/// Runs a doer's last two contexts: `first` (clean, cease or abort) and exit.
fn finish(cx: &mut Cx<'_>, d: &mut dyn Doer, first: Context) {
    let shared = cx.env.shared;
    shared.note(d, first);
    match first {
        Context::Clean => d.clean(cx),
        Context::Cease => d.cease(cx),
        _ => d.abort(cx),
    }
    shared.note(d, Context::Exit);
    d.exit(cx);
}

/// Enters one doer: `Ok(Some)` to keep it, `Ok(None)` if it finished in
/// enter (clean, exit done), `Err` if it failed (abort, exit done).
fn enter_one<'a>(env: &Env<'_>, d: DoerRef<'a>) -> Result<Option<DoerRef<'a>>, Fault> {
    let mut cx = Cx::new(env);
    env.shared.note(d, Context::Enter);
    match d.enter(&mut cx) {
        Ok(Step::Continue) => Ok(Some(d)),
        Ok(Step::Done) => {
            finish(&mut cx, d, Context::Clean);
            Ok(None)
        }
        Err(f) => {
            env.shared.blame(d);
            finish(&mut cx, d, Context::Abort);
            Err(f)
        }
    }
}

impl<const N: usize, const S: usize, const B: usize> Group for Deeds<'_, N, S, B> {
    fn group_name(&self) -> &str {
        self.name
    }

    #[cfg(feature = "requests")]
    fn is_running(&self) -> bool {
        self.state.get() == State::Running
    }

    #[cfg(feature = "requests")]
    fn find(&self, name: &str, f: &mut dyn FnMut(&dyn Group)) -> bool {
        let len = self.len.get() as usize;
        for cell in self.doers.get(..len).unwrap_or(&[]) {
            let Some(d) = cell.take() else { continue };
            let mut found = false;
            if let Some(g) = d.as_group() {
                if g.group_name() == name && g.is_running() {
                    f(g);
                    found = true;
                } else {
                    found = g.find(name, f);
                }
            }
            cell.set(Some(d));
            if found {
                return true;
            }
        }
        false
    }

    #[cfg(feature = "requests")]
    fn extend_one(&self, shared: &Shared<'_>, name: &str) -> Result<(), RequestError> {
        if !self.is_running() {
            return Err(RequestError::NotRunning);
        }
        let mut found = None;
        for cell in &self.spares {
            if let Some(d) = cell.take() {
                if found.is_none() && d.name() == name {
                    found = Some((cell, d));
                } else {
                    cell.set(Some(d));
                }
            }
        }
        let Some((cell, d)) = found else {
            return Err(RequestError::NoSuchSpare);
        };
        if self.live.get() as usize >= Self::cap() {
            cell.set(Some(d));
            return Err(RequestError::Full);
        }
        // an added doer's fault does not end the run: it may not take the
        // origin's place
        let blamed = shared.blamed.replace(true);
        let env = Env {
            shared,
            group: self,
            up: None,
        };
        let entered = enter_one(&env, d);
        shared.blamed.set(blamed);
        match entered {
            Ok(Some(d)) => self.append(d, shared.tyme).map_err(|d| {
                // not reached: room was checked before the enter; but an
                // entered doer must exit, whatever happens
                finish(&mut Cx::new(&env), d, Context::Cease);
                RequestError::Full
            }),
            Ok(None) => Ok(()),
            Err(f) => Err(RequestError::EnterFailed(f)),
        }
    }

    #[cfg(feature = "requests")]
    fn remove_names(&self, shared: &Shared<'_>, names: &[&str]) {
        let env = Env {
            shared,
            group: self,
            up: None,
        };
        let len = self.len.get() as usize;
        for cell in self.doers.get(..len).unwrap_or(&[]).iter().rev() {
            let Some(d) = cell.take() else { continue };
            if names.contains(&d.name()) {
                let mut cx = Cx::new(&env);
                finish(&mut cx, d, Context::Cease);
                self.leave();
            } else {
                cell.set(Some(d));
            }
        }
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

/// The contract's retyme after a recur that keeps going: with tock 0, the
/// parent's next run (`t + period`); else `tock` after the last scheduled
/// retyme, so cadence never drifts.
#[inline(always)]
fn next_retyme(tock: Tock, retyme: Tyme, t: Tyme, period: Tock) -> Tyme {
    if tock.is_zero() {
        t + period
    } else {
        retyme + tock
    }
}

/// Where a pass's walk is.
#[derive(Debug, Clone, Copy)]
struct Walk {
    /// The next slot to look at.
    i: usize,
    /// The end of this pass's slots (doers added during it are past it).
    end: usize,
    /// `Deeds::moves` as last seen: a change means slots moved.
    moves: u32,
    /// The least retyme seen.
    min_due: Tyme,
}

/// How many leading deeds of `rts` are not due at `t` (branch-free, four at
/// a time).
#[inline]
fn find_due(rts: &[Cell<Tyme>], t: Tyme) -> usize {
    let t = t.as_nanos();
    let mut k = 0;
    for chunk in rts.chunks_exact(4) {
        let Ok([a, b, c, d]) = <&[Cell<Tyme>; 4]>::try_from(chunk) else {
            break;
        };
        if (a.get().as_nanos() <= t)
            | (b.get().as_nanos() <= t)
            | (c.get().as_nanos() <= t)
            | (d.get().as_nanos() <= t)
        {
            break;
        }
        k += 4;
    }
    for r in rts.get(k..).unwrap_or(&[]) {
        if r.get() <= Tyme::from_nanos(t) {
            break;
        }
        k += 1;
    }
    k
}

/// Schedulers of at least this many deeds (or with a summary) skip the
/// deeds that are not due with [`Deeds::skip_from`], four at a time;
/// smaller ones step over them one by one in the pass loop, which is
/// smaller code.
const WIDE: usize = 32;

/// How many leading deeds of `rts` are not due at `t`, and the least of
/// their retymes and `min`. Branch-free in chunks of 4, so a sparse pass
/// skips deeds that are not due at a fraction of a nanosecond each.
#[inline(always)]
fn skip(rts: &[Cell<Tyme>], t: Tyme, min: Tyme) -> (usize, Tyme) {
    let (t, mut min) = (t.as_nanos(), min.as_nanos());
    let mut k = 0;
    for chunk in rts.chunks_exact(4) {
        let Ok([a, b, c, d]) = <&[Cell<Tyme>; 4]>::try_from(chunk) else {
            break;
        };
        let (a, b, c, d) = (
            a.get().as_nanos(),
            b.get().as_nanos(),
            c.get().as_nanos(),
            d.get().as_nanos(),
        );
        if (a <= t) | (b <= t) | (c <= t) | (d <= t) {
            break;
        }
        min = min.min(a.min(b)).min(c.min(d));
        k += 4;
    }
    for r in rts.get(k..).unwrap_or(&[]) {
        let r = r.get().as_nanos();
        if r <= t {
            break;
        }
        min = min.min(r);
        k += 1;
    }
    (k, Tyme::from_nanos(min))
}
