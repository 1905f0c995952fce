//! The firmware of `examples/firmware` under QEMU's `lm3s6965evb` board:
//! the serial flow and the line echo over UART0 (a TCP socket on the host),
//! and the conformance vectors run on the target.
//!
//! Each test builds the firmware itself (`cargo build --release` in
//! `examples/firmware`, once per run) and bounds every QEMU run twice: QEMU
//! runs under `timeout`, and the test kills it when a deadline passes or
//! the test fails. Read timeouts serve as deadlines only; nothing waits for
//! a fixed time to synchronise with the target.
//!
//! ```text
//! cargo test -p hio-tests --test qemu -- --include-ignored
//! ```

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use hio_std::scenario::{compare_traces, parse_seconds, TraceWriter};

/// Wall-clock bound of one QEMU run, enforced by `timeout`.
const QEMU_LIMIT: Duration = Duration::from_secs(120);
/// How long a test waits for one step (a connection, a reply, an exit).
const STEP: Duration = Duration::from_secs(30);
/// The serial flow's Doist tock, in ns.
const FLOW_TOCK_NS: u64 = 10_000_000;
/// Its heartbeat's period, in ns.
const BEAT_NS: u64 = 1_000_000_000;
/// How long the serial flow is left idle to count its wake-ups.
const IDLE: Duration = Duration::from_secs(5);
/// Most wake-ups of the idle serial flow over [`IDLE`]: one a second for
/// the heartbeat, and slack.
const IDLE_WAKEUPS: u64 = 7;

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn firmware_dir() -> PathBuf {
    tests_dir().join("..").join("examples").join("firmware")
}

/// The built images.
#[derive(Debug)]
struct Images {
    serial_flow: PathBuf,
    line_echo: PathBuf,
    sizes: PathBuf,
    static_tree: PathBuf,
    conformance: PathBuf,
}

/// Builds the firmware once for all the tests of this run.
fn images() -> &'static Images {
    static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
    match IMAGES.get_or_init(build_images) {
        Ok(images) => images,
        Err(e) => panic!("{e}"),
    }
}

/// `cargo ARGS` in the firmware's own workspace (its `.cargo/config.toml`
/// chooses the target and the QEMU runner), without the outer build's
/// target directory or flags.
fn firmware_cargo(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let dir = firmware_dir();
    let mut c = Command::new(cargo);
    c.args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .current_dir(&dir);
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        c.env_remove(var);
    }
    c
}

