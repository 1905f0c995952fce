//! Pipelines of parked doers linked by Decks, in random canonical order:
//! a producer with a fixed run of items, relays and a consumer, every one
//! parked until a push into its input or a pull from its full output wakes
//! it (producers that wait for room, too). Whatever the capacities and the
//! order, every item reaches the consumer, in order, and no parked stage
//! runs without a wake. Some relays are futures (`Yielder::pull` and
//! `Yielder::room`) instead; a slow consumer makes the stages wait for
//! room.

use std::pin::Pin;

use hio_core::{
    Cx, Deck, Doer, Doist, End, Fault, FutureDoer, SimClock, Step, Tock, WakeBoard, Waker, Yielder,
};
use proptest::prelude::*;

type D = Deck<u32, 4>;

/// Pushes `0..items` into `out`, as many as fit; parks until a pull makes
/// room (or, timed, tries again every `tock`).
struct Producer<'d> {
    out: &'d D,
    next: u32,
    items: u32,
    waker: Option<Waker>,
    tock: Tock,
    recurs: u32,
}

impl Doer for Producer<'_> {
    fn name(&self) -> &str {
        "producer"
    }
    fn tock(&self) -> Tock {
        self.tock
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if let Some(w) = self.waker {
            cx.attach(w).map_err(|_| Fault::failed("attach"))?;
            self.out.wake_on_pull(Some(w));
        }
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        while self.next < self.items && self.out.push(self.next).is_ok() {
            self.next += 1;
        }
        Ok(if self.next == self.items {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

/// Moves items from `input` to `out` while there is room; parked, woken by
/// a push into its empty input or a pull from its full output.
struct Relay<'d> {
    name: String,
    input: &'d D,
    out: &'d D,
    held: Option<u32>,
    waker: Waker,
    recurs: u32,
}

impl Doer for Relay<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).map_err(|_| Fault::failed("attach"))?;
        self.input.wake_on_push(Some(self.waker));
        self.out.wake_on_pull(Some(self.waker));
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        while let Some(x) = self.held.take().or_else(|| self.input.pull()) {
            if let Err(x) = self.out.push(x) {
                self.held = Some(x);
                break;
            }
        }
        Ok(Step::Continue)
    }
}

/// Pulls everything from `input`, parked until a push wakes it; or, slow,
/// one item every 2 ms, so that the Decks before it fill up and the stages
/// wait for room.
struct Consumer<'d> {
    input: &'d D,
    got: Vec<u32>,
    waker: Waker,
    recurs: u32,
    slow: bool,
}

impl Doer for Consumer<'_> {
    fn name(&self) -> &str {
        "consumer"
    }
    fn tock(&self) -> Tock {
        if self.slow {
            Tock::from_millis(2)
        } else {
            Tock::NEVER
        }
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if !self.slow {
            cx.attach(self.waker).map_err(|_| Fault::failed("attach"))?;
            self.input.wake_on_push(Some(self.waker));
        }
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        while let Some(x) = self.input.pull() {
            self.got.push(x);
            if self.slow {
                break;
            }
        }
        Ok(Step::Continue)
    }
}

/// The relay as a future: waits, parked, for the next item of `input`,
/// then for room in `out`.
async fn relay_fut(y: &Yielder, input: &D, out: &D) -> Result<(), Fault> {
    loop {
        let mut x = y.pull(input).await;
        while let Err(back) = out.push(x) {
            x = back;
            y.room(out).await;
        }
    }
}

static BOARD: WakeBoard<16> = WakeBoard::new();

