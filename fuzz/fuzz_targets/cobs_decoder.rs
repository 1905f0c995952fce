//! Any bytes into the COBS decoder: never a panic, every payload it delivers
//! is within its capacity and encodes back to a frame that decodes to it.
#![no_main]

use hio_embedded::cobs::{encode, max_encoded_len, CobsDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut d: CobsDecoder<64> = CobsDecoder::new();
    for &b in bytes {
        if let Some(Ok(payload)) = d.feed(b) {
            assert!(payload.len() <= 64);
            let payload = payload.to_vec();
            let mut out = vec![0u8; max_encoded_len(payload.len())];
            let n = encode(&payload, &mut out).expect("room for the frame");
            let mut again: CobsDecoder<64> = CobsDecoder::new();
            let back: Vec<Vec<u8>> = out[..n]
                .iter()
                .filter_map(|&b| again.feed(b).and_then(Result::ok).map(<[u8]>::to_vec))
                .collect();
            assert_eq!(back, vec![payload]);
        }
    }
});
