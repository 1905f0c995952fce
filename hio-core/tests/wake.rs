//! Park and wake (SEMANTICS.md, "Waiting for events"): wakes from outside
//! and during a recur, Decks and future doers that wait parked, lazy
//! DoDoers, stale and early wakes, wake storms, and a wake or a stop that
//! ends a real-time wait.

mod common;

use std::cell::Cell;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::*;
use hio_core::{
    Clock, Context, Cx, Deck, DoDoer, Doer, Doist, End, Fault, FutureDoer, Pender, SimClock, Step,
    StopFlag, Tock, Tyme, WakeBoard, WakeError, Waker, Yielder,
};

/// A leaf that parks after each recur (when given a waker it attaches it in
/// enter), and may wake others or push into a Deck in its recurs.
struct Parker<'a> {
    name: &'static str,
    waker: Option<Waker>,
    tock: Tock,
    /// Recurs seen, with their tymes.
    recurs: Vec<Tyme>,
    /// Wakes it makes during each recur.
    wakes: Vec<Waker>,
    /// Pushes one item per recur.
    into: Option<&'a Deck<u32, 4>>,
    /// Pulls every item per recur.
    from: Option<&'a Deck<u32, 4>>,
    got: Vec<u32>,
    attach: Option<Result<(), WakeError>>,
}

impl<'a> Parker<'a> {
    fn new(name: &'static str, waker: Option<Waker>) -> Self {
        Parker {
            name,
            waker,
            tock: Tock::NEVER,
            recurs: Vec::new(),
            wakes: Vec::new(),
            into: None,
            from: None,
            got: Vec::new(),
            attach: None,
        }
    }
}

impl Doer for Parker<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn tock(&self) -> Tock {
        self.tock
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if let Some(w) = self.waker {
            self.attach = Some(cx.attach(w));
        }
        Ok(Step::Continue)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs.push(cx.tyme());
        for w in &self.wakes {
            w.wake();
        }
        if let Some(d) = self.into {
            let _ = d.push(self.recurs.len() as u32);
        }
        if let Some(d) = self.from {
            while let Some(x) = d.pull() {
                self.got.push(x);
            }
        }
        Ok(Step::Continue)
    }
}

fn t(ms_: u64) -> Tyme {
    Tyme::from_millis(ms_)
}

#[test]
fn a_push_wakes_a_parked_consumer_in_the_same_pass_when_it_comes_after() {
    static BOARD: WakeBoard<4> = WakeBoard::new();
    let deck: Deck<u32, 4> = Deck::new();
    let cw = BOARD.waker().unwrap();
    deck.wake_on_push(Some(cw));
    let mut prod = Parker::new("prod", None);
    prod.tock = ms(300);
    prod.into = Some(&deck);
    let mut cons = Parker::new("cons", Some(cw));
    cons.from = Some(&deck);
    let mut d: Doist<'_, 4> = Doist::new(ms(100)).unwrap().with_limit(ms(1000));
    d.wakes(&BOARD);
    d.add(&mut prod).unwrap();
    d.add(&mut cons).unwrap();
    assert_eq!(d.run(&mut SimClock::new(), None).end, End::Limit);
    assert_eq!(cons.attach, Some(Ok(())));
    // the consumer runs at its entry and then exactly when the producer
    // pushed, in the same pass
    assert_eq!(prod.recurs, [t(0), t(300), t(600), t(900)]);
    assert_eq!(cons.recurs, prod.recurs);
    assert_eq!(cons.got, [1, 2, 3, 4]);
}

#[test]
fn a_push_reaches_a_consumer_before_the_producer_at_the_next_pass() {
    static BOARD: WakeBoard<4> = WakeBoard::new();
    let deck: Deck<u32, 4> = Deck::new();
    let cw = BOARD.waker().unwrap();
    deck.wake_on_push(Some(cw));
    let mut cons = Parker::new("cons", Some(cw));
    cons.from = Some(&deck);
    let mut prod = Parker::new("prod", None);
    prod.tock = ms(300);
    prod.into = Some(&deck);
    let mut d: Doist<'_, 4> = Doist::new(ms(100)).unwrap().with_limit(ms(1000));
    d.wakes(&BOARD);
    d.add(&mut cons).unwrap();
    d.add(&mut prod).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(cons.recurs, [t(0), t(100), t(400), t(700)]);
    assert_eq!(cons.got, [1, 2, 3]);
}

