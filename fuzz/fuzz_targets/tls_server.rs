//! Any bytes, arriving in pieces, into the server side of a TLS connection
//! (the same pump a server's remoter runs): never a panic, never a
//! handshake from bytes that are not a client's, and it always returns.
#![no_main]

use std::sync::OnceLock;

use hio_std::net::tls::{serve_bytes, Authority, ServerTls};
use libfuzzer_sys::fuzz_target;

fn tls() -> &'static ServerTls {
    static TLS: OnceLock<ServerTls> = OnceLock::new();
    TLS.get_or_init(|| {
        let ca = Authority::new("fuzz CA").expect("CA");
        let id = ca.issue_server(&["localhost"]).expect("cert");
        ServerTls::from_pem(id.cert_pem.as_bytes(), id.key_pem.as_bytes())
            .and_then(|b| b.build())
            .expect("tls")
    })
}

fuzz_target!(|data: &[u8]| {
    // the first byte picks the size of the pieces the rest arrives in
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let served = serve_bytes(tls(), bytes, usize::from(chunk) + 1, 4096);
    // no client key share can come from random bytes that a handshake
    // would finish with: the client's Finished needs its secrets
    assert!(!served.handshaken);
});
