//! Integration tests of the scheduling contract (SEMANTICS.md) and of API
//! misuse, through hio-core's public API only. Every lifecycle event is
//! recorded by an [`Observer`](hio_core::Observer) and compared.
//!
//! Run-time changes to the tree are in `requests.rs`; these tests need no
//! `requests` feature, so they also run on the lean configuration
//! firmware takes (`--no-default-features --features observe`).

mod common;

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::rc::Rc;

use common::*;
use hio_core::{
    Context, Cx, Deck, DoDoer, Doer, Doist, DoistError, End, Fault, FaultKind, FutureDoer,
    Observer, Refusal, SimClock, Step, StopFlag, Tock, Tyme, Tymer, Yielder,
};

// ===========================================================================
// Lifecycle: every row of the table

#[test]
fn row_finished_in_recur() {
    let log = Log::new();
    let mut a = Node::leaf("a").stop(3);
    let mut d = doist(ms(100), &log);
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme, d.origin()), (End::Done, ty("0.3"), None));
    assert_eq!(
        log.seq_at(),
        s("a.enter@0.0 a.recur@0.0 a.recur@0.1 a.recur@0.2 a.clean@0.2 a.exit@0.2")
    );
}

#[test]
fn row_finished_in_enter() {
    let log = Log::new();
    let mut a = Node::leaf("a").done_in_enter();
    let mut b = Node::leaf("b").stop(1);
    let mut d = doist(ms(100), &log);
    d.add(&mut a).unwrap();
    d.add(&mut b).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Done, ty("0.1")));
    // a gets no deed: clean and exit at once, before b is entered
    assert_eq!(
        log.seq_at(),
        s("a.enter@0.0 a.clean@0.0 a.exit@0.0 b.enter@0.0 b.recur@0.0 b.clean@0.0 b.exit@0.0")
    );
}

#[test]
fn row_finished_in_enter_alone_still_one_pass() {
    let log = Log::new();
    let mut a = Node::leaf("a").done_in_enter();
    let mut d = doist(ms(100), &log);
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    // there is always at least one pass (and its tick)
    assert_eq!((r.end, r.tyme), (End::Done, ty("0.1")));
    assert_eq!(log.of("a"), ctxs("enter clean exit"));
}

#[test]
fn row_stopped_from_outside_after_recurs() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut d = doist(ms(100), &log).with_limit(ms(200));
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Limit, ty("0.2")));
    assert_eq!(
        log.seq_at(),
        s("a.enter@0.0 a.recur@0.0 a.recur@0.1 a.cease@0.2 a.exit@0.2")
    );
}

#[test]
fn row_stopped_from_outside_without_any_recur() {
    // b is stopped by a's fault before it ever recurs: enter, cease, exit
    let log = Log::new();
    let mut a = Node::leaf("a").fail_at(1);
    let mut b = Node::leaf("b");
    let mut d = doist(ms(100), &log);
    d.add(&mut a).unwrap();
    d.add(&mut b).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_at"));
    assert_eq!(log.of("b"), ctxs("enter cease exit"));
    assert_eq!(log.of("a"), ctxs("enter recur abort exit"));
}

#[test]
fn row_own_recur_failed() {
    let log = Log::new();
    let mut a = Node::leaf("a").fail_at(2);
    let mut d = doist(ms(100), &log);
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_at"));
    assert_eq!(r.tyme, ty("0.1"), "no tick after the failing pass");
    assert_eq!(d.origin(), Some("a"));
    assert_eq!(
        log.seq_at(),
        s("a.enter@0.0 a.recur@0.0 a.recur@0.1 a.abort@0.1 a.exit@0.1")
    );
}

#[test]
fn row_own_enter_failed() {
    let log = Log::new();
    let mut a = Node::leaf("a").fail_in_enter();
    let mut d = doist(ms(100), &log);
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_in_enter"));
    assert_eq!((r.tyme, d.origin()), (Tyme::ZERO, Some("a")));
    assert_eq!(log.seq_at(), s("a.enter@0.0 a.abort@0.0 a.exit@0.0"));
}

#[test]
fn exit_exactly_once_for_every_entered_doer_in_a_mixed_tree() {
    let log = Log::new();
    let mut a = Node::leaf("a").stop(2);
    let mut b = Node::leaf("b").done_in_enter();
    let mut g1 = Node::leaf("g1").tock(ms(300));
    let mut g2 = Node::leaf("g2").stop(1);
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.add(&mut g2);
    let mut c = Node::leaf("c").fail_at(5);
    let mut d = doist(ms(100), &log).with_limit(ms(1000));
    d.add(&mut a).unwrap();
    d.add(&mut b).unwrap();
    d.add(&mut g).unwrap();
    d.add(&mut c).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_at"));
    let seqs = check_lifecycles(&log.events());
    let names: Vec<&str> = seqs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "G", "g1", "g2", "c"]);
    for (name, seq) in &seqs {
        let exits = seq.iter().filter(|c| **c == Context::Exit).count();
        assert_eq!(exits, 1, "{name}");
    }
    assert_eq!(log.of("g1"), ctxs("enter recur recur cease exit"));
    // c is not below G: G is ceased, not aborted
    assert_eq!(
        log.of("G"),
        ctxs("enter recur recur recur recur recur cease exit")
    );
    assert_eq!(
        log.of("c"),
        ctxs("enter recur recur recur recur recur abort exit")
    );
}

