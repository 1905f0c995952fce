//! When a doer's tock is read (`Doer::tock`, `Cx::retock`): after every
//! recur, but a tock of 0 once read is kept until a recur calls
//! `Cx::retock`. Runs on the lean configuration too (but the test of a
//! spare added at run time, which needs `requests`).

use std::cell::Cell;
use std::rc::Rc;

use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, SimClock, Step, Tock};

fn ms(n: u64) -> Tock {
    Tock::from_millis(n)
}

/// A doer whose tock becomes `later` at its recur number `at` (and which
/// calls `Cx::retock` then if `announce`); records the tymes of its recurs
/// and counts the reads of its tock.
struct Switcher {
    name: &'static str,
    tock: Tock,
    later: Tock,
    at: u32,
    announce: bool,
    stop: Option<u32>,
    recurs: u32,
    reads: Rc<Cell<u32>>,
    tymes: Rc<std::cell::RefCell<Vec<u64>>>,
}

impl Switcher {
    fn new(name: &'static str, tock: Tock) -> Self {
        Switcher {
            name,
            tock,
            later: tock,
            at: u32::MAX,
            announce: false,
            stop: None,
            recurs: 0,
            reads: Rc::default(),
            tymes: Rc::default(),
        }
    }

    fn switch(mut self, at: u32, later: Tock, announce: bool) -> Self {
        (self.at, self.later, self.announce) = (at, later, announce);
        self
    }

    fn stop(mut self, n: u32) -> Self {
        self.stop = Some(n);
        self
    }

    /// The tymes of its recurs, in ms.
    fn tymes(&self) -> Rc<std::cell::RefCell<Vec<u64>>> {
        self.tymes.clone()
    }
}

impl Doer for Switcher {
    fn name(&self) -> &str {
        self.name
    }

