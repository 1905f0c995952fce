//! `hio echo`, `hio send`, `hio udp-echo` as a person runs them: ready
//! line, round trips, signals, idle cost, memory per connection, bad
//! arguments.

mod net_common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use net_common::*;

fn hio() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hio"))
}

fn send_lines(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = hio()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn echo_prints_ready_line_and_send_round_trips_lines() {
    let server = HioChild::start(&["echo", "--listen", "127.0.0.1:0"]);
    assert!(server.addr.ip().is_loopback() && server.addr.port() != 0);
    let out = send_lines(
        &["send", "--connect", &server.addr.to_string()],
        b"hello\nworld\n\nlast line without newline",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "hello\nworld\n\nlast line without newline\n"
    );
}

#[test]
fn ipv6_echo_and_udp_echo() {
    let server = HioChild::start(&["echo", "--listen", "[::1]:0"]);
    assert!(server.addr.is_ipv6());
    let out = send_lines(&["send", "--connect", &server.addr.to_string()], b"six\n");
    assert!(out.status.success());
    assert_eq!(out.stdout, b"six\n");

    let udp = HioChild::start(&["udp-echo", "--bind", "[::1]:0"]);
    let out = send_lines(&["send", "--udp", &udp.addr.to_string()], b"ping\npong\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"ping\npong\n");
}

#[test]
fn sigterm_and_sigint_stop_cleanly_and_clients_see_eof() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let server = HioChild::start(&["echo", "--listen", "127.0.0.1:0"]);
        let mut clients: Vec<_> = (0..3).map(|_| connect(server.addr)).collect();
        // each is accepted and served before the signal
        for c in clients.iter_mut() {
            c.write_all(b"x").unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
        }
        let status = server.signal(signal);
        assert!(
            status.success(),
            "exit status {status:?} after signal {signal}"
        );
        for c in clients.iter_mut() {
            let mut rest = Vec::new();
            assert_eq!(c.read_to_end(&mut rest).unwrap(), 0, "EOF, nothing more");
        }
    }
}

#[test]
fn idle_server_makes_almost_no_wake_ups() {
    let server = HioChild::start(&["echo", "--listen", "127.0.0.1:0"]);
    let mut idle: Vec<_> = (0..10).map(|_| connect(server.addr)).collect();
    for c in idle.iter_mut() {
        c.write_all(b"warm\n").unwrap();
        let mut b = [0u8; 5];
        c.read_exact(&mut b).unwrap();
    }
    let pid = server.pid();
    let before = proc_status(pid, "voluntary_ctxt_switches");
    // a measurement over two seconds of idle, not a synchronisation
    std::thread::sleep(Duration::from_secs(2));
    let after = proc_status(pid, "voluntary_ctxt_switches");
    let wakes = after - before;
    println!("idle server, 10 idle connections: {wakes} voluntary context switches in 2 s");
    assert!(wakes <= 5, "{wakes} wake-ups while idle");
    drop(idle);
}

#[test]
fn memory_per_idle_connection() {
    if !raise_fd_limit(4096) {
        return;
    }
    let server = HioChild::start(&["echo", "--listen", "127.0.0.1:0", "--max-conns", "2000"]);
    let pid = server.pid();
    let ping = |c: &mut std::net::TcpStream| {
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
    };
    // one connection first, so the first-use costs are in the baseline
    let mut first = connect(server.addr);
    ping(&mut first);
    let before = proc_status(pid, "VmRSS");
    let mut conns = Vec::new();
    for _ in 0..1000 {
        let mut c = connect(server.addr);
        ping(&mut c); // accepted, buffers allocated and used
        conns.push(c);
    }
    let after = proc_status(pid, "VmRSS");
    let per = (after.saturating_sub(before)) * 1024 / 1000;
    println!(
        "memory per idle connection: {per} bytes (RSS {before} kB -> {after} kB over 1000 connections, 4 KiB + 4 KiB buffers each)"
    );
    assert!(per <= 16 * 1024, "{per} bytes per idle connection");
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    for args in [
        &["echo", "--listen", "localhost"][..],
        &["echo", "--listen", "127.0.0.1:0", "--max-conns", "0"],
        &["echo", "--listen", "127.0.0.1:0", "--idle-timeout", "-1"],
        &["echo"],
        &["send"],
        &["send", "--connect", "1.2.3"],
        &["send", "--connect", "127.0.0.1:1", "--udp", "127.0.0.1:1"],
        &["udp-echo", "--bind", "[::1]"],
        &["echo", "--listen", "127.0.0.1:0", "--tls-version", "1.1"],
        &["echo", "--listen", "127.0.0.1:0", "--tls-alpn", ""],
        &[
            "echo",
            "--listen",
            "127.0.0.1:0",
            "--tls-handshake-timeout",
            "0",
        ],
    ] {
        let out = hio().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    let out = hio().args(["echo", "--listen", "nope"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("give IP:PORT"));
    // TLS settings without TLS: refused before anything runs
    for (args, needs) in [
        (
            &["echo", "--listen", "127.0.0.1:0", "--tls-alpn", "h2"][..],
            "--tls-cert",
        ),
        (
            &["send", "--connect", "127.0.0.1:1", "--tls-version", "1.3"],
            "--tls-ca",
        ),
    ] {
        let out = hio().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&format!("need {needs}")), "{args:?}: {err}");
    }
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for cmd in ["echo", "send", "udp-echo"] {
        let out = hio().args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Example"), "{cmd}: {text}");
        assert!(text.contains(&format!("hio {cmd}")), "{cmd}: {text}");
    }
}

#[test]
fn refused_and_timeouts_are_clear_errors() {
    // nothing listens on the port of a listener just closed
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = send_lines(&["send", "--connect", &format!("127.0.0.1:{port}")], b"x\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connection refused"), "{err}");

    // a UDP peer that never answers
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = send_lines(
        &[
            "send",
            "--udp",
            &silent.local_addr().unwrap().to_string(),
            "--timeout",
            "0.3",
        ],
        b"anyone?\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no reply"));

    // a listen address that is taken
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = hio()
        .args(["echo", "--listen", &taken.local_addr().unwrap().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
}

#[test]
fn idle_timeout_closes_quiet_connections_only() {
    let server = HioChild::start(&["echo", "--listen", "127.0.0.1:0", "--idle-timeout", "0.3"]);
    let mut quiet = connect(server.addr);
    let mut rest = Vec::new();
    // the server closes it: EOF within the safety net
    assert_eq!(quiet.read_to_end(&mut rest).unwrap(), 0);
    // a busy one is served
    assert_eq!(round_trip(server.addr, b"still here\n"), b"still here\n");
}
