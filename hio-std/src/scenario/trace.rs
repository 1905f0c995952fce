//! The trace of a run (SEMANTICS.md, "Trace format"): writing it, and
//! comparing two traces by value.

use core::fmt;
use std::collections::HashMap;

use serde_json::Value;

use super::decimal::{Decimal, NANOS_PER_SECOND};

/// Formats a tyme in nanoseconds as seconds, exactly: at least one
/// fractional digit and no trailing zeros beyond it.
///
/// ```
/// # use hio_std::scenario::format_tyme;
/// assert_eq!(format_tyme(0), "0.0");
/// assert_eq!(format_tyme(31_250_000), "0.03125");
/// assert_eq!(format_tyme(1_000_000_000), "1.0");
/// ```
pub fn format_tyme(ns: u64) -> String {
    let mut text = format!("{}.{:09}", ns / NANOS_PER_SECOND, ns % NANOS_PER_SECOND);
    while text.ends_with('0') && !text.ends_with(".0") {
        text.pop();
    }
    text
}

/// What the writer knows about one doer.
#[derive(Debug, Clone)]
struct DoerRecord {
    name: String,
    events: u64,
    entered: bool,
    outcome: Option<&'static str>,
}

/// Writes a trace as JSON Lines into a `String`, byte for byte in the
/// format of the conformance vectors (`", "` and `": "` separators, names
/// escaped as Python's `json.dumps` does, so the output is pure ASCII).
///
/// It numbers each doer's events (`count`) and remembers, for the end line,
/// the order in which doers were first entered and their outcome: the last
/// of `clean` (done), `cease` (ceased) and `abort` (aborted) they had.
///
/// ```
/// # use hio_std::scenario::TraceWriter;
/// let mut trace = TraceWriter::new();
/// trace.event("d0", "enter", 0);
/// trace.event("d0", "clean", 0);
/// trace.event("d0", "exit", 0);
/// trace.end("done", 0, None);
/// assert_eq!(
///     trace.into_string(),
///     "{\"doer\": \"d0\", \"context\": \"enter\", \"tyme\": 0.0, \"count\": 0}\n\
///      {\"doer\": \"d0\", \"context\": \"clean\", \"tyme\": 0.0, \"count\": 1}\n\
///      {\"doer\": \"d0\", \"context\": \"exit\", \"tyme\": 0.0, \"count\": 2}\n\
///      {\"end\": \"done\", \"tyme\": 0.0, \"outcomes\": {\"d0\": \"done\"}}\n"
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct TraceWriter {
    out: String,
    doers: Vec<DoerRecord>,
    by_name: HashMap<String, usize>,
    entered: Vec<usize>,
}

impl TraceWriter {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the line of one event: `doer` ran `context` (`"enter"`,
    /// `"recur"`, `"clean"`, `"exit"`, `"cease"` or `"abort"`) at `tyme_ns`.
    pub fn event(&mut self, doer: &str, context: &str, tyme_ns: u64) {
        let index = match self.by_name.get(doer) {
            Some(&index) => index,
            None => {
                self.doers.push(DoerRecord {
                    name: doer.to_owned(),
                    events: 0,
                    entered: false,
                    outcome: None,
                });
                let index = self.doers.len() - 1;
                self.by_name.insert(doer.to_owned(), index);
                index
            }
        };
        let Some(record) = self.doers.get_mut(index) else {
            return;
        };
        let count = record.events;
        record.events += 1;
        match context {
            "enter" if !record.entered => {
                record.entered = true;
                self.entered.push(index);
            }
            "clean" => record.outcome = Some("done"),
            "cease" => record.outcome = Some("ceased"),
            "abort" => record.outcome = Some("aborted"),
            _ => {}
        }
        self.out.push_str("{\"doer\": ");
        push_json_string(&mut self.out, doer);
        self.out.push_str(", \"context\": ");
        push_json_string(&mut self.out, context);
        self.out.push_str(", \"tyme\": ");
        self.out.push_str(&format_tyme(tyme_ns));
        self.out.push_str(", \"count\": ");
        self.out.push_str(&count.to_string());
        self.out.push_str("}\n");
    }

    /// Writes the end line: how the run ended (`"done"`, `"limit"`,
    /// `"fault"` or `"stopped"`), at which tyme, the doer where a fault
    /// arose (for a fault end), and the outcome of every doer that was
    /// entered, in the order they were first entered. A doer that was
    /// entered but has no outcome yet (which a correct run never leaves)
    /// is listed with `null`.
    pub fn end(&mut self, end: &str, tyme_ns: u64, fault: Option<&str>) {
        self.out.push_str("{\"end\": ");
        push_json_string(&mut self.out, end);
        self.out.push_str(", \"tyme\": ");
        self.out.push_str(&format_tyme(tyme_ns));
        if let Some(fault) = fault {
            self.out.push_str(", \"fault\": ");
            push_json_string(&mut self.out, fault);
        }
        self.out.push_str(", \"outcomes\": {");
        let entered = self.entered.iter().filter_map(|&i| self.doers.get(i));
        for (i, record) in entered.enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            push_json_string(&mut self.out, &record.name);
            self.out.push_str(": ");
            match record.outcome {
                Some(outcome) => push_json_string(&mut self.out, outcome),
                None => self.out.push_str("null"),
            }
        }
        self.out.push_str("}}\n");
    }

