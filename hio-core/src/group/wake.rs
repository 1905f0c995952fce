//! Park and wake in a scheduler: each deed's waker slot, how a wake finds
//! its deed from the Doist down, and how it brings retymes forward
//! (SEMANTICS.md, "Waiting for events").

use core::cell::Cell;

use super::{Deeds, DoerRef, Group};
use crate::cx::Env;
use crate::wake::{same_board, Board, MAX_DEPTH};
use crate::{Doer, Tyme, WakeError, Waker};

pub(crate) use crate::wake::{NONE, ROOT};

impl<const N: usize, const S: usize, const B: usize> Deeds<'_, N, S, B> {
    /// Applies every wake recorded on the tree's board, at the current tyme,
    /// to this scheduler, the Doist's own: before a pass (wakes from
    /// outside), or right after a recur (wakes made during it), with `env`
    /// the scheduler that ran it. Reached only through
    /// [`Root`](super::Root), once the Doist drains a board.
    pub(super) fn drain_root(&self, env: &Env<'_>, nested: Option<Nested>) {
        let shared = env.shared;
        let Some(board) = shared.board else { return };
        let t = shared.tyme;
        // Below a DoDoer: only a DoDoer placed below this scheduler gave
        // `nested`, so a flat tree has none of that code.
        // On a host, a tree with DoDoers drains with `drain_nested`,
        // which keeps a DoDoer out of its cell across its children's slots.
        // A microcontroller, where a drain serves an interrupt or two,
        // keeps the smaller code: a wake through DoDoers is found slot by
        // slot with `wake_level`, and the scheduler's view is made for each.
        #[cfg(not(target_os = "none"))]
        {
            if let Some(drain) = nested {
                drain(&self.level(), board, t, env, &mut |i| self.lower(i, t));
                return;
            }
            let level = self.level();
            board.drain(&mut |slot, up, index| {
                if let Some(i) = wake_top(&level, slot, (up, index)) {
                    self.lower(i, t);
                }
            });
        }
        #[cfg(target_os = "none")]
        board.drain(&mut |slot, up, index| {
            let level = self.level();
            let i = match nested {
                Some(wake) => wake(&level, slot, (up, index), board, t, env),
                None => wake_top(&level, slot, (up, index)),
            };
            if let Some(i) = i {
                self.lower(i, t);
            }
        });
    }

    /// Before the child `d` at `i` is entered: a DoDoer takes a slot for
    /// itself (its own waker, or one of the board's), so that its children
    /// can be woken.
    pub(super) fn place_child(&self, root: &dyn Group, i: usize, d: &dyn Doer) {
        if let Some(g) = d.as_group() {
            let up = Parent {
                board: self.board.get(),
                own: self.own.get(),
                depth: self.depth.get(),
                slot: self.slots.get(i),
            };
            g.place(up, i as u16, root);
        }
    }

    /// This scheduler's owner is at `index` of the scheduler `up`.
    pub(super) fn place_in(&self, up: Parent<'_>, index: u16, root: &dyn Group) {
        let (Some(board), parent) = (up.board, up.own) else {
            return;
        };
        if parent == NONE {
            return;
        }
        let depth = up.depth.saturating_add(1);
        self.board.set(Some(board));
        self.depth.set(depth);
        // wakes from the Doist down come through this scheduler
        #[cfg(not(target_os = "none"))]
        root.nested(drain_nested);
        #[cfg(target_os = "none")]
        root.nested(wake_one);
        let slot = if usize::from(depth) >= MAX_DEPTH {
            // too deep for a wake's path: its doers cannot be woken (and it
            // is not lazy), rather than woken sometimes
            NONE
        } else {
            let user = self
                .user
                .get()
                .filter(|w| same_board(w.board(), board) && board.valid(w.slot(), w.gen()));
            match user {
                Some(w) => w.slot(),
                None => board.alloc(true).unwrap_or(NONE),
            }
        };
        if slot != NONE {
            board.bind(slot, parent, index);
        }
        self.own.set(slot);
        if let Some(c) = up.slot {
            c.set(slot);
        }
    }

    /// The deed at `i` left: its slot is unbound (and released if the
    /// scheduler took it for a DoDoer).
    pub(super) fn unbind_at(&self, i: usize) {
        let Some(c) = self.slots.get(i) else { return };
        let slot = super::waker_of(c.replace(NONE));
        if slot == NONE {
            return;
        }
        if let Some(board) = self.board.get() {
            // unless another deed has taken the slot on since
            board.unbind_from(slot, self.own.get(), i as u16);
        }
    }

    /// The deed with `slot` moved from `from` to `to`.
    #[cfg(feature = "requests")]
    pub(super) fn moved(&self, slot: u16, from: u16, to: u16) {
        if let Some(board) = self.board.get() {
            if board.link(slot) == (self.own.get(), from) {
                board.moved(slot, to);
            }
        }
    }

    /// A request added or removed a doer: a lazy or parked owner is brought
    /// forward to now, with its lazy or parked ancestors, as for a wake.
    #[cfg(feature = "requests")]
    pub(super) fn poke_owner(&self) {
        let own = self.own.get();
        if !self.propagate.get() || own == NONE || own == ROOT {
            return;
        }
        if let Some(board) = self.board.get() {
            board.poke(own);
        }
    }

    /// Binds `waker` to the deed at `index`.
    pub(super) fn attach_deed(&self, index: u16, waker: Waker) -> Result<(), WakeError> {
        let board = self.board.get().ok_or(WakeError::Foreign)?;
        if !same_board(board, waker.board()) {
            return Err(WakeError::Foreign);
        }
        if !board.valid(waker.slot(), waker.gen()) {
            return Err(WakeError::Stale);
        }
        let own = self.own.get();
        if usize::from(self.depth.get()) >= MAX_DEPTH {
            return Err(WakeError::TooDeep);
        }
        if own == NONE {
            return Err(WakeError::Full);
        }
        let cell = self
            .slots
            .get(usize::from(index))
            .ok_or(WakeError::NotRunning)?;
        let old = super::waker_of(cell.get());
        if old != NONE && old != waker.slot() {
            self.unbind_at(usize::from(index));
        }
        board.bind(waker.slot(), own, index);
        cell.set(waker.slot());
        Ok(())
    }

    /// Brings the deed at `i` forward to `t`. A deed the walk of the pass
    /// in progress has passed is remembered for the pass's end; one ahead
    /// of it is run by it.
    pub(super) fn lower(&self, i: usize, t: Tyme) {
        let Some(r) = self.retymes.get(i) else { return };
        if t < r.get() {
            r.set(t);
        }
        if B > 0 {
            self.woken_at(i, t);
        }
        let at = self.running.get();
        if at == NONE {
            // no pass of this scheduler is in progress
            self.min_due.set(self.min_due.get().min(t));
        } else if i < usize::from(at) {
            self.woke.set(self.woke.get().min(t));
        }
    }

    /// [`Group::wake_path`]: the wake `w` of a slot bound to a deed of
    /// this scheduler or below one of its DoDoers. Returns whether the
    /// owner of this scheduler is to be brought forward too.
    pub(super) fn wake_slot(&self, w: &Woken<'_>) -> bool {
        match wake_level(&self.level(), w) {
            Some(i) => {
                self.lower(i, w.t);
                self.propagate.get()
            }
            None => false,
        }
    }
}

