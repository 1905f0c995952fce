//! Reading and checking a scenario (SEMANTICS.md, "Scenario schema" and
//! "Malformed"). Every check happens here, before anything runs.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::decimal::{parse_seconds, parse_whole};
use super::error::ScenarioError;
use super::model::{Action, ActionKind, DoerSpec, Scenario, Wake, Where, TOCK_NEVER};

type Object = Map<String, Value>;
type Result<T> = core::result::Result<T, ScenarioError>;

const SCENARIO_KEYS: &[&str] = &["name", "tock", "limit", "start", "doers", "spares", "wakes"];
const DOER_KEYS: &[&str] = &[
    "name",
    "tock",
    "doers",
    "always",
    "lazy",
    "stop",
    "fail_at",
    "fail_in_enter",
    "done_in_enter",
    "on",
];
const ACTION_KEYS: &[&str] = &["recur", "tock", "wake", "extend", "into", "remove", "from"];
const WAKE_KEYS: &[&str] = &["doer", "at"];

/// Parses and checks a scenario written in the JSON schema of SEMANTICS.md.
///
/// Times are read from the exact decimal text of the JSON numbers, so
/// `0.1` is exactly 100 000 000 ns. The result has passed every check of
/// "Malformed": on any problem (invalid JSON, an unknown or repeated key, a
/// missing or mistyped value, a bad time, a duplicate doer name, an action
/// naming a doer that does not exist or has the wrong kind, a tock that is
/// `"never"` in a scenario without a limit, ...) a [`ScenarioError`] says
/// where and how to fix it.
///
/// A doer's or an action's tock is a number of seconds or the string
/// `"never"`, read as [`TOCK_NEVER`]; the Doist's tock, `limit`, `start`
/// and a wake's `at` are numbers only. The `wakes` are kept in the order
/// written.
///
/// Booleans must be JSON `true` or `false`. `always: false` or
/// `lazy: false` on a leaf and `done_in_enter: false` on a DoDoer are
/// accepted, as they change nothing.
/// Counts (`stop`, `fail_at`, `recur`) accept any exact whole number
/// (`2`, `2.0`, `2e0`) from 1 to `u32::MAX`. A key given twice in one
/// object is an error (plain serde_json would keep the last one silently).
///
/// # Errors
///
/// The first problem found, as a [`ScenarioError`]; nothing is returned
/// for a scenario that is only partly valid.
pub fn parse(json: &str) -> Result<Scenario> {
    let value: Value = serde_json::from_str(json).map_err(|e| ScenarioError::Json {
        message: e.to_string(),
    })?;
    if let Some(key) = first_duplicate_key(json) {
        return Err(ScenarioError::DuplicateKey { key });
    }
    let top = "the scenario";
    let obj = object(&value, top)?;
    check_keys(obj, SCENARIO_KEYS, top)?;
    let name = required(obj, "name", top, string)?.to_owned();
    let tock = required(obj, "tock", top, time)?;
    if tock == 0 {
        let value = obj.get("tock").map(Value::to_string).unwrap_or_default();
        return Err(ScenarioError::ZeroTock { value });
    }
    let limit = field(obj, "limit", top, |v, at| match v {
        Value::Null => Ok(0),
        _ => time(v, at),
    })?
    .filter(|&ns| ns != 0);
    let start = field(obj, "start", top, time)?.unwrap_or(0);
    let doers = doer_list(required(obj, "doers", top, array)?, "doers", "")?;
    let spares = match field(obj, "spares", top, array)? {
        Some(items) => doer_list(items, "spares", "")?,
        None => Vec::new(),
    };
    let wakes = match field(obj, "wakes", top, array)? {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| wake(v, &format!("wakes[{i}]")))
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let scenario = Scenario {
        name,
        tock,
        limit,
        start,
        doers,
        spares,
        wakes,
    };
    check_references(&scenario)?;
    Ok(scenario)
}

/// Reads a list of doers; `list` and `owner` only locate unnamed entries.
fn doer_list(items: &[Value], list: &str, owner: &str) -> Result<Vec<DoerSpec>> {
    let path = |i: usize| format!("{list}[{i}]{owner}");
    let doers = items.iter().enumerate().map(|(i, v)| doer(v, &path(i)));
    doers.collect()
}