    /// The trace written so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// The trace written so far, as an owned `String`.
    pub fn into_string(self) -> String {
        self.out
    }

    /// Takes the text written since the last take (for streaming); what
    /// the writer knows of the doers stays, for the end line.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}

/// Appends `text` as a JSON string the way Python's `json.dumps` writes it:
/// `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and `\u00xx` (lowercase hex,
/// surrogate pairs beyond the BMP) for every other character outside
/// printable ASCII.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// How two traces differ at the first line where they do.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// Both lines are JSON, with different values.
    Different,
    /// The actual trace ends before the expected one.
    Missing,
    /// The actual trace goes on after the expected one ended.
    Extra,
    /// The expected line is not JSON.
    ExpectedNotJson,
    /// The actual line is not JSON.
    ActualNotJson,
}

/// The first difference between two traces, from [`compare_traces`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDiff {
    /// The number of the line, from 1, among the non-blank lines.
    pub line: usize,
    /// How the lines differ.
    pub kind: DiffKind,
    /// The expected line, if the expected trace has one.
    pub expected: Option<String>,
    /// The actual line, if the actual trace has one.
    pub actual: Option<String>,
}

impl fmt::Display for TraceDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            DiffKind::Different => "the traces differ",
            DiffKind::Missing => "the actual trace ends too early",
            DiffKind::Extra => "the actual trace goes on after the expected one ends",
            DiffKind::ExpectedNotJson => "the expected line is not JSON",
            DiffKind::ActualNotJson => "the actual line is not JSON",
        };
        let line = |l: &Option<String>| l.clone().unwrap_or_else(|| "(end of trace)".into());
        write!(
            f,
            "line {}: {what}\n  expected: {}\n  actual:   {}",
            self.line,
            line(&self.expected),
            line(&self.actual)
        )
    }
}

impl std::error::Error for TraceDiff {}

/// Compares two traces (JSON Lines) by value, as SEMANTICS.md asks: key
/// order and spacing do not matter, numbers are compared as exact decimals
/// (`0.30` equals `0.3`, `0.30000000000000004` does not), blank lines are
/// skipped.
///
/// # Errors
///
/// The first difference, as a [`TraceDiff`] that gives the line number and
/// shows both lines.
pub fn compare_traces(expected: &str, actual: &str) -> Result<(), TraceDiff> {
    let mut expected_lines = expected.lines().filter(|l| !l.trim().is_empty());
    let mut actual_lines = actual.lines().filter(|l| !l.trim().is_empty());
    let mut line = 0;
    loop {
        line += 1;
        let (e, a) = (expected_lines.next(), actual_lines.next());
        let kind = match (e, a) {
            (None, None) => return Ok(()),
            (Some(_), None) => DiffKind::Missing,
            (None, Some(_)) => DiffKind::Extra,
            (Some(e), Some(a)) => match (
                serde_json::from_str::<Value>(e),
                serde_json::from_str::<Value>(a),
            ) {
                (Err(_), _) => DiffKind::ExpectedNotJson,
                (_, Err(_)) => DiffKind::ActualNotJson,
                (Ok(e), Ok(a)) if same_value(&e, &a) => continue,
                (Ok(_), Ok(_)) => DiffKind::Different,
            },
        };
        return Err(TraceDiff {
            line,
            kind,
            expected: e.map(str::to_owned),
            actual: a.map(str::to_owned),
        });
    }
}

