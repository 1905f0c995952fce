//! Build script of the firmware.
//!
//! 1. Puts `memory.x` (the LM3S6965's flash and RAM) and `device.x` (its
//!    device interrupts: none) where cortex-m-rt's `link.x` finds them.
//! 2. Generates `$OUT_DIR/conformance.rs` for the on-target conformance image
//!    (`tests/conformance.rs`): for every scenario of
//!    `../../tests/conformance/*.json`, a function that builds the scenario's
//!    doer tree with hio-core's heap-free scenario doers (`Spec`, `ScnLeaf`,
//!    `ScnGroup`, each DoDoer with the exact capacity it needs) and runs it
//!    under a Doist with a `SimClock`, and the expected trace's events and
//!    end, so the image checks itself event by event.
//!
//! The scenarios are parsed by hio-std's own parser, and the tree is laid out
//! exactly as hio-std's runner (`hio-std/src/scenario/run.rs`) lays it out,
//! so the firmware runs the very tree `hio trace` runs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use hio_std::scenario::{parse, parse_seconds, ActionKind, DoerSpec, Scenario, Where};
use serde_json::Value;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    for script in ["memory.x", "device.x"] {
        fs::copy(script, out.join(script)).expect("copy a linker script");
        println!("cargo:rerun-if-changed={script}");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");

    // HIO_CONFORMANCE_DIR: another set of vectors (e.g. a doctored copy,
    // to see the image catch a difference)
    println!("cargo:rerun-if-env-changed=HIO_CONFORMANCE_DIR");
    let dir = std::env::var_os("HIO_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../../tests/conformance"));
    let dir = dir.as_path();
    println!("cargo:rerun-if-changed={}", dir.display());
    let code = match generate(dir) {
        Ok(code) => code,
        Err(e) => {
            // A broken vector must not hide: the image then fails on target.
            println!("cargo:warning=conformance vectors: {e}");
            format!(
                "static VECTORS: &[Vector] = &[];\nconst BUILD_ERROR: Option<&str> = Some({e:?});\nconst MAX_DOERS: usize = 1;\n"
            )
        }
    };
    fs::write(out.join("conformance.rs"), code).expect("write conformance.rs");
}

/// Where each doer goes: as in hio-std's runner.
struct Node<'s> {
    spec: &'s DoerSpec,
    /// `Some(Some(i))`: under node i; `Some(None)`: top level; `None`: a
    /// spare no extend can reach.
    parent: Option<Option<usize>>,
    spare: bool,
}

/// Lays out the nodes of a scenario in pre-order with their parents, the
/// same way `Plan::new` in hio-std's `run.rs` does.
fn plan(s: &Scenario) -> Vec<Node<'_>> {
    fn walk<'s>(
        nodes: &mut Vec<Node<'s>>,
        spec: &'s DoerSpec,
        parent: Option<Option<usize>>,
        spare: bool,
    ) {
        let me = nodes.len();
        nodes.push(Node {
            spec,
            parent,
            spare,
        });
        for c in spec.children.iter().flatten() {
            walk(nodes, c, Some(Some(me)), false);
        }
    }
    let mut nodes = Vec::new();
    for d in &s.doers {
        walk(&mut nodes, d, Some(None), false);
    }
    let first_spare = nodes.len();
    for d in &s.spares {
        walk(&mut nodes, d, None, true);
    }
    let names: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.spec.name.as_str(), i))
        .collect();
    let index = |name: &str| names.get(name).copied();
    let mut into: Vec<Option<(usize, &Where)>> = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for a in &n.spec.on {
            if let ActionKind::Extend { names, into: w } = &a.kind {
                for name in names {
                    if let Some(j) = index(name) {
                        into[j] = Some((i, w));
                    }
                }
            }
        }
    }
    for _ in 0..nodes.len() {
        let mut changed = false;
        for j in first_spare..nodes.len() {
            if nodes[j].parent.is_some() || !nodes[j].spare {
                continue;
            }
            let Some((extender, w)) = into[j] else {
                continue;
            };
            let parent = match w {
                Where::Root => Some(None),
                Where::Named(n) => index(n).map(Some),
                Where::Parent => nodes[extender].parent,
            };
            if parent.is_some() {
                nodes[j].parent = parent;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    nodes
}

fn target(w: &Where) -> String {
    match w {
        Where::Parent => "Target::Parent".into(),
        Where::Root => "Target::Root".into(),
        Where::Named(n) => format!("Target::Named({n:?})"),
    }
}

fn opt<T: std::fmt::Debug>(v: Option<T>) -> String {
    match v {
        Some(v) => format!("Some({v:?})"),
        None => "None".into(),
    }
}

const CONTEXTS: [&str; 6] = ["enter", "recur", "clean", "exit", "cease", "abort"];
const OUTCOMES: [&str; 3] = ["done", "ceased", "aborted"];

/// A name the image can print in a whitespace-separated line.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "doer name {name:?} is not printable ASCII without spaces; the on-target trace format cannot carry it"
        ));
    }
    Ok(())
}

