//! TLS over hio's TCP server and client: round trips with TLS 1.3 and
//! 1.2, mutual TLS, ALPN, close_notify both ways, and bad peers (random
//! bytes, a truncated or stalled handshake, a wrong CA, an expired
//! certificate, a drop without close_notify) that each fail alone, counted,
//! while the server keeps serving. Loopback only.

mod net_tls_common;

use std::io::{Read, Write};
use std::time::Duration;

use hio_std::net::tls::{
    serve_bytes, Authority, Broken, ClientTls, ServerTls, TlsFailure, TlsVersions, Usage,
};
use hio_std::net::{tool, NetError, ServerConfig};
use net_tls_common::*;

fn send_lines(
    addr: std::net::SocketAddr,
    tls: ClientTls,
    input: &str,
) -> Result<String, tool::ToolError> {
    let mut out = Vec::new();
    tool::send_with(
        addr,
        Some(tls),
        Box::new(std::io::Cursor::new(input.as_bytes().to_vec())),
        &mut out,
        NET,
        false,
    )?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn our_client_and_server_tls13_and_tls12() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_tls(), ServerConfig::default().max_conns(64));
    for v in [TlsVersions::Tls13, TlsVersions::Tls12, TlsVersions::Both] {
        let out = send_lines(server.addr, pki.client_tls(v, false), "hello\nworld\n")
            .unwrap_or_else(|e| panic!("{v:?}: {e}"));
        assert_eq!(out, "hello\nworld\n", "{v:?}");
    }
    // a blocking rustls client: a 1 MiB echo, then close_notify both ways
    let tls = pki.client_tls(TlsVersions::Both, false);
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 + i / 256) as u8).collect();
    let mut s = rustls_client(&tls, server.addr);
    let mut got = Vec::with_capacity(big.len());
    let mut buf = vec![0u8; 64 * 1024];
    // write a piece, read its echo: the blocking stream cannot do both
    for chunk in big.chunks(16 * 1024) {
        s.write_all(chunk).expect("write");
        s.flush().expect("flush");
        let want = got.len() + chunk.len();
        while got.len() < want {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "early end");
            got.extend_from_slice(&buf[..n]);
        }
    }
    while got.len() < big.len() {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "early end");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == big, "the echo differs");
    s.conn.send_close_notify();
    s.flush().expect("flush");
    let mut rest = Vec::new();
    // Ok (not UnexpectedEof): the server answered with its close_notify
    s.read_to_end(&mut rest).expect("a clean end");
    let stats = server.stop();
    assert_eq!(stats.tls_handshakes, 4);
    assert_eq!(stats.tls_failures, 0, "{stats:?}");
}

#[test]
fn mutual_tls() {
    let pki = Pki::new();
    let server = TlsEcho::start(
        pki.mutual_server_tls(),
        ServerConfig::default().max_conns(64),
    );
    for v in [TlsVersions::Tls13, TlsVersions::Tls12] {
        let out = send_lines(server.addr, pki.client_tls(v, true), "mutual\n")
            .unwrap_or_else(|e| panic!("{v:?}: {e}"));
        assert_eq!(out, "mutual\n");
        let e = send_lines(server.addr, pki.client_tls(v, false), "nope\n")
            .expect_err("no client certificate");
        assert!(e.to_string().contains("TLS"), "{v:?}: {e}");
    }
    // a client certificate of another CA
    let other = Authority::new("other CA").expect("CA");
    let stranger = other.issue_client("stranger").expect("cert");
    let tls = ClientTls::with_ca_pem(pki.ca.cert_pem().as_bytes())
        .and_then(|b| b.server_name("localhost"))
        .and_then(|b| b.client_cert_pem(stranger.cert_pem.as_bytes(), stranger.key_pem.as_bytes()))
        .and_then(|b| b.build())
        .expect("tls");
    assert!(send_lines(server.addr, tls, "nope\n").is_err());
    // an expired client certificate of the right CA
    let expired = pki
        .ca
        .issue(
            &["old client"],
            Usage::Client,
            Some(((2000, 1, 1), (2001, 1, 1))),
        )
        .expect("cert");
    let tls = ClientTls::with_ca_pem(pki.ca.cert_pem().as_bytes())
        .and_then(|b| b.server_name("localhost"))
        .and_then(|b| b.client_cert_pem(expired.cert_pem.as_bytes(), expired.key_pem.as_bytes()))
        .and_then(|b| b.build())
        .expect("tls");
    assert!(send_lines(server.addr, tls, "nope\n").is_err());
    let stats = server.stop();
    assert_eq!(stats.tls_failures, 4, "{stats:?}");
}