/// JSON equality, with numbers compared by exact decimal value.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.to_string(), y.to_string());
            match (Decimal::parse(&x), Decimal::parse(&y)) {
                (Some(x), Some(y)) => x == y,
                _ => x == y,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tyme_is_exact() {
        let cases = [
            (0, "0.0"),
            (1, "0.000000001"),
            (31_250_000, "0.03125"),
            (93_750_000, "0.09375"),
            (300_000_000, "0.3"),
            (1_000_000_000, "1.0"),
            (10_000_000_000, "10.0"),
            (12_500_000_000, "12.5"),
            (u64::MAX, "18446744073.709551615"),
        ];
        for (ns, text) in cases {
            assert_eq!(format_tyme(ns), text);
        }
    }

    #[test]
    fn names_are_escaped_like_python() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é😀~\u{7f}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001\u00e9\ud83d\ude00~\u007f""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é😀~\u{7f}");
    }

    #[test]
    fn counts_and_outcomes() {
        let mut t = TraceWriter::new();
        t.event("A", "enter", 0);
        t.event("B", "enter", 0);
        t.event("B", "abort", 0);
        t.event("B", "exit", 0);
        t.event("A", "recur", 31_250_000);
        t.event("C", "enter", 31_250_000);
        t.event("A", "cease", 31_250_000);
        t.event("A", "exit", 31_250_000);
        t.end("fault", 31_250_000, Some("B"));
        let text = t.into_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[4],
            r#"{"doer": "A", "context": "recur", "tyme": 0.03125, "count": 1}"#
        );
        assert_eq!(
            lines[7],
            r#"{"doer": "A", "context": "exit", "tyme": 0.03125, "count": 3}"#
        );
        assert_eq!(
            lines[8],
            r#"{"end": "fault", "tyme": 0.03125, "fault": "B", "outcomes": {"A": "ceased", "B": "aborted", "C": null}}"#
        );
        let mut empty = TraceWriter::new();
        empty.end("done", 0, None);
        assert_eq!(
            empty.as_str(),
            "{\"end\": \"done\", \"tyme\": 0.0, \"outcomes\": {}}\n"
        );
    }

    /// Reads every conformance trace, with the scenario's name.
    fn conformance_traces() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
        let mut traces = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if let Some(stem) = name.strip_suffix(".trace.jsonl") {
                traces.push((stem.to_owned(), std::fs::read_to_string(&path).unwrap()));
            }
        }
        assert!(
            traces.len() >= 31,
            "only {} traces in {}",
            traces.len(),
            dir.display()
        );
        traces
    }

    #[test]
    fn rewrites_every_conformance_trace_byte_for_byte() {
        for (name, text) in conformance_traces() {
            let mut t = TraceWriter::new();
            for line in text.lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                let ns = |v: &Value| super::super::parse_seconds(&v.to_string()).unwrap();
                match (v["doer"].as_str(), v["end"].as_str()) {
                    (Some(doer), _) => {
                        t.event(doer, v["context"].as_str().unwrap(), ns(&v["tyme"]))
                    }
                    (None, Some(end)) => t.end(end, ns(&v["tyme"]), v["fault"].as_str()),
                    _ => panic!("{name}: {line}"),
                }
            }
            assert_eq!(t.into_string(), text, "{name}");
        }
    }

    #[test]
    fn compares_every_conformance_trace() {
        for (name, text) in conformance_traces() {
            assert_eq!(compare_traces(&text, &text), Ok(()), "{name}");
            // Change the tyme of one line in the middle: found, on that line.
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let middle = lines.len() / 2;
            lines[middle] = lines[middle].replacen("\"tyme\": ", "\"tyme\": 1000", 1);
            let diff = compare_traces(&text, &lines.join("\n")).unwrap_err();
            assert_eq!(
                (diff.line, diff.kind),
                (middle + 1, DiffKind::Different),
                "{name}"
            );
        }
    }

    #[test]
    fn compares_by_value() {
        let e = r#"{"doer": "a", "context": "recur", "tyme": 0.3, "count": 1}"#;
        let same = "{\"count\":1,\"tyme\":0.30,\"context\":\"recur\",\"doer\":\"a\"}\n\n";
        assert_eq!(compare_traces(e, same), Ok(()));
        let float = r#"{"doer": "a", "context": "recur", "tyme": 0.30000000000000004, "count": 1}"#;
        assert_eq!(
            compare_traces(e, float).unwrap_err().kind,
            DiffKind::Different
        );
        let extra_key = r#"{"doer": "a", "context": "recur", "tyme": 0.3, "count": 1, "x": 1}"#;
        assert_eq!(
            compare_traces(e, extra_key).unwrap_err().kind,
            DiffKind::Different
        );
        let diff = compare_traces(e, "").unwrap_err();
        assert_eq!((diff.line, diff.kind), (1, DiffKind::Missing));
        assert!(diff.to_string().contains("(end of trace)"), "{diff}");
        assert_eq!(compare_traces("", e).unwrap_err().kind, DiffKind::Extra);
        assert_eq!(
            compare_traces(e, "{").unwrap_err().kind,
            DiffKind::ActualNotJson
        );
        assert_eq!(
            compare_traces("x", e).unwrap_err().kind,
            DiffKind::ExpectedNotJson
        );
        let two = format!("{e}\n{e}\n");
        let diff = compare_traces(&two, &format!("{e}\n{float}\n")).unwrap_err();
        assert_eq!(diff.line, 2);
        assert!(
            diff.to_string().starts_with("line 2: the traces differ"),
            "{diff}"
        );
    }
}
