//! A bridge run in real time with its wire log (frames, the answers of its
//! edges, the trace of its doers), replayed in simulated time: the replay's
//! trace is the live run's, event for event.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use embedded_io::{Read as _, ReadReady, Write as _};
use hio_std::bridge::{self, BridgeConfig};
use hio_std::scenario::compare_traces;
use hio_std::tty::{Pty, Tty};

const STEP: Duration = Duration::from_secs(20);

fn poll(fd: i32, events: i16, ms: i32) {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut p, 1, ms) };
}

fn device_line(tty: &mut Tty, buf: &mut Vec<u8>) -> Vec<u8> {
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            return line[..i].to_vec();
        }
        assert!(Instant::now() < deadline, "no line at the device");
        if tty.read_ready().unwrap() {
            let mut chunk = [0u8; 512];
            let n = tty.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
        } else {
            poll(tty.raw_fd().unwrap(), libc::POLLIN, 1000);
        }
    }
}

#[test]
fn a_live_bridge_run_replays_to_the_same_trace() {
    let dir = std::env::temp_dir().join(format!("hio-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wirelog = dir.join("wire.jsonl");
    let pty = Pty::open().unwrap();
    let config = BridgeConfig::new(pty.path(), "127.0.0.1:0".parse().unwrap())
        .wirelog(Some(wirelog.clone()));
    let mut device = pty.into_tty();
    let mut pending = Vec::new();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let r = bridge::run(&config, false, &mut |addr, stop| {
            let _ = ready_tx.send((addr, stop));
        });
        let _ = done_tx.send(r.map(|rep| rep.end));
    });
    let (addr, stop) = ready_rx.recv_timeout(STEP).unwrap();
    // a conversation: two clients, lines both ways, one leaves
    let mut a = TcpStream::connect(addr).unwrap();
    a.set_read_timeout(Some(STEP)).unwrap();
    let mut ra = BufReader::new(a.try_clone().unwrap());
    a.write_all(b"hello from a\n").unwrap();
    assert_eq!(device_line(&mut device, &mut pending), b"hello from a");
    let mut b = TcpStream::connect(addr).unwrap();
    b.set_read_timeout(Some(STEP)).unwrap();
    let mut rb = BufReader::new(b.try_clone().unwrap());
    b.write_all(b"hello from b\n").unwrap();
    assert_eq!(device_line(&mut device, &mut pending), b"hello from b");
    for i in 0..50 {
        let line = format!("reading {i} {}\n", "z".repeat(i));
        let mut bytes = line.as_bytes();
        while !bytes.is_empty() {
            match device.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(_) => poll(device.raw_fd().unwrap(), libc::POLLOUT, 1000),
            }
        }
        a.write_all(format!("ack {i}\n").as_bytes()).unwrap();
    }
    for i in 0..50 {
        let want = format!("reading {i} {}\n", "z".repeat(i));
        for r in [&mut ra, &mut rb] {
            let mut s = String::new();
            r.read_line(&mut s).unwrap();
            assert_eq!(s, want);
        }
        assert_eq!(
            device_line(&mut device, &mut pending),
            format!("ack {i}").as_bytes()
        );
    }
    drop((a, ra));
    b.write_all(b"b is still here\n").unwrap();
    assert_eq!(device_line(&mut device, &mut pending), b"b is still here");
    stop.stop();
    let end = done_rx.recv_timeout(STEP).unwrap().unwrap();
    assert_eq!(end.as_str(), "stopped");

    let text = std::fs::read_to_string(&wirelog).unwrap();
    let r = bridge::replay(&text).unwrap();
    assert_eq!(
        r.diverged, None,
        "the replay asked what the live run did not"
    );
    assert_eq!(r.unused, 0, "the replay asked for every recorded answer");
    if let Err(d) = compare_traces(&r.live, &r.replay) {
        panic!(
            "the replay's trace differs from the live run's: {d}\nlive:\n{}\nreplay:\n{}",
            r.live, r.replay
        );
    }
    assert!(r.live.lines().count() > 10, "{}", r.live);
    // `hio replay FILE` prints the same trace and exits 0
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hio"))
        .arg("replay")
        .arg(&wirelog)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), r.replay);
    // a log that was tampered with does not replay to the same trace:
    // the first chunk the device gave is emptied
    let first = text
        .lines()
        .position(|l| l.contains(r#""io":"fill","v":{"ok":""#) && !l.contains(r#"{"ok":""}"#))
        .expect("a chunk from the device");
    let tampered: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == first {
                r#"{"io":"fill","v":{"ok":""}}"#.to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    let r = bridge::replay(&tampered).unwrap();
    assert!(
        r.diverged.is_some() || compare_traces(&r.live, &r.replay).is_err(),
        "a tampered log replays differently"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_s_wire_log_replays_to_its_trace() {
    let dir = std::env::temp_dir().join(format!("hio-replay-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wirelog = dir.join("demo.jsonl");
    let hio = env!("CARGO_BIN_EXE_hio");
    let demo = std::process::Command::new(hio)
        .args(["demo", "--seconds", "1", "--wirelog"])
        .arg(&wirelog)
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stdout)
    );
    let out = std::process::Command::new(hio)
        .arg("replay")
        .arg(&wirelog)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = String::from_utf8(out.stdout).unwrap();
    assert!(
        trace
            .trim_end()
            .ends_with(r#""outcomes": {"hub": "ceased", "serial": "ceased"}}"#),
        "{trace}"
    );
    // a file that is not a wire log exits 2 with what to give
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "not json\n").unwrap();
    let out = std::process::Command::new(hio)
        .arg("replay")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hio bridge --wirelog"));
    let _ = std::fs::remove_dir_all(&dir);
}