/// A pipeline of `relays` relays, its doers added in the order `order`
/// (indices: 0 the producer, then the relays, the consumer last), the
/// producer parked on room or timed.
fn pipeline(
    items: u32,
    relays: usize,
    order: &[usize],
    parked: bool,
    futures: &[bool],
    slow: bool,
) -> Result<(), TestCaseError> {
    BOARD.reset();
    let decks: Vec<D> = (0..=relays).map(|_| Deck::new()).collect();
    let mut producer = Producer {
        out: &decks[0],
        next: 0,
        items,
        waker: parked.then(|| BOARD.waker().unwrap()),
        tock: if parked {
            Tock::NEVER
        } else {
            Tock::from_millis(3)
        },
        recurs: 0,
    };
    let mut stages: Vec<Relay<'_>> = (0..relays)
        .map(|k| Relay {
            name: format!("relay{k}"),
            input: &decks[k],
            out: &decks[k + 1],
            held: None,
            waker: BOARD.waker().unwrap(),
            recurs: 0,
        })
        .collect();
    // the relays that are futures instead
    let is_future = |k: usize| futures.get(k).copied().unwrap_or(false);
    let names: Vec<String> = (0..relays).map(|k| format!("future{k}")).collect();
    let yielders: Vec<Yielder> = (0..relays).map(|_| Yielder::new()).collect();
    let mut futs: Vec<Pin<Box<Option<_>>>> = (0..relays)
        .map(|k| Box::pin(Some(relay_fut(&yielders[k], &decks[k], &decks[k + 1]))))
        .collect();
    let mut future_doers: Vec<FutureDoer<'_, _>> = futs
        .iter_mut()
        .enumerate()
        .map(|(k, f)| {
            FutureDoer::new(&names[k], &yielders[k], f.as_mut()).with_waker(BOARD.waker().unwrap())
        })
        .collect();
    let mut consumer = Consumer {
        input: &decks[relays],
        got: Vec::new(),
        waker: BOARD.waker().unwrap(),
        recurs: 0,
        slow,
    };
    let report = {
        let mut doers: Vec<Option<&mut dyn Doer>> = Vec::new();
        doers.push(Some(&mut producer));
        for (k, (s, f)) in stages.iter_mut().zip(future_doers.iter_mut()).enumerate() {
            if is_future(k) {
                doers.push(Some(f));
            } else {
                doers.push(Some(s));
            }
        }
        doers.push(Some(&mut consumer));
        let mut doist: Doist<'_, 8> = Doist::new(Tock::from_millis(1))
            .unwrap()
            .with_limit(Tock::from_secs(10));
        doist.wakes(&BOARD);
        for &i in order {
            if let Some(d) = doers.get_mut(i).and_then(Option::take) {
                doist.add(d).map_err(|_| TestCaseError::fail("full"))?;
            }
        }
        doist.run(&mut SimClock::new(), None)
    };
    // all parked at the end: the run goes to its limit
    prop_assert_eq!(report.end, End::Limit);
    prop_assert_eq!(&consumer.got, &(0..items).collect::<Vec<_>>());
    // every item crossed each Deck once; a parked stage runs once at its
    // entry and then only when woken: by each push into its empty input or
    // pull from its full output, at most one per item on each side
    let bound = 1 + 2 * items;
    for (k, s) in stages.iter().enumerate() {
        prop_assert!(
            is_future(k) || s.recurs <= bound,
            "{} ran {} times",
            s.name,
            s.recurs
        );
    }
    prop_assert!(
        slow || consumer.recurs <= 1 + items,
        "the consumer ran {} times",
        consumer.recurs
    );
    if parked {
        prop_assert!(
            producer.recurs <= 1 + items,
            "the producer ran {} times",
            producer.recurs
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_item_crosses_a_pipeline_of_parked_doers_in_order(
        items in 0u32..40,
        relays in 0usize..5,
        seed in any::<u64>(),
        parked in any::<bool>(),
        futures in prop::collection::vec(any::<bool>(), 4),
        slow in any::<bool>(),
    ) {
        // a random order of the producer, the relays and the consumer
        let mut order: Vec<usize> = (0..relays + 2).collect();
        let mut s = seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        pipeline(items, relays, &order, parked, &futures, slow)?;
    }
}
