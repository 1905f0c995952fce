//! Integration tests of run-time changes to the tree (feature `requests`):
//! extending with spares, removing doers, named targets, and what a
//! request gets back. Every lifecycle event is recorded by an
//! [`Observer`](hio_core::Observer) and compared.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::*;
use hio_core::{
    Context, Cx, DoDoer, Doer, Doist, End, Fault, RequestError, Requests, SimClock, Step, Target,
    Tyme,
};

#[test]
fn zero_capacity_spares_hand_the_doer_back() {
    let mut a = Node::leaf("a");
    let mut g: DoDoer<'_, 0, 0> = DoDoer::new("G");
    let back = g.spare(&mut a).unwrap_err();
    let mut d: Doist<'_, 0, 0> = Doist::new(ms(10)).unwrap();
    assert_eq!(
        d.spare(back.into_inner()).unwrap_err().into_inner().name(),
        "a"
    );
}

#[test]
fn faulted_recur_requests_are_discarded() {
    let log = Log::new();
    let mut x = Node::leaf("x");
    let mut r = Node::leaf("r")
        .fail_at(1)
        .on(1, Act::Extend(To::Root, vec!["x"]));
    let requested = r.requested.clone();
    let mut d = doist(ms(100), &log);
    d.add(&mut r).unwrap();
    d.spare(&mut x).unwrap();
    let rep = run(&mut d);
    assert_eq!(rep.end, failed("fail_at"));
    assert!(!requested.get(), "request() after a failed recur");
    assert!(log.of("x").is_empty());
}

#[test]
fn requests_follow_the_requesters_own_finish() {
    let log = Log::new();
    let mut x = Node::leaf("x").stop(1);
    let mut r = Node::leaf("r")
        .stop(1)
        .on(1, Act::Extend(To::Root, vec!["x"]));
    let mut d = doist(ms(100), &log);
    d.add(&mut r).unwrap();
    d.spare(&mut x).unwrap();
    let rep = run(&mut d);
    assert_eq!((rep.end, rep.tyme), (End::Done, ty("0.2")));
    assert_eq!(
        log.seq_at(),
        s(
            "r.enter@0.0 r.recur@0.0 r.clean@0.0 r.exit@0.0 x.enter@0.0 \
           x.recur@0.1 x.clean@0.1 x.exit@0.1"
        )
    );
}

#[test]
fn extend_into_root_parent_and_named_never_recurs_in_the_same_pass() {
    let log = Log::new();
    // spares: x in the root, y in G (after the requester), z in G2
    let mut x = Node::leaf("x");
    let mut y = Node::leaf("y");
    let mut z = Node::leaf("z");
    let mut r = Node::leaf("r").on(1, Act::Extend(To::Root, vec!["x"]));
    r.on.push((1, Act::Extend(To::Named("G"), vec!["y"])));
    let mut g1 = Node::leaf("g1");
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.spare(&mut y);
    // q, nested in G2, extends into its parent G2; w comes after q
    let mut q = Node::leaf("q").on(1, Act::Extend(To::Parent, vec!["z"]));
    let q_results = q.results.clone();
    let mut w = Node::leaf("w");
    let mut g2 = Node::group("G2");
    g2.add(&mut q);
    g2.add(&mut w);
    g2.spare(&mut z);
    let r_results = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(200));
    d.add(&mut r).unwrap();
    d.add(&mut g).unwrap();
    d.add(&mut g2).unwrap();
    d.spare(&mut x).unwrap();
    let rep = run(&mut d);
    assert_eq!(rep.end, End::Limit);
    assert_eq!(*r_results.borrow(), [(1, Ok(())), (1, Ok(()))]);
    assert_eq!(*q_results.borrow(), [(1, Ok(()))]);
    let p0: Vec<String> = log
        .events()
        .iter()
        .filter(|e| e.tyme == Tyme::ZERO && e.ctx != Context::Enter)
        .map(|e| format!("{}.{}", e.doer, e.ctx))
        .collect();
    // pass 0: added doers are entered at once but do not recur, even when the
    // target (G, G2 after q, the root after r) runs later in the pass
    assert_eq!(p0, s("r.recur G.recur g1.recur G2.recur q.recur w.recur"));
    let enters: Vec<String> = log
        .events()
        .iter()
        .filter(|e| e.ctx == Context::Enter)
        .map(|e| e.to_string())
        .collect();
    assert!(enters.ends_with(&s("x.enter@0.0 y.enter@0.0 z.enter@0.0")));
    // pass 1: appended at the end of each target's canonical order
    let p1: Vec<String> = log
        .events()
        .iter()
        .filter(|e| e.tyme == ty("0.1"))
        .map(|e| format!("{}.{}", e.doer, e.ctx))
        .collect();
    assert_eq!(
        p1,
        s("r.recur G.recur g1.recur y.recur G2.recur q.recur w.recur z.recur x.recur")
    );
    check_lifecycles(&log.events());
}

