//! A wake board against a model: random wakers made and released, slots
//! bound to deeds and unbound, wakes (stale ones too), resets and drains.
//! A drain hands on every bound slot woken since the last one, once, with
//! its link, and nothing else; a stale waker wakes nothing. Boards of up to
//! 64 slots (scanned) and larger ones (found through block and group
//! flags) both.

use std::collections::BTreeSet;

use hio_core::wake::Board;
use hio_core::{WakeBoard, Waker};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Make a waker.
    Make,
    /// Release the `k`-th waker made (modulo their number).
    Release(usize),
    /// Wake through the `k`-th waker made.
    Wake(usize),
    /// Bind the `k`-th waker's slot to deed `index` of scheduler `parent`.
    Bind(usize, u16, u16),
    /// Unbind the `k`-th waker's slot if it is bound to that deed.
    Unbind(usize, u16, u16),
    Drain,
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        60 => Just(Op::Make),
        10 => (0usize..400).prop_map(Op::Release),
        80 => (0usize..400).prop_map(Op::Wake),
        50 => (0usize..400, 0u16..4, 0u16..50).prop_map(|(k, p, i)| Op::Bind(k, p, i)),
        10 => (0usize..400, 0u16..4, 0u16..50).prop_map(|(k, p, i)| Op::Unbind(k, p, i)),
        20 => Just(Op::Drain),
        1 => Just(Op::Reset),
    ]
}

/// What the board should hold for one slot.
#[derive(Debug, Clone, Copy, Default)]
struct Model {
    taken: bool,
    gen_of: Option<Waker>,
    link: Option<(u16, u16)>,
    pending: bool,
}

fn check<const W: usize>(board: &'static WakeBoard<W>, ops: &[Op]) -> Result<(), TestCaseError> {
    board.reset();
    let mut model = vec![Model::default(); W];
    let mut made: Vec<Waker> = Vec::new();
    let current = |model: &[Model], w: &Waker| {
        model
            .get(usize::from(w.slot()))
            .is_some_and(|m| m.taken && m.gen_of.is_some_and(|g| g == *w))
    };
    for op in ops {
        match *op {
            Op::Make => {
                if let Ok(w) = board.waker() {
                    let m = &mut model[usize::from(w.slot())];
                    prop_assert!(!m.taken, "slot {} handed out twice", w.slot());
                    *m = Model {
                        taken: true,
                        gen_of: Some(w),
                        link: None,
                        pending: false,
                    };
                    made.push(w);
                } else {
                    prop_assert!(model.iter().all(|m| m.taken), "full with a free slot");
                }
            }
            Op::Release(k) if !made.is_empty() => {
                let w = made[k % made.len()];
                if current(&model, &w) {
                    model[usize::from(w.slot())] = Model::default();
                }
                board.release(w);
            }
            Op::Wake(k) if !made.is_empty() => {
                let w = made[k % made.len()];
                if current(&model, &w) {
                    model[usize::from(w.slot())].pending = true;
                }
                w.wake();
            }
            Op::Bind(k, parent, index) if !made.is_empty() => {
                let w = made[k % made.len()];
                if current(&model, &w) {
                    let m = &mut model[usize::from(w.slot())];
                    m.link = Some((parent, index));
                    // a wake left from before is dropped
                    m.pending = false;
                    board.bind(w.slot(), parent, index);
                }
            }
            Op::Unbind(k, parent, index) if !made.is_empty() => {
                let w = made[k % made.len()];
                if current(&model, &w) {
                    let m = &mut model[usize::from(w.slot())];
                    if m.link == Some((parent, index)) {
                        m.link = None;
                    }
                    board.unbind_from(w.slot(), parent, index);
                }
            }
            Op::Drain => {
                let mut got = Vec::new();
                board.drain(&mut |slot, parent, index| got.push((slot, parent, index)));
                let set: BTreeSet<(u16, u16, u16)> = got.iter().copied().collect();
                prop_assert_eq!(set.len(), got.len(), "a slot handed on twice: {:?}", got);
                let want: BTreeSet<(u16, u16, u16)> = model
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.pending)
                    .filter_map(|(s, m)| m.link.map(|(p, i)| (s as u16, p, i)))
                    .collect();
                prop_assert_eq!(set, want);
                for m in &mut model {
                    m.pending = false;
                }
            }
            Op::Reset => {
                board.reset();
                model.fill(Model::default());
            }
            _ => {}
        }
    }
    Ok(())
}

static SMALL: WakeBoard<40> = WakeBoard::new();
static LARGE: WakeBoard<300> = WakeBoard::new();

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    #[cfg_attr(miri, ignore = "thousands of random runs: too slow for Miri")]
    fn a_small_board_hands_on_every_wake_once(ops in prop::collection::vec(op(), 1..300)) {
        check(&SMALL, &ops)?;
    }

    #[test]
    #[cfg_attr(miri, ignore = "thousands of random runs: too slow for Miri")]
    fn a_large_board_hands_on_every_wake_once(ops in prop::collection::vec(op(), 1..600)) {
        check(&LARGE, &ops)?;
    }
}

static RACED: WakeBoard<300> = WakeBoard::new();

/// Wakes from another thread while this one drains: the last wake of
/// every slot is handed on by some drain (a flag lowered by a drain is
/// lowered before its slot is handed on, so a wake meanwhile is kept for
/// the next drain). Whatever the interleaving, this holds; the thread is
/// joined before the last drain, nothing waits on time. The Miri job runs
/// it too, for data races and the atomics' orderings.
#[test]
fn wakes_from_another_thread_are_never_lost() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
    use std::sync::Arc;

    const SLOTS: usize = 300;
    RACED.reset();
    let wakers: Vec<Waker> = (0..SLOTS).map(|_| RACED.waker().unwrap()).collect();
    for (k, w) in wakers.iter().enumerate() {
        RACED.bind(w.slot(), 0, k as u16);
    }
    let requested: Arc<Vec<AtomicU32>> = Arc::new((0..SLOTS).map(|_| AtomicU32::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let waker_thread = {
        let (wakers, requested, done) = (wakers.clone(), requested.clone(), done.clone());
        std::thread::spawn(move || {
            // a walk over the slots that revisits them out of order
            let mut k = 0usize;
            // (Miri, which checks the atomics, runs fewer)
            let wakes = if cfg!(miri) { 3_000 } else { 200_000 };
            for _ in 0..wakes {
                k = (k * 7 + 13) % SLOTS;
                requested[k].fetch_add(1, SeqCst);
                wakers[k].wake();
            }
            done.store(true, SeqCst);
        })
    };
    let mut served = vec![0u32; SLOTS];
    let mut drains = 0u64;
    let drain = |served: &mut Vec<u32>| {
        RACED.drain(&mut |_, _, index| {
            let k = usize::from(index);
            served[k] = requested[k].load(SeqCst);
        });
    };
    while !done.load(SeqCst) {
        drain(&mut served);
        drains += 1;
    }
    waker_thread.join().unwrap();
    drain(&mut served);
    for k in 0..SLOTS {
        assert_eq!(
            served[k],
            requested[k].load(SeqCst),
            "slot {k}: its last wake was never handed on ({drains} drains)"
        );
    }
}