// ===========================================================================
// Stopping: reverse canonical order, parents exit last

#[test]
fn limit_stops_nested_tree_in_reverse_order_parent_exit_last() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut g1 = Node::leaf("g1");
    let mut h1 = Node::leaf("h1");
    let mut h2 = Node::leaf("h2");
    // H is a plain DoDoer, G a scripted one: both behave the same
    let mut h: DoDoer<'_, 2> = DoDoer::new("H");
    h.add(&mut h1).unwrap();
    h.add(&mut h2).unwrap();
    let mut g2 = Node::leaf("g2");
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.add(&mut h);
    g.add(&mut g2);
    let mut b = Node::leaf("b");
    let mut d = doist(Tock::from_secs(1), &log).with_limit(Tock::from_secs(2));
    d.add(&mut a).unwrap();
    d.add(&mut g).unwrap();
    d.add(&mut b).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Limit, Tyme::from_secs(2)));
    let enter = "a.enter G.enter g1.enter H.enter h1.enter h2.enter g2.enter b.enter";
    let pass = "a.recur G.recur g1.recur H.recur h1.recur h2.recur g2.recur b.recur";
    let stop = "b.cease b.exit G.cease g2.cease g2.exit H.cease h2.cease h2.exit \
                h1.cease h1.exit H.exit g1.cease g1.exit G.exit a.cease a.exit";
    assert_eq!(log.seq(), s(&format!("{enter} {pass} {pass} {stop}")));
    assert!(log
        .events()
        .iter()
        .filter(|e| e.ctx == Context::Cease || e.ctx == Context::Exit)
        .all(|e| e.tyme == Tyme::from_secs(2)));
    check_lifecycles(&log.events());
}

#[test]
fn stopped_dodoer_ceases_before_children_and_exits_after() {
    let log = Log::new();
    let mut x = Node::leaf("x");
    let mut y = Node::leaf("y");
    let mut g = Node::group("G");
    g.add(&mut x);
    g.add(&mut y);
    let mut d = doist(ms(10), &log).with_limit(ms(10));
    d.add(&mut g).unwrap();
    run(&mut d);
    assert_eq!(
        log.seq_from("G", Context::Cease),
        s("G.cease y.cease y.exit x.cease x.exit G.exit")
    );
}

#[test]
fn dodoer_finishes_when_no_children_left() {
    let log = Log::new();
    let mut c1 = Node::leaf("c1").stop(1);
    let mut c2 = Node::leaf("c2").stop(2);
    let mut g = Node::group("G");
    g.add(&mut c1);
    g.add(&mut c2);
    let mut d = doist(ms(100), &log);
    d.add(&mut g).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Done, ty("0.2")));
    assert_eq!(
        log.seq_at(),
        s("G.enter@0.0 c1.enter@0.0 c2.enter@0.0 \
           G.recur@0.0 c1.recur@0.0 c1.clean@0.0 c1.exit@0.0 c2.recur@0.0 \
           G.recur@0.1 c2.recur@0.1 c2.clean@0.1 c2.exit@0.1 G.clean@0.1 G.exit@0.1")
    );
}

#[test]
fn empty_dodoer_and_all_done_in_enter_finish_at_first_recur() {
    let log = Log::new();
    let mut e: DoDoer<'_, 0> = DoDoer::new("E");
    let mut c = Node::leaf("c").done_in_enter();
    let mut g = Node::group("G");
    g.add(&mut c);
    let mut d = doist(ms(100), &log);
    d.add(&mut e).unwrap();
    d.add(&mut g).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Done, ty("0.1")));
    assert_eq!(
        log.seq(),
        s("E.enter G.enter c.enter c.clean c.exit E.recur E.clean E.exit G.recur G.clean G.exit")
    );
}

#[test]
fn always_dodoer_never_finishes_by_itself() {
    let log = Log::new();
    let mut c = Node::leaf("c").stop(1);
    let mut g = Node::group("G").always();
    g.add(&mut c);
    let mut e: DoDoer<'_, 1> = DoDoer::new("E").always(true); // no children at all
    let mut d = doist(ms(100), &log).with_limit(ms(500));
    d.add(&mut g).unwrap();
    d.add(&mut e).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Limit, ty("0.5")));
    assert_eq!(log.of("c"), ctxs("enter recur clean exit"));
    let five = "enter recur recur recur recur recur cease exit";
    assert_eq!(log.of("G"), ctxs(five));
    assert_eq!(log.of("E"), ctxs(five));
    assert_eq!(log.tymes("G", Context::Cease), [ty("0.5")]);
}

#[test]
fn always_dodoer_alone_runs_until_limit() {
    let log = Log::new();
    let mut e: DoDoer<'_, 1> = DoDoer::new("E").always(true);
    let mut d = doist(Tock::from_secs(1), &log).with_limit(Tock::from_secs(100));
    d.add(&mut e).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, End::Limit);
    assert_eq!(log.tymes("E", Context::Recur).len(), 100);
}

// ===========================================================================
// Faults

