//! A deed's next retyme after a recur that keeps going, and what its
//! slot keeps of its tock (SEMANTICS.md, "Retyme"): a tock of 0, or a
//! parked doer's [`Tock::NEVER`], is read once and kept until a recur calls
//! [`Cx::retock`].

use core::cell::Cell;

use crate::cx;
use crate::wake;
use crate::{Cx, Doer, Tock, Tyme};

/// The slot of a deed that has no waker and whose tock was 0 when last
/// read: its tock is not read again after a recur unless the recur calls
/// [`Cx::retock`]. No board slot has this number, nor one with [`PARKED`]
/// (a board holds at most 32 765 slots, numbered from 0), and it is not
/// [`wake::ROOT`].
const TICK0: u16 = wake::ROOT - 1;

/// Set in the slot of a deed with a waker whose tock was
/// [`Tock::NEVER`] when last read: it is parked again after each recur
/// without reading its tock, unless the recur calls [`Cx::retock`].
const PARKED: u16 = 0x8000;

/// The waker slot a deed's slot names: [`wake::NONE`] for none (`NONE` and
/// [`TICK0`]), else the slot without [`PARKED`].
#[inline(always)]
pub(super) fn waker_of(v: u16) -> u16 {
    if !KEEP_TOCK {
        // (a scheduler that keeps no tock marks no slot)
        v
    } else if v >= TICK0 {
        wake::NONE
    } else {
        v & !PARKED
    }
}

/// The retyme of a deed whose doer `d` keeps going after a recur in
/// context `cx` from `retyme`: a lazy DoDoer's own, else by the contract
/// from the doer's tock: with tock 0, the parent's next run
/// (`next_pass`); else `tock` after the last scheduled retyme, so cadence
/// never drifts.
///
/// The tock is not read again while it is known to be 0 or
/// [`Tock::NEVER`] (unless the recur said it changed, [`Cx::retock`]): a
/// deed without a waker keeps that knowledge of a 0 in its `slot`
/// ([`TICK0`]), one with a waker that of a NEVER ([`PARKED`]). Not
/// generic, and inlined (a doer whose tock is not kept runs about a
/// nanosecond faster).
#[inline(always)]
pub(super) fn next_after(
    slot: Option<&Cell<u16>>,
    d: &dyn Doer,
    cx: &Cx<'_>,
    retyme: Tyme,
    next_pass: Tyme,
) -> Tyme {
    let s = slot.map_or(wake::NONE, Cell::get);
    if KEEP_TOCK && cx.flags == 0 && s == TICK0 {
        // the common case first. A doer whose tock left 0 without saying
        // so is caught by every debug build's tests
        debug_assert!(
            d.tock().is_zero(),
            "doer `{}` changed its tock from 0 without calling `Cx::retock` in that recur",
            d.name()
        );
        return next_pass;
    }
    if cx.flags & cx::DUE != 0 {
        return cx.due;
    }
    if !KEEP_TOCK {
        return retyme_after(d.tock(), retyme, next_pass);
    }
    let tock = if cx.flags & cx::RETOCK == 0 && s < TICK0 && s & PARKED != 0 {
        debug_assert!(
            d.tock() == Tock::NEVER,
            "doer `{}` changed its tock from NEVER without calling `Cx::retock` in that recur",
            d.name()
        );
        Tock::NEVER
    } else {
        let tock = d.tock();
        if let Some(c) = slot {
            c.set(if s >= TICK0 {
                // no waker
                if tock.is_zero() {
                    TICK0
                } else {
                    wake::NONE
                }
            } else if tock == Tock::NEVER {
                s | PARKED
            } else {
                s & !PARKED
            });
        }
        tock
    };
    retyme_after(tock, retyme, next_pass)
}

/// The contract's retyme after a recur that keeps going: with tock 0, the
/// parent's next run (`next_pass`: the pass's tyme and the parent's
/// period); else `tock` after the last scheduled retyme, so cadence never
/// drifts.
#[inline(always)]
fn retyme_after(tock: Tock, retyme: Tyme, next_pass: Tyme) -> Tyme {
    if tock.is_zero() {
        next_pass
    } else {
        retyme + tock
    }
}

/// Whether a scheduler keeps a tock of 0 (or a parked doer's NEVER) once
/// read, rather than read it after every recur ([`Cx::retock`]). On a
/// host, where it saves a dynamic call per doer-run; not on a
/// microcontroller, where the code it takes (about 200 bytes of flash)
/// counts more. A doer that keeps the rule behaves the same either way.
pub(super) const KEEP_TOCK: bool = !cfg!(target_os = "none");
