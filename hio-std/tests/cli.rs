//! The `hio` binary itself: `hio trace` on every conformance vector, and its
//! answers to bad input.

use std::path::PathBuf;
use std::process::Command;

use hio_std::scenario::compare_traces;

fn hio() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hio"))
}

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

#[test]
fn trace_prints_every_expected_trace() {
    let mut n = 0;
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".json") {
            continue;
        }
        let out = hio().arg("trace").arg(&path).output().unwrap();
        assert!(out.status.success(), "{}: {:?}", path.display(), out);
        let expected = std::fs::read_to_string(path.with_extension("trace.jsonl")).unwrap();
        let actual = String::from_utf8(out.stdout).unwrap();
        if let Err(d) = compare_traces(&expected, &actual) {
            panic!("{}: {d}", path.display());
        }
        n += 1;
    }
    assert!(n >= 45, "only {n} vectors");
}

#[test]
fn malformed_scenarios_exit_2_before_running() {
    let dir = std::env::temp_dir().join(format!("hio-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            r#"{"name":"x","tock":0.1,"doers":[{"name":"a","tock":1e-10}]}"#,
            "nanoseconds",
        ),
        (
            r#"{"name":"x","tock":0.1,"doers":[{"name":"a"},{"name":"a"}]}"#,
            "\"a\"",
        ),
        (
            r#"{"name":"x","tock":0.1,"doers":[{"name":"a","colour":1}]}"#,
            "colour",
        ),
        (
            r#"{"name":"x","tock":0.1,"doers":[{"name":"a","on":[{"recur":1,"remove":["zz"]}]}]}"#,
            "zz",
        ),
        (r#"{"name":"x","tock":-1,"doers":[]}"#, "negative"),
        ("not json", "JSON"),
    ];
    for (i, (json, needle)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.json"));
        std::fs::write(&path, json).unwrap();
        let out = hio().arg("trace").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{json}");
        assert!(out.stdout.is_empty(), "nothing runs for {json}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle),
            "{json}: message {err:?} should name {needle:?}"
        );
    }
    let out = hio()
        .arg("trace")
        .arg(dir.join("missing.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_park_and_wake_scenarios_exit_2_before_running() {
    let dir = std::env::temp_dir().join(format!("hio-cli-wake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[&str]); 4] = [
        (
            r#"{"name":"x","tock":0.1,"limit":1,"doers":[{"name":"a","lazy":true}]}"#,
            &["\"a\"", "\"lazy\"", "leaf"],
        ),
        (
            r#"{"name":"x","tock":0.1,"limit":1,"doers":[{"name":"a"}],"wakes":[{"doer":"zz","at":0.5}]}"#,
            &["wakes[0]", "\"zz\""],
        ),
        (
            r#"{"name":"x","tock":0.1,"limit":1,"doers":[{"name":"a","on":[{"recur":1,"wake":["zz"]}]}]}"#,
            &["\"wake\"", "\"zz\""],
        ),
        (
            r#"{"name":"x","tock":0.1,"doers":[{"name":"a","tock":"never"}]}"#,
            &["\"never\"", "\"limit\"", "doer \"a\""],
        ),
    ];
    for (i, (json, needles)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.json"));
        std::fs::write(&path, json).unwrap();
        let out = hio().arg("trace").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{json}");
        assert!(out.stdout.is_empty(), "nothing runs for {json}");
        let err = String::from_utf8_lossy(&out.stderr);
        for needle in *needles {
            assert!(
                err.contains(needle),
                "{json}: message {err:?} should name {needle:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_runs_its_conversation_and_ends_cleanly() {
    let out = hio().args(["demo", "--seconds", "1"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    // the board answered every command through the pty and the bridge
    for line in [
        "client → board: echo hello",
        "client ← board: hello   (round trip",
        "client → board: stats",
        "client ← board: in 3 out ",
        "client → board: quit",
        "client ← board: bye   (round trip",
        "round trips: 4, min",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    // `quit` went at 1 s of tyme, then every doer ceased and exited
    assert!(text.contains("[1.0] client → board: quit"), "{text}");
    for doer in ["board", "uart", "bridge", "serial", "hub", "user"] {
        assert!(
            text.contains(&format!("] {doer}: exit")),
            "{doer} exits:\n{text}"
        );
    }
    assert!(text.contains("bridge: clients 1 accepted 1 "), "{text}");
    assert!(text.trim_end().ends_with("end: stopped"), "{text}");
}

#[test]
fn a_scheduler_too_large_for_the_runner_is_refused_before_running() {
    use hio_std::scenario::{trace_json, RunError, GROUP_CAPACITY};
    // a DoDoer whose children plus the spare added into it exceed its room
    let kids: Vec<String> = (0..GROUP_CAPACITY)
        .map(|i| format!(r#"{{"name": "k{i}"}}"#))
        .collect();
    let json = format!(
        r#"{{"name": "big", "tock": 1, "limit": 2,
            "doers": [{{"name": "G", "doers": [{}]}},
                      {{"name": "x", "on": [{{"recur": 1, "extend": ["s"], "into": "G"}}]}}],
            "spares": [{{"name": "s"}}]}}"#,
        kids.join(", ")
    );
    match trace_json(&json) {
        Err(RunError::TooLarge { name, capacity }) => {
            assert_eq!((name.as_str(), capacity), ("G", GROUP_CAPACITY));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn a_scenario_with_more_doers_than_wakers_is_refused_before_running() {
    use hio_std::scenario::{trace_json, RunError, GROUP_CAPACITY, WAKE_CAPACITY};
    // DoDoers of full size, one more than the wakers allow in all
    let groups = WAKE_CAPACITY / (GROUP_CAPACITY + 1) + 1;
    let doers: Vec<String> = (0..groups)
        .map(|g| {
            let kids: Vec<String> = (0..GROUP_CAPACITY)
                .map(|i| format!(r#"{{"name": "k{g}_{i}"}}"#))
                .collect();
            format!(r#"{{"name": "G{g}", "doers": [{}]}}"#, kids.join(", "))
        })
        .collect();
    let json = format!(
        r#"{{"name": "many", "tock": 1, "limit": 1, "doers": [{}]}}"#,
        doers.join(", ")
    );
    let count = groups * (GROUP_CAPACITY + 1);
    assert!(count > WAKE_CAPACITY);
    match trace_json(&json) {
        Err(e @ RunError::TooManyDoers { .. }) => {
            assert_eq!(
                e,
                RunError::TooManyDoers {
                    count,
                    capacity: WAKE_CAPACITY
                }
            );
            let text = e.to_string();
            assert!(text.contains(&count.to_string()), "{text}");
        }
        other => panic!("expected TooManyDoers, got {other:?}"),
    }
}

#[test]
fn a_scenario_that_never_ends_is_stopped_with_exit_2() {
    let dir = std::env::temp_dir().join(format!("hio-cli-forever-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("forever.json");
    std::fs::write(
        &path,
        r#"{"name": "f", "tock": 1, "doers": [{"name": "a"}]}"#,
    )
    .unwrap();
    let out = hio().arg("trace").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("had not ended after 1000000 passes") && err.contains("\"limit\""),
        "{err}"
    );
    // the trace streamed: it is all there, without an end line
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() > 1_000_000);
    assert!(!text.contains("\"end\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_with_zero_seconds_runs_until_sigterm_and_ends_stopped() {
    use std::io::{BufRead, BufReader, Read};
    let mut child = hio()
        .args(["demo", "--seconds", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(
        first
            .trim_end()
            .ends_with("running until Ctrl-C or SIGTERM"),
        "{first}"
    );
    // wait until the board's heartbeat comes through the bridge, then stop it
    let mut line = String::new();
    while !line.contains("client ← board: beat") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the demo ended early"
        );
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {rest}");
    for doer in [
        "board", "bridge", "user", "serial", "uart", "console", "hub",
    ] {
        assert!(
            rest.contains(&format!("] {doer}: cease"))
                || rest.contains(&format!("] {doer}: clean")),
            "{doer} ceased:\n{rest}"
        );
        assert!(
            rest.contains(&format!("] {doer}: exit")),
            "{doer} exited:\n{rest}"
        );
    }
    assert!(rest.trim_end().ends_with("end: stopped"), "{rest}");
}

#[test]
fn verbosity_flags_are_accepted_and_exclusive() {
    let ok = hio()
        .args(["-q", "demo", "--seconds", "1"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let bad = hio().args(["-q", "-v", "demo"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