#[test]
fn fault_propagates_abort_then_cease_siblings_reverse_then_exit() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut g1 = Node::leaf("g1");
    let mut g2 = Node::leaf("g2").fail_at(2);
    let mut g3 = Node::leaf("g3");
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.add(&mut g2);
    g.add(&mut g3);
    let mut b = Node::leaf("b");
    let mut d = doist(Tock::from_secs(1), &log);
    d.add(&mut a).unwrap();
    d.add(&mut g).unwrap();
    d.add(&mut b).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_at"));
    assert_eq!(d.origin(), Some("g2"));
    assert_eq!(r.tyme, Tyme::from_secs(1));
    assert_eq!(
        log.seq_from("g2", Context::Abort),
        s(
            "g2.abort g2.exit G.abort g3.cease g3.exit g1.cease g1.exit G.exit \
           b.cease b.exit a.cease a.exit"
        )
    );
    // b never ran in the failing pass; a did
    assert_eq!(log.tymes("b", Context::Recur), [Tyme::ZERO]);
    assert_eq!(
        log.tymes("a", Context::Recur),
        [Tyme::ZERO, Tyme::from_secs(1)]
    );
    assert_eq!(log.of("G"), ctxs("enter recur recur abort exit"));
}

#[test]
fn fault_travels_up_through_every_ancestor() {
    let log = Log::new();
    let mut h1 = Node::leaf("h1").fail_at(1);
    let mut h = Node::group("H");
    h.add(&mut h1);
    let mut g2 = Node::leaf("g2");
    let mut g = Node::group("G");
    g.add(&mut h);
    g.add(&mut g2);
    let mut d = doist(ms(100), &log).with_start(Tyme::from_secs(7));
    d.add(&mut g).unwrap();
    let r = run(&mut d);
    assert_eq!(d.origin(), Some("h1"));
    assert_eq!(r.tyme, Tyme::from_secs(7));
    assert_eq!(
        log.seq_from("h1", Context::Recur),
        s("h1.recur h1.abort h1.exit H.abort H.exit G.abort g2.cease g2.exit G.exit")
    );
}

#[test]
fn fault_report_carries_the_fault_value() {
    struct Bad;
    impl Doer for Bad {
        fn name(&self) -> &str {
            "bad"
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            Err(Fault::new(FaultKind::Timeout, "too slow"))
        }
    }
    let mut b = Bad;
    let mut d: Doist<'_, 1> = Doist::new(ms(1)).unwrap();
    d.add(&mut b).unwrap();
    let r = d.run(&mut SimClock::new(), None);
    let End::Fault(f) = r.end else {
        panic!("{:?}", r.end)
    };
    assert_eq!((f.kind(), f.reason()), (FaultKind::Timeout, "too slow"));
    assert_eq!(d.origin(), Some("bad"));
    assert_eq!(r.end.as_str(), "fault");
}

#[test]
fn fault_in_enter_later_siblings_never_entered() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut g1 = Node::leaf("g1");
    let mut g2 = Node::leaf("g2").fail_in_enter();
    let mut g3 = Node::leaf("g3");
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.add(&mut g2);
    g.add(&mut g3);
    let mut b = Node::leaf("b");
    let mut d = doist(ms(100), &log).with_start(Tyme::from_secs(3));
    d.add(&mut a).unwrap();
    d.add(&mut g).unwrap();
    d.add(&mut b).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_in_enter"));
    assert_eq!(d.origin(), Some("g2"));
    assert_eq!(r.tyme, Tyme::from_secs(3));
    assert_eq!(
        log.seq(),
        s(
            "a.enter G.enter g1.enter g2.enter g2.abort g2.exit G.abort g1.cease g1.exit G.exit \
           a.cease a.exit"
        )
    );
    assert!(log.of("g3").is_empty() && log.of("b").is_empty());
}

// ---------------------------------------------------------------------------
// Found by the property tests: each of these failed once.

#[test]
fn stop_before_enter_runs_nothing() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut d = doist(ms(100), &log);
    d.add(&mut a).unwrap();
    let r = d.stop();
    assert_eq!(r.end, End::Stopped);
    assert!(log.events().is_empty(), "events: {:?}", log.seq());
}

/// Wraps a DoDoer and fails in its own enter before entering it, handing
/// every other context to the DoDoer (as hio-std's scenario runner does for
/// `fail_in_enter` on a DoDoer).
struct FailsBeforeGroup<'a>(DoDoer<'a, 2>);

impl Doer for FailsBeforeGroup<'_> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn enter(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        Err(Fault::failed("fail_in_enter"))
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0.recur(cx)
    }
    fn abort(&mut self, cx: &mut Cx<'_>) {
        self.0.abort(cx);
    }
    fn cease(&mut self, cx: &mut Cx<'_>) {
        self.0.cease(cx);
    }
}

#[test]
fn dodoer_abort_without_enter_touches_no_child() {
    let log = Log::new();
    let mut c = Node::leaf("c");
    let mut g: DoDoer<'_, 2> = DoDoer::new("G");
    g.add(&mut c).unwrap();
    let mut w = FailsBeforeGroup(g);
    let mut d = doist(ms(100), &log);
    d.add(&mut w).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_in_enter"));
    assert_eq!(log.seq(), s("G.enter G.abort G.exit"));
}

