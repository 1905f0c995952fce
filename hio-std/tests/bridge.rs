//! The serial-to-network bridge end to end: a pseudo-terminal's master is
//! the device (driven by the test), the bridge opens its slave as a serial
//! device, and TCP clients on loopback talk through it.
//!
//! Every wait is bounded (poll and read timeouts are safety nets only);
//! nothing sleeps to synchronise.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use embedded_io::{Read as _, ReadReady, Write as _};
use hio_core::{End, Report, StopFlag};
use hio_std::bridge::{BridgeConfig, BridgeError, Framing};
use hio_std::tty::{Pty, Tty};

const STEP: Duration = Duration::from_secs(20);

/// The device's side of the line: the pty's master.
struct Device {
    tty: Tty,
    buf: Vec<u8>,
}

fn poll(fd: i32, events: i16, limit: Duration) {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut p, 1, limit.as_millis() as i32) };
}

impl Device {
    fn new(pty: Pty) -> Device {
        Device {
            tty: pty.into_tty(),
            buf: Vec::new(),
        }
    }

    fn write_all(&mut self, mut bytes: &[u8]) {
        let deadline = Instant::now() + STEP;
        while !bytes.is_empty() {
            assert!(Instant::now() < deadline, "the bridge stopped reading");
            match self.tty.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(_) => poll(self.tty.raw_fd().unwrap(), libc::POLLOUT, STEP),
            }
        }
    }

    fn line(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return line[..i].to_vec();
            }
            assert!(
                Instant::now() < deadline,
                "no line at the device: {:?}",
                self.buf
            );
            if self.tty.read_ready().unwrap() {
                let mut chunk = [0u8; 512];
                let n = self.tty.read(&mut chunk).unwrap();
                self.buf.extend_from_slice(&chunk[..n]);
            } else {
                poll(
                    self.tty.raw_fd().unwrap(),
                    libc::POLLIN,
                    Duration::from_secs(1),
                );
            }
        }
    }
}

/// A bridge running on a thread of its own.
struct Running {
    addr: SocketAddr,
    stop: &'static StopFlag,
    done: mpsc::Receiver<Result<Report, BridgeError>>,
}

impl Running {
    fn start(config: BridgeConfig) -> Running {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        thread::spawn(move || {
            let r = hio_std::bridge::run(&config, false, &mut |addr, stop| {
                let _ = ready_tx.send((addr, stop));
            });
            let _ = done_tx.send(r);
        });
        let (addr, stop) = ready_rx.recv_timeout(STEP).expect("the bridge is ready");
        Running { addr, stop, done }
    }

    fn stop(self) -> Report {
        self.stop.stop();
        self.done
            .recv_timeout(STEP)
            .expect("the bridge ends when stopped")
            .expect("the bridge ran")
    }
}

/// A TCP client of the bridge.
struct Client {
    lines: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(STEP)).unwrap();
        Client {
            lines: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }

    fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn line(&mut self) -> String {
        let mut s = String::new();
        let n = self
            .lines
            .read_line(&mut s)
            .expect("a line within the step");
        assert!(n > 0, "the bridge closed the connection");
        assert!(s.ends_with('\n'));
        s.pop();
        s
    }
}

/// The device and a bridge on its pty.
fn bridge_on_pty(tweak: impl FnOnce(BridgeConfig) -> BridgeConfig) -> (Device, Running) {
    let pty = Pty::open().unwrap();
    let config = tweak(BridgeConfig::new(
        pty.path(),
        "127.0.0.1:0".parse().unwrap(),
    ));
    let device = Device::new(pty);
    (device, Running::start(config))
}

/// Connects a client and waits until the bridge has it: its hello reached
/// the device.
fn join(addr: SocketAddr, device: &mut Device, name: &str) -> Client {
    let mut c = Client::connect(addr);
    c.send(&format!("hello from {name}"));
    assert_eq!(device.line(), format!("hello from {name}").into_bytes());
    c
}

