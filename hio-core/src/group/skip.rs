//! Skipping the deeds that are not due: branch-free scans four at a time,
//! and the opt-in summary of block bounds.

use core::cell::Cell;

use super::{Deeds, SUMMARY_BLOCK};
use crate::Tyme;

impl<const N: usize, const S: usize, const B: usize> Deeds<'_, N, S, B> {
    /// From deed `i`, not due at `t`: the index of the next deed that may be
    /// due (or `end`), and the least retyme passed over, with `min`. Kept
    /// out of the pass loop, which it would crowd.
    #[inline(never)]
    pub(super) fn skip_from(&self, i: usize, end: usize, t: Tyme, min: Tyme) -> (usize, Tyme) {
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
                bound.set(least(rs));
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
                bound.set(least(rest));
            }
            j = next;
        }
        (j.min(end), min)
    }

    /// Recomputes block `b`'s bound from its deeds.
    pub(super) fn refresh(&self, b: usize) {
        let len = self.len.get() as usize;
        let lo = (b * SUMMARY_BLOCK).min(len);
        let hi = ((b + 1) * SUMMARY_BLOCK).min(len);
        if let (Some(rs), Some(bound)) = (self.retymes.get(lo..hi), self.mins.get(b)) {
            bound.set(least(rs));
        }
    }
}

/// The least retyme of `rts` (`Tyme::MAX` when empty). The common case, a
/// block whose doers are all parked, is told by equality compares, which
/// cost far less than an unsigned minimum on a host's vector unit.
#[inline]
fn least(rts: &[Cell<Tyme>]) -> Tyme {
    if rts.iter().all(|r| r.get() == Tyme::MAX) {
        Tyme::MAX
    } else {
        rts.iter().map(Cell::get).min().unwrap_or(Tyme::MAX)
    }
}

/// How many leading deeds of `rts` are not due at `t` (branch-free, four at
/// a time).
#[inline]
pub(super) fn find_due(rts: &[Cell<Tyme>], t: Tyme) -> usize {
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
pub(super) const WIDE: usize = 32;

/// How many leading deeds of `rts` are not due at `t`, and the least of
/// their retymes and `min`. Branch-free in chunks of 4, so a sparse pass
/// skips deeds that are not due at a fraction of a nanosecond each.
#[inline(always)]
pub(super) fn skip(rts: &[Cell<Tyme>], t: Tyme, min: Tyme) -> (usize, Tyme) {
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