// ===========================================================================
// Capacity misuse

#[test]
fn dodoer_add_past_capacity_hands_the_doer_back() {
    let mut a = Node::leaf("a");
    let mut b = Node::leaf("b");
    let mut c = Node::leaf("c");
    let mut g: DoDoer<'_, 2> = DoDoer::new("G");
    assert!(g.add(&mut a).is_ok());
    assert!(g.add(&mut b).is_ok());
    let back = g.add(&mut c).unwrap_err();
    assert!(back.to_string().contains("full"));
    assert_eq!(back.into_inner().name(), "c");
    assert_eq!(g.deeds().len(), 2);
    assert_eq!(g.deeds().capacity(), 2);
}

#[test]
fn a_refusal_names_its_scheduler_cut_at_a_character() {
    // 31 bytes, then a 2-byte character that the cut at 32 bytes splits
    let name = "abcdefghijklmnopqrstuvwxyz01234\u{e9}tail";
    let mut a = Node::leaf("a");
    let g: DoDoer<'_, 0> = DoDoer::new(name);
    let back = g.deeds().add(&mut a).unwrap_err();
    assert_eq!(back.scheduler(), "abcdefghijklmnopqrstuvwxyz01234");
    assert!(back
        .to_string()
        .starts_with("\"abcdefghijklmnopqrstuvwxyz01234\" is full"));
}

#[test]
fn zero_capacity_everywhere() {
    let mut a = Node::leaf("a");
    let mut g: DoDoer<'_, 0> = DoDoer::new("G");
    let back = g.add(&mut a).unwrap_err();
    assert_eq!(
        (back.scheduler(), back.reason()),
        ("G", Refusal::AtCapacity { capacity: 0 })
    );
    assert_eq!(
        back.to_string(),
        "\"G\" is full (it holds 0 doers); build it with a larger capacity"
    );
    let mut d: Doist<'_, 0> = Doist::new(ms(10)).unwrap();
    let back = d.add(back.into_inner()).unwrap_err();
    assert_eq!(back.scheduler(), "root");
    assert_eq!(back.into_inner().name(), "a");
    // an empty Doist still makes one pass and ends done
    let r = d.run(&mut SimClock::new(), None);
    assert_eq!((r.end, r.tyme), (End::Done, ms(10).into()));
}

#[test]
fn add_after_the_run_started_hands_the_doer_back() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut late = Node::leaf("late");
    let mut d: Doist<'_, 4> = Doist::new(ms(10)).unwrap().with_limit(ms(30));
    d.observe(&log);
    d.add(&mut a).unwrap();
    assert!(d.enter().is_none());
    let refused = d.deeds().add(&mut late).unwrap_err();
    assert_eq!(refused.reason(), Refusal::Running);
    assert!(refused.to_string().contains("already running"), "{refused}");
    assert_eq!(refused.into_inner().name(), "late");
    let r = d.run(&mut SimClock::new(), None);
    assert_eq!(r.end, End::Limit);
    assert!(log.of("late").is_empty());
}

#[test]
fn doist_zero_tock_is_an_error() {
    let e = Doist::<'_, 1>::new(Tock::ZERO).unwrap_err();
    assert_eq!(e, DoistError::ZeroTock);
    assert!(e.to_string().contains("positive"));
}

// ===========================================================================
// Limit semantics

#[test]
fn limit_on_the_tock_grid() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut d = doist(tk("0.03125"), &log).with_limit(tk("0.25"));
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Limit, ty("0.25")));
    let want: Vec<Tyme> = (0..8).map(|k| Tyme::from_nanos(31_250_000 * k)).collect();
    assert_eq!(log.tymes("a", Context::Recur), want);
    assert_eq!(*want.last().unwrap(), ty("0.21875"));
    assert_eq!(log.tymes("a", Context::Cease), [ty("0.25")]);
}

#[test]
fn limit_not_a_multiple_of_the_tock() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut d = doist(ms(100), &log)
        .with_limit(ms(250))
        .with_start(Tyme::from_secs(10));
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    // passes at 10.0, 10.1, 10.2; after the tick tyme 10.3 >= 10.25
    assert_eq!((r.end, r.tyme), (End::Limit, ty("10.3")));
    assert_eq!(
        log.tymes("a", Context::Recur),
        [ty("10.0"), ty("10.1"), ty("10.2")]
    );
    assert_eq!(log.tymes("a", Context::Cease), [ty("10.3")]);
}

#[test]
fn limit_reached_while_idle() {
    let log = Log::new();
    let mut a = Node::leaf("a").tock(Tock::from_secs(1));
    let mut d = doist(ms(100), &log).with_limit(ms(250));
    d.add(&mut a).unwrap();
    let mut clock = SimClock::new();
    let r = d.run(&mut clock, None);
    assert_eq!((r.end, r.tyme), (End::Limit, ty("0.3")));
    assert_eq!(log.tymes("a", Context::Recur), [Tyme::ZERO]);
    assert_eq!(
        clock.wakes(),
        1,
        "idle passes are slept through in one wait"
    );
}