#[test]
fn extend_into_root_from_a_nested_doer_mid_pass() {
    let log = Log::new();
    let mut x = Node::leaf("x");
    let mut q = Node::leaf("q").on(1, Act::Extend(To::Root, vec!["x"]));
    let mut g = Node::group("G");
    g.add(&mut q);
    let mut b = Node::leaf("b");
    let mut d = doist(ms(100), &log).with_limit(ms(200));
    d.add(&mut g).unwrap();
    d.add(&mut b).unwrap();
    d.spare(&mut x).unwrap();
    run(&mut d);
    assert_eq!(log.tymes("x", Context::Enter), [Tyme::ZERO]);
    assert_eq!(log.tymes("x", Context::Recur), [ty("0.1")]);
    assert_eq!(log.tymes("b", Context::Recur), [Tyme::ZERO, ty("0.1")]);
    // x ends last in the root's order: it is ceased first at the limit
    assert_eq!(log.seq_from("x", Context::Cease)[..2], s("x.cease x.exit"));
}

#[test]
fn added_doer_with_a_tock_is_due_from_the_next_pass() {
    let log = Log::new();
    let mut x = Node::leaf("x").tock(ms(500));
    let mut r = Node::leaf("r").on(2, Act::Extend(To::Root, vec!["x"]));
    let mut d = doist(ms(100), &log).with_limit(ms(1500));
    d.add(&mut r).unwrap();
    d.spare(&mut x).unwrap();
    run(&mut d);
    // entered at 0.1 with retyme 0.1: next pass 0.2, then every 0.5 from 0.1
    assert_eq!(log.tymes("x", Context::Enter), [ty("0.1")]);
    assert_eq!(
        log.tymes("x", Context::Recur),
        [ty("0.2"), ty("0.6"), ty("1.1")]
    );
}

#[test]
fn remove_stops_in_reverse_canonical_order() {
    let log = Log::new();
    let mut r = Node::leaf("r").on(2, Act::Remove(To::Root, vec!["a", "c", "b"]));
    let mut a = Node::leaf("a");
    let mut b = Node::leaf("b");
    let mut c = Node::leaf("c");
    let mut e = Node::leaf("e");
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut r).unwrap();
    d.add(&mut a).unwrap();
    d.add(&mut b).unwrap();
    d.add(&mut c).unwrap();
    d.add(&mut e).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(2, Ok(()))]);
    let p1: Vec<String> = log
        .events()
        .iter()
        .filter(|e| e.tyme == ty("0.1"))
        .map(|e| format!("{}.{}", e.doer, e.ctx))
        .collect();
    assert_eq!(
        p1,
        s("r.recur c.cease c.exit b.cease b.exit a.cease a.exit e.recur")
    );
    check_lifecycles(&log.events());
}

#[test]
fn remove_a_later_sibling_in_a_dodoer_and_an_earlier_one() {
    let log = Log::new();
    let mut g1 = Node::leaf("g1");
    let mut q = Node::leaf("q").on(1, Act::Remove(To::Parent, vec!["g3", "g1"]));
    let mut g3 = Node::leaf("g3");
    let mut g4 = Node::leaf("g4");
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.add(&mut q);
    g.add(&mut g3);
    g.add(&mut g4);
    let mut d = doist(ms(100), &log).with_limit(ms(200));
    d.add(&mut g).unwrap();
    run(&mut d);
    let p0: Vec<String> = log
        .events()
        .iter()
        .filter(|e| e.tyme == Tyme::ZERO && e.ctx != Context::Enter)
        .map(|e| format!("{}.{}", e.doer, e.ctx))
        .collect();
    assert_eq!(
        p0,
        s("G.recur g1.recur q.recur g3.cease g3.exit g1.cease g1.exit g4.recur")
    );
    assert_eq!(
        log.seq_from("G", Context::Cease),
        s("G.cease g4.cease g4.exit q.cease q.exit G.exit")
    );
}