fn generate(dir: &Path) -> Result<String, String> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut code = String::from(
        "// Generated by build.rs from tests/conformance/*.json: do not edit.\n\
         const BUILD_ERROR: Option<&str> = None;\n",
    );
    let mut vectors = String::from("static VECTORS: &[Vector] = &[\n");
    let mut max_doers = 1;
    for (k, path) in paths.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", path.display());
        let json = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let s = parse(&json).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = path
            .file_stem()
            .and_then(|f| f.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", path.display()))?
            .to_owned();
        let nodes = plan(&s);
        max_doers = max_doers.max(nodes.len());
        for n in &nodes {
            check_name(&n.spec.name)?;
        }
        code.push_str(&run_fn(k, &s, &nodes));
        let trace_path = path.with_extension("trace.jsonl");
        println!("cargo:rerun-if-changed={}", trace_path.display());
        let trace = fs::read_to_string(&trace_path)
            .map_err(|e| format!("{}: {e}", trace_path.display()))?;
        code.push_str(
            &expected(k, &nodes, &trace).map_err(|e| format!("{}: {e}", trace_path.display()))?,
        );
        let names: Vec<String> = nodes.iter().map(|n| format!("{:?}", n.spec.name)).collect();
        let _ = writeln!(
            vectors,
            "    Vector {{ file: {file:?}, name: {:?}, run: run_{k}, names: &[{}], events: &EVENTS_{k}, end: END_{k} }},",
            s.name,
            names.join(", ")
        );
    }
    vectors.push_str("];\n");
    code.push_str(&vectors);
    let _ = writeln!(code, "const MAX_DOERS: usize = {max_doers};");
    Ok(code)
}