#[test]
fn waking_an_ended_or_not_yet_entered_doer_does_nothing() {
    static BOARD: WakeBoard<4> = WakeBoard::new();
    let w = BOARD.waker().unwrap();
    // woken before the run: the wake is dropped when it binds
    w.wake();
    let mut p = Parker::new("p", Some(w));
    let mut d: Doist<'_, 2> = Doist::new(ms(100)).unwrap().with_limit(ms(500));
    d.wakes(&BOARD);
    d.add(&mut p).unwrap();
    assert_eq!(d.run(&mut SimClock::new(), None).end, End::Limit);
    assert_eq!(p.recurs, [t(0)]);
    // ended: waking it is harmless and does nothing
    w.wake();
    assert_eq!(p.recurs, [t(0)]);
    // released: stale everywhere
    BOARD.release(w);
    let mut q = Parker::new("q", Some(w));
    let mut d: Doist<'_, 2> = Doist::new(ms(100)).unwrap().with_limit(ms(300));
    d.wakes(&BOARD);
    d.add(&mut q).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(q.attach, Some(Err(WakeError::Stale)));
}

#[test]
fn attach_errors_name_what_is_wrong() {
    static BOARD: WakeBoard<1> = WakeBoard::new();
    static OTHER: WakeBoard<1> = WakeBoard::new();
    let w = BOARD.waker().unwrap();
    assert_eq!(BOARD.waker().unwrap_err(), WakeError::Full);
    // a Doist that drains no board
    let mut p = Parker::new("p", Some(w));
    let mut d: Doist<'_, 1> = Doist::new(ms(100)).unwrap().with_limit(ms(100));
    d.add(&mut p).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(p.attach, Some(Err(WakeError::Foreign)));
    // one that drains another
    let mut p = Parker::new("p", Some(w));
    let mut d: Doist<'_, 1> = Doist::new(ms(100)).unwrap().with_limit(ms(100));
    d.wakes(&OTHER);
    d.add(&mut p).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(p.attach, Some(Err(WakeError::Foreign)));
    for e in [
        WakeError::Full,
        WakeError::Foreign,
        WakeError::Stale,
        WakeError::NotRunning,
        WakeError::TooDeep,
    ] {
        assert!(e.to_string().len() > 30, "{e:?} says too little");
    }
    assert!(WakeError::Foreign.to_string().contains("Doist::wakes"));
}

#[test]
fn a_wake_storm_runs_each_doer_once_per_pass() {
    static BOARD: WakeBoard<8> = WakeBoard::new();
    let ws: Vec<Waker> = (0..4).map(|_| BOARD.waker().unwrap()).collect();
    let names = ["a", "b", "c", "d"];
    let mut ps: Vec<Parker<'_>> = names
        .iter()
        .zip(&ws)
        .map(|(n, w)| {
            let mut p = Parker::new(n, Some(*w));
            // every doer wakes every doer (itself too), every time, twice
            p.wakes = ws.iter().chain(&ws).copied().collect();
            p
        })
        .collect();
    let log = Log::default();
    let mut d: Doist<'_, 4> = Doist::new(ms(100)).unwrap().with_limit(ms(1000));
    d.observe(&log);
    d.wakes(&BOARD);
    for p in ps.iter_mut() {
        d.add(p).unwrap();
    }
    d.run(&mut SimClock::new(), None);
    for p in &ps {
        // once per pass, every pass
        let want: Vec<Tyme> = (0..10).map(|k| t(100 * k)).collect();
        assert_eq!(p.recurs, want, "{}", p.name);
    }
    for (doer, seq) in check_lifecycles(&log.events()) {
        assert!(allowed(&seq), "{doer}: {seq:?}");
    }
}

/// A clock on real time whose wait a pender ends (a condition variable),
/// recording whether each wait ended early.
#[derive(Default)]
struct Bell {
    rung: Mutex<bool>,
    cv: Condvar,
}

impl Pender for Bell {
    fn pend(&self) {
        let mut r = self.rung.lock().unwrap();
        *r = true;
        self.cv.notify_all();
    }
}

struct BellClock {
    bell: &'static Bell,
    origin: Instant,
    early: u32,
}

