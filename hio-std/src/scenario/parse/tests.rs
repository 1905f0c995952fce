//! Tests of `parse`: every conformance scenario, and one rejection per rule of
//! "Malformed".

use super::super::decimal::TimeError;
use super::*;

fn with(doers: &str, spares: &str) -> String {
    format!(r#"{{"name": "s", "tock": 1, "doers": [{doers}], "spares": [{spares}]}}"#)
}

fn err(json: &str) -> ScenarioError {
    match parse(json) {
        Err(e) => e,
        Ok(s) => panic!("accepted {json}: {s:?}"),
    }
}

fn leaf(name: &str) -> DoerSpec {
    DoerSpec {
        name: name.into(),
        tock: 0,
        children: None,
        always: false,
        lazy: false,
        stop: None,
        fail_at: None,
        fail_in_enter: false,
        done_in_enter: false,
        on: Vec::new(),
    }
}

#[test]
fn accepts_every_conformance_scenario() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let s = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                Some(s.name.as_str()),
                path.file_stem().and_then(|n| n.to_str())
            );
            parsed += 1;
        }
    }
    assert!(parsed >= 45, "only {parsed} scenarios in {}", dir.display());
}

#[test]
fn reads_every_field() {
    let json = r#"{"name": "x", "tock": 0.03125, "limit": 0.25, "start": 1e-3,
        "doers": [{"name": "P", "tock": 0.1, "always": true, "fail_in_enter": true,
                   "doers": [{"name": "a", "stop": 2.0, "fail_at": 3, "done_in_enter": true,
                              "on": [{"recur": 1, "tock": 0.5},
                                     {"recur": 2, "extend": ["X"]},
                                     {"recur": 2, "remove": ["a", "P"], "from": "root"},
                                     {"recur": 3, "remove": ["a"], "from": "P"}]}]}],
        "spares": [{"name": "X", "doers": [], "on": [{"recur": 1, "extend": ["Y"], "into": "X"}]},
                   {"name": "Y", "always": false}]}"#;
    let a = DoerSpec {
        stop: Some(2),
        fail_at: Some(3),
        done_in_enter: true,
        on: vec![
            Action {
                recur: 1,
                kind: ActionKind::Tock(500_000_000),
            },
            Action {
                recur: 2,
                kind: ActionKind::Extend {
                    names: vec!["X".into()],
                    into: Where::Parent,
                },
            },
            Action {
                recur: 2,
                kind: ActionKind::Remove {
                    names: vec!["a".into(), "P".into()],
                    from: Where::Root,
                },
            },
            Action {
                recur: 3,
                kind: ActionKind::Remove {
                    names: vec!["a".into()],
                    from: Where::Named("P".into()),
                },
            },
        ],
        ..leaf("a")
    };
    let p = DoerSpec {
        tock: 100_000_000,
        children: Some(vec![a]),
        always: true,
        fail_in_enter: true,
        ..leaf("P")
    };
    let x = DoerSpec {
        children: Some(Vec::new()),
        on: vec![Action {
            recur: 1,
            kind: ActionKind::Extend {
                names: vec!["Y".into()],
                into: Where::Named("X".into()),
            },
        }],
        ..leaf("X")
    };
    let expected = Scenario {
        name: "x".into(),
        tock: 31_250_000,
        limit: Some(250_000_000),
        start: 1_000_000,
        doers: vec![p],
        spares: vec![x, leaf("Y")],
        wakes: Vec::new(),
    };
    assert_eq!(parse(json), Ok(expected));
}

