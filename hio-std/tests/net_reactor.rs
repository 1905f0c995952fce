//! The reactor as the Doist's clock: timers without busy waiting, wakes
//! from another thread, a stop from another thread.

use std::time::{Duration, Instant};

use hio_core::{Cx, Doer, Doist, End, Fault, Step, Tock, Waker};
use hio_std::reactor::{Reactor, NET_TOCK};

/// Recurs every 30 ms, five times.
struct Ticker(u32);

impl Doer for Ticker {
    fn tock(&self) -> Tock {
        Tock::from_millis(30)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0 += 1;
        Ok(if self.0 == 5 {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

#[test]
fn timers_sleep_in_the_poll_until_due() {
    let reactor = Reactor::new().unwrap();
    let mut t = Ticker(0);
    let mut doist: Doist<'_, 1> = Doist::new(NET_TOCK).unwrap();
    doist.wakes(reactor.board());
    doist.add(&mut t).unwrap();
    let begin = Instant::now();
    let report = doist.run(&mut reactor.clock(), None);
    let took = begin.elapsed();
    assert_eq!(report.end, End::Done);
    // recurs at 0, 30, 60, 90 and 120 ms of real time
    assert!(took >= Duration::from_millis(120), "{took:?}");
    // one sleep per wait, not a busy loop (a few more if a wait ends early)
    let sleeps = reactor.stats().sleeps;
    assert!((4..=12).contains(&sleeps), "{sleeps} sleeps");
}

/// Parked until woken; tells each recur on a channel and ends after
/// `want` wakes.
struct Parked {
    waker: Waker,
    recurs: u32,
    want: u32,
    told: Option<std::sync::mpsc::Sender<u32>>,
}

impl Doer for Parked {
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).unwrap();
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        if let Some(t) = &self.told {
            let _ = t.send(self.recurs);
        }
        Ok(if self.recurs > self.want {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

#[test]
fn a_wake_from_another_thread_ends_the_poll() {
    let reactor = Reactor::new().unwrap();
    let waker = reactor.waker().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut p = Parked {
        waker,
        recurs: 0,
        want: 3,
        told: Some(tx),
    };
    let mut doist: Doist<'_, 1> = Doist::new(NET_TOCK)
        .unwrap()
        .with_limit(Tock::from_secs(20));
    doist.wakes(reactor.board());
    doist.add(&mut p).unwrap();
    // wakes the doer each time it has recurred (and so parks again): the
    // Doist sleeps in its poll with no deadline, and only the wake ends it
    let waking = std::thread::spawn(move || {
        while let Ok(n) = rx.recv() {
            if n <= 3 {
                waker.wake();
            }
        }
    });
    let report = doist.run(&mut reactor.clock(), None);
    assert_eq!(report.end, End::Done, "{report:?}");
    drop(p);
    waking.join().unwrap();
}

#[test]
fn a_stop_from_another_thread_ends_an_idle_run_at_once() {
    let reactor = Reactor::new().unwrap();
    let stop = reactor.stop_flag();
    let mut p = Parked {
        waker: reactor.waker().unwrap(),
        recurs: 0,
        want: u32::MAX,
        told: None,
    };
    let mut doist: Doist<'_, 1> = Doist::new(NET_TOCK).unwrap();
    doist.wakes(reactor.board());
    doist.add(&mut p).unwrap();
    let stopper = std::thread::spawn(move || stop.stop());
    let begin = Instant::now();
    let report = doist.run(&mut reactor.clock(), Some(stop));
    stopper.join().unwrap();
    assert_eq!(report.end, End::Stopped);
    assert!(begin.elapsed() < Duration::from_secs(10));
}
