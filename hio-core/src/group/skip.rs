//! Skipping the deeds that are not due: branch-free scans four at a time,
//! and the opt-in summary (block bounds, hot blocks, run bits of woken
//! deeds).

use core::cell::Cell;

use super::{Deeds, SUMMARY_BLOCK};
use crate::{Tock, Tyme};

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
        // Woken deeds are found from their run bits, deeds whose time has
        // come from the hot blocks; the walk goes on at the first of either.
        self.settle_lent();
        let run = self.next_run(i + 1, end);
        let timed = self.next_timed(i, run, t);
        if run <= timed && run < end {
            self.clear_run(run);
            if !self.is_hot(run / SUMMARY_BLOCK) {
                // taken from a block that is not hot: once it has run, its
                // block is hot if its new retyme is within the horizon
                self.lent.set(run as u16);
            }
            return (run, min);
        }
        (timed.min(end), min)
    }

    /// The deed that [`skip_from`](Self::skip_from) last took by its run
    /// bit from a block that is not hot has run: if its retyme is now
    /// within the horizon, its block is hot (a block that is not hot has
    /// only deeds past the horizon, or woken ones whose run bits are set).
    #[inline]
    pub(super) fn settle_lent(&self) {
        let k = self.lent.replace(super::NONE);
        if k != super::NONE {
            let k = usize::from(k);
            if self
                .retymes
                .get(k)
                .is_some_and(|r| r.get() <= self.horizon.get())
            {
                self.set_bit(k / SUMMARY_BLOCK);
            }
        }
    }

    /// From deed `i`, the first deed before `limit` that is due at `t` by
    /// its retyme, among the rest of `i`'s block and the hot blocks after
    /// it; `limit` if none.
    #[inline(always)]
    fn next_timed(&self, i: usize, limit: usize, t: Tyme) -> usize {
        let len = self.len.get() as usize;
        let here = i / SUMMARY_BLOCK;
        if self.is_hot(here) {
            // the first due deed in the rest of this block
            let hi = ((here + 1) * SUMMARY_BLOCK).min(limit);
            let rest = self.retymes.get(i + 1..hi).unwrap_or(&[]);
            let j = i + 1 + first_due(rest, t);
            if j < hi {
                return j;
            }
            if hi == ((here + 1) * SUMMARY_BLOCK).min(len) {
                if i % SUMMARY_BLOCK == 0 {
                    // nothing in the whole block is due: its bound becomes
                    // exact
                    self.refresh(here);
                } else {
                    // the walk leaves a whole block: if its doers ran and
                    // parked again, it stops being hot (told by equality
                    // compares, which cost little; an exact bound
                    // otherwise would not pay)
                    self.park_block(here);
                }
            }
        }
        // the hot blocks after it, found from their bits: the first due
        // deed of each; a block with none whose bound said otherwise is
        // healed
        let blocks = limit.div_ceil(SUMMARY_BLOCK);
        let mut b = here + 1;
        loop {
            b = self.next_hot(b, blocks);
            if b >= blocks {
                return limit;
            }
            let lo = b * SUMMARY_BLOCK;
            let hi = ((b + 1) * SUMMARY_BLOCK).min(limit);
            let j = lo + first_due(self.retymes.get(lo..hi).unwrap_or(&[]), t);
            if j < hi {
                return j;
            }
            if hi == ((b + 1) * SUMMARY_BLOCK).min(len)
                && self.mins.get(b).is_some_and(|m| m.get() <= t)
            {
                // the whole block is not due: its bound becomes exact
                self.refresh(b);
            }
            b += 1;
        }
    }

    /// Recomputes block `b`'s bound from its deeds.
    pub(super) fn refresh(&self, b: usize) {
        if let Some((rs, _)) = self.block(b) {
            self.set_bound(b, least(rs));
        }
    }

    /// If every deed of block `b` is parked, its bound is `Tyme::MAX`.
    #[inline]
    fn park_block(&self, b: usize) {
        if self.block(b).is_some_and(|(rs, _)| parked(rs)) {
            self.set_bound(b, Tyme::MAX);
        }
    }

    /// Block `b`'s bound is now `bound`, exact: past the horizon, the block
    /// is no longer hot, and its finite bit says whether it is below
    /// `Tyme::MAX`.
    #[inline]
    fn set_bound(&self, b: usize, bound: Tyme) {
        if let Some(m) = self.mins.get(b) {
            m.set(bound);
        }
        if bound > self.horizon.get() {
            self.clear_bit(b);
        }
        self.set_finite(b, bound);
    }

    /// The retymes of block `b`'s deeds, and its bound.
    #[inline(always)]
    fn block(&self, b: usize) -> Option<(&[Cell<Tyme>], &Cell<Tyme>)> {
        let len = self.len.get() as usize;
        let lo = (b * SUMMARY_BLOCK).min(len);
        let hi = ((b + 1) * SUMMARY_BLOCK).min(len);
        Some((self.retymes.get(lo..hi)?, self.mins.get(b)?))
    }

    /// Block `b`'s bound came down to `t` (or lower): it is hot.
    #[inline]
    pub(super) fn lower_bound(&self, b: usize, t: Tyme) {
        self.lower_min(b, t);
        self.set_bit(b);
    }

    /// A wake brought deed `i` forward to `t`: its block's bound comes
    /// down, and its run bit is set (or, where the bits have no room for
    /// run bits, its block is hot).
    #[inline]
    pub(super) fn woken_at(&self, i: usize, t: Tyme) {
        if Self::RUN_BITS {
            self.lower_min(i / SUMMARY_BLOCK, t);
            self.set_run(i);
        } else {
            self.lower_bound(i / SUMMARY_BLOCK, t);
        }
    }

    /// Block `b`'s bound, brought down to `t` if it is above.
    #[inline(always)]
    fn lower_min(&self, b: usize, t: Tyme) {
        if let Some(bound) = self.mins.get(b) {
            bound.set(bound.get().min(t));
        }
        if t != Tyme::MAX {
            self.set_finite(b, t);
        }
    }

    /// Block `b`'s bound was set to `bound`: its finite bit says whether
    /// that is below `Tyme::MAX`.
    #[inline(always)]
    fn set_finite(&self, b: usize, bound: Tyme) {
        // (only a lazy owner asks for its exact next retyme: a scheduler
        // whose wakes do not propagate up keeps its wakes the cheaper)
        if Self::FINITE_BITS && self.propagate.get() {
            if bound == Tyme::MAX {
                self.clear_bit(Self::FINITE_BASE * 64 + b);
            } else {
                self.set_bit(Self::FINITE_BASE * 64 + b);
            }
        }
    }

    /// Whether block `b` is hot.
    #[inline(always)]
    fn is_hot(&self, b: usize) -> bool {
        self.word(b / 64) & 1 << (b % 64) != 0
    }

    /// Sets bit `k` of `bits`.
    #[inline(always)]
    fn set_bit(&self, k: usize) {
        if let Some(w) = self.bits.get(k / 64) {
            w.set(w.get() | 1 << (k % 64));
        }
    }

    /// Clears bit `k` of `bits`.
    #[inline(always)]
    fn clear_bit(&self, k: usize) {
        if let Some(w) = self.bits.get(k / 64) {
            w.set(w.get() & !(1 << (k % 64)));
        }
    }

    /// Clears deed `i`'s run bit (and its word's bit when none is left).
    #[inline(always)]
    fn clear_run(&self, i: usize) {
        if !Self::RUN_BITS {
            return;
        }
        if let Some(w) = self.bits.get(Self::RUN_BASE + i / 64) {
            let old = w.get();
            let v = old & !(1 << (i % 64));
            w.set(v);
            if v == 0 && old != 0 {
                self.clear_bit(Self::RUN_WORDS * 64 + i / 64);
                self.run_words.set(self.run_words.get().wrapping_sub(1));
            }
        }
    }

    /// Sets deed `i`'s run bit (and its word's bit).
    #[inline(always)]
    fn set_run(&self, i: usize) {
        if let Some(w) = self.bits.get(Self::RUN_BASE + i / 64) {
            let old = w.get();
            w.set(old | 1 << (i % 64));
            if old == 0 {
                self.set_bit(Self::RUN_WORDS * 64 + i / 64);
                self.run_words.set(self.run_words.get() + 1);
            }
        }
    }

    /// The first deed from `i` on, before `end`, whose run bit is set
    /// (`end` if none): from `i`'s word, or else through the bits that
    /// tell which words have any.
    #[inline]
    fn next_run(&self, i: usize, end: usize) -> usize {
        if !Self::RUN_BITS || i >= end || self.run_words.get() == 0 {
            return end;
        }
        let w = i / 64;
        let bits = self.word(Self::RUN_BASE + w) & (u64::MAX << (i % 64));
        if bits != 0 {
            return (w * 64 + bits.trailing_zeros() as usize).min(end);
        }
        let mut v = w + 1;
        while v < N.div_ceil(64) {
            let words = self.word(Self::RUN_WORDS + v / 64) & (u64::MAX << (v % 64));
            if words != 0 {
                let w = v / 64 * 64 + words.trailing_zeros() as usize;
                let bits = self.word(Self::RUN_BASE + w);
                return (w * 64 + bits.trailing_zeros() as usize).min(end);
            }
            v = (v / 64 + 1) * 64;
        }
        end
    }

    /// Word `w` of `bits`.
    #[inline(always)]
    fn word(&self, w: usize) -> u64 {
        self.bits.get(w).map_or(0, Cell::get)
    }

    /// Where the run bits start in `bits`, in words: after the hot bits.
    const RUN_BASE: usize = B.div_ceil(64);

    /// Where the bits telling which words of run bits have any start, in
    /// words: after the run bits.
    const RUN_WORDS: usize = Self::RUN_BASE + N.div_ceil(64);

    /// Whether `bits` has room for the run bits (it has unless the
    /// scheduler holds at most 16 deeds).
    const RUN_BITS: bool = B > 0 && Self::RUN_WORDS + N.div_ceil(4096) <= B;

    /// Where the finite bits start in `bits`, in words: after the bits
    /// telling which words of run bits have any. A block's finite bit is
    /// set whenever its bound is below `Tyme::MAX` (it may be set with a
    /// bound of `Tyme::MAX`, never clear with a lower one), so that
    /// [`exact_due`](Self::exact_due) looks only into those.
    const FINITE_BASE: usize = Self::RUN_WORDS + N.div_ceil(4096);

    /// Whether `bits` has room for the finite bits too. (They are kept up
    /// where bounds come down only for a scheduler whose owner is lazy or
    /// parked; only a lazy one reads them.)
    const FINITE_BITS: bool = Self::RUN_BITS && Self::FINITE_BASE + B.div_ceil(64) <= B;

    /// The first hot block from `b` on (`blocks` or more if none before
    /// `blocks`).
    #[inline]
    fn next_hot(&self, b: usize, blocks: usize) -> usize {
        let mut w = b / 64;
        let mut bits = self.word(w) & (u64::MAX << (b % 64));
        while bits == 0 {
            w += 1;
            if w * 64 >= blocks {
                return blocks;
            }
            bits = self.word(w);
        }
        w * 64 + bits.trailing_zeros() as usize
    }

    /// A pass at `t` is past the horizon: a new one, `HORIZON` periods
    /// ahead (the scheduler's own, on a host at least the Doist's tock),
    /// and the hot bits made again from the bounds.
    #[inline(never)]
    pub(super) fn rebuild_hot(&self, t: Tyme, period: Tock) {
        let span = period.as_nanos().clamp(1, u64::MAX / HORIZON);
        let horizon = Tyme::from_nanos(t.as_nanos().saturating_add(span * HORIZON));
        self.horizon.set(horizon);
        for (k, h) in self.bits.iter().take(Self::RUN_BASE).enumerate() {
            let bounds = self.mins.get(k * 64..).unwrap_or(&[]);
            let bits = bounds
                .iter()
                .take(64)
                .enumerate()
                .fold(0u64, |acc, (j, m)| acc | u64::from(m.get() <= horizon) << j);
            h.set(bits);
        }
    }

    /// The earliest retyme among its present doers (and failed children
    /// held for a restart), exactly: what a lazy owner waits for, which
    /// must not run before a child is due. [`next_due`](Deeds::next_due)
    /// is only a lower bound: it may still count a doer removed since it
    /// was seen, and with a summary, after a pass that ran a doer, it is
    /// that pass's tyme. Without a summary every deed is looked at; with
    /// one, only the blocks whose bound is below the best found so far,
    /// and their bounds are made exact.
    pub(crate) fn exact_due(&self) -> Tyme {
        #[cfg(feature = "requests")]
        let mut best = self.next_restart.get();
        #[cfg(not(feature = "requests"))]
        let mut best = Tyme::MAX;
        let len = self.len.get() as usize;
        let blocks = len.div_ceil(SUMMARY_BLOCK);
        let holes = self.live.get() != self.len.get();
        if B == 0 {
            best = best.min(self.least_present(0, len, holes));
        } else {
            for w in 0..blocks.div_ceil(64) {
                // with the finite bits, only the blocks whose bound is
                // below `Tyme::MAX`
                let mut bits = if Self::FINITE_BITS {
                    self.word(Self::FINITE_BASE + w)
                } else {
                    u64::MAX
                };
                while bits != 0 {
                    let b = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if b >= blocks || self.mins.get(b).is_none_or(|m| m.get() >= best) {
                        continue;
                    }
                    let lo = b * SUMMARY_BLOCK;
                    let least = self.least_present(lo, (lo + SUMMARY_BLOCK).min(len), holes);
                    self.set_bound(b, least);
                    best = best.min(least);
                }
            }
        }
        self.min_due.set(best);
        best
    }

    /// The least retyme of the present doers from `lo` to `hi`: with
    /// `holes`, a hole left by a doer that ended is passed over (it is
    /// never due); without, the retymes are read alone.
    fn least_present(&self, lo: usize, hi: usize, holes: bool) -> Tyme {
        if !holes {
            return least(self.retymes.get(lo..hi).unwrap_or(&[]));
        }
        let (doers, retymes) = (self.doers.get(lo..hi), self.retymes.get(lo..hi));
        doers
            .unwrap_or(&[])
            .iter()
            .zip(retymes.unwrap_or(&[]))
            .filter(|(d, _)| super::is_some(d))
            .fold(Tyme::MAX, |least, (_, r)| least.min(r.get()))
    }

    /// The horizon of the hot bits.
    #[cfg(test)]
    pub(crate) fn horizon(&self) -> Tyme {
        self.horizon.get()
    }

    /// No run bits (deeds moved, or the scheduler is entered).
    pub(super) fn clear_runs(&self) {
        let runs = Self::FINITE_BASE - Self::RUN_BASE;
        for w in self.bits.iter().skip(Self::RUN_BASE).take(runs) {
            w.set(0);
        }
        self.run_words.set(0);
    }

    /// Every block may be due: bounds of zero, all hot, until a pass makes
    /// the bits again.
    pub(super) fn reset_summary(&self) {
        for m in &self.mins {
            m.set(Tyme::ZERO);
        }
        self.clear_runs();
        for h in self.bits.iter().take(Self::RUN_BASE) {
            h.set(u64::MAX);
        }
        if Self::FINITE_BITS {
            let finite = self.bits.iter().skip(Self::FINITE_BASE);
            for f in finite.take(B.div_ceil(64)) {
                f.set(u64::MAX);
            }
        }
        self.horizon.set(Tyme::ZERO);
        self.lent.set(super::NONE);
    }
}