#[test]
fn self_removal_stops_right_after_the_recur() {
    let log = Log::new();
    let mut r = Node::leaf("r").on(2, Act::Remove(To::Parent, vec!["r"]));
    let mut b = Node::leaf("b");
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(500));
    d.add(&mut r).unwrap();
    d.add(&mut b).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(2, Ok(()))]);
    assert_eq!(
        log.seq_at()[..6],
        s("r.enter@0.0 b.enter@0.0 r.recur@0.0 b.recur@0.0 r.recur@0.1 r.cease@0.1")
    );
    assert_eq!(log.seq_at()[6], "r.exit@0.1");
    assert_eq!(log.of("r"), ctxs("enter recur recur cease exit"));
    assert_eq!(log.tymes("b", Context::Recur).len(), 5);
}

#[test]
fn self_removal_by_name_and_from_root_and_after_finishing() {
    let log = Log::new();
    // removes itself naming its parent G explicitly
    let mut q = Node::leaf("q").on(1, Act::Remove(To::Named("G"), vec!["q"]));
    let mut k = Node::leaf("k");
    let mut g = Node::group("G");
    g.add(&mut q);
    g.add(&mut k);
    // a top-level doer removing itself from the root
    let mut t = Node::leaf("t").on(1, Act::Remove(To::Root, vec!["t"]));
    // finishes and removes itself in the same recur: clean, not cease
    let mut f = Node::leaf("f")
        .stop(1)
        .on(1, Act::Remove(To::Parent, vec!["f"]));
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut g).unwrap();
    d.add(&mut t).unwrap();
    d.add(&mut f).unwrap();
    run(&mut d);
    assert_eq!(log.of("q"), ctxs("enter recur cease exit"));
    assert_eq!(log.of("t"), ctxs("enter recur cease exit"));
    assert_eq!(log.of("f"), ctxs("enter recur clean exit"));
    assert_eq!(log.tymes("k", Context::Recur).len(), 3);
}

#[test]
fn removing_an_ancestor_is_refused_and_nothing_changes() {
    let log = Log::new();
    let mut q = Node::leaf("q")
        .on(1, Act::Remove(To::Root, vec!["G"]))
        .on(2, Act::Remove(To::Named("G"), vec!["H"]))
        .on(3, Act::Remove(To::Parent, vec!["q2", "H"]));
    let res = q.results.clone();
    let mut q2 = Node::leaf("q2");
    let mut h = Node::group("H");
    h.add(&mut q);
    h.add(&mut q2);
    let mut g = Node::group("G");
    g.add(&mut h);
    let mut d = doist(ms(100), &log).with_limit(ms(500));
    d.add(&mut g).unwrap();
    let rep = run(&mut d);
    assert_eq!(rep.end, End::Limit);
    assert_eq!(
        *res.borrow(),
        [
            (1, Err(RequestError::Ancestor)),
            (2, Err(RequestError::Ancestor)),
            (3, Err(RequestError::Ancestor)),
        ]
    );
    // refused before anything happened: q2 was not removed either
    for n in ["G", "H", "q", "q2"] {
        assert_eq!(log.tymes(n, Context::Recur).len(), 5, "{n}");
        assert_eq!(log.tymes(n, Context::Cease), [ty("0.5")], "{n}");
    }
}

#[test]
fn removing_unknown_or_elsewhere_names_does_nothing() {
    let log = Log::new();
    let mut r = Node::leaf("r")
        .on(1, Act::Remove(To::Root, vec!["nobody"]))
        .on(2, Act::Remove(To::Root, vec!["g1"])) // g1 runs in G, not the root
        .on(3, Act::Remove(To::Named("G"), vec!["r"])); // r runs in the root
    let mut g1 = Node::leaf("g1");
    let mut g = Node::group("G");
    g.add(&mut g1);
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(400));
    d.add(&mut r).unwrap();
    d.add(&mut g).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(1, Ok(())), (2, Ok(())), (3, Ok(()))]);
    for n in ["r", "G", "g1"] {
        assert_eq!(
            log.of(n),
            ctxs("enter recur recur recur recur cease exit"),
            "{n}"
        );
    }
}