fn run_cargo(args: &[&str]) -> Result<String, String> {
    let out = firmware_cargo(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo {}` in examples/firmware failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn build_images() -> Result<Images, String> {
    // the conformance image is a test target: ask cargo where it put it
    let json = run_cargo(&[
        "test",
        "--release",
        "--test",
        "conformance",
        "--no-run",
        "--message-format=json",
    ])?;
    let conformance = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "conformance")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or("cargo reported no executable for the conformance test image")?;
    // the bins after the test image: building a test target rebuilds the
    // bins with the test's features (run-time requests, for the scenarios),
    // and the bins tested here must be the ones flashed, without them
    run_cargo(&["build", "--release", "--bins"])?;
    let release = firmware_dir().join("target/thumbv7m-none-eabi/release");
    let images = Images {
        serial_flow: release.join("serial-flow"),
        line_echo: release.join("line-echo"),
        sizes: release.join("sizes"),
        static_tree: release.join("static-tree"),
        conformance,
    };
    for p in [
        &images.serial_flow,
        &images.line_echo,
        &images.sizes,
        &images.static_tree,
        &images.conformance,
    ] {
        if !p.is_file() {
            return Err(format!("{} was not built", p.display()));
        }
    }
    Ok(images)
}

/// A QEMU run of one image, killed when dropped if it still runs.
struct Qemu {
    /// The `timeout` process that runs QEMU.
    pid: u32,
    /// Its exit status, sent by a thread blocked in `wait`.
    exit: mpsc::Receiver<ExitStatus>,
    /// The status once received.
    status: Option<ExitStatus>,
    stdout: Option<mpsc::Receiver<String>>,
    stderr: Option<mpsc::Receiver<String>>,
}

impl Qemu {
    /// Starts `image`; with `uart_port`, UART0 dials 127.0.0.1:`uart_port`.
    fn start(image: &Path, uart_port: Option<u16>) -> Qemu {
        let mut c = Command::new("timeout");
        c.args(["-k", "5", &QEMU_LIMIT.as_secs().to_string()])
            .arg("qemu-system-arm")
            .args(["-cpu", "cortex-m3", "-machine", "lm3s6965evb"])
            .args(["-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"]);
        match uart_port {
            Some(port) => c
                .arg("-chardev")
                .arg(format!(
                    "socket,id=s0,host=127.0.0.1,port={port},server=off,nodelay=on"
                ))
                .args(["-serial", "chardev:s0"]),
            None => c.args(["-serial", "null"]),
        };
        c.arg("-kernel")
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap_or_else(|e| {
            panic!("cannot start qemu-system-arm under timeout: {e} (install qemu-system-arm)")
        });
        let collect = |mut r: Box<dyn Read + Send>| {
            let (tx, rx) = mpsc::channel();
            thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = r.read_to_end(&mut bytes);
                let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
            });
            rx
        };
        let stdout = child.stdout.take().map(|s| collect(Box::new(s)));
        let stderr = child.stderr.take().map(|s| collect(Box::new(s)));
        let pid = child.id();
        let (tx, exit) = mpsc::channel();
        thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        Qemu {
            pid,
            exit,
            status: None,
            stdout,
            stderr,
        }
    }

    /// Waits for QEMU to exit, at most `limit`; its status, stdout and
    /// stderr.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let status = match self.exit.recv_timeout(limit) {
            Ok(status) => status,
            Err(_) => panic!(
                "QEMU did not exit within {limit:?}; stderr:\n{}",
                self.stderr_now()
            ),
        };
        self.status = Some(status);
        let take = |rx: Option<mpsc::Receiver<String>>| {
            rx.and_then(|rx| rx.recv_timeout(STEP).ok())
                .unwrap_or_default()
        };
        let (out, err) = (take(self.stdout.take()), take(self.stderr.take()));
        (status, out, err)
    }

    fn stderr_now(&mut self) -> String {
        self.kill();
        self.stderr
            .take()
            .and_then(|rx| rx.recv_timeout(Duration::from_secs(5)).ok())
            .unwrap_or_default()
    }

    /// Stops QEMU: SIGTERM to `timeout`, which hands it on to QEMU, then
    /// SIGKILL if it has not exited a few seconds later.
    fn kill(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Ok(status) = self.exit.try_recv() {
            self.status = Some(status);
            return;
        }
        let signal = |sig: &str| {
            let _ = Command::new("kill")
                .args([sig, &self.pid.to_string()])
                .status();
        };
        signal("-TERM");
        match self.exit.recv_timeout(Duration::from_secs(5)) {
            Ok(status) => self.status = Some(status),
            Err(_) => {
                signal("-KILL");
                self.status = self.exit.recv_timeout(Duration::from_secs(5)).ok();
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Opens a port for QEMU to dial, starts `image` on it, and accepts its
/// UART0 connection.
fn start_on_uart(image: &Path) -> (Qemu, Link) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let port = listener.local_addr().expect("local address").port();
    let mut qemu = Qemu::start(image, Some(port));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(listener.accept().map(|(s, _)| s));
    });
    let stream = match rx.recv_timeout(STEP) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => panic!("accepting QEMU's UART connection failed: {e}"),
        Err(_) => panic!(
            "QEMU did not connect its UART within {STEP:?}; stderr:\n{}",
            qemu.stderr_now()
        ),
    };
    stream.set_nodelay(true).expect("nodelay");
    (qemu, Link::new(stream))
}

/// The host's end of UART0: lines out, lines in, each read bounded by a
/// deadline.
struct Link {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Link {
    fn new(stream: TcpStream) -> Self {
        Link {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to the UART");
    }

    /// The next line (without its `\n`), or `None` at the end of the
    /// stream. Panics if none comes within [`STEP`].
    fn line(&mut self) -> Option<String> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8(line[..i].to_vec())
                    .unwrap_or_else(|e| panic!("a line that is not UTF-8: {e}"));
                return Some(text);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no complete line within {STEP:?}; have {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.stream
                .set_read_timeout(Some(left))
                .expect("set a read timeout");
            let mut chunk = [0u8; 512];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    assert!(
                        self.buf.is_empty(),
                        "the UART closed in the middle of a line: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    );
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("reading the UART failed: {e}"),
            }
        }
    }
}

/// A heartbeat line: `beat N T`, with T in ns.
fn beat(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("beat ")?;
    let (n, t) = rest.split_once(' ')?;
    let n = n
        .parse()
        .unwrap_or_else(|_| panic!("bad beat number: {line:?}"));
    let t = parse_seconds(t).unwrap_or_else(|e| panic!("bad beat tyme in {line:?}: {e}"));
    Some((n, t))
}

/// The counters of a `stats` reply, and its wake-up count.
fn stats_of(reply: &str) -> (String, u64) {
    let (counters, wakeups) = reply
        .split_once(" wakeups ")
        .unwrap_or_else(|| panic!("`stats` ends with ` wakeups N`: {reply:?}"));
    let n = wakeups
        .parse()
        .unwrap_or_else(|_| panic!("bad wake-up count in {reply:?}"));
    (counters.to_string(), n)
}

/// The serial flow's side of the conversation: replies, and the beats that
/// come between them.
struct Flow {
    link: Link,
    /// Lines sent so far.
    sent: u32,
    /// Lines received so far (replies and beats).
    received: u32,
    /// Beats so far: number and tyme in ns.
    beats: Vec<(u64, u64)>,
}

impl Flow {
    /// Connects to the serial flow and waits for its first beat.
    fn start(image: &Path) -> (Qemu, Flow) {
        let (qemu, link) = start_on_uart(image);
        let mut flow = Flow {
            link,
            sent: 0,
            received: 0,
            beats: Vec::new(),
        };
        // the first beat says UART0 is up: bytes sent before may be lost
        let first = flow.link.line().expect("the first beat");
        flow.received += 1;
        assert!(
            flow.take_beat(&first),
            "the flow starts with a beat: {first:?}"
        );
        (qemu, flow)
    }

    /// Sends `quit`, checks `bye`, and that QEMU exits with status 0.
    fn quit(mut self, qemu: Qemu) {
        assert_eq!(self.ask("quit").0, "bye");
        // the stop drains what is left (at most a beat), then QEMU exits
        while let Some(line) = self.link.line() {
            assert!(
                self.take_beat(&line),
                "after `bye` only a beat may come: {line:?}"
            );
        }
        let (status, _, stderr) = qemu.finish(STEP);
        assert_eq!(
            status.code(),
            Some(0),
            "`quit` ends the serial flow with exit status 0; stderr:\n{stderr}"
        );
    }

    fn take_beat(&mut self, line: &str) -> bool {
        let Some((n, t)) = beat(line) else {
            return false;
        };
        match self.beats.last() {
            None => assert_eq!((n, t), (1, 0), "the first beat is `beat 1 0.0`: {line:?}"),
            Some(&(pn, pt)) => {
                assert_eq!(n, pn + 1, "beats are numbered one by one: {line:?}");
                assert_eq!(
                    t,
                    pt + BEAT_NS,
                    "beats are exactly 1.0 s of tyme apart: {line:?}"
                );
            }
        }
        self.beats.push((n, t));
        true
    }

    /// The next line that is not a beat.
    fn reply(&mut self) -> String {
        loop {
            let line = self.link.line().expect("a reply before the UART closed");
            self.received += 1;
            if !self.take_beat(&line) {
                return line;
            }
        }
    }

    /// Sends `command` and returns its reply, and the number of lines that
    /// came before the reply.
    fn ask(&mut self, command: &str) -> (String, u32) {
        self.link.send(command);
        self.sent += 1;
        let reply = self.reply();
        (reply, self.received - 1)
    }
}

#[test]
#[ignore = "needs qemu-system-arm; run by cargo xtask test qemu"]
fn serial_flow_answers_beats_and_quits() {
    let images = images();
    let (qemu, mut flow) = Flow::start(&images.serial_flow);

    assert_eq!(flow.ask("echo hello world").0, "hello world");
    assert_eq!(flow.ask("echo").0, "");

    let (tyme, _) = flow.ask("tyme");
    let ns = parse_seconds(&tyme).unwrap_or_else(|e| panic!("`tyme` gave {tyme:?}: {e}"));
    assert!(
        tyme.bytes().all(|b| b.is_ascii_digit() || b == b'.') && tyme.contains('.'),
        "`tyme` gives decimal seconds: {tyme:?}"
    );
    assert_eq!(ns % FLOW_TOCK_NS, 0, "tyme stays on the 10 ms grid: {tyme}");
    if let Some(&(_, last_beat)) = flow.beats.last() {
        assert!(ns >= last_beat, "tyme {tyme} is before the last beat");
    }

    assert_eq!(flow.ask("frobnicate").0, "error: unknown command");
    assert_eq!(flow.ask("tyme please").0, "error: unknown command");

    let (stats, before) = flow.ask("stats");
    let expected = format!(
        "in {} out {before} overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 0 malformed 0",
        flow.sent
    );
    assert_eq!(
        stats_of(&stats).0,
        expected,
        "`stats` counts every line in and out"
    );

    // at least three beats, to see the cadence
    while flow.beats.len() < 3 {
        let line = flow.link.line().expect("beats until quit");
        flow.received += 1;
        assert!(flow.take_beat(&line), "only beats come unasked: {line:?}");
    }
    let (stats, before) = flow.ask("stats");
    assert!(
        stats.starts_with(&format!("in {} out {before} overrun 0 ", flow.sent)),
        "{stats:?}"
    );

    flow.quit(qemu);
}

#[test]
#[ignore = "needs qemu-system-arm; run by cargo xtask test qemu"]
fn serial_flow_sleeps_while_idle_and_loses_nothing() {
    let images = images();
    let (qemu, mut flow) = Flow::start(&images.serial_flow);
    let (_, before) = stats_of(&flow.ask("stats").0);
    let beats = flow.beats.len();
    // the idle stretch: nothing is sent; the beats wait in the socket
    thread::sleep(IDLE);
    let (_, after) = stats_of(&flow.ask("stats").0);
    let idle_beats = (flow.beats.len() - beats) as u64;
    // what a command itself costs (the interrupt, the pass on the grid, the
    // console's pass), measured at once with nothing idle between
    let beats = flow.beats.len();
    let (_, again) = stats_of(&flow.ask("stats").0);
    let command = (again - after).saturating_sub((flow.beats.len() - beats) as u64);
    let idle = (after - before).saturating_sub(command);
    println!(
        "wake-ups: {before} before, {after} after {IDLE:?} idle ({idle_beats} beats), {again} after one more command: {idle} while idle, {command} per command"
    );
    assert!(
        idle <= IDLE_WAKEUPS,
        "an idle serial flow wakes for its beats only: {idle} wake-ups in {IDLE:?} ({before} before, {after} after, {command} per command)"
    );
    assert!(
        idle >= idle_beats,
        "each of the {idle_beats} beats took a wake-up: {idle} counted"
    );
    // a line after the idle stretch comes back byte for byte
    let text =
        "after the idle stretch: 0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \u{e9}\u{2192}";
    assert_eq!(flow.ask(&format!("echo {text}")).0, text);
    // a burst, all at once: more lines than the Decks hold, so the parked
    // doers are woken by room as well as by lines; every one comes back
    let burst: Vec<String> = (0..24).map(|k| format!("line {k} of the burst")).collect();
    let all: String = burst.iter().map(|l| format!("echo {l}\n")).collect();
    flow.link
        .stream
        .write_all(all.as_bytes())
        .expect("write to the UART");
    flow.sent += burst.len() as u32;
    for l in &burst {
        assert_eq!(&flow.reply(), l);
    }
    let (stats, _) = flow.ask("stats");
    assert!(
        stats.contains(" overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 0 malformed 0 "),
        "nothing lost in the burst: {stats:?}"
    );
    flow.quit(qemu);
}

#[test]
#[ignore = "needs qemu-system-arm; run by cargo xtask test qemu"]
fn line_echo_sends_every_line_back() {
    let images = images();
    let (qemu, mut link) = start_on_uart(&images.line_echo);
    // its greeting says UART0 is up: bytes sent before may be lost
    assert_eq!(link.line().as_deref(), Some("line-echo"));
    let lines = [
        "hello".to_string(),
        "two  spaces, symbols !@#$%^&*() and UTF-8: \u{2192}".into(),
        String::new(),
        "x".repeat(64), // the longest line line-echo takes
        "\tleading tab and trailing space ".into(),
    ];
    // one by one, then all at once (the Deck holds two: backpressure)
    for l in &lines {
        link.send(l);
        assert_eq!(link.line().as_deref(), Some(l.as_str()));
    }
    for l in &lines {
        link.send(l);
    }
    for l in &lines {
        assert_eq!(link.line().as_deref(), Some(l.as_str()));
    }
    // a line too long is dropped; the next one comes back
    link.send(&"y".repeat(65));
    link.send("after");
    assert_eq!(link.line().as_deref(), Some("after"));
    drop(qemu);
}

/// One scenario's trace, rebuilt from the image's output.
#[derive(Debug)]
struct Run {
    file: String,
    trace: TraceWriter,
    ended: bool,
}

/// Parses the conformance image's output into traces, and its mismatch
/// and summary lines.
fn parse_conformance(out: &str) -> (Vec<Run>, Vec<String>, Option<String>) {
    let (mut runs, mut mismatches, mut summary) = (Vec::<Run>::new(), Vec::new(), None);
    for line in out.lines() {
        let mut words = line.split(' ');
        match words.next() {
            Some("SCENARIO") => runs.push(Run {
                file: words.next().unwrap_or("").to_string(),
                trace: TraceWriter::new(),
                ended: false,
            }),
            Some("E") => {
                let (Some(doer), Some(context), Some(ns)) =
                    (words.next(), words.next(), words.next())
                else {
                    panic!("a bad event line: {line:?}");
                };
                let ns = ns.parse().unwrap_or_else(|_| panic!("bad tyme: {line:?}"));
                let run = runs.last_mut().expect("an event before any SCENARIO line");
                run.trace.event(doer, context, ns);
            }
            Some("END") => {
                let (Some(end), Some(ns), Some(origin)) =
                    (words.next(), words.next(), words.next())
                else {
                    panic!("a bad end line: {line:?}");
                };
                let ns = ns.parse().unwrap_or_else(|_| panic!("bad tyme: {line:?}"));
                let run = runs.last_mut().expect("an end before any SCENARIO line");
                run.trace
                    .end(end, ns, if origin == "-" { None } else { Some(origin) });
                run.ended = true;
            }
            Some("MISMATCH") => mismatches.push(line.to_string()),
            Some("conformance:") => summary = Some(line.to_string()),
            _ => {}
        }
    }
    (runs, mismatches, summary)
}

#[test]
#[ignore = "needs qemu-system-arm; run by cargo xtask test qemu"]
fn conformance_vectors_run_on_the_target() {
    let images = images();
    let (status, out, stderr) = Qemu::start(&images.conformance, None).finish(QEMU_LIMIT);
    let (runs, mismatches, summary) = parse_conformance(&out);

    let dir = tests_dir().join("conformance");
    let mut vectors: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("the conformance directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    vectors.sort();
    assert!(vectors.len() >= 30, "found {} vectors", vectors.len());

    let mut failures = Vec::new();
    for path in &vectors {
        let file = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let Some(run) = runs.iter().find(|r| r.file == file) else {
            failures.push(format!("{file}: the image did not run it"));
            continue;
        };
        if !run.ended {
            failures.push(format!("{file}: no END line"));
            continue;
        }
        let expected = fs::read_to_string(path.with_extension("trace.jsonl"))
            .expect("read the expected trace");
        if let Err(diff) = compare_traces(&expected, run.trace.as_str()) {
            failures.push(format!("{file}: {diff}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ on the target:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    assert_eq!(
        runs.len(),
        vectors.len(),
        "the image runs every vector once"
    );
    assert!(
        mismatches.is_empty(),
        "the image's own check: {mismatches:#?}"
    );
    assert_eq!(
        summary.as_deref(),
        Some(format!("conformance: {} passed, 0 failed", vectors.len()).as_str()),
    );
    assert_eq!(
        status.code(),
        Some(0),
        "the image's exit status; stderr:\n{stderr}"
    );
}

#[test]
#[ignore = "needs qemu-system-arm; run by cargo xtask test qemu"]
fn sizes_of_the_serial_flow_tree() {
    let images = images();
    let (status, out, stderr) = Qemu::start(&images.sizes, None).finish(STEP);
    println!("{out}");
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");
    let total = out
        .lines()
        .find(|l| l.starts_with("serial-flow's tree"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("a total line");
    assert!(
        total > 0 && total < 64 * 1024,
        "the tree fits the RAM: {total}"
    );
}

#[test]
#[ignore = "needs qemu-system-arm; run by cargo xtask test qemu"]
fn a_tree_with_its_doers_in_statics_runs() {
    let images = images();
    let (status, out, stderr) = Qemu::start(&images.static_tree, None).finish(STEP);
    assert_eq!(status.code(), Some(0), "stdout:\n{out}\nstderr:\n{stderr}");
    assert!(
        out.contains("static-tree: limit at 1.0: fast ran 10 times, slow 4 times"),
        "{out}"
    );
}

/// QEMU with UART0 on a pseudo-terminal (`-chardev pty`), as a board on a
/// USB serial adapter looks to the host: the serial flow's image, and the
/// path of the pty's slave end that QEMU made.
struct QemuOnPty {
    /// Held while it runs: one pty QEMU at a time in this process. (Two
    /// bridge tests running at once once crossed: a bridge got the other
    /// test's line, which a pty number taken again can do. Each test takes
    /// a few seconds.)
    _turn: std::sync::MutexGuard<'static, ()>,
    /// The `timeout` process that runs QEMU.
    pid: u32,
    exit: mpsc::Receiver<ExitStatus>,
    status: Option<ExitStatus>,
    path: PathBuf,
}

impl QemuOnPty {
    fn start(image: &Path) -> QemuOnPty {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        // (a test that failed while holding it leaves it poisoned, not held)
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let mut child = Command::new("timeout")
            .args(["-k", "5", &QEMU_LIMIT.as_secs().to_string()])
            .arg("qemu-system-arm")
            .args(["-cpu", "cortex-m3", "-machine", "lm3s6965evb"])
            .args(["-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-chardev", "pty,id=s0", "-serial", "chardev:s0"])
            .arg("-kernel")
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start qemu-system-arm under timeout: {e} (install qemu-system-arm)")
            });
        // QEMU names the pty on stdout: `char device redirected to /dev/pts/N (label s0)`
        let (path_tx, path_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("QEMU's stdout");
        thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.strip_prefix("char device redirected to ") {
                    let path = rest.split(" (").next().unwrap_or(rest).to_string();
                    let _ = path_tx.send(PathBuf::from(path));
                }
            }
        });
        let pid = child.id();
        let (tx, exit) = mpsc::channel();
        thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        let path = path_rx
            .recv_timeout(STEP)
            .expect("QEMU names its pty on stdout");
        QemuOnPty {
            _turn: turn,
            pid,
            exit,
            status: None,
            path,
        }
    }

    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.exit.recv_timeout(limit).ok();
        }
        self.status
    }
}

impl Drop for QemuOnPty {
    fn drop(&mut self) {
        if self.wait(Duration::ZERO).is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid.to_string()])
                .status();
            let _ = self.wait(Duration::from_secs(10));
        }
    }
}

/// The serial flow's firmware under QEMU, its UART0 on a pty, bridged to
/// TCP by hio-std's bridge (the pty opened as a serial device): a client
/// on loopback holds the conversation, byte for byte, and `quit` ends the
/// firmware with status 0.
#[test]
#[ignore = "needs qemu-system-arm; run by cargo xtask test qemu"]
fn serial_flow_through_the_bridge_over_tcp() {
    use hio_std::bridge::{self, BridgeConfig};
    let images = images();
    let mut qemu = QemuOnPty::start(&images.serial_flow);
    let config = BridgeConfig::new(&qemu.path, "127.0.0.1:0".parse().expect("an address"));
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let r = bridge::run(&config, false, &mut |addr, stop| {
            let _ = ready_tx.send((addr, stop));
        });
        let _ = done_tx.send(r.map(|report| report.end));
    });
    let (addr, stop) = ready_rx.recv_timeout(STEP).expect("the bridge is ready");
    let stream = TcpStream::connect(addr).expect("connect to the bridge");
    stream.set_nodelay(true).expect("nodelay");
    let mut link = Link::new(stream);
    // the first beat through the bridge says UART0 is up (earlier beats
    // went to no client)
    let first = loop {
        let line = link.line().expect("a beat through the bridge");
        if let Some(b) = beat(&line) {
            break b;
        }
    };
    let mut flow = Flow {
        link,
        sent: 0,
        received: 1,
        beats: vec![first],
    };
    assert_eq!(flow.ask("echo hello world").0, "hello world");
    let text = "byte for byte: 0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \u{e9}\u{2192}\ttab";
    assert_eq!(flow.ask(&format!("echo {text}")).0, text);
    let tyme = flow.ask("tyme").0;
    parse_seconds(&tyme).unwrap_or_else(|e| panic!("`tyme` gave {tyme:?}: {e}"));
    // a burst: more lines than the firmware's Decks hold, all come back
    let burst: Vec<String> = (0..24).map(|k| format!("line {k} of the burst")).collect();
    let all: String = burst.iter().map(|l| format!("echo {l}\n")).collect();
    flow.link
        .stream
        .write_all(all.as_bytes())
        .expect("write to the bridge");
    flow.sent += burst.len() as u32;
    for l in &burst {
        assert_eq!(&flow.reply(), l);
    }
    let (stats, _) = flow.ask("stats");
    assert!(
        stats.starts_with(&format!("in {} out ", flow.sent)),
        "every line reached the firmware: {stats:?}"
    );
    assert!(
        stats.contains(" overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 0 malformed 0 "),
        "nothing lost through the bridge: {stats:?}"
    );
    assert_eq!(flow.ask("quit").0, "bye");
    let status = qemu.wait(STEP).expect("QEMU exits after `quit`");
    assert_eq!(
        status.code(),
        Some(0),
        "`quit` ends the firmware with status 0"
    );
    stop.stop();
    let end = done_rx
        .recv_timeout(STEP)
        .expect("the bridge ends when stopped");
    assert_eq!(end.map(|e| e.as_str()), Ok("stopped"));
}

/// The same through the bridge over TLS: the bridge serves its clients with
/// a certificate from hio's [`Authority`](hio_std::net::tls::Authority);
/// `openssl s_client` (an independent TLS client, verifying the chain) is
/// the client; the conversation goes through byte for byte and `quit`
/// ends the firmware with status 0.
#[test]
#[ignore = "needs qemu-system-arm and openssl; run by cargo xtask test qemu"]
fn serial_flow_through_the_bridge_over_tls() {
    use std::io::BufRead;

    use hio_std::bridge::{self, BridgeConfig};
    use hio_std::net::tls::{Authority, ServerTls};
    let images = images();
    let dir = std::env::temp_dir().join(format!("hio-qemu-tls-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("a temporary directory");
    let ca = Authority::new("hio qemu test CA").expect("a CA");
    let issued = ca
        .issue_server(&["localhost"])
        .expect("a server certificate");
    let ca_pem = dir.join("ca.pem");
    fs::write(&ca_pem, ca.cert_pem()).expect("write ca.pem");
    let tls = ServerTls::from_pem(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes())
        .and_then(|b| b.build())
        .expect("a server TLS configuration");
    let mut qemu = QemuOnPty::start(&images.serial_flow);
    let config =
        BridgeConfig::new(&qemu.path, "127.0.0.1:0".parse().expect("an address")).tls(Some(tls));
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let r = bridge::run(&config, false, &mut |addr, stop| {
            let _ = ready_tx.send((addr, stop));
        });
        let _ = done_tx.send(r.map(|report| report.end));
    });
    let (addr, stop) = ready_rx.recv_timeout(STEP).expect("the bridge is ready");
    let mut client = Command::new("timeout")
        .args([
            "-k",
            "5",
            &QEMU_LIMIT.as_secs().to_string(),
            "openssl",
            "s_client",
        ])
        .args(["-connect", &addr.to_string(), "-servername", "localhost"])
        .arg("-CAfile")
        .arg(&ca_pem)
        .args(["-verify_return_error", "-quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client (install openssl)");
    let mut to_board = client.stdin.take().expect("its stdin");
    let from_board = client.stdout.take().expect("its stdout");
    let (line_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in std::io::BufReader::new(from_board)
            .lines()
            .map_while(Result::ok)
        {
            let _ = line_tx.send(line);
        }
    });
    let next = || {
        lines
            .recv_timeout(STEP)
            .expect("a line through the bridge over TLS")
    };
    // the first beat says the TLS session is up and UART0 too
    while beat(&next()).is_none() {}
    let mut ask = |command: &str| -> String {
        writeln!(to_board, "{command}").expect("write to openssl");
        to_board.flush().expect("flush");
        loop {
            let line = next();
            if beat(&line).is_none() {
                return line;
            }
        }
    };
    assert_eq!(ask("echo hello over tls"), "hello over tls");
    let text = "byte for byte: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \u{e9}\u{2192}";
    assert_eq!(ask(&format!("echo {text}")), text);
    let stats = ask("stats");
    assert!(
        stats.starts_with("in 3 out ")
            && stats
                .contains(" overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 0 malformed 0 "),
        "{stats:?}"
    );
    assert_eq!(ask("quit"), "bye");
    let status = qemu.wait(STEP).expect("QEMU exits after `quit`");
    assert_eq!(
        status.code(),
        Some(0),
        "`quit` ends the firmware with status 0"
    );
    drop(to_board);
    let _ = client.kill();
    let _ = client.wait();
    stop.stop();
    let end = done_rx
        .recv_timeout(STEP)
        .expect("the bridge ends when stopped");
    assert_eq!(end.map(|e| e.as_str()), Ok("stopped"));
    let _ = fs::remove_dir_all(&dir);
}
