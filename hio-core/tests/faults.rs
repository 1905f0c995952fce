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

/// Records `doer.context@tyme`.
#[cfg(feature = "requests")]
#[derive(Default)]
struct Trace(RefCell<Vec<String>>);

#[cfg(feature = "requests")]
impl Observer for Trace {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        self.0.borrow_mut().push(format!("{doer}.{context}@{tyme}"));
    }
}

/// Fails on the second recur of each life.
#[cfg(feature = "requests")]
struct Flaky2(u32);

#[cfg(feature = "requests")]
impl Doer for Flaky2 {
    fn name(&self) -> &str {
        "flaky"
    }
    fn enter(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0 = 0;
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0 += 1;
        if self.0 == 2 {
            Err(Fault::failed("flaked"))
        } else {
            Ok(Step::Continue)
        }
    }
}

#[cfg(feature = "requests")]
#[test]
fn a_supervisor_restarts_a_failed_child_after_its_delay_then_gives_up() {
    use hio_core::Restart;
    let trace = Trace::default();
    let mut f = Flaky2(0);
    let report = {
        let mut sup: DoDoer<'_, 1, 1> = DoDoer::new("sup").restart(Restart {
            delay: Tock::from_millis(500),
            max: 2,
            window: Tock::from_secs(60),
        });
        sup.add(&mut f).unwrap();
        let mut d: Doist<'_, 1> = Doist::new(Tock::from_millis(100)).unwrap();
        d.observe(&trace);
        d.add(&mut sup).unwrap();
        d.run(&mut SimClock::new(), None)
    };
    assert_eq!(
        (report.end, report.tyme),
        (End::Fault(Fault::failed("flaked")), Tyme::from_millis(1500))
    );
    let flaky: Vec<String> = trace
        .0
        .borrow()
        .iter()
        .filter(|e| {
            e.starts_with("flaky.") || e.starts_with("sup.abort") || e.starts_with("sup.exit")
        })
        .cloned()
        .collect();
    let want = "flaky.enter@0.0 flaky.recur@0.0 flaky.recur@0.1 flaky.abort@0.1 flaky.exit@0.1 \
                flaky.enter@0.6 flaky.recur@0.7 flaky.recur@0.8 flaky.abort@0.8 flaky.exit@0.8 \
                flaky.enter@1.3 flaky.recur@1.4 flaky.recur@1.5 flaky.abort@1.5 flaky.exit@1.5 \
                sup.abort@1.5 sup.exit@1.5";
    assert_eq!(flaky, want.split_whitespace().collect::<Vec<_>>());
}

#[cfg(feature = "requests")]
#[test]
fn a_new_window_gives_a_supervisor_its_restarts_back() {
    use hio_core::Restart;
    let mut f = Flaky2(0);
    let report = {
        // one restart per 0.5 s window; the child fails every 0.6 s or so
        let mut sup: DoDoer<'_, 1, 1> = DoDoer::new("sup").restart(Restart {
            delay: Tock::from_millis(400),
            max: 1,
            window: Tock::from_millis(500),
        });
        sup.add(&mut f).unwrap();
        let mut d: Doist<'_, 1> = Doist::new(Tock::from_millis(100))
            .unwrap()
            .with_limit(Tock::from_secs(5));
        d.add(&mut sup).unwrap();
        d.run(&mut SimClock::new(), None)
    };
    // it keeps failing and keeps being restarted until the limit
    assert_eq!(report.end, End::Limit);
}