#[test]
fn request_to_a_scheduler_not_running_fails() {
    let log = Log::new();
    let mut g1 = Node::leaf("g1").stop(1);
    let mut g = Node::group("G");
    g.add(&mut g1);
    let mut sg = Node::group("SG"); // a spare DoDoer, never entered
    let mut x = Node::leaf("x");
    let mut r = Node::leaf("r")
        .on(2, Act::Extend(To::Named("G"), vec!["x"])) // G has ended
        .on(2, Act::Remove(To::Named("G"), vec!["g1"]))
        .on(3, Act::Extend(To::Named("SG"), vec!["x"])) // never entered
        .on(3, Act::Remove(To::Named("nowhere"), vec!["x"]));
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(500));
    d.add(&mut g).unwrap();
    d.add(&mut r).unwrap();
    d.spare(&mut sg).unwrap();
    d.spare(&mut x).unwrap();
    let rep = run(&mut d);
    assert_eq!(rep.end, End::Limit);
    assert_eq!(
        *res.borrow(),
        [
            (2, Err(RequestError::NotRunning)),
            (2, Err(RequestError::NotRunning)),
            (3, Err(RequestError::NotRunning)),
            (3, Err(RequestError::NotRunning)),
        ]
    );
    assert!(log.of("x").is_empty() && log.of("SG").is_empty());
    assert_eq!(log.of("G"), ctxs("enter recur clean exit"));
    assert_eq!(log.tymes("r", Context::Recur).len(), 5);
}

#[test]
fn extend_past_capacity_is_full_and_nothing_is_entered() {
    let log = Log::new();
    let mut c = Node::leaf("c").stop(2);
    let mut y = Node::leaf("y");
    let mut g: DoDoer<'_, 1, 1> = DoDoer::new("G").always(true);
    g.add(&mut c).unwrap();
    g.spare(&mut y).unwrap();
    let mut r = Node::leaf("r")
        .on(1, Act::Extend(To::Named("G"), vec!["y"]))
        .on(3, Act::Extend(To::Named("G"), vec!["y"]));
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(500));
    d.add(&mut r).unwrap();
    d.add(&mut g).unwrap();
    let rep = run(&mut d);
    assert_eq!(rep.end, End::Limit);
    // the first time G is full; once c is done, the same spare fits
    assert_eq!(*res.borrow(), [(1, Err(RequestError::Full)), (3, Ok(()))]);
    assert_eq!(log.tymes("y", Context::Enter), [ty("0.2")]);
    assert_eq!(log.tymes("y", Context::Recur), [ty("0.3"), ty("0.4")]);
}

#[test]
fn remove_then_extend_in_a_full_dodoer_reuses_the_slot_mid_pass() {
    // G holds 2: q removes a (before it) and adds z in the same request;
    // the append compacts G while its pass is under way
    let log = Log::new();
    let mut a = Node::leaf("a");
    let mut z = Node::leaf("z");
    let mut q = Node::leaf("q")
        .on(1, Act::Remove(To::Parent, vec!["a"]))
        .on(1, Act::Extend(To::Parent, vec!["z"]));
    let res = q.results.clone();
    let mut g: DoDoer<'_, 2, 1> = DoDoer::new("G");
    g.add(&mut a).unwrap();
    g.add(&mut q).unwrap();
    g.spare(&mut z).unwrap();
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut g).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(1, Ok(())), (1, Ok(()))]);
    assert_eq!(
        log.seq_at()[3..],
        s(
            "G.recur@0.0 a.recur@0.0 q.recur@0.0 a.cease@0.0 a.exit@0.0 z.enter@0.0 \
           G.recur@0.1 q.recur@0.1 z.recur@0.1 G.recur@0.2 q.recur@0.2 z.recur@0.2 \
           G.cease@0.3 z.cease@0.3 z.exit@0.3 q.cease@0.3 q.exit@0.3 G.exit@0.3"
        )
    );
}