/// The function that builds and runs scenario `k`, mirroring how hio-std's
/// runner builds it: specs, doers, children added to their DoDoers in
/// reverse pre-order (a DoDoer gets all its children before it is handed to
/// its own parent), then the top level.
fn run_fn(k: usize, s: &Scenario, nodes: &[Node<'_>]) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "\n/// Scenario `{}`.", s.name);
    let _ = writeln!(c, "#[allow(unused_mut, unused_variables)]");
    let _ = writeln!(
        c,
        "fn run_{k}(observer: &dyn Observer) -> Option<Report> {{"
    );
    for (i, n) in nodes.iter().enumerate() {
        let spec = n.spec;
        let mut actions = Vec::new();
        for a in &spec.on {
            let kind = match &a.kind {
                ActionKind::Tock(t) => format!("ActionKind::Tock(Tock::from_nanos({t}))"),
                ActionKind::Extend { names, into } => format!(
                    "ActionKind::Extend {{ names: &{names:?}, into: {} }}",
                    target(into)
                ),
                ActionKind::Remove { names, from } => format!(
                    "ActionKind::Remove {{ names: &{names:?}, from: {} }}",
                    target(from)
                ),
            };
            actions.push(format!("Action {{ recur: {}, kind: {kind} }}", a.recur));
        }
        let _ = writeln!(
            c,
            "    static ON_{i}: [Action<'static>; {}] = [{}];",
            actions.len(),
            actions.join(", ")
        );
        let _ = writeln!(
            c,
            "    static SPEC_{i}: Spec<'static> = Spec {{ name: {:?}, tock: Tock::from_nanos({}), always: {}, stop: {}, fail_at: {}, fail_in_enter: {}, done_in_enter: {}, on: &ON_{i} }};",
            spec.name,
            spec.tock,
            spec.always,
            opt(spec.stop),
            opt(spec.fail_at),
            spec.fail_in_enter,
            spec.done_in_enter,
        );
    }
    // exact capacities: children (and spares, which take a slot once added)
    let mut count = vec![(0usize, 0usize); nodes.len() + 1];
    for n in nodes {
        if let Some(p) = n.parent {
            let slot = p.unwrap_or(nodes.len());
            if n.spare {
                count[slot].1 += 1;
            } else {
                count[slot].0 += 1;
            }
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        if n.spec.children.is_some() {
            let (kids, spares) = count[i];
            let _ = writeln!(
                c,
                "    let mut d{i} = ScnGroup::<{}, {spares}>::new(&SPEC_{i});",
                kids + spares
            );
        } else {
            let _ = writeln!(c, "    let mut d{i} = ScnLeaf::new(&SPEC_{i});");
        }
    }
    let kids = |p: Option<usize>| {
        (0..nodes.len())
            .filter(move |&j| nodes[j].parent == Some(p))
            .collect::<Vec<_>>()
    };
    // as in run.rs: a doer handed to a parent is taken; a DoDoer already
    // taken gets no children
    let mut taken = vec![false; nodes.len()];
    for i in (0..nodes.len()).rev() {
        if nodes[i].spec.children.is_none() {
            continue;
        }
        for j in kids(Some(i)) {
            if taken[j] {
                continue;
            }
            taken[j] = true;
            if taken[i] {
                continue;
            }
            let how = if nodes[j].spare { "spare" } else { "add" };
            let _ = writeln!(c, "    let _ = d{i}.{how}(&mut d{j});");
        }
    }
    let (root_kids, root_spares) = count[nodes.len()];
    let _ = writeln!(
        c,
        "    let mut doist: Doist<'_, {}, {root_spares}> = match Doist::new(Tock::from_nanos({})) {{",
        root_kids + root_spares,
        s.tock
    );
    let _ = writeln!(
        c,
        "        Ok(d) => d.with_limit(Tock::from_nanos({})).with_start(Tyme::from_nanos({})),",
        s.limit.unwrap_or(0),
        s.start
    );
    let _ = writeln!(c, "        Err(_) => return None,");
    let _ = writeln!(c, "    }};");
    let _ = writeln!(c, "    doist.observe(observer);");
    for j in kids(None) {
        if taken[j] {
            continue;
        }
        let how = if nodes[j].spare { "spare" } else { "add" };
        let _ = writeln!(c, "    let _ = doist.{how}(&mut d{j});");
    }
    let _ = writeln!(c, "    Some(doist.run(&mut SimClock::new(), None))");
    let _ = writeln!(c, "}}");
    c
}

fn tyme_of(v: Option<&Value>) -> Result<u64, String> {
    match v {
        Some(Value::Number(n)) => {
            parse_seconds(&n.to_string()).map_err(|e| format!("tyme {n} {e}"))
        }
        _ => Err("no tyme".into()),
    }
}

/// The expected events and end of scenario `k`, from its trace.
fn expected(k: usize, nodes: &[Node<'_>], trace: &str) -> Result<String, String> {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.spec.name.as_str(), i))
        .collect();
    let mut events = Vec::new();
    let mut entered: Vec<usize> = Vec::new();
    let mut end = None;
    for (n, line) in trace
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |e: String| format!("line {}: {e}", n + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        if end.is_some() {
            return Err(at("a line after the end line".into()));
        }
        if let Some(doer) = v.get("doer").and_then(Value::as_str) {
            let d = *index
                .get(doer)
                .ok_or_else(|| at(format!("unknown doer {doer:?}")))?;
            let context = v.get("context").and_then(Value::as_str).unwrap_or("");
            let c = CONTEXTS
                .iter()
                .position(|x| *x == context)
                .ok_or_else(|| at(format!("unknown context {context:?}")))?;
            if c == 0 && !entered.contains(&d) {
                entered.push(d);
            }
            let t = tyme_of(v.get("tyme")).map_err(at)?;
            events.push(format!("({d}, {c}, {t})"));
        } else if let Some(e) = v.get("end").and_then(Value::as_str) {
            let t = tyme_of(v.get("tyme")).map_err(at)?;
            let fault = v.get("fault").and_then(Value::as_str);
            let outcomes = v
                .get("outcomes")
                .and_then(Value::as_object)
                .ok_or_else(|| at("no outcomes".into()))?;
            if outcomes.len() != entered.len() {
                return Err(at("outcomes do not list exactly the entered doers".into()));
            }
            // the outcomes are listed in the order the doers were first
            // entered (SEMANTICS.md), which the events give
            let mut list = Vec::new();
            for &d in &entered {
                let name = nodes[d].spec.name.as_str();
                let o = outcomes
                    .get(name)
                    .and_then(Value::as_str)
                    .and_then(|o| OUTCOMES.iter().position(|x| *x == o))
                    .ok_or_else(|| at(format!("no outcome for {name:?}")))?;
                list.push(format!("({d}, {o})"));
            }
            end = Some(format!(
                "const END_{k}: ExpectedEnd = ExpectedEnd {{ end: {e:?}, tyme: {t}, fault: {}, outcomes: &[{}] }};\n",
                opt(fault),
                list.join(", ")
            ));
        } else {
            return Err(at("neither an event nor an end line".into()));
        }
    }
    let end = end.ok_or("no end line")?;
    Ok(format!(
        "static EVENTS_{k}: [(u16, u8, u64); {}] = [{}];\n{end}",
        events.len(),
        events.join(", ")
    ))
}
