//! Any bytes into the line framer: never a panic, every line it delivers is
//! within its capacity and has no newline.
#![no_main]

use hio_embedded::line::LineFramer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut f: LineFramer<32> = LineFramer::new();
    for &b in bytes {
        if let Some(Ok(line)) = f.feed(b) {
            assert!(line.len() <= 32);
            assert!(!line.contains(&b'\n'));
        }
    }
});