#[test]
fn limit_zero_is_no_limit_and_done_wins_over_limit() {
    let log = Log::new();
    let mut a = Node::leaf("a").stop(3);
    let mut d = doist(ms(100), &log).with_limit(Tock::ZERO);
    d.add(&mut a).unwrap();
    assert_eq!(run(&mut d).end, End::Done);

    // finishing in the last pass before the limit: done, not limit
    let log = Log::new();
    let mut a = Node::leaf("a").stop(3);
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Done, ty("0.3")));
    assert!(log.of("a").ends_with(&ctxs("clean exit")));
}

// ===========================================================================
// Real-time pacing with a mock clock

#[test]
fn idle_tree_does_not_wake_between_due_passes() {
    let origin = Tyme::from_secs(1000);
    let now = Cell::new(origin);
    let mut clock = MockClock::new(&now);
    let log = Log::new();
    let ten = Tock::from_secs(10);
    let mut a = Node::leaf("a").tock(ten);
    let mut g1 = Node::leaf("g1").tock(ten);
    let mut g2 = Node::leaf("g2").tock(Tock::from_secs(20));
    let mut g = Node::group("G").tock(ten);
    g.add(&mut g1);
    g.add(&mut g2);
    let mut d = doist(ms(10), &log).with_limit(Tock::from_secs(35));
    d.add(&mut a).unwrap();
    d.add(&mut g).unwrap();
    let r = d.run(&mut clock, None);
    assert_eq!((r.end, r.tyme), (End::Limit, Tyme::from_secs(35)));
    let secs = |v: &[u64]| v.iter().map(|s| Tyme::from_secs(*s)).collect::<Vec<_>>();
    for n in ["a", "G", "g1"] {
        assert_eq!(log.tymes(n, Context::Recur), secs(&[0, 10, 20, 30]), "{n}");
    }
    assert_eq!(log.tymes("g2", Context::Recur), secs(&[0, 20]));
    // one wait per pass with work after the first, plus the one to the limit
    let mut work: Vec<Tyme> = log.tymes("a", Context::Recur);
    work.dedup();
    assert_eq!(clock.waits.len(), work.len());
    assert_eq!(
        clock.waits,
        [1010, 1020, 1030, 1035].map(Tyme::from_secs).to_vec()
    );
}

#[test]
fn idle_passes_stay_on_the_tock_grid() {
    let now = Cell::new(Tyme::from_secs(1000));
    let mut clock = MockClock::new(&now);
    let log = Log::new();
    // 10.003 s is not a multiple of 10 ms: passes land on the next grid tick
    let mut a = Node::leaf("a").tock(ms(10_003));
    let mut d = doist(ms(10), &log).with_limit(Tock::from_secs(35));
    d.add(&mut a).unwrap();
    d.run(&mut clock, None);
    let recurs = log.tymes("a", Context::Recur);
    assert_eq!(recurs, [ty("0"), ty("10.01"), ty("20.01"), ty("30.01")]);
    assert!(recurs.iter().all(|t| t.as_nanos() % 10_000_000 == 0));
    assert_eq!(
        clock.waits,
        [ty("1010.01"), ty("1020.01"), ty("1030.01"), ty("1035")]
    );
}

#[test]
fn late_pass_is_followed_by_passes_without_waiting() {
    let origin = Tyme::from_secs(1000);
    let now = Cell::new(origin);
    let log = Log::new();
    // the 4th recur (tyme 30 ms) takes 35 ms of real time
    let slow = |n: u32, _: Tyme| {
        if n == 4 {
            now.set(now.get() + ms(35));
        }
    };
    let mut a = Node::leaf("a").hook(&slow);
    let mut clock = MockClock::new(&now);
    let mut d = doist(ms(10), &log).with_limit(ms(100));
    d.add(&mut a).unwrap();
    let r = d.run(&mut clock, None);
    assert_eq!((r.end, r.tyme), (End::Limit, ms(100).into()));
    let grid: Vec<Tyme> = (0..10).map(|k| (ms(10) * k).into()).collect();
    assert_eq!(
        log.tymes("a", Context::Recur),
        grid,
        "tyme stays on its grid"
    );
    // no waits for 40, 50, 60 ms: the schedule catches up (no drift after)
    let want: Vec<Tyme> = [10, 20, 30, 70, 80, 90, 100]
        .iter()
        .map(|m| origin + ms(*m))
        .collect();
    assert_eq!(clock.waits, want);
}

#[test]
fn stop_flag_ends_the_run_stopped_with_every_doer_ceased() {
    let flag = StopFlag::new();
    let now = Cell::new(Tyme::ZERO);
    let mut clock = MockClock::new(&now);
    let log = Log::new();
    let stop = |n: u32, _: Tyme| {
        if n == 3 {
            flag.stop();
        }
    };
    let mut a = Node::leaf("a").hook(&stop);
    let mut g1 = Node::leaf("g1");
    let mut g2 = Node::leaf("g2").tock(Tock::from_secs(5));
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.add(&mut g2);
    let mut d = doist(ms(10), &log);
    d.add(&mut a).unwrap();
    d.add(&mut g).unwrap();
    let r = d.run(&mut clock, Some(&flag));
    assert_eq!((r.end, r.tyme), (End::Stopped, ms(30).into()));
    assert_eq!(r.end.as_str(), "stopped");
    assert_eq!(
        log.seq_from("G", Context::Cease),
        s("G.cease g2.cease g2.exit g1.cease g1.exit G.exit a.cease a.exit")
    );
    for (name, seq) in check_lifecycles(&log.events()) {
        assert_eq!(seq[seq.len() - 2], Context::Cease, "{name}");
    }
    assert_eq!(clock.waits.len(), 2, "checked before the third wait");
    assert!(flag.is_stopped());
    flag.reset();
    assert!(!flag.is_stopped());
}