impl Clock for BellClock {
    fn now(&mut self) -> Tyme {
        Tyme::from_nanos(self.origin.elapsed().as_nanos() as u64)
    }
    fn wait_until(&mut self, deadline: Tyme) {
        let now = self.now();
        if deadline <= now {
            return;
        }
        let wait = Duration::from_nanos((deadline - now).as_nanos()).min(Duration::from_secs(60));
        let r = self.bell.rung.lock().unwrap();
        let (mut r, timeout) = self
            .bell
            .cv
            .wait_timeout_while(r, wait, |rung| !*rung)
            .unwrap();
        if !timeout.timed_out() {
            self.early += 1;
        }
        *r = false;
    }
}

#[test]
fn a_stop_from_another_thread_ends_an_hour_long_wait() {
    static BELL: Bell = Bell {
        rung: Mutex::new(false),
        cv: Condvar::new(),
    };
    static STOP: StopFlag = StopFlag::with_pender(&BELL);
    let mut p = Parker::new("slow", None);
    p.tock = Tock::from_secs(3600);
    let log = Log::default();
    let mut d: Doist<'_, 1> = Doist::new(ms(10)).unwrap();
    d.observe(&log);
    d.add(&mut p).unwrap();
    let mut clock = BellClock {
        bell: &BELL,
        origin: Instant::now(),
        early: 0,
    };
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let h = std::thread::spawn(move || {
        while !s2.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        STOP.stop();
    });
    started.store(true, Ordering::SeqCst);
    let report = d.run(&mut clock, Some(&STOP));
    h.join().unwrap();
    assert_eq!(report.end, End::Stopped);
    // the run ended because its wait was cut short, not because an hour passed
    assert!(report.tyme < Tyme::from_secs(3600));
    assert!(clock.early <= 1);
    assert_eq!(log.seq(), s("slow.enter slow.recur slow.cease slow.exit"));
}

#[test]
fn a_wake_from_another_thread_runs_the_doer_on_the_next_tick() {
    static BELL: Bell = Bell {
        rung: Mutex::new(false),
        cv: Condvar::new(),
    };
    static BOARD: WakeBoard<2> = WakeBoard::with_pender(&BELL);
    let w = BOARD.waker().unwrap();
    let mut p = Parker::new("io", Some(w));
    let mut d: Doist<'_, 1> = Doist::new(ms(5)).unwrap().with_limit(Tock::from_secs(3600));
    d.wakes(&BOARD);
    d.add(&mut p).unwrap();
    static STOP: StopFlag = StopFlag::with_pender(&BELL);
    let mut clock = BellClock {
        bell: &BELL,
        origin: Instant::now(),
        early: 0,
    };
    // wake it three times from another thread, then stop; the first wake
    // waits for the doer to have entered (a wake before it takes the waker
    // on does nothing), each later one for the previous one to have been
    // seen
    let seen = Arc::new(AtomicU32::new(0));
    let s2 = seen.clone();
    let h = std::thread::spawn(move || {
        for k in 1..=3 {
            while s2.load(Ordering::SeqCst) < k {
                std::thread::yield_now();
            }
            w.wake();
        }
        while s2.load(Ordering::SeqCst) < 4 {
            std::thread::yield_now();
        }
        STOP.stop();
    });
    struct Seen<'a>(Parker<'a>, Arc<AtomicU32>);
    impl Doer for Seen<'_> {
        fn name(&self) -> &str {
            "io"
        }
        fn tock(&self) -> Tock {
            Tock::NEVER
        }
        fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            self.0.enter(cx)
        }
        fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            let r = self.0.recur(cx);
            // 1 after the entry's recur, k + 1 after the k-th wake's
            self.1.store(self.0.recurs.len() as u32, Ordering::SeqCst);
            r
        }
    }
    let mut s = Seen(p, seen);
    let mut d: Doist<'_, 1> = Doist::new(ms(5)).unwrap().with_limit(Tock::from_secs(3600));
    d.wakes(&BOARD);
    d.add(&mut s).unwrap();
    let report = d.run(&mut clock, Some(&STOP));
    h.join().unwrap();
    assert_eq!(report.end, End::Stopped);
    assert_eq!(s.0.recurs.len(), 4, "{:?}", s.0.recurs);
    // each recur after a wake is on the Doist's grid of 5 ms ticks
    for r in &s.0.recurs {
        assert_eq!(r.as_nanos() % 5_000_000, 0);
    }
}