#[test]
fn remove_a_later_sibling_then_extend_in_a_full_dodoer() {
    // q removes b (after it), adds z: c still runs in this pass, z does not
    let log = Log::new();
    let mut b = Node::leaf("b");
    let mut c = Node::leaf("c");
    let mut z = Node::leaf("z");
    let mut q = Node::leaf("q")
        .on(1, Act::Remove(To::Parent, vec!["b"]))
        .on(1, Act::Extend(To::Parent, vec!["z"]));
    let res = q.results.clone();
    let mut g: DoDoer<'_, 3, 1> = DoDoer::new("G");
    g.add(&mut q).unwrap();
    g.add(&mut b).unwrap();
    g.add(&mut c).unwrap();
    g.spare(&mut z).unwrap();
    let mut d = doist(ms(100), &log).with_limit(ms(200));
    d.add(&mut g).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(1, Ok(())), (1, Ok(()))]);
    assert_eq!(
        log.seq_at()[4..],
        s(
            "G.recur@0.0 q.recur@0.0 b.cease@0.0 b.exit@0.0 z.enter@0.0 c.recur@0.0 \
           G.recur@0.1 q.recur@0.1 c.recur@0.1 z.recur@0.1 \
           G.cease@0.2 z.cease@0.2 z.exit@0.2 c.cease@0.2 c.exit@0.2 q.cease@0.2 q.exit@0.2 \
           G.exit@0.2"
        )
    );
}

#[test]
fn extend_into_a_full_root_is_refused() {
    let log = Log::new();
    let mut x = Node::leaf("x");
    let mut r = Node::leaf("r").on(1, Act::Extend(To::Root, vec!["x"]));
    let res = r.results.clone();
    let mut d: Doist<'_, 1, 1> = Doist::new(ms(100)).unwrap().with_limit(ms(300));
    d.observe(&log);
    d.add(&mut r).unwrap();
    d.spare(&mut x).unwrap();
    let rep = d.run(&mut SimClock::new(), None);
    assert_eq!(rep.end, End::Limit);
    assert_eq!(*res.borrow(), [(1, Err(RequestError::Full))]);
    assert!(log.of("x").is_empty());
}

#[test]
fn added_doer_whose_enter_fails_is_contained() {
    let log = Log::new();
    let mut bad = Node::leaf("bad").fail_in_enter();
    let mut ok = Node::leaf("ok").stop(1);
    let mut r = Node::leaf("r").on(2, Act::Extend(To::Root, vec!["bad", "ok"]));
    let mut later = Node::leaf("later").fail_at(5);
    let res = r.results.clone();
    let mut d = doist(ms(100), &log);
    d.add(&mut r).unwrap();
    d.add(&mut later).unwrap();
    d.spare(&mut bad).unwrap();
    d.spare(&mut ok).unwrap();
    let rep = run(&mut d);
    assert_eq!(
        *res.borrow(),
        [(
            2,
            Err(RequestError::EnterFailed(Fault::failed("fail_in_enter")))
        )]
    );
    assert_eq!(
        log.seq_from("bad", Context::Enter)[..4],
        s("bad.enter bad.abort bad.exit ok.enter")
    );
    // the run went on, and the fault that did end it names its own origin
    assert_eq!(rep.end, failed("fail_at"));
    assert_eq!(d.origin(), Some("later"));
    assert_eq!(rep.tyme, ty("0.4"));
    assert_eq!(log.of("ok"), ctxs("enter recur clean exit"));
    assert_eq!(log.tymes("r", Context::Recur).len(), 5);
}

#[test]
fn added_doer_done_in_enter_is_ok() {
    let log = Log::new();
    let mut x = Node::leaf("x").done_in_enter();
    let mut r = Node::leaf("r").on(1, Act::Extend(To::Parent, vec!["x"]));
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(200));
    d.add(&mut r).unwrap();
    d.spare(&mut x).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(1, Ok(()))]);
    assert_eq!(log.of("x"), ctxs("enter clean exit"));
}

#[test]
fn no_such_spare() {
    let log = Log::new();
    let mut x = Node::leaf("x");
    let mut y = Node::leaf("y");
    let mut g1 = Node::leaf("g1");
    let mut g = Node::group("G");
    g.add(&mut g1);
    g.spare(&mut y);
    let mut r = Node::leaf("r")
        .on(1, Act::Extend(To::Root, vec!["ghost", "x"])) // every name tried
        .on(2, Act::Extend(To::Root, vec!["x"])) // already used
        .on(3, Act::Extend(To::Root, vec!["y"])); // a spare of G, not of the root
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(400));
    d.add(&mut r).unwrap();
    d.add(&mut g).unwrap();
    d.spare(&mut x).unwrap();
    run(&mut d);
    assert_eq!(
        *res.borrow(),
        [
            (1, Err(RequestError::NoSuchSpare)),
            (2, Err(RequestError::NoSuchSpare)),
            (3, Err(RequestError::NoSuchSpare)),
        ]
    );
    assert_eq!(log.tymes("x", Context::Enter), [Tyme::ZERO]);
    assert!(log.of("y").is_empty());
}