fn doer(value: &Value, path: &str) -> Result<DoerSpec> {
    let obj = object(value, path)?;
    let name = required(obj, "name", path, string)?.to_owned();
    let owner = format!("doer {name:?}");
    check_keys(obj, DOER_KEYS, &owner)?;
    let tock = field(obj, "tock", &owner, tock)?.unwrap_or(0);
    let children = match field(obj, "doers", &owner, array)? {
        Some(items) => Some(doer_list(items, "doers", &format!(" of {owner}"))?),
        None => None,
    };
    let always = field(obj, "always", &owner, flag)?.unwrap_or(false);
    let lazy = field(obj, "lazy", &owner, flag)?.unwrap_or(false);
    let stop = field(obj, "stop", &owner, count)?;
    let fail_at = field(obj, "fail_at", &owner, count)?;
    let fail_in_enter = field(obj, "fail_in_enter", &owner, flag)?.unwrap_or(false);
    let done_in_enter = field(obj, "done_in_enter", &owner, flag)?.unwrap_or(false);
    if children.is_some() {
        let leaf_only = [
            ("stop", stop.is_some()),
            ("fail_at", fail_at.is_some()),
            ("done_in_enter", done_in_enter),
        ];
        if let Some(&(key, _)) = leaf_only.iter().find(|(_, set)| *set) {
            return Err(ScenarioError::LeafOnlyKey { doer: name, key });
        }
    } else {
        let dodoer_only = [("always", always), ("lazy", lazy)];
        if let Some(&(key, _)) = dodoer_only.iter().find(|(_, set)| *set) {
            return Err(ScenarioError::DoDoerOnlyKey { doer: name, key });
        }
    }
    let on = match field(obj, "on", &owner, array)? {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| action(v, &format!("on[{i}] of {owner}")))
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    Ok(DoerSpec {
        name,
        tock,
        children,
        always,
        lazy,
        stop,
        fail_at,
        fail_in_enter,
        done_in_enter,
        on,
    })
}

fn wake(value: &Value, at: &str) -> Result<Wake> {
    let obj = object(value, at)?;
    check_keys(obj, WAKE_KEYS, at)?;
    let doer = required(obj, "doer", at, string)?.to_owned();
    let when = required(obj, "at", at, time)?;
    Ok(Wake { doer, at: when })
}

fn action(value: &Value, at: &str) -> Result<Action> {
    let obj = object(value, at)?;
    check_keys(obj, ACTION_KEYS, at)?;
    let recur = required(obj, "recur", at, count)?;
    let tock = field(obj, "tock", at, tock)?;
    let wake = field(obj, "wake", at, names)?;
    let extend = field(obj, "extend", at, names)?;
    let remove = field(obj, "remove", at, names)?;
    let into = field(obj, "into", at, target)?;
    let from = field(obj, "from", at, target)?;
    let misplaced = |key, needs| ScenarioError::MisplacedTarget {
        at: at.to_owned(),
        key,
        needs,
    };
    // `into` and `from` go only with `extend` and `remove`
    let untargeted = |kind| match (&into, &from) {
        (Some(_), _) => Err(misplaced("into", "extend")),
        (_, Some(_)) => Err(misplaced("from", "remove")),
        (None, None) => Ok(kind),
    };
    let kind = match (tock, wake, extend, remove) {
        (None, None, None, None) => return Err(ScenarioError::NoEffect { at: at.to_owned() }),
        (Some(tock), None, None, None) => untargeted(ActionKind::Tock(tock))?,
        (None, Some(names), None, None) => untargeted(ActionKind::Wake { names })?,
        (None, None, Some(names), None) => match from {
            Some(_) => return Err(misplaced("from", "remove")),
            None => ActionKind::Extend {
                names,
                into: into.unwrap_or(Where::Parent),
            },
        },
        (None, None, None, Some(names)) => match into {
            Some(_) => return Err(misplaced("into", "extend")),
            None => ActionKind::Remove {
                names,
                from: from.unwrap_or(Where::Parent),
            },
        },
        _ => return Err(ScenarioError::ManyEffects { at: at.to_owned() }),
    };
    Ok(Action { recur, kind })
}

