//! Pipelines of parked doers linked by Decks, in random canonical order:
//! a producer with a fixed run of items, relays and a consumer, every one
//! parked until a push into its input or a pull from its full output wakes
//! it (producers that wait for room, too). Whatever the capacities and the
//! order, every item reaches the consumer, in order, and no parked stage
//! runs without a wake.

use hio_core::{Cx, Deck, Doer, Doist, End, Fault, SimClock, Step, Tock, WakeBoard, Waker};
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

/// Pulls everything from `input`; parked until a push wakes it.
struct Consumer<'d> {
    input: &'d D,
    got: Vec<u32>,
    waker: Waker,
    recurs: u32,
}

impl Doer for Consumer<'_> {
    fn name(&self) -> &str {
        "consumer"
    }
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).map_err(|_| Fault::failed("attach"))?;
        self.input.wake_on_push(Some(self.waker));
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        while let Some(x) = self.input.pull() {
            self.got.push(x);
        }
        Ok(Step::Continue)
    }
}

static BOARD: WakeBoard<16> = WakeBoard::new();

/// A pipeline of `relays` relays, its doers added in the order `order`
/// (indices: 0 the producer, then the relays, the consumer last), the
/// producer parked on room or timed.
fn pipeline(items: u32, relays: usize, order: &[usize], parked: bool) -> Result<(), TestCaseError> {
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
    let mut consumer = Consumer {
        input: &decks[relays],
        got: Vec::new(),
        waker: BOARD.waker().unwrap(),
        recurs: 0,
    };
    let report = {
        let mut doers: Vec<Option<&mut dyn Doer>> = Vec::new();
        doers.push(Some(&mut producer));
        for s in stages.iter_mut() {
            doers.push(Some(s));
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
    for s in &stages {
        prop_assert!(s.recurs <= bound, "{} ran {} times", s.name, s.recurs);
    }
    prop_assert!(
        consumer.recurs <= 1 + items,
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
    ) {
        // a random order of the producer, the relays and the consumer
        let mut order: Vec<usize> = (0..relays + 2).collect();
        let mut s = seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        pipeline(items, relays, &order, parked)?;
    }
}