impl<'a, const N: usize, const S: usize, const B: usize> Deeds<'a, N, S, B> {
    /// What [`wake_level`] needs of this scheduler.
    fn level(&self) -> Level<'_, 'a> {
        Level {
            doers: &self.doers,
            slots: &self.slots,
            own: self.own.get(),
        }
    }
}

/// What a DoDoer's scheduler needs of its parent to be placed
/// ([`Group::place`]).
#[doc(hidden)]
pub struct Parent<'v> {
    /// The parent's board, if its deeds can be woken.
    board: Option<&'static dyn Board>,
    /// The waker slot of the parent's owner.
    own: u16,
    /// How many levels below the Doist the parent is.
    depth: u8,
    /// The parent's slot for the DoDoer.
    slot: Option<&'v Cell<u16>>,
}

impl core::fmt::Debug for Parent<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Parent").field("own", &self.own).finish()
    }
}

/// What a wake through DoDoers needs of one scheduler, whatever its
/// capacities: one copy of that code serves them all.
#[doc(hidden)]
pub struct Level<'v, 'a> {
    doers: &'v [Cell<Option<DoerRef<'a>>>],
    slots: &'v [Cell<u16>],
    own: u16,
}

impl core::fmt::Debug for Level<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Level").field("own", &self.own).finish()
    }
}

/// One wake on its way down from the Doist: the woken slot and its link
/// (its parent's slot and its index there), the board, the tyme it brings
/// deeds forward to, and the chain of running schedulers.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Woken<'w> {
    slot: u16,
    link: (u16, u16),
    board: &'w dyn Board,
    t: Tyme,
    env: &'w Env<'w>,
}

impl core::fmt::Debug for Woken<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Woken").field("slot", &self.slot).finish()
    }
}

/// Applies the wake `w` through the DoDoer `d` (its group's path):
/// whether `d` is to be brought forward too.
fn through(d: &dyn Doer, w: &Woken<'_>) -> bool {
    d.as_group().is_some_and(|g| g.wake_path(w))
}

/// [`drain_nested`], as the Doist's scheduler keeps it once a DoDoer is
/// placed below it (on a host).
#[cfg(not(target_os = "none"))]
#[doc(hidden)]
pub type Nested =
    for<'v, 'a, 'e> fn(&Level<'v, 'a>, &dyn Board, Tyme, &Env<'e>, &mut dyn FnMut(usize));

