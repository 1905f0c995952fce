//! Any text as a scenario: never a panic; a scenario that parses also runs
//! (small ones only, to keep runs short) and ends with an end line.
#![no_main]

use hio_std::scenario::{parse, trace};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(s) = parse(text) else { return };
    let limit_ok = s.limit.is_some_and(|l| l / s.tock <= 1_000);
    if limit_ok && s.doers.len() + s.spares.len() <= 32 {
        if let Ok(t) = trace(&s) {
            assert!(t.lines().last().is_some_and(|l| l.starts_with("{\"end\"")));
        }
    }
});