/// How many of a scheduler's periods ahead the horizon of its hot blocks
/// lies: the bits are made again from all bounds once every so many
/// passes.
const HORIZON: u64 = 64;

/// The least retyme of `rts` (`Tyme::MAX` when empty). The common case, a
/// block whose doers are all parked, is told by equality compares, which
/// cost far less than an unsigned minimum on a host's vector unit.
#[inline]
fn least(rts: &[Cell<Tyme>]) -> Tyme {
    if parked(rts) {
        Tyme::MAX
    } else {
        rts.iter().map(Cell::get).min().unwrap_or(Tyme::MAX)
    }
}

/// Whether every deed of `rts` is parked (a whole block is told without a
/// branch per deed).
#[inline]
fn parked(rts: &[Cell<Tyme>]) -> bool {
    match <&[Cell<Tyme>; SUMMARY_BLOCK]>::try_from(rts) {
        Ok(block) => block
            .iter()
            .fold(true, |all, r| all & (r.get() == Tyme::MAX)),
        Err(_) => rts.iter().all(|r| r.get() == Tyme::MAX),
    }
}

/// How many leading deeds of `rts` are not due at `t`.
#[inline(always)]
fn first_due(rts: &[Cell<Tyme>], t: Tyme) -> usize {
    rts.iter().position(|r| r.get() <= t).unwrap_or(rts.len())
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
