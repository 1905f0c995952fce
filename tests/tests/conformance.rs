//! Every scenario of `tests/conformance/` runs through the code path of
//! `hio trace` and must print exactly its expected trace.

use std::fs;
use std::path::PathBuf;

use hio_std::scenario::{compare_traces, trace_json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

#[test]
fn every_vector_matches_its_trace() {
    let mut names: Vec<_> = fs::read_dir(dir())
        .expect("conformance dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 45,
        "expected the conformance vectors, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    for path in &names {
        let json = fs::read_to_string(path).expect("read scenario");
        let expected =
            fs::read_to_string(path.with_extension("trace.jsonl")).expect("read expected trace");
        let actual = match trace_json(&json) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: rejected: {e}", path.display()));
                continue;
            }
        };
        if let Err(diff) = compare_traces(&expected, &actual) {
            failures.push(format!("{}: {diff}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