    fn tock(&self) -> Tock {
        self.reads.set(self.reads.get() + 1);
        self.tock
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        self.tymes.borrow_mut().push(cx.tyme().as_millis());
        if self.recurs == self.at {
            self.tock = self.later;
            if self.announce {
                cx.retock();
            }
        }
        Ok(if self.stop == Some(self.recurs) {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

/// Reads of a tock expected: `release` in a release build; `debug` in a
/// debug build, whose scheduler also reads a kept 0 after every recur to
/// check that it is still 0.
fn reads(release: u32, debug: u32) -> u32 {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

fn run_for<const N: usize>(doers: &mut [&mut dyn Doer], limit: Tock) -> End {
    let mut doist: Doist<'_, N> = Doist::new(ms(10)).unwrap().with_limit(limit);
    for d in doers.iter_mut() {
        doist.add(&mut **d).unwrap();
    }
    doist.run(&mut SimClock::new(), None).end
}

#[test]
fn a_tock_of_zero_is_read_once_then_kept() {
    let mut a = Switcher::new("a", Tock::ZERO);
    let reads = a.reads.clone();
    assert_eq!(run_for::<1>(&mut [&mut a], ms(100)), End::Limit);
    assert_eq!(a.recurs, 10);
    // read after the first recur only (the contract before `retock` read
    // it after every one of the ten)
    assert_eq!(reads.get(), self::reads(1, 10));
}

#[test]
fn a_tock_that_is_not_zero_is_read_after_every_recur() {
    let mut a = Switcher::new("a", ms(20));
    let reads = a.reads.clone();
    run_for::<1>(&mut [&mut a], ms(100));
    assert_eq!(a.recurs, 5);
    assert_eq!(reads.get(), 5);
}

#[test]
fn retock_makes_a_change_from_zero_count() {
    // tock 0, then 30 ms from its third recur on (at 20 ms): 50, 80
    let mut a = Switcher::new("a", Tock::ZERO).switch(3, ms(30), true);
    let tymes = a.tymes();
    run_for::<1>(&mut [&mut a], ms(100));
    assert_eq!(*tymes.borrow(), [0, 10, 20, 50, 80]);
}

#[test]
#[cfg_attr(
    debug_assertions,
    should_panic(expected = "changed its tock from 0 without calling `Cx::retock`")
)]
fn a_change_from_zero_without_retock_is_not_seen() {
    // the documented cost of not calling it: the 0 read is kept
    let mut a = Switcher::new("a", Tock::ZERO).switch(3, ms(30), false);
    let reads = a.reads.clone();
    run_for::<1>(&mut [&mut a], ms(100));
    assert_eq!(a.recurs, 10);
    assert_eq!(reads.get(), 1);
}

#[test]
fn a_change_to_zero_and_back_is_followed() {
    // 20 ms, then 0 at its second recur (20 ms), then 40 ms at its fourth
    // (40 ms) with retock
    struct Twice(Switcher);
    impl Doer for Twice {
        fn tock(&self) -> Tock {
            self.0.tock()
        }
        fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            let step = self.0.recur(cx);
            if self.0.recurs == 4 {
                self.0.tock = ms(40);
                cx.retock();
            }
            step
        }
    }
    let mut a = Twice(Switcher::new("a", ms(20)).switch(2, Tock::ZERO, false));
    let tymes = a.0.tymes();
    run_for::<1>(&mut [&mut a], ms(200));
    // 0, 20 (tock 0 from now: the next pass), 30, 40 (40 ms from its
    // retyme 40: the retyme of a tock-0 doer is the pass after), 80, ...
    assert_eq!(*tymes.borrow(), [0, 20, 30, 40, 80, 120, 160]);
}

#[test]
fn what_is_kept_moves_with_the_doer_and_leaves_with_it() {
    // `a` finishes at once: `b` moves into its place in the scheduler,
    // keeping its tock 0 until its retock; the children of a DoDoer alike
    let mut a = Switcher::new("a", Tock::ZERO).stop(1);
    let mut b = Switcher::new("b", Tock::ZERO).switch(4, ms(25), true);
    let (tb, rb) = (b.tymes(), b.reads.clone());
    let mut c = Switcher::new("c", Tock::ZERO).stop(2);
    let mut d = Switcher::new("d", ms(20));
    let td = d.tymes();
    let mut g: DoDoer<'_, 2> = DoDoer::new("g");
    g.add(&mut c).unwrap();
    g.add(&mut d).unwrap();
    assert_eq!(
        run_for::<3>(&mut [&mut a, &mut b, &mut g], ms(100)),
        End::Limit
    );
    assert_eq!(*tb.borrow(), [0, 10, 20, 30, 60, 80]);
    // (due at 55: run at the pass of 60) read after its first recur, its
    // fourth (retock) and the two after (and, checked, after the second
    // and third)
    assert_eq!(rb.get(), reads(4, 6));
    assert_eq!(*td.borrow(), [0, 20, 40, 60, 80]);
}

#[cfg(feature = "requests")]
#[test]
fn a_spare_added_in_the_place_of_a_finished_doer_reads_its_own_tock() {
    use hio_core::{Requests, Target};

    /// Finishes at its second recur, asking to add the spare.
    struct Adder(u32);
    impl Doer for Adder {
        fn name(&self) -> &str {
            "adder"
        }
        fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            self.0 += 1;
            if self.0 == 2 {
                cx.request();
                return Ok(Step::Done);
            }
            Ok(Step::Continue)
        }
        fn request(&self, rq: &mut Requests<'_>) {
            rq.extend(Target::Parent, &["s"]).unwrap();
        }
    }
    let mut adder = Adder(0);
    let mut s = Switcher::new("s", ms(30));
    let ts = s.tymes();
    let mut doist: Doist<'_, 1, 1> = Doist::new(ms(10)).unwrap().with_limit(ms(100));
    doist.add(&mut adder).unwrap();
    doist.spare(&mut s).unwrap();
    let r = doist.run(&mut SimClock::new(), None);
    assert_eq!(
        (r.end, r.tyme),
        (End::Limit, hio_core::Tyme::from_millis(100))
    );
    // entered at 10 ms where the adder was (whose deed had kept tock 0),
    // due from then: runs at the next pass, then by its own tock from 10
    assert_eq!(*ts.borrow(), [20, 40, 70]);
}

#[test]
fn the_contexts_that_end_a_doer_after_its_recur_refuse_attach() {
    use hio_core::{WakeBoard, WakeError, Waker};
    static BOARD: WakeBoard<1> = WakeBoard::new();

    /// Finishes at its first recur; tries to take on its waker in clean
    /// and exit, which are outside enter and recur.
    struct Late {
        waker: Waker,
        got: Vec<Result<(), WakeError>>,
    }
    impl Doer for Late {
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            Ok(Step::Done)
        }
        fn clean(&mut self, cx: &mut Cx<'_>) {
            self.got.push(cx.attach(self.waker));
        }
        fn exit(&mut self, cx: &mut Cx<'_>) {
            self.got.push(cx.attach(self.waker));
        }
    }
    let mut late = Late {
        waker: BOARD.waker().unwrap(),
        got: Vec::new(),
    };
    let mut doist: Doist<'_, 1> = Doist::new(ms(10)).unwrap();
    doist.wakes(&BOARD);
    doist.add(&mut late).unwrap();
    assert_eq!(doist.run(&mut SimClock::new(), None).end, End::Done);
    assert_eq!(
        late.got,
        [Err(WakeError::NotRunning), Err(WakeError::NotRunning)]
    );
}