#[test]
fn manual_stop_and_repeated_reports() {
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut d = doist(ms(10), &log);
    d.add(&mut a).unwrap();
    assert!(d.enter().is_none());
    assert!(d.pass().is_none());
    assert!(d.pass().is_none());
    let r = d.stop();
    assert_eq!((r.end, r.tyme), (End::Stopped, ms(20).into()));
    assert_eq!(d.stop(), r);
    assert_eq!(d.pass(), Some(r));
    assert_eq!(d.run(&mut SimClock::new(), None), r);
    assert_eq!(log.of("a"), ctxs("enter recur recur cease exit"));
}

// ===========================================================================
// Future doers

#[test]
fn future_doer_yields_with_tock_and_sees_tyme() {
    let log = Log::new();
    let y = Yielder::new();
    let seen = RefCell::new(Vec::new());
    let fut = pin!(Some(async {
        seen.borrow_mut().push(y.tyme());
        y.tock(ms(500)).await;
        seen.borrow_mut().push(y.tyme());
        y.tock(ms(500)).await;
        seen.borrow_mut().push(y.tyme());
        y.next().await;
        seen.borrow_mut().push(y.tyme());
        Ok::<(), Fault>(())
    }));
    let mut gen = FutureDoer::new("gen", &y, fut);
    let mut d = doist(ms(100), &log);
    d.add(&mut gen).unwrap();
    let r = run(&mut d);
    assert_eq!((r.end, r.tyme), (End::Done, ty("1.2")));
    assert!(!gen.is_live());
    assert_eq!(*seen.borrow(), [ty("0"), ty("0.5"), ty("1.0"), ty("1.1")]);
    assert_eq!(
        log.seq_at(),
        s(
            "gen.enter@0.0 gen.recur@0.0 gen.recur@0.5 gen.recur@1.0 gen.recur@1.1 \
           gen.clean@1.1 gen.exit@1.1"
        )
    );
}

#[test]
fn future_doer_faults_by_returning_err() {
    let log = Log::new();
    let y = Yielder::new();
    let fut = pin!(Some(async {
        y.next().await;
        Err::<(), Fault>(Fault::new(FaultKind::Io, "boom"))
    }));
    let mut gen = FutureDoer::new("gen", &y, fut);
    let mut other = Node::leaf("other");
    let mut d = doist(ms(100), &log);
    d.add(&mut gen).unwrap();
    d.add(&mut other).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, End::Fault(Fault::new(FaultKind::Io, "boom")));
    assert_eq!((d.origin(), r.tyme), (Some("gen"), ty("0.1")));
    assert_eq!(log.of("gen"), ctxs("enter recur recur abort exit"));
    assert_eq!(log.of("other"), ctxs("enter recur cease exit"));
    assert!(!gen.is_live());
}

struct Guard(Rc<Cell<u32>>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Records the drop counter at the future doer's cease and exit events.
struct DropWatch<'a> {
    log: &'a Log,
    drops: Rc<Cell<u32>>,
    at: RefCell<Vec<(Context, u32)>>,
}

impl Observer for DropWatch<'_> {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        self.log.event(doer, context, tyme);
        if doer == "gen" && matches!(context, Context::Cease | Context::Exit) {
            self.at.borrow_mut().push((context, self.drops.get()));
        }
    }
}

#[test]
fn future_doer_is_dropped_in_place_at_cease() {
    let drops = Rc::new(Cell::new(0));
    let log = Log::new();
    {
        let watch = DropWatch {
            log: &log,
            drops: drops.clone(),
            at: RefCell::new(Vec::new()),
        };
        let y = Yielder::new();
        let g = Guard(drops.clone());
        let yr = &y;
        let fut = pin!(Some(async move {
            let _g = g;
            for _ in 0..1000 {
                yr.next().await;
            }
            Ok::<(), Fault>(())
        }));
        let mut gen = FutureDoer::new("gen", &y, fut);
        let mut d: D<'_> = D::new(ms(100)).unwrap().with_limit(ms(300));
        d.observe(&watch);
        d.add(&mut gen).unwrap();
        let r = d.run(&mut SimClock::new(), None);
        assert_eq!(r.end, End::Limit);
        // not dropped before cease; dropped by cease, before exit
        assert_eq!(
            *watch.at.borrow(),
            [(Context::Cease, 0), (Context::Exit, 1)]
        );
        assert_eq!(drops.get(), 1, "right after cease, the doer still alive");
        assert!(!gen.is_live());
        assert_eq!(drops.get(), 1);
        // the doer and the pinned slot (now empty) go out of scope here
    }
    assert_eq!(drops.get(), 1, "dropped exactly once");
    assert_eq!(log.of("gen"), ctxs("enter recur recur recur cease exit"));
}

// ===========================================================================
// Deck: producer and consumer with backpressure

