//! Faults an observer can see: the fault with each abort (kind, reason,
//! where it arose), and the last fault a containing DoDoer kept.

use std::cell::RefCell;

use hio_core::{
    Context, Cx, DoDoer, Doer, Doist, End, Fault, FaultKind, Observer, SimClock, Step, Tock, Tyme,
};

/// Fails at its second recur.
struct Flaky(&'static str, u32);

impl Doer for Flaky {
    fn name(&self) -> &str {
        self.0
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.1 += 1;
        if self.1 == 2 {
            Err(Fault::new(FaultKind::Io, "sensor unplugged"))
        } else {
            Ok(Step::Continue)
        }
    }
}

#[derive(Default)]
struct Seen(RefCell<Vec<String>>);

impl Observer for Seen {
    fn event(&self, _: &str, _: Context, _: Tyme) {}
    fn fault(&self, doer: &str, fault: &Fault, origin: &str, tyme: Tyme) {
        self.0
            .borrow_mut()
            .push(format!("{doer}@{tyme}: {fault} (from {origin})"));
    }
}

#[test]
fn an_observer_sees_each_abort_with_its_fault_and_origin() {
    let seen = Seen::default();
    let mut leaf = Flaky("probe", 0);
    let report = {
        let mut g: DoDoer<'_, 1> = DoDoer::new("group");
        g.add(&mut leaf).unwrap();
        let mut d: Doist<'_, 1> = Doist::new(Tock::from_millis(100)).unwrap();
        d.observe(&seen);
        d.add(&mut g).unwrap();
        d.run(&mut SimClock::new(), None)
    };
    assert_eq!(
        report.end,
        End::Fault(Fault::new(FaultKind::Io, "sensor unplugged"))
    );
    assert_eq!(
        *seen.0.borrow(),
        [
            "probe@0.1: io fault: sensor unplugged (from probe)",
            "group@0.1: io fault: sensor unplugged (from probe)",
        ]
    );
}

#[test]
fn a_containing_dodoer_keeps_the_last_fault_and_where_it_arose() {
    let seen = Seen::default();
    let (mut a, mut b) = (Flaky("a", 0), Flaky("b", 1));
    let (end, last, count) = {
        let mut g: DoDoer<'_, 2> = DoDoer::new("pool").contain(true).always(true);
        g.add(&mut a).unwrap();
        g.add(&mut b).unwrap();
        let mut d: Doist<'_, 1> = Doist::new(Tock::from_millis(100))
            .unwrap()
            .with_limit(Tock::from_secs(1));
        d.observe(&seen);
        d.add(&mut g).unwrap();
        let end = d.run(&mut SimClock::new(), None).end;
        drop(d);
        (end, g.deeds().last_contained(), g.deeds().contained())
    };
    assert_eq!(end, End::Limit);
    assert_eq!(count, 2);
    let (fault, origin) = last.expect("a contained fault is kept");
    assert_eq!((fault.kind(), origin.as_str()), (FaultKind::Io, "a"));
    assert_eq!(
        *seen.0.borrow(),
        [
            "b@0.0: io fault: sensor unplugged (from b)",
            "a@0.1: io fault: sensor unplugged (from a)",
        ]
    );
}