/// A doer with a waker that parks (tock NEVER) until its recur number
/// `wake_up`, which switches it to `later` (with `Cx::retock` if
/// `announce`); counts the reads of its tock and records its recurs.
struct Sleeper {
    waker: hio_core::Waker,
    tock: Tock,
    later: Tock,
    wake_up: u32,
    announce: bool,
    recurs: u32,
    reads: Rc<Cell<u32>>,
    tymes: Vec<u64>,
}

impl Sleeper {
    fn new(waker: hio_core::Waker, wake_up: u32, later: Tock, announce: bool) -> Self {
        Sleeper {
            waker,
            tock: Tock::NEVER,
            later,
            wake_up,
            announce,
            recurs: 0,
            reads: Rc::default(),
            tymes: Vec::new(),
        }
    }
}

impl Doer for Sleeper {
    fn name(&self) -> &str {
        "sleeper"
    }
    fn tock(&self) -> Tock {
        self.reads.set(self.reads.get() + 1);
        self.tock
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).map_err(|_| Fault::failed("attach"))?;
        Ok(Step::Continue)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        self.tymes.push(cx.tyme().as_millis());
        if self.recurs == self.wake_up {
            self.tock = self.later;
            if self.announce {
                cx.retock();
            }
        }
        Ok(Step::Continue)
    }
}

/// Runs `s` under a Doist of tock 10 ms draining `board` for 100 ms, with
/// wakes at 25 and 55 ms.
fn run_sleeper(board: &'static hio_core::WakeBoard<1>, s: &mut Sleeper) {
    use hio_core::Tyme;
    let plan = [
        (Tyme::from_millis(25), s.waker),
        (Tyme::from_millis(55), s.waker),
    ];
    let mut doist: Doist<'_, 1> = Doist::new(ms(10)).unwrap().with_limit(ms(100));
    doist.wakes(board);
    doist.add(s).unwrap();
    assert_eq!(
        doist.run(&mut SimClock::with_wakes(&plan), None).end,
        End::Limit
    );
}

#[test]
fn a_parked_doer_with_a_waker_is_parked_again_without_reading_its_tock() {
    static BOARD: hio_core::WakeBoard<1> = hio_core::WakeBoard::new();
    let mut s = Sleeper::new(BOARD.waker().unwrap(), u32::MAX, Tock::NEVER, false);
    run_sleeper(&BOARD, &mut s);
    // its entry recur, then each wake's
    assert_eq!(s.tymes, [0, 30, 60]);
    // read after its first recur only (and, checked, after the others)
    assert_eq!(s.reads.get(), reads(1, 3));
}

#[test]
fn retock_takes_a_parked_doer_off_never() {
    static BOARD: hio_core::WakeBoard<1> = hio_core::WakeBoard::new();
    // woken at 25 ms, it takes a tock of 20 ms in that recur (at 30)
    let mut s = Sleeper::new(BOARD.waker().unwrap(), 2, ms(20), true);
    run_sleeper(&BOARD, &mut s);
    // 30 + 20 = 50, then the wake at 55 brings 70 forward to 60, then 80
    assert_eq!(s.tymes, [0, 30, 50, 60, 80]);
}

#[test]
#[cfg_attr(
    debug_assertions,
    should_panic(expected = "changed its tock from NEVER without calling `Cx::retock`")
)]
fn a_change_from_never_without_retock_is_not_seen() {
    static BOARD: hio_core::WakeBoard<1> = hio_core::WakeBoard::new();
    let mut s = Sleeper::new(BOARD.waker().unwrap(), 2, ms(20), false);
    run_sleeper(&BOARD, &mut s);
    // the kept NEVER: it runs only when woken
    assert_eq!(s.tymes, [0, 30, 60]);
}
