//! The floor of a wake-and-run: what the `woken-10000` case would cost if
//! nothing but the wakes, their drain and the woken doers' recurs were
//! done, under the constraints hio-core's wakes keep.
//!
//! It keeps only what any design under those constraints needs:
//!
//! - a wake is atomic loads and stores, no read-modify-write, since a
//!   Cortex-M0 has no compare-and-swap: a generation check (a handle is
//!   never dangling), then a flag per slot, per block of 8 slots, per group
//!   of 64 slots, and one for the whole board;
//! - a drain lowers each level's raised flags in one sweep, then one fence,
//!   before it reads the level below, so a wake that comes meanwhile is
//!   never lost; it maps each woken slot to its doer through a link and
//!   sets the doer's run bit;
//! - the woken doers run in canonical order, found through their run bits:
//!   one dynamic call each.
//!
//! It has no scheduler: no retymes, no context, no lifecycle, no faults,
//! no summary of due tymes, no nesting. It is a floor, not an alternative:
//! a doer woken here could not do anything but count.
//!
//! (Two other shapes were measured and were slower at this density: two
//! levels of flags, a group's 64 slot flags read one by one; and three
//! levels read branch-free, each level's flags folded into a mask before
//! the raised ones are lowered.)

use std::hint::black_box;
use std::sync::atomic::{fence, AtomicBool, AtomicU16, Ordering};

/// Slots per block, blocks per group (as hio-core's board).
const BLOCK: usize = 8;
const GROUP: usize = 8;

/// A doer reduced to its recur.
pub trait Run {
    fn recur(&mut self, tyme: u64) -> bool;
}

/// Counts its runs.
pub struct Counter {
    pub n: u64,
}

impl Run for Counter {
    fn recur(&mut self, _tyme: u64) -> bool {
        self.n = self.n.wrapping_add(1);
        true
    }
}

/// The least board: flags set by stores, a generation and a link per slot.
pub struct Board {
    gens: Vec<AtomicU16>,
    links: Vec<AtomicU16>,
    pending: Vec<AtomicBool>,
    blocks: Vec<AtomicBool>,
    groups: Vec<AtomicBool>,
    any: AtomicBool,
}

impl Board {
    /// A board of `n` slots, slot k linked to doer k.
    pub fn new(n: usize) -> Board {
        let flags = |k: usize| (0..k).map(|_| AtomicBool::new(false)).collect();
        Board {
            gens: (0..n).map(|_| AtomicU16::new(0)).collect(),
            links: (0..n).map(|k| AtomicU16::new(k as u16)).collect(),
            pending: flags(n),
            blocks: flags(n.div_ceil(BLOCK)),
            groups: flags(n.div_ceil(BLOCK * GROUP)),
            any: AtomicBool::new(false),
        }
    }

    /// Wakes `slot` if its generation is still `gen`.
    #[inline(never)]
    pub fn wake(&self, slot: u16, gen: u16) {
        let s = usize::from(slot);
        match self.gens.get(s) {
            Some(g) if g.load(Ordering::Relaxed) == gen => {}
            _ => return,
        }
        // inner flag first: a drain that sees an outer flag sees the inner
        if let Some(f) = self.pending.get(s) {
            f.store(true, Ordering::Release);
        }
        if let Some(f) = self.blocks.get(s / BLOCK) {
            f.store(true, Ordering::Release);
        }
        if let Some(f) = self.groups.get(s / (BLOCK * GROUP)) {
            f.store(true, Ordering::Release);
        }
        self.any.store(true, Ordering::Release);
    }

    /// Sets the run bit of every doer woken since the last drain (`raised`
    /// and `blocks` are room for its own bits, zero between drains).
    #[inline(never)]
    pub fn drain(&self, raised: &mut [u64], blocks: &mut [u8], run: &mut [u64]) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        self.any.store(false, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        for (k, f) in self.groups.iter().enumerate() {
            if f.load(Ordering::Acquire) {
                f.store(false, Ordering::Relaxed);
                if let Some(w) = raised.get_mut(k / 64) {
                    *w |= 1 << (k % 64);
                }
            }
        }
        fence(Ordering::SeqCst);
        // the raised blocks of each raised group, a byte per group
        for_bits(raised, |g| {
            let mut m = 0u8;
            for b in 0..GROUP {
                if let Some(f) = self.blocks.get(g * GROUP + b) {
                    if f.load(Ordering::Acquire) {
                        f.store(false, Ordering::Relaxed);
                        m |= 1 << b;
                    }
                }
            }
            if let Some(x) = blocks.get_mut(g) {
                *x = m;
            }
        });
        fence(Ordering::SeqCst);
        for_bits(raised, |g| {
            let mut m = blocks.get_mut(g).map_or(0, std::mem::take);
            while m != 0 {
                let b = g * GROUP + m.trailing_zeros() as usize;
                m &= m - 1;
                for s in b * BLOCK..b * BLOCK + BLOCK {
                    let Some(f) = self.pending.get(s) else { break };
                    if f.load(Ordering::Acquire) {
                        f.store(false, Ordering::Relaxed);
                        let d = self.links.get(s).map_or(0, |l| l.load(Ordering::Relaxed));
                        if let Some(w) = run.get_mut(usize::from(d) / 64) {
                            *w |= 1 << (d % 64);
                        }
                    }
                }
            }
        });
        raised.fill(0);
    }
}

/// Room for `n` bits.
fn vec_bits(n: usize) -> Vec<u64> {
    vec![0; n.div_ceil(64)]
}

/// Calls `f` with the index of every set bit, in order.
fn for_bits(words: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in words.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            f(w * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

/// Doers woken through a [`Board`] and run in order: a pass drains the
/// board, then runs every doer whose run bit is set.
pub struct Floor<'a> {
    pub board: Board,
    doers: Vec<&'a mut dyn Run>,
    run: Vec<u64>,
    raised: Vec<u64>,
    blocks: Vec<u8>,
    tyme: u64,
}

impl<'a> Floor<'a> {
    pub fn new(doers: Vec<&'a mut dyn Run>) -> Floor<'a> {
        let n = doers.len();
        Floor {
            board: Board::new(n),
            doers,
            run: vec_bits(n),
            raised: vec_bits(n.div_ceil(BLOCK * GROUP)),
            blocks: vec![0; n.div_ceil(BLOCK * GROUP)],
            tyme: 0,
        }
    }

    pub fn pass(&mut self) {
        self.board
            .drain(&mut self.raised, &mut self.blocks, &mut self.run);
        for (w, word) in self.run.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                let d = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(doer) = self.doers.get_mut(d) {
                    black_box(doer.recur(self.tyme));
                }
            }
        }
        self.tyme += 1_000_000;
    }
}