/// The checks that need the whole tree: unique names, every name an action
/// or a wake uses exists and has the right kind, and a tock that is never
/// comes with a limit.
fn check_references(scenario: &Scenario) -> Result<()> {
    let mut all = Vec::new();
    collect(&scenario.doers, &mut all);
    collect(&scenario.spares, &mut all);
    let mut by_name: HashMap<&str, &DoerSpec> = HashMap::new();
    for doer in &all {
        if by_name.insert(&doer.name, doer).is_some() {
            let name = doer.name.clone();
            return Err(ScenarioError::DuplicateName { name });
        }
    }
    let spares: HashSet<&str> = scenario.spares.iter().map(|s| s.name.as_str()).collect();
    let mut extended: HashMap<&str, &str> = HashMap::new();
    for doer in &all {
        for (i, action) in doer.on.iter().enumerate() {
            let at = || format!("on[{i}] of doer {:?}", doer.name);
            let check_target = |key, place: &Where| match place {
                Where::Named(name) => match by_name.get(name.as_str()) {
                    None => Err(ScenarioError::UnknownDoer {
                        at: at(),
                        key,
                        name: name.clone(),
                    }),
                    Some(d) if !d.is_dodoer() => Err(ScenarioError::NotADoDoer {
                        at: at(),
                        key,
                        name: name.clone(),
                    }),
                    Some(_) => Ok(()),
                },
                Where::Parent | Where::Root => Ok(()),
            };
            match &action.kind {
                ActionKind::Tock(_) => {}
                ActionKind::Wake { names } => {
                    if let Some(name) = names.iter().find(|n| !by_name.contains_key(n.as_str())) {
                        return Err(ScenarioError::UnknownDoer {
                            at: at(),
                            key: "wake",
                            name: name.clone(),
                        });
                    }
                }
                ActionKind::Extend { names, into } => {
                    for name in names {
                        if !spares.contains(name.as_str()) {
                            let name = name.clone();
                            return Err(ScenarioError::NotASpare { at: at(), name });
                        }
                        if let Some(first) = extended.insert(name.as_str(), &doer.name) {
                            return Err(ScenarioError::SpareExtendedTwice {
                                name: name.clone(),
                                first: first.to_owned(),
                                second: doer.name.clone(),
                            });
                        }
                    }
                    check_target("into", into)?;
                }
                ActionKind::Remove { names, from } => {
                    if let Some(name) = names.iter().find(|n| !by_name.contains_key(n.as_str())) {
                        return Err(ScenarioError::UnknownDoer {
                            at: at(),
                            key: "remove",
                            name: name.clone(),
                        });
                    }
                    check_target("from", from)?;
                }
            }
        }
    }
    for (i, wake) in scenario.wakes.iter().enumerate() {
        if !by_name.contains_key(wake.doer.as_str()) {
            return Err(ScenarioError::UnknownDoer {
                at: format!("wakes[{i}]"),
                key: "doer",
                name: wake.doer.clone(),
            });
        }
    }
    if scenario.limit.is_none() {
        if let Some(at) = first_never(&all) {
            return Err(ScenarioError::NeverWithoutLimit { at });
        }
    }
    Ok(())
}

/// Where the first tock that is never is given among `doers` (a doer's own
/// tock, then its actions'), if any.
fn first_never(doers: &[&DoerSpec]) -> Option<String> {
    doers.iter().find_map(|doer| {
        if doer.tock == TOCK_NEVER {
            return Some(format!("\"tock\" of doer {:?}", doer.name));
        }
        doer.on.iter().enumerate().find_map(|(i, action)| {
            (action.kind == ActionKind::Tock(TOCK_NEVER))
                .then(|| format!("\"tock\" of on[{i}] of doer {:?}", doer.name))
        })
    })
}

/// Appends every doer of `doers` and of their subtrees, in pre-order.
fn collect<'a>(doers: &'a [DoerSpec], out: &mut Vec<&'a DoerSpec>) {
    for doer in doers {
        out.push(doer);
        if let Some(children) = &doer.children {
            collect(children, out);
        }
    }
}