#[test]
fn no_limit_and_defaults() {
    for limit in [
        "",
        r#", "limit": null"#,
        r#", "limit": 0"#,
        r#", "limit": 0.0"#,
    ] {
        let json = format!(r#"{{"name": "s", "tock": 1{limit}, "doers": []}}"#);
        let s = parse(&json).unwrap();
        assert_eq!((s.limit, s.start, s.spares.len()), (None, 0, 0), "{json}");
    }
}

#[test]
fn rejects_bad_json_and_shapes() {
    assert!(matches!(err("{"), ScenarioError::Json { .. }));
    assert!(matches!(err(""), ScenarioError::Json { .. }));
    let e = err("[]");
    assert!(
        matches!(&e, ScenarioError::WrongType { at, .. } if at == "the scenario"),
        "{e}"
    );
    let dup = r#"{"name": "s", "tock": 1, "doers": [{"name": "a", "stop": 1, "stop": 2}]}"#;
    assert_eq!(err(dup), ScenarioError::DuplicateKey { key: "stop".into() });
    // The same key in different objects, or inside strings, is fine.
    let ok = r#"{"name": "s\",\"name", "tock": 1, "doers": [{"name": "a"}, {"name": "b"}]}"#;
    assert!(parse(ok).is_ok());
}

#[test]
fn rejects_unknown_keys() {
    let cases = [
        (
            r#"{"name": "s", "tock": 1, "doers": [], "limt": 1}"#,
            "the scenario",
            "limt",
        ),
        (&with(r#"{"name": "a", "stp": 1}"#, ""), "doer \"a\"", "stp"),
        (
            &with(
                r#"{"name": "a", "on": [{"recur": 1, "tock": 1, "x": 0}]}"#,
                "",
            ),
            "on[0] of doer \"a\"",
            "x",
        ),
    ];
    for (json, place, name) in cases {
        match err(json) {
            ScenarioError::UnknownKey { at, key, .. } => {
                assert_eq!((at.as_str(), key.as_str()), (place, name))
            }
            e => panic!("{json}: {e}"),
        }
    }
}

#[test]
fn rejects_missing_keys() {
    let cases = [
        (r#"{"tock": 1, "doers": []}"#, "the scenario", "name"),
        (r#"{"name": "s", "doers": []}"#, "the scenario", "tock"),
        (r#"{"name": "s", "tock": 1}"#, "the scenario", "doers"),
        (
            &with(r#"{"name": "P", "doers": [{"tock": 1}]}"#, ""),
            "doers[0] of doer \"P\"",
            "name",
        ),
        (
            &with(r#"{"name": "a", "on": [{"tock": 1}]}"#, ""),
            "on[0] of doer \"a\"",
            "recur",
        ),
    ];
    for (json, place, name) in cases {
        assert_eq!(
            err(json),
            ScenarioError::MissingKey {
                at: place.into(),
                key: name
            },
            "{json}"
        );
    }
}

#[test]
fn rejects_wrong_types() {
    let cases = [
        r#"{"name": 1, "tock": 1, "doers": []}"#,
        r#"{"name": "s", "tock": "1", "doers": []}"#,
        r#"{"name": "s", "tock": 1, "doers": {}}"#,
        r#"{"name": "s", "tock": 1, "limit": "1", "doers": []}"#,
        r#"{"name": "s", "tock": 1, "doers": [], "spares": null}"#,
        r#"{"name": "s", "tock": null, "doers": []}"#,
        &with("3", ""),
        &with(r#"{"name": "a", "fail_in_enter": 1}"#, ""),
        &with(r#"{"name": "a", "done_in_enter": "true"}"#, ""),
        &with(r#"{"name": "P", "doers": [], "always": "yes"}"#, ""),
        &with(r#"{"name": "a", "stop": "2"}"#, ""),
        &with(r#"{"name": "a", "on": {}}"#, ""),
        &with(r#"{"name": "a", "on": [1]}"#, ""),
        &with(
            r#"{"name": "a", "on": [{"recur": 1, "extend": "X"}]}"#,
            r#"{"name": "X"}"#,
        ),
        &with(r#"{"name": "a", "on": [{"recur": 1, "remove": [1]}]}"#, ""),
        &with(
            r#"{"name": "a", "on": [{"recur": 1, "remove": ["a"], "from": 1}]}"#,
            "",
        ),
    ];
    for json in cases {
        assert!(
            matches!(err(json), ScenarioError::WrongType { .. }),
            "{json}"
        );
    }
}

#[test]
fn rejects_duplicate_names() {
    let dup = |json: &str| assert_eq!(err(json), ScenarioError::DuplicateName { name: "a".into() });
    dup(&with(r#"{"name": "a"}, {"name": "a"}"#, ""));
    dup(&with(
        r#"{"name": "P", "doers": [{"name": "a"}]}"#,
        r#"{"name": "a"}"#,
    ));
    dup(&with(
        "",
        r#"{"name": "Q", "doers": [{"name": "a"}]}, {"name": "a"}"#,
    ));
}

#[test]
fn rejects_bad_times() {
    let cases = [
        (r#"{"name": "a", "tock": -0.1}"#, TimeError::Negative),
        (
            r#"{"name": "a", "tock": 0.0000000001}"#,
            TimeError::NotWhole,
        ),
        (r#"{"name": "a", "tock": 1e-10}"#, TimeError::NotWhole),
        (r#"{"name": "a", "tock": 1e30}"#, TimeError::Overflow),
        (
            r#"{"name": "a", "on": [{"recur": 1, "tock": -1}]}"#,
            TimeError::Negative,
        ),
    ];
    for (doer, problem) in cases {
        match err(&with(doer, "")) {
            ScenarioError::BadTime { problem: p, .. } => assert_eq!(p, problem, "{doer}"),
            e => panic!("{doer}: {e}"),
        }
    }
    let top = [
        r#""tock": 1, "limit": -1"#,
        r#""tock": 1, "start": 0.5e-9"#,
        r#""tock": 2e10"#,
    ];
    for keys in top {
        let json = format!(r#"{{"name": "s", "doers": [], {keys}}}"#);
        assert!(
            matches!(err(&json), ScenarioError::BadTime { .. }),
            "{json}"
        );
    }
    let e = err(r#"{"name": "s", "tock": 0.0, "doers": []}"#);
    assert_eq!(
        e,
        ScenarioError::ZeroTock {
            value: "0.0".into()
        }
    );
}

#[test]
fn rejects_keys_of_the_other_kind() {
    for key in [
        r#""stop": 1"#,
        r#""fail_at": 1"#,
        r#""done_in_enter": true"#,
    ] {
        let json = with(&format!(r#"{{"name": "P", "doers": [], {key}}}"#), "");
        assert!(
            matches!(err(&json), ScenarioError::LeafOnlyKey { .. }),
            "{json}"
        );
    }
    let json = with(r#"{"name": "a", "always": true}"#, "");
    assert!(matches!(
        err(&json),
        ScenarioError::DoDoerOnlyKey { key: "always", .. }
    ));
    assert!(parse(&with(
        r#"{"name": "P", "doers": [], "done_in_enter": false}"#,
        ""
    ))
    .is_ok());
}

#[test]
fn rejects_bad_counts() {
    let cases = [
        r#"{"name": "a", "stop": 0}"#,
        r#"{"name": "a", "fail_at": 1.5}"#,
        r#"{"name": "a", "stop": 4294967296}"#,
        r#"{"name": "a", "on": [{"recur": -1, "tock": 1}]}"#,
        r#"{"name": "a", "on": [{"recur": 0, "tock": 1}]}"#,
    ];
    for doer in cases {
        assert!(
            matches!(err(&with(doer, "")), ScenarioError::BadCount { .. }),
            "{doer}"
        );
    }
}

#[test]
fn rejects_badly_shaped_actions() {
    let act = |a: &str| {
        with(
            &format!(r#"{{"name": "a", "on": [{a}]}}"#),
            r#"{"name": "X"}"#,
        )
    };
    assert!(matches!(
        err(&act(r#"{"recur": 1}"#)),
        ScenarioError::NoEffect { .. }
    ));
    let many = act(r#"{"recur": 1, "tock": 1, "remove": ["a"]}"#);
    assert!(matches!(err(&many), ScenarioError::ManyEffects { .. }));
    let cases = [
        (r#"{"recur": 1, "remove": ["a"], "into": "root"}"#, "into"),
        (r#"{"recur": 1, "extend": ["X"], "from": "root"}"#, "from"),
        (r#"{"recur": 1, "tock": 1, "into": "root"}"#, "into"),
    ];
    for (a, k) in cases {
        assert!(
            matches!(err(&act(a)), ScenarioError::MisplacedTarget { key, .. } if key == k),
            "{a}"
        );
    }
}

#[test]
fn rejects_bad_extends() {
    let spares = r#"{"name": "X"}, {"name": "Q", "doers": [{"name": "q"}]}"#;
    let on = |a: &str| {
        with(
            &format!(r#"{{"name": "a", "on": [{a}]}}, {{"name": "b"}}"#),
            spares,
        )
    };
    for name in ["b", "q", "nobody"] {
        let json = on(&format!(r#"{{"recur": 1, "extend": ["{name}"]}}"#));
        assert!(
            matches!(err(&json), ScenarioError::NotASpare { .. }),
            "{json}"
        );
    }
    let twice = on(r#"{"recur": 1, "extend": ["X"]}, {"recur": 2, "extend": ["X"]}"#);
    assert!(matches!(
        err(&twice),
        ScenarioError::SpareExtendedTwice { .. }
    ));
    let twice = on(r#"{"recur": 1, "extend": ["X", "X"]}"#);
    assert!(matches!(
        err(&twice),
        ScenarioError::SpareExtendedTwice { .. }
    ));
    let by_two = with(
        r#"{"name": "a", "on": [{"recur": 1, "extend": ["X"]}]}, {"name": "b", "on": [{"recur": 1, "extend": ["X"]}]}"#,
        r#"{"name": "X"}"#,
    );
    let e = ScenarioError::SpareExtendedTwice {
        name: "X".into(),
        first: "a".into(),
        second: "b".into(),
    };
    assert_eq!(err(&by_two), e);
    assert!(parse(&on(r#"{"recur": 1, "extend": ["X", "Q"], "into": "Q"}"#)).is_ok());
}

#[test]
fn rejects_bad_removes_and_targets() {
    let spares = r#"{"name": "Q", "doers": [{"name": "q"}]}"#;
    let on = |a: &str| {
        with(
            &format!(r#"{{"name": "a", "on": [{a}]}}, {{"name": "b"}}"#),
            spares,
        )
    };
    let unknown = on(r#"{"recur": 1, "remove": ["a", "nobody"]}"#);
    assert!(matches!(
        err(&unknown),
        ScenarioError::UnknownDoer { key: "remove", .. }
    ));
    let unknown = on(r#"{"recur": 1, "remove": ["a"], "from": "nobody"}"#);
    assert!(matches!(
        err(&unknown),
        ScenarioError::UnknownDoer { key: "from", .. }
    ));
    let unknown = on(r#"{"recur": 1, "extend": ["Q"], "into": "nobody"}"#);
    assert!(matches!(
        err(&unknown),
        ScenarioError::UnknownDoer { key: "into", .. }
    ));
    let leaf = on(r#"{"recur": 1, "remove": ["a"], "from": "b"}"#);
    assert!(matches!(
        err(&leaf),
        ScenarioError::NotADoDoer { key: "from", .. }
    ));
    let leaf = on(r#"{"recur": 1, "extend": ["Q"], "into": "q"}"#);
    assert!(matches!(
        err(&leaf),
        ScenarioError::NotADoDoer { key: "into", .. }
    ));
    // Any doer or spare may be removed, from any DoDoer or keyword.
    assert!(parse(&on(
        r#"{"recur": 1, "remove": ["q", "Q", "b"], "from": "Q"}"#
    ))
    .is_ok());
}

#[test]
fn messages_name_the_culprit() {
    let e = err(&with(r#"{"name": "d1", "tock": 0.0000000001}"#, ""));
    let text = e.to_string();
    assert!(
        text.contains("\"tock\" of doer \"d1\"") && text.contains("0.0000000001"),
        "{text}"
    );
    assert!(text.contains("9 decimal places"), "{text}");
    let e = err(&with(r#"{"name": "a", "stp": 1}"#, ""));
    assert!(e.to_string().contains("fail_at"), "{e}");
}

#[test]
fn reads_never_lazy_and_wakes() {
    let json = r#"{"name": "w", "tock": 0.125, "limit": 1,
        "doers": [{"name": "P", "lazy": true, "tock": 0.5,
                   "doers": [{"name": "io", "tock": "never",
                              "on": [{"recur": 1, "wake": ["P", "io", "X"]},
                                     {"recur": 2, "tock": "never"},
                                     {"recur": 3, "tock": 0.25},
                                     {"recur": 4, "wake": []}]}]},
                  {"name": "a", "lazy": false}],
        "spares": [{"name": "X", "tock": "never"}],
        "wakes": [{"doer": "io", "at": 0.5}, {"at": 0, "doer": "X"}, {"doer": "io", "at": 0.25}]}"#;
    let io = DoerSpec {
        tock: TOCK_NEVER,
        on: vec![
            Action {
                recur: 1,
                kind: ActionKind::Wake {
                    names: vec!["P".into(), "io".into(), "X".into()],
                },
            },
            Action {
                recur: 2,
                kind: ActionKind::Tock(TOCK_NEVER),
            },
            Action {
                recur: 3,
                kind: ActionKind::Tock(250_000_000),
            },
            Action {
                recur: 4,
                kind: ActionKind::Wake { names: Vec::new() },
            },
        ],
        ..leaf("io")
    };
    let p = DoerSpec {
        tock: 500_000_000,
        lazy: true,
        children: Some(vec![io]),
        ..leaf("P")
    };
    let x = DoerSpec {
        tock: TOCK_NEVER,
        ..leaf("X")
    };
    let wake = |doer: &str, at| Wake {
        doer: doer.into(),
        at,
    };
    let expected = Scenario {
        name: "w".into(),
        tock: 125_000_000,
        limit: Some(1_000_000_000),
        start: 0,
        doers: vec![p, leaf("a")],
        spares: vec![x],
        // in the order written, not sorted
        wakes: vec![
            wake("io", 500_000_000),
            wake("X", 0),
            wake("io", 250_000_000),
        ],
    };
    assert_eq!(parse(json), Ok(expected));
    assert_eq!(TOCK_NEVER, u64::MAX);
}

#[test]
fn rejects_lazy_on_a_leaf() {
    for doers in [
        r#"{"name": "a", "lazy": true}"#,
        r#"{"name": "P", "doers": [{"name": "a", "lazy": true}]}"#,
    ] {
        let e = err(&with(doers, ""));
        assert_eq!(
            e,
            ScenarioError::DoDoerOnlyKey {
                doer: "a".into(),
                key: "lazy"
            },
            "{doers}"
        );
        let text = e.to_string();
        assert!(
            text.contains("doer \"a\"") && text.contains("\"lazy\"") && text.contains("leaf"),
            "{text}"
        );
    }
    let e = err(&with("", r#"{"name": "s", "lazy": true, "always": false}"#));
    assert!(
        matches!(e, ScenarioError::DoDoerOnlyKey { key: "lazy", .. }),
        "{e}"
    );
    let e = err(&with(r#"{"name": "P", "doers": [], "lazy": 1}"#, ""));
    assert!(matches!(e, ScenarioError::WrongType { .. }), "{e}");
}

#[test]
fn rejects_wakes_of_unknown_doers() {
    let top = r#"{"name": "s", "tock": 1, "doers": [{"name": "a"}], "spares": [{"name": "X"}],
        "wakes": [{"doer": "a", "at": 0}, {"doer": "X", "at": 1}, {"doer": "nobody", "at": 2}]}"#;
    let e = err(top);
    assert_eq!(
        e,
        ScenarioError::UnknownDoer {
            at: "wakes[2]".into(),
            key: "doer",
            name: "nobody".into()
        }
    );
    let text = e.to_string();
    assert!(
        text.contains("wakes[2]") && text.contains("\"nobody\"") && text.contains("no doer"),
        "{text}"
    );
    let action = with(
        r#"{"name": "a", "on": [{"recur": 1, "wake": ["X", "a"]}, {"recur": 2, "wake": ["a", "nobody"]}]}"#,
        r#"{"name": "X"}"#,
    );
    let e = err(&action);
    assert_eq!(
        e,
        ScenarioError::UnknownDoer {
            at: "on[1] of doer \"a\"".into(),
            key: "wake",
            name: "nobody".into()
        }
    );
    let text = e.to_string();
    assert!(
        text.contains("on[1] of doer \"a\"")
            && text.contains("\"nobody\"")
            && text.contains("\"wake\""),
        "{text}"
    );
    // "parent" and "root" are no doers.
    let e = err(&with(
        r#"{"name": "a", "on": [{"recur": 1, "wake": ["root"]}]}"#,
        "",
    ));
    assert!(
        matches!(e, ScenarioError::UnknownDoer { key: "wake", .. }),
        "{e}"
    );
}

#[test]
fn rejects_never_without_a_limit() {
    let cases = [
        (
            r#"{"name": "a", "tock": "never"}"#,
            "",
            "\"tock\" of doer \"a\"",
        ),
        (
            r#"{"name": "P", "doers": [{"name": "a", "on": [{"recur": 1, "tock": 1}, {"recur": 3, "tock": "never"}]}]}"#,
            "",
            "\"tock\" of on[1] of doer \"a\"",
        ),
        (
            r#"{"name": "a"}"#,
            r#"{"name": "X", "tock": "never"}"#,
            "\"tock\" of doer \"X\"",
        ),
        (
            r#"{"name": "a"}"#,
            r#"{"name": "X", "doers": [], "on": [{"recur": 2, "tock": "never"}]}"#,
            "\"tock\" of on[0] of doer \"X\"",
        ),
        // the largest time is never too
        (
            r#"{"name": "a", "tock": 18446744073.709551615}"#,
            "",
            "\"tock\" of doer \"a\"",
        ),
    ];
    for (doers, spares, place) in cases {
        for limit in ["", r#", "limit": null"#, r#", "limit": 0"#] {
            let json = format!(
                r#"{{"name": "s", "tock": 1{limit}, "doers": [{doers}], "spares": [{spares}]}}"#
            );
            let e = err(&json);
            assert_eq!(
                e,
                ScenarioError::NeverWithoutLimit { at: place.into() },
                "{json}"
            );
            let text = e.to_string();
            assert!(
                text.contains(place) && text.contains("\"never\"") && text.contains("\"limit\""),
                "{text}"
            );
        }
        let json = format!(
            r#"{{"name": "s", "tock": 1, "limit": 1e-9, "doers": [{doers}], "spares": [{spares}]}}"#
        );
        assert!(parse(&json).is_ok(), "{json}");
    }
    // Wakes and lazy DoDoers alone need no limit.
    let json = r#"{"name": "s", "tock": 1, "doers": [{"name": "P", "lazy": true, "doers": [{"name": "a", "stop": 1}]}],
        "wakes": [{"doer": "a", "at": 3}]}"#;
    assert!(parse(json).is_ok());
}

#[test]
fn rejects_bad_tock_words() {
    for (doer, value) in [
        (r#"{"name": "a", "tock": "Never"}"#, "Never"),
        (r#"{"name": "a", "tock": "0.5"}"#, "0.5"),
        (
            r#"{"name": "a", "on": [{"recur": 1, "tock": "forever"}]}"#,
            "forever",
        ),
    ] {
        let e = err(&with(doer, ""));
        assert!(
            matches!(&e, ScenarioError::BadTockWord { value: v, .. } if v == value),
            "{doer}: {e}"
        );
        let text = e.to_string();
        assert!(text.contains(value) && text.contains("\"never\""), "{text}");
    }
    for doer in [
        r#"{"name": "a", "tock": null}"#,
        r#"{"name": "a", "tock": ["never"]}"#,
        r#"{"name": "a", "on": [{"recur": 1, "tock": true}]}"#,
    ] {
        let e = err(&with(doer, ""));
        assert!(matches!(e, ScenarioError::WrongType { .. }), "{doer}: {e}");
        assert!(e.to_string().contains("\"never\""), "{e}");
    }
    // Only a doer's and an action's tock may be never.
    for keys in [
        r#""tock": "never""#,
        r#""tock": 1, "limit": "never""#,
        r#""tock": 1, "start": "never""#,
    ] {
        let json = format!(r#"{{"name": "s", {keys}, "doers": []}}"#);
        assert!(
            matches!(err(&json), ScenarioError::WrongType { .. }),
            "{json}"
        );
    }
}

#[test]
fn rejects_bad_wakes() {
    let wakes = |w: &str| {
        format!(r#"{{"name": "s", "tock": 1, "doers": [{{"name": "a"}}], "wakes": [{w}]}}"#)
    };
    for (w, problem) in [
        (r#"{"doer": "a", "at": -0.5}"#, TimeError::Negative),
        (r#"{"doer": "a", "at": 1e-10}"#, TimeError::NotWhole),
        (r#"{"doer": "a", "at": 0.0000000015}"#, TimeError::NotWhole),
    ] {
        match err(&wakes(w)) {
            ScenarioError::BadTime { at, problem: p, .. } => {
                assert_eq!((at.as_str(), p), ("\"at\" of wakes[0]", problem), "{w}")
            }
            e => panic!("{w}: {e}"),
        }
    }
    let e = err(&wakes(
        r#"{"doer": "a", "at": 1}, {"doer": "a", "at": 1, "recur": 2}"#,
    ));
    assert!(
        matches!(&e, ScenarioError::UnknownKey { at, key, .. } if at == "wakes[1]" && key == "recur"),
        "{e}"
    );
    assert!(e.to_string().contains("doer, at"), "{e}");
    for (w, key) in [(r#"{"at": 1}"#, "doer"), (r#"{"doer": "a"}"#, "at")] {
        assert_eq!(
            err(&wakes(w)),
            ScenarioError::MissingKey {
                at: "wakes[0]".into(),
                key
            },
            "{w}"
        );
    }
    for w in [
        r#""a""#,
        r#"{"doer": 1, "at": 1}"#,
        r#"{"doer": "a", "at": "never"}"#,
        r#"{"doer": ["a"], "at": 1}"#,
    ] {
        assert!(
            matches!(err(&wakes(w)), ScenarioError::WrongType { .. }),
            "{w}"
        );
    }
    let json = r#"{"name": "s", "tock": 1, "doers": [], "wakes": {"doer": "a", "at": 1}}"#;
    assert!(matches!(err(json), ScenarioError::WrongType { .. }));
    let dup = wakes(r#"{"doer": "a", "at": 1, "at": 2}"#);
    assert_eq!(err(&dup), ScenarioError::DuplicateKey { key: "at".into() });
}

#[test]
fn rejects_wake_actions_with_another_kind() {
    let act = |a: &str| {
        with(
            &format!(r#"{{"name": "a", "on": [{a}]}}"#),
            r#"{"name": "X"}"#,
        )
    };
    for a in [
        r#"{"recur": 1, "wake": ["a"], "tock": 1}"#,
        r#"{"recur": 1, "wake": ["a"], "tock": "never"}"#,
        r#"{"recur": 1, "wake": ["a"], "extend": ["X"]}"#,
        r#"{"recur": 1, "remove": ["a"], "wake": ["a"]}"#,
    ] {
        let e = err(&act(a));
        assert!(matches!(e, ScenarioError::ManyEffects { .. }), "{a}: {e}");
        assert!(e.to_string().contains("\"wake\""), "{e}");
    }
    for (a, k) in [
        (r#"{"recur": 1, "wake": ["a"], "into": "root"}"#, "into"),
        (r#"{"recur": 1, "wake": ["a"], "from": "a"}"#, "from"),
    ] {
        assert!(
            matches!(err(&act(a)), ScenarioError::MisplacedTarget { key, .. } if key == k),
            "{a}"
        );
    }
    let e = err(&act(r#"{"recur": 1}"#));
    assert!(e.to_string().contains("\"wake\""), "{e}");
    for a in [
        r#"{"recur": 1, "wake": "a"}"#,
        r#"{"recur": 1, "wake": [1]}"#,
    ] {
        assert!(
            matches!(err(&act(a)), ScenarioError::WrongType { .. }),
            "{a}"
        );
    }
}