#[test]
fn request_results_captured_in_a_cell() {
    // the pattern the docs recommend: decide in recur, keep results in a Cell
    struct Spawner {
        asked: bool,
        got: Cell<Option<Result<(), RequestError>>>,
    }
    impl Doer for Spawner {
        fn name(&self) -> &str {
            "spawner"
        }
        fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            if !self.asked {
                self.asked = true;
                cx.request();
            }
            Ok(Step::Continue)
        }
        fn request(&self, rq: &mut Requests<'_>) {
            assert_eq!(rq.tyme(), Tyme::ZERO);
            self.got.set(Some(rq.extend(Target::Root, &["kid"])));
        }
    }
    let log = Log::new();
    let mut kid = Node::leaf("kid").stop(1);
    let mut sp = Spawner {
        asked: false,
        got: Cell::new(None),
    };
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut sp).unwrap();
    d.spare(&mut kid).unwrap();
    run(&mut d);
    assert_eq!(sp.got.get(), Some(Ok(())));
    assert_eq!(log.of("kid"), ctxs("enter recur clean exit"));
}

#[test]
fn request_outside_recur_is_ignored() {
    struct Eager(Rc<Cell<u32>>);
    impl Doer for Eager {
        fn name(&self) -> &str {
            "eager"
        }
        fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            cx.request();
            Ok(Step::Continue)
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            Ok(Step::Continue)
        }
        fn request(&self, _: &mut Requests<'_>) {
            self.0.set(self.0.get() + 1);
        }
    }
    let calls = Rc::new(Cell::new(0));
    let mut e = Eager(calls.clone());
    let mut d: Doist<'_, 1> = Doist::new(ms(1)).unwrap().with_limit(ms(3));
    d.add(&mut e).unwrap();
    d.run(&mut SimClock::new(), None);
    assert_eq!(calls.get(), 0);
}

#[test]
fn named_target_inside_a_running_ancestor() {
    let log = Log::new();
    // G holds H (the requester's parent) and K; K is running but is neither
    // an ancestor of q nor reachable from the root's cells while G runs
    let mut q = Node::leaf("q")
        .on(1, Act::Extend(To::Named("K"), vec!["z"]))
        .on(2, Act::Remove(To::Named("K"), vec!["k1"]));
    let res = q.results.clone();
    let mut h = Node::group("H");
    h.add(&mut q);
    let mut k1 = Node::leaf("k1");
    let mut z = Node::leaf("z");
    let mut k = Node::group("K");
    k.add(&mut k1);
    k.spare(&mut z);
    let mut g = Node::group("G");
    g.add(&mut h);
    g.add(&mut k);
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut g).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(1, Ok(())), (2, Ok(()))]);
    assert_eq!(log.tymes("z", Context::Enter), [Tyme::ZERO]);
    assert_eq!(log.tymes("k1", Context::Cease), [ty("0.1")]);
}

#[test]
fn dodoer_extends_into_itself_by_name() {
    let log = Log::new();
    let mut c = Node::leaf("c");
    let mut z = Node::leaf("z");
    let mut p = Node::group("P").on(1, Act::Extend(To::Named("P"), vec!["z"]));
    p.add(&mut c);
    p.spare(&mut z);
    let res = p.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut p).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(1, Ok(()))]);
    assert_eq!(log.tymes("z", Context::Recur), [ty("0.1"), ty("0.2")]);
}

#[test]
fn spare_past_capacity_hands_the_doer_back() {
    let mut a = Node::leaf("a");
    let mut b = Node::leaf("b");
    let mut d: Doist<'_, 1, 1> = Doist::new(ms(10)).unwrap();
    assert!(d.spare(&mut a).is_ok());
    assert_eq!(d.spare(&mut b).unwrap_err().into_inner().name(), "b");
}