struct Producer<'d> {
    deck: &'d Deck<u32, 3>,
    next: u32,
    held: Option<u32>,
    rejected: u32,
    total: u32,
}

impl Doer for Producer<'_> {
    fn name(&self) -> &str {
        "producer"
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        let item = match self.held.take() {
            Some(i) => i,
            None => {
                self.next += 1;
                self.next - 1
            }
        };
        if let Err(back) = self.deck.push(item) {
            assert_eq!(back, item, "the item comes back");
            self.rejected += 1;
            self.held = Some(back);
        }
        Ok(if self.held.is_none() && self.next == self.total {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

struct Consumer<'d> {
    deck: &'d Deck<u32, 3>,
    got: Vec<u32>,
    total: u32,
}

impl Doer for Consumer<'_> {
    fn name(&self) -> &str {
        "consumer"
    }
    fn tock(&self) -> Tock {
        ms(300)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        for _ in 0..2 {
            if let Some(i) = self.deck.pull() {
                self.got.push(i);
            }
        }
        Ok(if self.got.len() as u32 == self.total {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

#[test]
fn deck_shared_by_producer_and_consumer_loses_nothing() {
    let deck: Deck<u32, 3> = Deck::new();
    let mut p = Producer {
        deck: &deck,
        next: 0,
        held: None,
        rejected: 0,
        total: 20,
    };
    let mut c = Consumer {
        deck: &deck,
        got: Vec::new(),
        total: 20,
    };
    let mut d: Doist<'_, 2> = Doist::new(ms(100))
        .unwrap()
        .with_limit(Tock::from_secs(100));
    d.add(&mut p).unwrap();
    d.add(&mut c).unwrap();
    let r = d.run(&mut SimClock::new(), None);
    assert_eq!(r.end, End::Done);
    assert_eq!(c.got, (0..20).collect::<Vec<_>>());
    assert!(p.rejected > 0, "backpressure was exercised");
    assert!(deck.is_empty());
    // every recur of the producer either pushed a new item or retried one
    assert_eq!(p.next, 20);
}

// ===========================================================================
// Tymer

#[test]
fn tymer_restart_keeps_cadence_without_drift() {
    struct Periodic {
        tymer: Tymer,
        restart: bool,
        fired: Vec<(Tyme, Tyme)>, // (deadline, tyme seen)
    }
    impl Doer for Periodic {
        fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            let now = cx.tyme();
            while self.tymer.expired(now) {
                self.fired.push((self.tymer.deadline(), now));
                if self.restart {
                    self.tymer.restart();
                } else {
                    self.tymer.start_at(now, None);
                }
            }
            Ok(Step::Continue)
        }
    }
    let mk = |restart| Periodic {
        tymer: Tymer::new(Tyme::ZERO, ms(250)),
        restart,
        fired: Vec::new(),
    };
    let (mut good, mut naive) = (mk(true), mk(false));
    let mut d: Doist<'_, 2> = Doist::new(ms(100)).unwrap().with_limit(tk("2.05"));
    d.add(&mut good).unwrap();
    d.add(&mut naive).unwrap();
    d.run(&mut SimClock::new(), None);
    let deadlines: Vec<Tyme> = good.fired.iter().map(|f| f.0).collect();
    let want: Vec<Tyme> = (1..=8).map(|k| (ms(250) * k).into()).collect();
    assert_eq!(deadlines, want, "deadlines on the 0.25 s grid");
    let seen: Vec<Tyme> = good.fired.iter().map(|f| f.1).collect();
    assert_eq!(
        seen,
        ["0.3", "0.5", "0.8", "1.0", "1.3", "1.5", "1.8", "2.0"].map(ty)
    );
    // restarting from `now` drifts: fewer periods in the same tyme
    assert!(naive.fired.len() < good.fired.len());
}

// ===========================================================================
// API details

#[test]
fn parent_name_is_root_or_the_dodoer() {
    struct Who(Rc<RefCell<Vec<String>>>);
    impl Doer for Who {
        fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            self.0.borrow_mut().push(cx.parent_name().to_string());
            Ok(Step::Done)
        }
    }
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut a = Who(seen.clone());
    let mut b = Who(seen.clone());
    let mut g: DoDoer<'_, 1> = DoDoer::new("G");
    g.add(&mut b).unwrap();
    let mut d: Doist<'_, 2> = Doist::new(ms(10)).unwrap();
    d.add(&mut a).unwrap();
    d.add(&mut g).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(*seen.borrow(), ["root", "G"]);
}

#[test]
fn observer_sees_each_event_before_its_context_runs() {
    struct Count<'c>(&'c Cell<u32>);
    impl Doer for Count<'_> {
        fn name(&self) -> &str {
            "count"
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            self.0.set(self.0.get() + 1);
            Ok(if self.0.get() == 3 {
                Step::Done
            } else {
                Step::Continue
            })
        }
    }
    struct Before<'c>(&'c Cell<u32>, RefCell<Vec<u32>>);
    impl Observer for Before<'_> {
        fn event(&self, _: &str, context: Context, _: Tyme) {
            if context == Context::Recur {
                self.1.borrow_mut().push(self.0.get());
            }
        }
    }
    let n = Cell::new(0);
    let obs = Before(&n, RefCell::new(Vec::new()));
    let mut c = Count(&n);
    let mut d: Doist<'_, 1> = Doist::new(ms(10)).unwrap();
    d.observe(&obs);
    d.add(&mut c).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(*obs.1.borrow(), [0, 1, 2]);
}

