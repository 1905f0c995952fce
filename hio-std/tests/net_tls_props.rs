//! Properties of the TLS session pump, in memory: any bytes into a
//! server's session never panic nor finish a handshake; a client and a
//! server session joined by a pipe that delivers in arbitrary pieces, with
//! rings of any size, echo any payload exactly.

mod net_tls_common;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

use hio_std::net::tls::{serve_bytes, Session, TlsVersions};
use hio_std::net::Ring;
use net_tls_common::Pki;
use proptest::prelude::*;

thread_local! {
    static PKI: Pki = Pki::new();
}

/// One end of an in-memory pipe: reads take at most `round` bytes until
/// the next round (then would-block), writes go to the other end.
struct End {
    inbox: Rc<RefCell<VecDeque<u8>>>,
    outbox: Rc<RefCell<VecDeque<u8>>>,
    round: usize,
    left: usize,
}

impl Read for End {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut inbox = self.inbox.borrow_mut();
        let n = out.len().min(inbox.len()).min(self.left);
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        for (o, b) in out.iter_mut().zip(inbox.drain(..n)) {
            *o = b;
        }
        self.left -= n;
        Ok(n)
    }
}

impl Write for End {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.outbox.borrow_mut().extend(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn pipe(round_a: usize, round_b: usize) -> (End, End) {
    let ab = Rc::new(RefCell::new(VecDeque::new()));
    let ba = Rc::new(RefCell::new(VecDeque::new()));
    (
        End {
            inbox: Rc::clone(&ba),
            outbox: Rc::clone(&ab),
            round: round_a,
            left: round_a,
        },
        End {
            inbox: ab,
            outbox: ba,
            round: round_b,
            left: round_b,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_bytes_into_a_server_session(bytes in proptest::collection::vec(any::<u8>(), 0..3000), chunk in 1usize..700) {
        let served = PKI.with(|pki| serve_bytes(&pki.server_tls(), &bytes, chunk, 1024));
        prop_assert!(!served.handshaken);
    }

    #[test]
    fn a_mangled_client_hello(cut in 0usize..600, flip in 0usize..600, bit in 0u8..8, chunk in 1usize..300) {
        let (tls, mut hello) = PKI.with(|pki| {
            let client = pki.client_tls(TlsVersions::Both, false);
            let mut conn = rustls::ClientConnection::new(
                std::sync::Arc::clone(client.rustls()),
                "localhost".try_into().expect("name"),
            ).expect("conn");
            let mut hello = Vec::new();
            conn.write_tls(&mut hello).expect("hello");
            (pki.server_tls(), hello)
        });
        if let Some(b) = hello.get_mut(flip) {
            *b ^= 1 << bit;
        }
        hello.truncate(cut.max(1));
        let served = serve_bytes(&tls, &hello, chunk, 4096);
        prop_assert!(!served.handshaken);
        prop_assert!(served.failed.is_some());
    }

    #[test]
    fn sessions_echo_exactly(
        payload in proptest::collection::vec(any::<u8>(), 0..40_000),
        round_c in 1usize..20_000,
        round_s in 1usize..20_000,
        cap in 1usize..9000,
        tls12 in any::<bool>(),
    ) {
        let (server_tls, client_tls) = PKI.with(|pki| {
            let v = if tls12 { TlsVersions::Tls12 } else { TlsVersions::Tls13 };
            (pki.server_tls(), pki.client_tls(v, false))
        });
        let name = client_tls.server_name().cloned().expect("name");
        let mut client = Session::client(&client_tls, name, cap).expect("client");
        let mut server = Session::server(&server_tls, cap).expect("server");
        let (mut c_end, mut s_end) = pipe(round_c, round_s);
        let (mut c_rx, mut c_tx) = (Ring::new(cap), Ring::new(cap));
        let (mut s_rx, mut s_tx) = (Ring::new(cap), Ring::new(cap));
        let mut sent = 0;
        let mut got = Vec::new();
        let mut buf = vec![0u8; cap];
        for _ in 0..100_000 {
            if got.len() == payload.len() && sent == payload.len() {
                break;
            }
            sent += c_tx.push(&payload[sent..]);
            c_end.left = c_end.round;
            s_end.left = s_end.round;
            let p = client.pump(&mut c_end, &mut c_rx, &mut c_tx, 1 << 16);
            prop_assert!(p.failed.is_none(), "client: {:?}", p.failed);
            let p = server.pump(&mut s_end, &mut s_rx, &mut s_tx, 1 << 16);
            prop_assert!(p.failed.is_none(), "server: {:?}", p.failed);
            // the server's application echoes what fits
            let n = s_rx.pop(&mut buf[..s_tx.free().min(cap)]);
            prop_assert_eq!(s_tx.push(&buf[..n]), n);
            let n = c_rx.pop(&mut buf);
            got.extend_from_slice(&buf[..n]);
        }
        prop_assert!(got == payload, "{} of {} bytes came back", got.len(), payload.len());
        // close_notify both ways: each sees the other's end of data
        client.close(&mut c_end, &mut c_tx);
        c_end.left = c_end.round;
        s_end.left = usize::MAX;
        let p = server.pump(&mut s_end, &mut s_rx, &mut s_tx, 1 << 20);
        prop_assert!(p.peer_closed, "{:?}", p);
        server.close(&mut s_end, &mut s_tx);
        c_end.left = usize::MAX;
        let p = client.pump(&mut c_end, &mut c_rx, &mut c_tx, 1 << 20);
        prop_assert!(p.peer_closed, "{:?}", p);
    }
}