#[test]
fn spare_dodoer_is_entered_with_its_children_and_removed_with_them() {
    let log = Log::new();
    let mut k1 = Node::leaf("k1");
    // entered at 0 with retyme 0: k2 is due at 0.1, then at 0.2 (0 + 0.2)
    let mut k2 = Node::leaf("k2").tock(ms(200));
    let mut sg = Node::group("SG");
    sg.add(&mut k1);
    sg.add(&mut k2);
    let mut r = Node::leaf("r")
        .on(1, Act::Extend(To::Root, vec!["SG"]))
        .on(4, Act::Remove(To::Root, vec!["SG"]));
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(600));
    d.add(&mut r).unwrap();
    d.spare(&mut sg).unwrap();
    run(&mut d);
    assert_eq!(*res.borrow(), [(1, Ok(())), (4, Ok(()))]);
    assert_eq!(
        log.seq_at(),
        s(
            "r.enter@0.0 r.recur@0.0 SG.enter@0.0 k1.enter@0.0 k2.enter@0.0 \
           r.recur@0.1 SG.recur@0.1 k1.recur@0.1 k2.recur@0.1 \
           r.recur@0.2 SG.recur@0.2 k1.recur@0.2 k2.recur@0.2 \
           r.recur@0.3 SG.cease@0.3 k2.cease@0.3 k2.exit@0.3 k1.cease@0.3 k1.exit@0.3 SG.exit@0.3 \
           r.recur@0.4 r.recur@0.5 r.cease@0.6 r.exit@0.6"
        )
    );
}

#[test]
fn spare_dodoer_whose_child_fails_in_enter_is_contained() {
    let log = Log::new();
    let mut k1 = Node::leaf("k1");
    let mut k2 = Node::leaf("k2").fail_in_enter();
    let mut k3 = Node::leaf("k3");
    let mut sg = Node::group("SG");
    sg.add(&mut k1);
    sg.add(&mut k2);
    sg.add(&mut k3);
    let mut r = Node::leaf("r").on(1, Act::Extend(To::Root, vec!["SG"]));
    let res = r.results.clone();
    let mut d = doist(ms(100), &log).with_limit(ms(300));
    d.add(&mut r).unwrap();
    d.spare(&mut sg).unwrap();
    let rep = run(&mut d);
    assert_eq!(
        *res.borrow(),
        [(
            1,
            Err(RequestError::EnterFailed(Fault::failed("fail_in_enter")))
        )]
    );
    assert_eq!(
        log.seq_from("SG", Context::Enter),
        s(
            "SG.enter k1.enter k2.enter k2.abort k2.exit SG.abort k1.cease k1.exit SG.exit \
           r.recur r.recur r.cease r.exit"
        )
    );
    assert!(log.of("k3").is_empty());
    assert_eq!((rep.end, d.origin()), (End::Limit, None));
}

#[test]
fn a_lazy_dodoer_that_loses_a_child_in_its_recur_waits_for_those_left() {
    use hio_core::WakeBoard;
    static BOARD: WakeBoard<4> = WakeBoard::new();
    // b (every 200 ms) runs first; a (every 500 ms) then removes it
    for summary in [false, true] {
        let log = Log::new();
        let mut b = Node::leaf("b").tock(ms(200));
        let mut a = Node::leaf("a")
            .tock(ms(500))
            .on(1, Act::Remove(To::Parent, vec!["b"]));
        {
            let mut d: Doist<'_, 1> = Doist::new(ms(100)).unwrap().with_limit(ms(1000));
            d.observe(&log);
            d.wakes(&BOARD);
            if summary {
                let mut pool: DoDoer<'_, 24, 0, 3> = DoDoer::new("pool").lazy(true);
                pool.add(&mut b).unwrap();
                pool.add(&mut a).unwrap();
                d.add(&mut pool).unwrap();
                d.run(&mut SimClock::new(), None);
            } else {
                let mut pool: DoDoer<'_, 2> = DoDoer::new("pool").lazy(true);
                pool.add(&mut b).unwrap();
                pool.add(&mut a).unwrap();
                d.add(&mut pool).unwrap();
                d.run(&mut SimClock::new(), None);
            }
        }
        // after its recur at 0 only a is left, due at 0.5: the pool does not
        // run at 0.2 for b, which is gone
        assert_eq!(
            log.tymes("pool", Context::Recur),
            [ty("0.0"), ty("0.5")],
            "with a summary: {summary}"
        );
        assert_eq!(log.tymes("a", Context::Recur), [ty("0.0"), ty("0.5")]);
        assert_eq!(log.of("b"), ctxs("enter recur cease exit"));
    }
}