#[test]
fn all_parked_without_a_limit_ends_stopped_when_simulated_time_runs_out() {
    static BOARD: WakeBoard<2> = WakeBoard::new();
    let w = BOARD.waker().unwrap();
    let mut p = Parker::new("p", Some(w));
    let mut d: Doist<'_, 1> = Doist::new(ms(100)).unwrap();
    d.wakes(&BOARD);
    d.add(&mut p).unwrap();
    let plan = [(t(2_050), w)];
    let report = d.run(&mut SimClock::with_wakes(&plan), None);
    assert_eq!(report.end, End::Stopped);
    assert_eq!(p.recurs, [t(0), t(2_100)]);
}

#[test]
fn a_lazy_dodoer_sleeps_until_a_child_is_due_and_finishes_when_emptied() {
    static BOARD: WakeBoard<8> = WakeBoard::new();
    let w = BOARD.waker().unwrap();
    let mut conn = Parker::new("conn", Some(w));
    let mut timer = Parker::new("timer", None);
    timer.tock = ms(500);
    struct Stopper(u32);
    impl Doer for Stopper {
        fn name(&self) -> &str {
            "once"
        }
        fn tock(&self) -> Tock {
            ms(700)
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            self.0 += 1;
            Ok(if self.0 == 2 {
                Step::Done
            } else {
                Step::Continue
            })
        }
    }
    let mut once = Stopper(0);
    let log = Log::default();
    {
        let mut pool: DoDoer<'_, 4> = DoDoer::new("pool").lazy(true);
        pool.add(&mut conn).unwrap();
        pool.add(&mut timer).unwrap();
        pool.add(&mut once).unwrap();
        let mut d: Doist<'_, 1> = Doist::new(ms(100)).unwrap().with_limit(ms(2000));
        d.observe(&log);
        d.wakes(&BOARD);
        d.add(&mut pool).unwrap();
        let plan = [(t(250), w)];
        d.run(&mut SimClock::with_wakes(&plan), None);
    }
    let pool_recurs: Vec<Tyme> = log
        .events()
        .iter()
        .filter(|e| e.doer == "pool" && e.ctx == Context::Recur)
        .map(|e| e.tyme)
        .collect();
    // at entry, the wake (0.3), the timer (0.5, 1.0, 1.5), `once` (0.7)
    assert_eq!(
        pool_recurs,
        [t(0), t(300), t(500), t(700), t(1000), t(1500)]
    );
    assert_eq!(conn.recurs, [t(0), t(300)]);
}

#[test]
fn a_lazy_dodoer_whose_children_are_all_gone_finishes_or_waits() {
    static BOARD: WakeBoard<8> = WakeBoard::new();
    struct Twice(u32);
    impl Doer for Twice {
        fn name(&self) -> &str {
            "twice"
        }
        fn tock(&self) -> Tock {
            ms(200)
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            self.0 += 1;
            Ok(if self.0 == 2 {
                Step::Done
            } else {
                Step::Continue
            })
        }
    }
    for always in [false, true] {
        let mut a = Twice(0);
        let log = Log::default();
        let report = {
            let mut pool: DoDoer<'_, 2> = DoDoer::new("pool").lazy(true).always(always);
            pool.add(&mut a).unwrap();
            let mut d: Doist<'_, 1> = Doist::new(ms(100)).unwrap().with_limit(ms(1000));
            d.observe(&log);
            d.wakes(&BOARD);
            d.add(&mut pool).unwrap();
            d.run(&mut SimClock::new(), None)
        };
        if always {
            // parked with nothing to run until the limit
            assert_eq!((report.end, report.tyme), (End::Limit, t(1000)));
            assert_eq!(log.tymes("pool", Context::Recur), [t(0), t(200)]);
            assert_eq!(log.tymes("pool", Context::Cease), [t(1000)]);
        } else {
            assert_eq!((report.end, report.tyme), (End::Done, t(300)));
        }
    }
}

