//! Squeezing out the holes that finished and removed doers leave, keeping
//! canonical order, and appending doers added at run time.

use super::{Deeds, NONE, REQ};
#[cfg(feature = "requests")]
use super::{DoerRef, SUMMARY_BLOCK};
use crate::wake;
use crate::Tyme;

impl<'a, const N: usize, const S: usize, const B: usize> Deeds<'a, N, S, B> {
    /// Squeezes out the holes left by finished and removed doers, keeping
    /// canonical order, and moves the pass's bookkeeping along.
    pub(super) fn compact(&self) {
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
                let slot = self
                    .slots
                    .get(r)
                    .map_or(wake::NONE, |c| c.replace(wake::NONE));
                if let (Some(wc), Some(wr), Some(ws)) = (
                    self.doers.get(w as usize),
                    self.retymes.get(w as usize),
                    self.slots.get(w as usize),
                ) {
                    wc.set(d);
                    wr.set(retyme);
                    ws.set(slot);
                }
                #[cfg(feature = "requests")]
                if super::waker_of(slot) != wake::NONE && r16 != w {
                    self.moved(super::waker_of(slot), r16, w);
                }
                w += 1;
            } else if let Some(c) = self.slots.get(r) {
                // a hole's slot was unbound when its doer left
                c.set(wake::NONE);
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
        // (deeds moved: no run bits; a block is hot if its exact bound is
        // within the horizon, which a woken deed's is)
        self.clear_runs();
        for b in 0..B {
            self.lower_bound(b, Tyme::MAX);
            self.refresh(b);
        }
    }

    /// Where a doer added at run time will go: the end, after squeezing out
    /// holes if there is no room there.
    #[cfg(feature = "requests")]
    pub(super) fn append_index(&self) -> usize {
        if self.len.get() as usize >= Self::cap() {
            self.compact();
        }
        self.len.get() as usize
    }

    /// Appends an entered doer at [`append_index`](Self::append_index).
    #[cfg(feature = "requests")]
    pub(super) fn append(&self, d: DoerRef<'a>, t: Tyme) -> Result<(), DoerRef<'a>> {
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
        if B > 0 {
            self.lower_bound(n / SUMMARY_BLOCK, t);
        }
        self.len.set(n as u16 + 1);
        self.live.set(self.live.get() + 1);
        self.min_due.set(self.min_due.get().min(t));
        Ok(())
    }
}