#[test]
fn fault_origin_name_is_truncated_at_a_char_boundary() {
    let long = "é".repeat(20); // 40 bytes
    let log = Log::new();
    let mut a = Node::leaf(&long).fail_at(1);
    let mut d = doist(ms(10), &log);
    d.add(&mut a).unwrap();
    let r = run(&mut d);
    assert_eq!(r.end, failed("fail_at"));
    assert_eq!(d.origin(), Some("é".repeat(16).as_str()));
}

#[test]
fn manual_passes_skip_idle_tyme_on_the_grid() {
    let log = Log::new();
    let mut a = Node::leaf("a").tock(ms(1005));
    let mut d = doist(ms(10), &log).with_start(Tyme::from_secs(5));
    d.add(&mut a).unwrap();
    assert!(d.pass().is_none());
    assert_eq!(d.tyme(), ty("6.01"), "next due 6.005, on the grid 6.01");
    assert!(d.pass().is_none());
    assert_eq!(d.tyme(), ty("7.01"), "retyme 7.01 is on the grid");
    assert_eq!(log.tymes("a", Context::Recur), [ty("5"), ty("6.01")]);
}

#[test]
fn real_time_with_a_start_paces_from_the_clock_origin() {
    let now = Cell::new(Tyme::from_secs(1000));
    let mut clock = MockClock::new(&now);
    let log = Log::new();
    let mut a = Node::leaf("a").tock(ms(20)).stop(3);
    let mut d = doist(ms(10), &log).with_start(Tyme::from_secs(5));
    d.add(&mut a).unwrap();
    let r = d.run(&mut clock, None);
    assert_eq!((r.end, r.tyme), (End::Done, ty("5.05")));
    assert_eq!(
        log.tymes("a", Context::Recur),
        [ty("5"), ty("5.02"), ty("5.04")]
    );
    assert_eq!(clock.waits, [ty("1000.02"), ty("1000.04")]);
}

mod containment {
    use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, SimClock, Step, Tock};
    use std::cell::Cell;

    struct Flaky<'a> {
        name: &'static str,
        fail_at: u32,
        runs: &'a Cell<u32>,
    }

    impl Doer for Flaky<'_> {
        fn name(&self) -> &str {
            self.name
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            self.runs.set(self.runs.get() + 1);
            if self.runs.get() == self.fail_at {
                Err(Fault::failed("flaky"))
            } else {
                Ok(Step::Continue)
            }
        }
    }

    #[test]
    fn a_containing_dodoer_keeps_the_siblings_of_a_failed_child() {
        let (a, b, c) = (Cell::new(0), Cell::new(0), Cell::new(0));
        let mut fa = Flaky {
            name: "a",
            fail_at: 0,
            runs: &a,
        };
        let mut fb = Flaky {
            name: "b",
            fail_at: 2,
            runs: &b,
        };
        let mut fc = Flaky {
            name: "c",
            fail_at: 0,
            runs: &c,
        };
        let mut dd: DoDoer<'_, 3> = DoDoer::new("dd").contain(true);
        dd.add(&mut fa).unwrap();
        dd.add(&mut fb).unwrap();
        dd.add(&mut fc).unwrap();
        let mut doist: Doist<'_, 1> = Doist::new(Tock::from_secs(1))
            .unwrap()
            .with_limit(Tock::from_secs(5));
        doist.add(&mut dd).unwrap();
        let report = doist.run(&mut SimClock::new(), None);
        assert_eq!(report.end, End::Limit, "the fault went no further");
        assert_eq!(dd.deeds().contained(), 1);
        assert_eq!(
            (a.get(), b.get(), c.get()),
            (5, 2, 5),
            "c ran in the pass where b failed"
        );
    }

    #[test]
    fn a_contained_fault_is_not_the_origin_of_a_later_one() {
        let (g, late) = (Cell::new(0), Cell::new(0));
        // g fails deep inside a containing DoDoer; `late` fails in the same
        // pass, after it, and ends the run
        let mut fg = Flaky {
            name: "g",
            fail_at: 2,
            runs: &g,
        };
        let mut fl = Flaky {
            name: "late",
            fail_at: 2,
            runs: &late,
        };
        let mut inner: DoDoer<'_, 1> = DoDoer::new("inner");
        inner.add(&mut fg).unwrap();
        let mut dd: DoDoer<'_, 1> = DoDoer::new("dd").contain(true);
        dd.add(&mut inner).unwrap();
        let mut doist: Doist<'_, 2> = Doist::new(Tock::from_secs(1))
            .unwrap()
            .with_limit(Tock::from_secs(5));
        doist.add(&mut dd).unwrap();
        doist.add(&mut fl).unwrap();
        let report = doist.run(&mut SimClock::new(), None);
        assert_eq!(report.end, End::Fault(Fault::failed("flaky")));
        assert_eq!(doist.origin(), Some("late"));
        assert_eq!(dd.deeds().contained(), 1);
    }
}