/// The first key given twice in one object of `json`, which must be valid
/// JSON (serde_json keeps the last value silently).
fn first_duplicate_key(json: &str) -> Option<String> {
    // One entry per open container: the keys seen so far for an object,
    // `None` for an array.
    let mut open: Vec<Option<HashSet<String>>> = Vec::new();
    let mut expect_key = false;
    let bytes = json.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' => {
                open.push(Some(HashSet::new()));
                expect_key = true;
            }
            b'[' => open.push(None),
            b'}' | b']' => {
                open.pop();
            }
            b',' => expect_key = matches!(open.last(), Some(Some(_))),
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                if expect_key {
                    expect_key = false;
                    let raw = json.get(start..=i)?;
                    let key = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.into());
                    if let Some(Some(keys)) = open.last_mut() {
                        if !keys.insert(key.clone()) {
                            return Some(key);
                        }
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(value: &Value, at: &str, expected: &'static str) -> ScenarioError {
    let (at, found) = (at.to_owned(), kind(value));
    ScenarioError::WrongType {
        at,
        expected,
        found,
    }
}

fn check_keys(obj: &Object, allowed: &'static [&'static str], at: &str) -> Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(ScenarioError::UnknownKey {
            at: at.to_owned(),
            key: key.clone(),
            allowed,
        }),
        None => Ok(()),
    }
}

/// Reads `key` of `obj` (if present) with `read`, which is told where the
/// value is (`"key" of owner`) for its error messages.
fn field<'a, T>(
    obj: &'a Object,
    key: &str,
    owner: &str,
    read: impl FnOnce(&'a Value, &str) -> Result<T>,
) -> Result<Option<T>> {
    obj.get(key)
        .map(|v| read(v, &format!("{key:?} of {owner}")))
        .transpose()
}

/// Like [`field`], for a key that must be present.
fn required<'a, T>(
    obj: &'a Object,
    key: &'static str,
    owner: &str,
    read: impl FnOnce(&'a Value, &str) -> Result<T>,
) -> Result<T> {
    field(obj, key, owner, read)?.ok_or_else(|| ScenarioError::MissingKey {
        at: owner.to_owned(),
        key,
    })
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Object> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(value, at, "an object"))
}

fn array<'a>(value: &'a Value, at: &str) -> Result<&'a [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(wrong_type(value, at, "an array")),
    }
}

fn string<'a>(value: &'a Value, at: &str) -> Result<&'a str> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(value, at, "a string"))
}

fn flag(value: &Value, at: &str) -> Result<bool> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(value, at, "true or false"))
}

fn time(value: &Value, at: &str) -> Result<u64> {
    let Value::Number(n) = value else {
        return Err(wrong_type(value, at, "a number of seconds"));
    };
    seconds(n, at)
}

/// A doer's or an action's tock: a number of seconds, or `"never"`.
fn tock(value: &Value, at: &str) -> Result<u64> {
    match value {
        Value::Number(n) => seconds(n, at),
        Value::String(word) if word == "never" => Ok(TOCK_NEVER),
        Value::String(word) => Err(ScenarioError::BadTockWord {
            at: at.to_owned(),
            value: word.clone(),
        }),
        _ => Err(wrong_type(
            value,
            at,
            "a number of seconds or the string \"never\"",
        )),
    }
}

fn seconds(n: &serde_json::Number, at: &str) -> Result<u64> {
    let text = n.to_string();
    parse_seconds(&text).map_err(|problem| ScenarioError::BadTime {
        at: at.to_owned(),
        value: text,
        problem,
    })
}

fn count(value: &Value, at: &str) -> Result<u32> {
    let Value::Number(n) = value else {
        return Err(wrong_type(value, at, "a whole number"));
    };
    let text = n.to_string();
    match parse_whole(&text).map(u32::try_from) {
        Ok(Ok(n)) if n >= 1 => Ok(n),
        _ => Err(ScenarioError::BadCount {
            at: at.to_owned(),
            value: text,
        }),
    }
}

fn names(value: &Value, at: &str) -> Result<Vec<String>> {
    let items = array(value, at)?;
    let name = |(i, v)| string(v, &format!("item {i} of {at}")).map(str::to_owned);
    items.iter().enumerate().map(name).collect()
}

fn target(value: &Value, at: &str) -> Result<Where> {
    Ok(match string(value, at)? {
        "parent" => Where::Parent,
        "root" => Where::Root,
        name => Where::Named(name.to_owned()),
    })
}

#[cfg(test)]
mod tests;