#[test]
fn frames_go_from_the_device_to_every_client_and_from_any_client_to_the_device() {
    let dir = std::env::temp_dir().join(format!("hio-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wirelog = dir.join("wire.jsonl");
    let log = wirelog.clone();
    let (mut device, bridge) = bridge_on_pty(|c| c.wirelog(Some(log)));
    let mut a = join(bridge.addr, &mut device, "a");
    let mut b = join(bridge.addr, &mut device, "b");
    // byte for byte, every line to both: UTF-8, tabs, a `\r` inside
    let lines: Vec<String> = (0..200)
        .map(|i| format!("line {i}\tµ→ {}\rend", "x".repeat(i % 50)))
        .collect();
    let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
    device.write_all(all.as_bytes());
    for l in &lines {
        assert_eq!(&a.line(), l);
        assert_eq!(&b.line(), l);
    }
    // from any client to the device, in each client's order
    for i in 0..20 {
        a.send(&format!("a{i}"));
        b.send(&format!("b{i}"));
    }
    let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let l = String::from_utf8(device.line()).unwrap();
        if l.starts_with('a') {
            from_a.push(l);
        } else {
            from_b.push(l);
        }
    }
    let want = |p: &str| (0..20).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
    assert_eq!((from_a, from_b), (want("a"), want("b")));
    // clients come and go: a leaves, c joins, both others still get lines
    drop(a);
    let mut c = join(bridge.addr, &mut device, "c");
    device.write_all(b"after a left\n");
    assert_eq!(b.line(), "after a left");
    assert_eq!(c.line(), "after a left");
    let report = bridge.stop();
    assert_eq!(report.end, End::Stopped);
    // the wire log has every frame, with tyme and direction
    let text = std::fs::read_to_string(&wirelog).unwrap();
    let from_device = text.matches(r#""dir":"from-device""#).count();
    let to_device = text.matches(r#""dir":"to-device""#).count();
    assert_eq!((from_device, to_device), (201, 43), "{text}");
    assert!(text.contains(r#""event":"open""#) && text.contains(r#""event":"close""#));
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v.get("dir").is_some() || v.get("event").is_some() {
            assert!(v["t"].as_str().is_some(), "{line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_slow_client_is_dropped_and_the_others_and_the_device_go_on() {
    let (mut device, bridge) = bridge_on_pty(|c| c.client_queue(8 * 1024));
    // the slow client: a small receive window, and it never reads
    let slow = {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_recv_buffer_size(4096).unwrap();
        s.connect(&bridge.addr.into()).unwrap();
        let mut s: TcpStream = s.into();
        s.write_all(b"hello from slow\n").unwrap();
        assert_eq!(device.line(), b"hello from slow");
        s
    };
    let fast = join(bridge.addr, &mut device, "fast");
    // more than the kernel buffers on loopback (the bridge's send buffer
    // grows to tcp_wmem's maximum) and the client queue together
    let wmem_max: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().last().and_then(|v| v.parse().ok()))
        .unwrap_or(4 << 20);
    let n = (2 * wmem_max / 208).max(40_000);
    let reader = thread::spawn(move || {
        let mut fast = fast;
        for i in 0..n {
            assert_eq!(fast.line(), format!("{i:06} {}", "y".repeat(200)));
        }
        fast
    });
    for i in 0..n {
        device.write_all(format!("{i:06} {}\n", "y".repeat(200)).as_bytes());
    }
    let mut fast = reader.join().expect("the fast client got every line");
    // the slow one was dropped: it reads what was queued, then the end
    slow.set_read_timeout(Some(STEP)).unwrap();
    let mut slow = slow;
    let mut got = Vec::new();
    let ended = loop {
        let mut buf = [0u8; 65536];
        match slow.read(&mut buf) {
            Ok(0) => break true,
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(e) => panic!("the slow client was not dropped: {e}"),
        }
    };
    assert!(ended);
    assert!(got.len() < n * 208, "it fell behind: {} bytes", got.len());
    // the device still talks to the fast one
    fast.send("still here");
    assert_eq!(device.line(), b"still here");
    bridge.stop();
}

/// `ln -sfn target link`, atomically (a rename), as udev moves
/// /dev/serial/by-id links.
fn point(link: &Path, target: &Path) {
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, link).unwrap();
}

#[test]
fn a_device_that_goes_away_is_reported_and_reopened_when_it_returns() {
    let dir = std::env::temp_dir().join(format!("hio-bridge-away-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link: PathBuf = dir.join("ttyBOARD");
    let pty = Pty::open().unwrap();
    point(&link, pty.path());
    let mut device = Device::new(pty);
    let wirelog = dir.join("wire.jsonl");
    let bridge = Running::start(
        BridgeConfig::new(&link, "127.0.0.1:0".parse().unwrap()).wirelog(Some(wirelog.clone())),
    );
    let mut client = join(bridge.addr, &mut device, "client");
    device.write_all(b"first\n");
    assert_eq!(client.line(), "first");
    // unplugged: both ends of the pty close, its /dev/pts node goes away;
    // the client stays connected
    drop(device);
    // plugged in again: a new pty where the link points
    let pty = Pty::open().unwrap();
    point(&link, pty.path());
    let mut device = Device::new(pty);
    // the bridge reopens it within its retry period; the first line the
    // device sends reaches the same client on the same connection
    device.write_all(b"back again\n");
    assert_eq!(client.line(), "back again");
    client.send("welcome back");
    assert_eq!(device.line(), b"welcome back");
    bridge.stop();
    // the loss and the return are on record, with why
    let text = std::fs::read_to_string(&wirelog).unwrap();
    let lost = text.find(r#""event":"device-lost""#).expect(&text);
    let back = text.find(r#""event":"device-back""#).expect(&text);
    assert!(lost < back, "{text}");
    assert!(text.contains("the device went away"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hio_bridge_says_what_is_wrong_with_a_device() {
    let hio = env!("CARGO_BIN_EXE_hio");
    for (dev, needle) in [
        ("/dev/hio-no-such-tty", "no such device"),
        ("/dev/null", "not a terminal device"),
    ] {
        let out = Command::new(hio)
            .args(["bridge", "--serial", dev, "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{dev}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(dev) && err.contains(needle), "{dev}: {err}");
        assert!(out.stdout.is_empty(), "nothing listens for {dev}");
    }
    let pty = Pty::open().unwrap();
    let out = Command::new(hio)
        .args(["bridge", "--serial"])
        .arg(pty.path())
        .args(["--baud", "12345", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("baud rate 12345 is not supported"));
}

/// A device the user may not open: a pty with no permissions at all,
/// opened by an unprivileged user (as root the test drops to `nobody`
/// with `setpriv`, since root may open anything).
#[test]
fn hio_bridge_says_permission_denied_and_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let pty = Pty::open().unwrap();
    std::fs::set_permissions(pty.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let hio = env!("CARGO_BIN_EXE_hio");
    let bridge = [
        "bridge",
        "--serial",
        &pty.path().display().to_string(),
        "--listen",
        "127.0.0.1:0",
    ]
    .map(String::from);
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(hio);
        c
    } else {
        Command::new(hio)
    };
    let out = match cmd.args(&bridge).output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED: setpriv could not run ({e}; Debian: util-linux)");
            return;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("permission") && err.contains("dialout"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing listens");
}

#[test]
fn hio_bridge_prints_its_ready_line_and_carries_cobs_frames() {
    let pty = Pty::open().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["bridge", "--framing", "cobs", "--serial"])
        .arg(pty.path())
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut device = Device::new(pty);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    out.read_line(&mut ready).unwrap();
    let addr: SocketAddr = ready
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{ready:?}"))
        .parse()
        .unwrap();
    // COBS frames with a CRC, binary payloads with zeros, both ways
    let cobs = hio_embedded::Cobs::<64>::new();
    let encode = |p: &[u8]| {
        let mut buf = [0u8; 96];
        let n = hio_embedded::Framer::encode(&cobs, p, &mut buf).unwrap();
        buf[..n].to_vec()
    };
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(STEP)).unwrap();
    let hello = [0u8, 1, 2, 0, 255, b'\n', 0];
    client.write_all(&encode(&hello)).unwrap();
    // the device gets the same encoding (decoded and encoded again)
    let want = encode(&hello);
    let mut got = Vec::new();
    let deadline = Instant::now() + STEP;
    while got.len() < want.len() {
        assert!(Instant::now() < deadline);
        if device.tty.read_ready().unwrap() {
            let mut b = [0u8; 64];
            let n = device.tty.read(&mut b).unwrap();
            got.extend_from_slice(&b[..n]);
        } else {
            poll(
                device.tty.raw_fd().unwrap(),
                libc::POLLIN,
                Duration::from_secs(1),
            );
        }
    }
    assert_eq!(got, want);
    // a damaged frame from the device is dropped; the next one comes
    let reply = encode(&[9, 0, 9]);
    let mut damaged = reply.clone();
    damaged[1] ^= 0x40;
    device.write_all(&damaged);
    device.write_all(&reply);
    let mut back = vec![0u8; reply.len()];
    client.read_exact(&mut back).unwrap();
    assert_eq!(back, reply);
    // SIGTERM ends it cleanly
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn framing_names_parse() {
    assert_eq!("cobs".parse::<Framing>(), Ok(Framing::Cobs));
    assert!("slip".parse::<Framing>().is_err());
}

#[test]
fn clients_over_tls_get_every_device_frame_and_reach_the_device() {
    use hio_std::net::tls::{Authority, ClientTls, ServerTls};
    let ca = Authority::new("hio bridge test CA").unwrap();
    let issued = ca.issue_server(&["localhost"]).unwrap();
    let server = ServerTls::from_pem(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let (mut device, bridge) = bridge_on_pty(|c| c.tls(Some(server)));
    let client = ClientTls::with_ca_pem(ca.cert_pem().as_bytes())
        .unwrap()
        .server_name("localhost")
        .unwrap()
        .build()
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(client.rustls().clone(), name).unwrap();
    let tcp = TcpStream::connect(bridge.addr).unwrap();
    tcp.set_read_timeout(Some(STEP)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"hello over tls\n").unwrap();
    tls.flush().unwrap();
    assert_eq!(device.line(), b"hello over tls");
    let lines: Vec<String> = (0..100).map(|i| format!("secret {i} \u{2192}")).collect();
    let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
    device.write_all(all.as_bytes());
    let mut reader = BufReader::new(tls);
    for l in &lines {
        let mut s = String::new();
        reader.read_line(&mut s).unwrap();
        assert_eq!(s.trim_end_matches('\n'), l);
    }
    bridge.stop();
}

#[test]
fn a_client_faster_than_the_device_is_held_back_and_loses_nothing() {
    let (mut device, bridge) = bridge_on_pty(|c| c);
    let mut fast = join(bridge.addr, &mut device, "fast");
    // the client sends at once far more than the pty (a few KiB), the
    // Decks and the bridge's buffers hold, while the device reads a line
    // at a time: the bridge holds the client back (its bytes wait in TCP)
    // and drops nothing
    let n = 20_000;
    let mut writer = fast.stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let mut all = String::new();
        for i in 0..n {
            all.push_str(&format!("command {i:05} {}\n", "c".repeat(40)));
        }
        writer.write_all(all.as_bytes()).unwrap();
    });
    // the device takes them all, in order
    for i in 0..n {
        let want = format!("command {i:05} {}", "c".repeat(40));
        assert_eq!(String::from_utf8(device.line()).unwrap(), want);
    }
    sender.join().unwrap();
    // and still answers
    device.write_all(b"done\n");
    assert_eq!(fast.line(), "done");
    bridge.stop();
}