/// [`wake_one`], as the Doist's scheduler keeps it once a DoDoer is
/// placed below it (on a microcontroller).
#[cfg(target_os = "none")]
#[doc(hidden)]
pub type Nested = for<'v, 'a, 'e> fn(
    &Level<'v, 'a>,
    u16,
    (u16, u16),
    &dyn Board,
    Tyme,
    &Env<'e>,
) -> Option<usize>;

/// [`wake_level`] for one drained slot, as a microcontroller's drain calls
/// it (the wake is made up here, in code a flat tree does not link).
#[cfg(target_os = "none")]
fn wake_one(
    level: &Level<'_, '_>,
    slot: u16,
    link: (u16, u16),
    board: &dyn Board,
    t: Tyme,
    env: &Env<'_>,
) -> Option<usize> {
    let w = Woken {
        slot,
        link,
        board,
        t,
        env,
    };
    wake_level(level, &w)
}

/// Drains the board for the Doist's scheduler `level` once a DoDoer is
/// placed below it: `lower(i)` for each deed of this level to bring forward
/// (woken itself, or a DoDoer through which a wake below brings it
/// forward). While the slots come from the children of one DoDoer of this
/// level, that DoDoer is kept out of its cell between them, not taken and
/// put back for each (nothing else reaches it during a drain).
#[cfg(not(target_os = "none"))]
fn drain_nested<'a>(
    level: &Level<'_, 'a>,
    board: &dyn Board,
    t: Tyme,
    env: &Env<'_>,
    lower: &mut dyn FnMut(usize),
) {
    /// (index, slot, doer) of the DoDoer kept out of its cell.
    type Held<'a> = Option<(usize, u16, DoerRef<'a>)>;
    fn put_back<'a>(level: &Level<'_, 'a>, held: &mut Held<'a>) {
        if let Some((i, _, d)) = held.take() {
            if let Some(cell) = level.doers.get(i) {
                cell.set(Some(d));
            }
        }
    }
    let mut held: Held<'a> = None;
    board.drain(&mut |slot, up, index| {
        let w = Woken {
            slot,
            link: (up, index),
            board,
            t,
            env,
        };
        if let Some((i, own, d)) = held.as_ref() {
            if up == *own {
                // another child of the DoDoer kept out
                let i = *i;
                if through(&**d, &w) {
                    lower(i);
                }
                return;
            }
        }
        put_back(level, &mut held);
        if up == level.own {
            if let Some(i) = wake_top(level, slot, w.link) {
                lower(i);
            }
            return;
        }
        // a child of a DoDoer of this level that is in its cell: kept out
        // for the slots that follow
        if let Some(i) = wake_top(level, up, board.link(up)) {
            if let Some(d) = level.doers.get(i).and_then(Cell::take) {
                let bring = through(d, &w);
                held = Some((i, up, d));
                if bring {
                    lower(i);
                }
                return;
            }
        }
        // deeper, or below a DoDoer that is running
        if let Some(i) = wake_level(level, &w) {
            lower(i);
        }
    });
    put_back(level, &mut held);
}

/// A wake of `slot`, whose link is `(up, index)`, if it is bound to a deed
/// of the scheduler `level` itself: that deed's index. (The Doist's
/// scheduler wakes so until a DoDoer is placed below it.)
#[inline]
fn wake_top(level: &Level<'_, '_>, slot: u16, (up, index): (u16, u16)) -> Option<usize> {
    let i = usize::from(index);
    (up == level.own && level.slots.get(i).map(|c| super::waker_of(c.get())) == Some(slot))
        .then_some(i)
}

/// The wake `w` of a slot bound to a deed of the scheduler `level` or
/// below one of its DoDoers: the index of the deed of this level to bring
/// forward, if any (the deed itself, or the DoDoer through which a wake
/// below brings it forward).
pub(super) fn wake_level(level: &Level<'_, '_>, w: &Woken<'_>) -> Option<usize> {
    let (slot, board) = (w.slot, w.board);
    // the deed of this level on the way: the ancestor of `slot` (or `slot`
    // itself) bound to this scheduler
    let (mut at, (mut up, mut index)) = (slot, w.link);
    let mut depth = 0;
    while up != level.own {
        if up == NONE || up == ROOT || depth >= MAX_DEPTH {
            return None; // a DoDoer above it ended
        }
        at = up;
        (up, index) = board.link(at);
        depth += 1;
    }
    let i = usize::from(index);
    if level.slots.get(i).map(|c| super::waker_of(c.get())) != Some(at) {
        return None;
    }
    if at == slot {
        return Some(i);
    }
    // through the DoDoer at `i`
    let cell = level.doers.get(i)?;
    let bring = if let Some(d) = cell.take() {
        let bring = through(d, w);
        cell.set(Some(d));
        bring
    } else {
        // out of its slot: it is running, and its scheduler is on the chain
        // of running schedulers
        let mut e = Some(w.env);
        loop {
            let Some(x) = e else { break false };
            if x.group.own_slot() == at {
                break x.group.wake_path(w);
            }
            e = x.up;
        }
    };
    bring.then_some(i)
}