#[test]
fn alpn_is_agreed() {
    let pki = Pki::new();
    let tls = ServerTls::from_pem(
        pki.server.cert_pem.as_bytes(),
        pki.server.key_pem.as_bytes(),
    )
    .expect("pem")
    .alpn(&[b"hio/1", b"http/1.1"])
    .build()
    .expect("tls");
    let server = TlsEcho::start(tls, ServerConfig::default());
    let client = ClientTls::with_ca_pem(pki.ca.cert_pem().as_bytes())
        .and_then(|b| b.server_name("localhost"))
        .map(|b| b.alpn(&[b"hio/1"]))
        .and_then(|b| b.build())
        .expect("tls");
    let mut s = rustls_client(&client, server.addr);
    s.write_all(b"x").expect("write");
    let mut one = [0u8; 1];
    s.read_exact(&mut one).expect("echo");
    assert_eq!(s.conn.alpn_protocol(), Some(&b"hio/1"[..]));
    drop(s);
    server.stop();
}

#[test]
fn wrong_ca_and_expired_certificate_fail_with_their_reason() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_tls(), ServerConfig::default());
    let other = Authority::new("other CA").expect("CA");
    let tls = ClientTls::with_ca_pem(other.cert_pem().as_bytes())
        .and_then(|b| b.server_name("localhost"))
        .and_then(|b| b.build())
        .expect("tls");
    match send_lines(server.addr, tls, "x\n") {
        Err(tool::ToolError::Connect {
            error: NetError::Tls(TlsFailure::UnknownIssuer),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // the server goes on
    assert_eq!(
        send_lines(
            server.addr,
            pki.client_tls(TlsVersions::Both, false),
            "ok\n"
        )
        .expect("ok"),
        "ok\n"
    );
    let stats = server.stop();
    assert_eq!(stats.tls_failures, 1, "{stats:?}");

    let expired = pki
        .ca
        .issue(
            &["localhost"],
            Usage::Server,
            Some(((2000, 1, 1), (2001, 1, 1))),
        )
        .expect("expired cert");
    let tls = ServerTls::from_pem(expired.cert_pem.as_bytes(), expired.key_pem.as_bytes())
        .and_then(|b| b.build())
        .expect("tls");
    let server = TlsEcho::start(tls, ServerConfig::default());
    match send_lines(server.addr, pki.client_tls(TlsVersions::Both, false), "x\n") {
        Err(tool::ToolError::Connect {
            error: NetError::Tls(TlsFailure::Expired),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    server.stop();
}

#[test]
fn bad_peers_fail_alone_and_the_server_keeps_serving() {
    let pki = Pki::new();
    let tls = pki
        .server_tls()
        .with_handshake_timeout(Duration::from_millis(500));
    let server = TlsEcho::start(tls, ServerConfig::default().max_conns(64));
    let good = pki.client_tls(TlsVersions::Both, false);

    // stalled: one says nothing, one stops after its ClientHello
    let silent = tcp(server.addr);
    let mut conn = rustls::ClientConnection::new(
        std::sync::Arc::clone(good.rustls()),
        "localhost".try_into().expect("name"),
    )
    .expect("conn");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("client hello");
    let mut halfway = tcp(server.addr);
    halfway.write_all(&hello).expect("write");
    // others are served meanwhile
    assert_eq!(
        round_trip(&good, server.addr, b"meanwhile").expect("rt"),
        b"meanwhile"
    );

    // random bytes instead of a ClientHello
    let mut junk = tcp(server.addr);
    let bytes: Vec<u8> = (0..600u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    junk.write_all(&bytes).expect("write");
    until_closed(junk);

    // a truncated ClientHello, then the end
    let mut cut = tcp(server.addr);
    cut.write_all(&hello[..hello.len() / 2]).expect("write");
    cut.shutdown(std::net::Shutdown::Write).expect("shutdown");
    until_closed(cut);

    // handshaken, some data, then TCP dropped without close_notify
    let mut s = rustls_client(&good, server.addr);
    s.write_all(b"ping").expect("write");
    let mut four = [0u8; 4];
    s.read_exact(&mut four).expect("echo");
    s.sock
        .shutdown(std::net::Shutdown::Write)
        .expect("shutdown");
    until_closed(s.sock.try_clone().expect("clone"));

    // a client that does not trust the server's CA
    let other = Authority::new("other CA").expect("CA");
    let distrust = ClientTls::with_ca_pem(other.cert_pem().as_bytes())
        .and_then(|b| b.server_name("localhost"))
        .and_then(|b| b.build())
        .expect("tls");
    assert!(round_trip(&distrust, server.addr, b"x").is_err());

    // the stalled ones run out of time
    until_closed(silent);
    until_closed(halfway);

    assert_eq!(
        round_trip(&good, server.addr, b"after").expect("rt"),
        b"after"
    );
    let stats = server.stop();
    assert_eq!(stats.tls_timeouts, 2, "{stats:?}");
    assert_eq!(stats.tls_truncated, 1, "{stats:?}");
    // timeouts, truncated, random bytes, cut hello, distrust
    assert_eq!(stats.tls_failures, 6, "{stats:?}");
    assert_eq!(stats.tls_handshakes, 3, "{stats:?}");
    assert_eq!(stats.open, 0);
}

#[test]
fn server_side_bytes_in_memory() {
    let pki = Pki::new();
    let tls = pki.server_tls();
    // a real ClientHello gets an answer; cut anywhere it ends the handshake
    let mut conn = rustls::ClientConnection::new(
        std::sync::Arc::clone(pki.client_tls(TlsVersions::Both, false).rustls()),
        "localhost".try_into().expect("name"),
    )
    .expect("conn");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("hello");
    let served = serve_bytes(&tls, &hello, 100, 4096);
    assert!(served.wire_out > 0, "{served:?}");
    assert_eq!(served.failed, Some(Broken::Tls(TlsFailure::HandshakeEof)));
    for cut in [0, 1, 5, hello.len() - 1] {
        let s = serve_bytes(&tls, &hello[..cut], 3, 4096);
        assert!(s.failed.is_some() && !s.handshaken, "{cut}: {s:?}");
    }
    let s = serve_bytes(&tls, &[0x16, 0x03, 0x01, 0xff, 0xff], 1, 4096);
    assert!(s.failed.is_some());
}

#[test]
fn bad_files_give_clear_errors() {
    let e =
        ServerTls::from_pem_files("/nonexistent/s.pem", "/nonexistent/k.pem").expect_err("missing");
    assert!(e.to_string().contains("/nonexistent/s.pem"), "{e}");
    let e = ServerTls::from_pem(b"not a pem", b"").expect_err("no cert");
    assert!(e.to_string().contains("no certificate"), "{e}");
    let pki = Pki::new();
    let e = ServerTls::from_pem(
        pki.server.cert_pem.as_bytes(),
        pki.server.cert_pem.as_bytes(),
    )
    .expect_err("no key");
    assert!(e.to_string().contains("no private key"), "{e}");
    // a key of another certificate
    let e = ServerTls::from_pem(
        pki.server.cert_pem.as_bytes(),
        pki.client.key_pem.as_bytes(),
    )
    .and_then(|b| b.build())
    .expect_err("mismatch");
    assert!(e.to_string().contains("key"), "{e}");
    let e = ClientTls::with_ca_pem(pki.ca.cert_pem().as_bytes())
        .and_then(|b| b.server_name("not a name!"))
        .expect_err("bad name");
    assert!(e.to_string().contains("not a server name"), "{e}");
}

#[test]
fn our_client_fails_on_a_drop_without_close_notify() {
    let pki = Pki::new();
    let config = std::sync::Arc::clone(pki.server_tls().rustls());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let peer = std::thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        sock.set_read_timeout(Some(NET)).expect("timeout");
        let conn = rustls::ServerConnection::new(config).expect("conn");
        let mut s = rustls::StreamOwned::new(conn, sock);
        let mut got = [0u8; 4];
        s.read_exact(&mut got).expect("two lines");
        assert_eq!(&got, b"a\nb\n");
        s.write_all(b"a\n").expect("write");
        s.flush().expect("flush");
        // the end of TCP, without a close_notify
        s.sock
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        let mut rest = Vec::new();
        let _ = s.sock.read_to_end(&mut rest);
    });
    match send_lines(addr, pki.client_tls(TlsVersions::Both, false), "a\nb\n") {
        Err(tool::ToolError::Closed {
            replies: 1,
            sent: 2,
            error: Some(NetError::Tls(TlsFailure::Truncated)),
        }) => {}
        other => panic!("{other:?}"),
    }
    peer.join().expect("peer");
}

#[test]
fn the_insecure_client_accepts_any_certificate_and_only_it() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_tls(), ServerConfig::default());
    let insecure = ClientTls::dangerous_insecure_accept_any_certificate()
        .server_name("not-the-name.example")
        .and_then(|b| b.build())
        .expect("tls");
    assert_eq!(
        send_lines(server.addr, insecure, "any\n").expect("ok"),
        "any\n"
    );
    // the same name with verification: refused
    let checked = ClientTls::with_ca_pem(pki.ca.cert_pem().as_bytes())
        .and_then(|b| b.server_name("not-the-name.example"))
        .and_then(|b| b.build())
        .expect("tls");
    assert!(send_lines(server.addr, checked, "x\n").is_err());
    server.stop();
}

#[cfg(feature = "webpki-roots")]
#[test]
fn webpki_roots_make_a_client() {
    let tls = ClientTls::with_webpki_roots()
        .server_name("example.com")
        .and_then(|b| b.build())
        .expect("tls");
    assert!(tls.server_name().is_some());
}

#[test]
fn many_handshakes_at_once() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_tls(), ServerConfig::default());
    let tls = pki.client_tls(TlsVersions::Both, false);
    let clients: Vec<_> = (0..48)
        .map(|k| {
            let tls = tls.clone();
            let addr = server.addr;
            std::thread::spawn(move || {
                let msg = format!("client {k}\n");
                round_trip(&tls, addr, msg.as_bytes()).map(|got| got == msg.as_bytes())
            })
        })
        .collect();
    for c in clients {
        assert!(c.join().expect("client").expect("round trip"));
    }
    let stats = server.stop();
    assert_eq!(stats.tls_handshakes, 48, "{stats:?}");
    assert_eq!(stats.tls_failures, 0, "{stats:?}");
}

#[test]
fn a_tls_client_against_a_plain_server_fails_clearly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let plain = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(NET)).expect("timeout");
        let mut hello = [0u8; 5];
        s.read_exact(&mut hello).expect("hello");
        // a plain-text answer, as a line server would give
        let _ = s.write_all(b"ERROR: what?\n");
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let pki = Pki::new();
    match send_lines(addr, pki.client_tls(TlsVersions::Both, false), "x\n") {
        Err(tool::ToolError::Connect {
            error: NetError::Tls(TlsFailure::Protocol),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    plain.join().expect("plain server");
}