#[test]
fn a_future_awaiting_a_deck_is_not_polled_until_a_push() {
    static BOARD: WakeBoard<4> = WakeBoard::new();
    let deck: Deck<u32, 4> = Deck::new();
    let polls = Cell::new(0u32);
    let y = Yielder::new();
    let mut got = Vec::new();
    let fut = pin!(Some(async {
        loop {
            polls.set(polls.get() + 1);
            let x = y.pull(&deck).await;
            got.push((y.tyme(), x));
            if x == 3 {
                return Ok::<(), Fault>(());
            }
        }
    }));
    let mut fd = FutureDoer::new("fut", &y, fut).with_waker(BOARD.waker().unwrap());
    let mut prod = Parker::new("prod", None);
    prod.tock = Tock::from_secs(1);
    prod.into = Some(&deck);
    let mut d: Doist<'_, 2> = Doist::new(ms(10)).unwrap().with_limit(Tock::from_secs(10));
    d.wakes(&BOARD);
    d.add(&mut prod).unwrap();
    d.add(&mut fd).unwrap();
    let mut clock = SimClock::new();
    let report = d.run(&mut clock, None);
    assert_eq!(report.end, End::Limit);
    assert_eq!(got, [(t(0), 1), (t(1000), 2), (t(2000), 3)]);
    assert_eq!(polls.get(), 3);
    // the Doist slept from push to push instead of ticking every 10 ms
    assert!(clock.wakes() < 20, "{} waits", clock.wakes());
}

#[test]
fn a_room_wait_parks_a_producer_until_a_pull_makes_room() {
    static BOARD: WakeBoard<4> = WakeBoard::new();
    let deck: Deck<u32, 4> = Deck::new();
    let y = Yielder::new();
    let sent = Cell::new(0u32);
    let fut = pin!(Some(async {
        for k in 0..8 {
            y.room(&deck).await;
            let _ = deck.push(k);
            sent.set(sent.get() + 1);
        }
        Ok::<(), Fault>(())
    }));
    let mut fd = FutureDoer::new("fill", &y, fut).with_waker(BOARD.waker().unwrap());
    let mut cons = Parker::new("slow", None);
    cons.tock = Tock::from_secs(1);
    cons.from = Some(&deck);
    let mut d: Doist<'_, 2> = Doist::new(ms(10)).unwrap().with_limit(Tock::from_secs(5));
    d.wakes(&BOARD);
    d.add(&mut fd).unwrap();
    d.add(&mut cons).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(sent.get(), 8);
    assert_eq!(cons.got, (0..8).collect::<Vec<_>>());
}

#[test]
fn wakes_scattered_over_a_large_board_each_reach_their_doer_once() {
    const N: usize = 600;
    static BOARD: WakeBoard<N> = WakeBoard::new();
    let mut ps: Vec<Parker<'_>> = (0..N)
        .map(|_| Parker::new("p", Some(BOARD.waker().unwrap())))
        .collect();
    let wakers: Vec<Waker> = ps.iter().filter_map(|p| p.waker).collect();
    let mut d: Box<Doist<'_, N>> = Box::new(Doist::new(ms(10)).unwrap().with_limit(ms(100)));
    d.wakes(&BOARD);
    for p in ps.iter_mut() {
        d.add(p).unwrap();
    }
    assert!(d.enter().is_none());
    assert!(d.pass().is_none()); // every entry recur, at 0
                                 // every 7th, twice each, across blocks and groups of the board
    for w in wakers.iter().step_by(7).chain(wakers.iter().step_by(7)) {
        w.wake();
    }
    assert!(d.pass().is_none());
    assert_eq!(d.tyme(), Tyme::from_millis(100)); // nothing else is due
    for (k, p) in ps.iter().enumerate() {
        let want = if k % 7 == 0 {
            vec![t(0), t(10)]
        } else {
            vec![t(0)]
        };
        assert_eq!(p.recurs, want, "doer {k}");
    }
}

#[test]
fn future_doer_macro_with_a_waker_parks_on_a_deck() {
    static BOARD: WakeBoard<2> = WakeBoard::new();
    let deck: Deck<u32, 4> = Deck::new();
    let mut got = Vec::new();
    hio_core::future_doer!(let mut fd = "reader", |y| {
        while got.len() < 2 {
            let x = y.pull(&deck).await;
            got.push((y.tyme(), x));
        }
        Ok::<(), Fault>(())
    }, waker = BOARD.waker().unwrap());
    let mut prod = Parker::new("prod", None);
    prod.tock = Tock::from_secs(2);
    prod.into = Some(&deck);
    let mut d: Doist<'_, 2> = Doist::new(ms(10)).unwrap().with_limit(Tock::from_secs(10));
    d.wakes(&BOARD);
    d.add(&mut fd).unwrap();
    d.add(&mut prod).unwrap();
    d.run(&mut SimClock::new(), None);
    // the reader came before the producer: each item at the next tick
    assert_eq!(got, [(t(10), 1), (t(2010), 2)]);
}
