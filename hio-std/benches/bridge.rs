//! The serial-to-network bridge's throughput and added latency: a
//! pseudo-terminal pair whose master end is an echo board (a thread that
//! writes every byte back), the bridge on its slave end, and a TCP client
//! on loopback; against `socat` relaying the same pty to TCP, in the same
//! run (skipped with a message when `socat` is not installed: Debian
//! package `socat`).
//!
//! - latency: one line at a time, its round trip (client → relay → pty →
//!   echo → pty → relay → client); *added* is the round trip minus the
//!   round trip of the same line over the bare pty (no relay).
//! - throughput: lines of 64 bytes pipelined (up to 64 in flight), echoed
//!   lines per second.
//!
//! The relays run in paired rounds (hio then socat, then socat then hio,
//! ...), each on the same pty, board and load, one at a time; a line is
//! one write of the client. Printed: the median throughput of each relay's
//! rounds, the medians of its rounds' round-trip percentiles, the relay's CPU
//! time per line (the bridge's thread; socat's process; from the client's
//! connection to its last line, from the scheduler's count), and the ratios
//! hio/socat (throughput: the median of the pairs' ratios). Other work on
//! the machine moves every figure, the throughput most (each pair's ratio
//! is printed too): judge by the ratios of several runs.
//!
//! ```text
//! cargo bench -p hio-std --bench bridge            # the measurement (20 pairs, 10-20 s)
//! cargo bench -p hio-std --bench bridge -- --test  # one short smoke round
//! BRIDGE_BENCH=hio cargo bench -p hio-std --bench bridge  # one relay alone (profiling)
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use embedded_io::{Read as _, ReadReady, Write as _};
use hio_std::bridge::{self, BridgeConfig};
use hio_std::tty::{Pty, Tty, TtyConfig};

fn poll(fd: i32, events: i16, ms: i32) {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut p, 1, ms) };
}

/// The echo board on the pty's master: every byte goes back, until `done`.
fn echo_board(mut tty: Tty, done: Arc<AtomicBool>) {
    let mut buf = [0u8; 4096];
    while !done.load(Ordering::Relaxed) {
        let Some(fd) = tty.raw_fd() else { return };
        if !tty.read_ready().unwrap_or(false) {
            if tty.lost().is_some() {
                return;
            }
            poll(fd, libc::POLLIN, 50);
            continue;
        }
        let Ok(n) = tty.read(&mut buf) else { return };
        let mut sent = 0;
        while sent < n {
            match tty.write(&buf[sent..n]) {
                Ok(k) => sent += k,
                Err(_) => poll(fd, libc::POLLOUT, 50),
            }
        }
    }
}

/// One measured round of a relay: its round trips and its throughput.
#[derive(Debug, Clone, Default)]
struct Round {
    rtts: Vec<Duration>,
    per_sec: f64,
    /// The relay's CPU time over the round (from the client's connection
    /// to its last line: no start-up), per line through it (0 when not
    /// measured).
    cpu_per_line: Duration,
}

/// Lines through a relay in one round of `measure`.
fn lines_of(rounds: usize, lines: usize) -> u32 {
    u32::try_from(WARM_UP + rounds + lines).unwrap_or(u32::MAX)
}

const WARM_UP: usize = 20;

/// The time a task (a process, or a thread: `/proc/self/task/TID`) has
/// run on a CPU, from the scheduler's own count (nanoseconds); `None` if
/// the system does not say.
fn cpu_of(task: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("{task}/schedstat")).ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The calling thread's task, for [`cpu_of`].
fn this_thread() -> String {
    // SAFETY: gettid takes nothing and cannot fail.
    let tid = unsafe { libc::gettid() };
    format!("/proc/self/task/{tid}")
}

fn pct(v: &mut [Duration], q: f64) -> Duration {
    v.sort_unstable();
    v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Round trips of single lines, then pipelined throughput, over `io`. A
/// line is one write, as a client sending lines writes it.
fn measure<S: std::io::Read + Write>(
    mut w: S,
    r: &mut BufReader<impl std::io::Read>,
    rounds: usize,
    lines: usize,
) -> Round {
    let payload = format!("{}\n", "x".repeat(63));
    let payload = payload.as_bytes();
    let mut line = String::new();
    // warm up
    for _ in 0..WARM_UP {
        w.write_all(payload).expect("write");
        line.clear();
        r.read_line(&mut line).expect("echo");
    }
    let mut rtts = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        w.write_all(payload).expect("write");
        w.flush().expect("flush");
        line.clear();
        r.read_line(&mut line).expect("echo");
        rtts.push(t.elapsed());
    }
    // pipelined: keep up to 64 lines in flight
    let start = Instant::now();
    let (mut sent, mut got) = (0, 0);
    while got < lines {
        while sent < lines && sent - got < 64 {
            w.write_all(payload).expect("write");
            sent += 1;
        }
        w.flush().expect("flush");
        line.clear();
        r.read_line(&mut line).expect("echo");
        got += 1;
    }
    let per_sec = lines as f64 / start.elapsed().as_secs_f64();
    Round {
        rtts,
        per_sec,
        cpu_per_line: Duration::ZERO,
    }
}

/// A round through the relay at `addr`, its CPU time read from `task`.
fn tcp_row(addr: SocketAddr, rounds: usize, lines: usize, task: &str) -> Round {
    // socat serves one connection: the first that gets through is the
    // measured one (refused until it listens; bounded)
    let deadline = Instant::now() + Duration::from_secs(10);
    let s = loop {
        match TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("cannot connect to {addr}: {e}"),
        }
    };
    s.set_nodelay(true).expect("nodelay");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let before = cpu_of(task);
    let mut row = measure(s, &mut r, rounds, lines);
    if let (Some(a), Some(b)) = (before, cpu_of(task)) {
        row.cpu_per_line = b.saturating_sub(a) / lines_of(rounds, lines);
    }
    row
}

/// The bare pty: the same lines straight on its slave end.
fn bare_row(path: &Path, rounds: usize, lines: usize) -> Round {
    let tty = Tty::open(path, TtyConfig::default()).expect("open the pty");
    let fd = tty.raw_fd().expect("open");
    // blocking std I/O on a dup of the descriptor
    // SAFETY: dup of an open descriptor; the File owns the copy.
    let file = unsafe {
        use std::os::fd::FromRawFd;
        let d = libc::dup(fd);
        let flags = libc::fcntl(d, libc::F_GETFL);
        libc::fcntl(d, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        std::fs::File::from_raw_fd(d)
    };
    let mut r = BufReader::new(file.try_clone().expect("clone"));
    let row = measure(file, &mut r, rounds, lines);
    drop(tty);
    row
}

/// socat relaying the pty's slave end to a TCP port; `None` if absent.
fn socat(path: &Path) -> Option<(Child, SocketAddr)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .ok()?
        .port();
    let child = Command::new("socat")
        .arg(format!(
            "TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,nodelay"
        ))
        .arg(format!("FILE:{},raw,echo=0", path.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some((child, ([127, 0, 0, 1], port).into()))
}

/// One round of hio's bridge on the pty.
fn hio_row(path: &Path, rounds: usize, lines: usize) -> Round {
    let (ready_tx, ready_rx) = mpsc::channel();
    let config = BridgeConfig::new(path, "127.0.0.1:0".parse().expect("addr"));
    let bridge_thread = thread::Builder::new()
        .name("hio-bridge".into())
        .spawn(move || {
            let task = this_thread();
            bridge::run(&config, false, &mut |addr, stop| {
                let _ = ready_tx.send((addr, stop, task.clone()));
            })
        })
        .expect("a thread");
    let (addr, stop, task) = ready_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the bridge is ready");
    let row = tcp_row(addr, rounds, lines, &task);
    stop.stop();
    let _ = bridge_thread.join();
    row
}

/// One round of socat on the pty; `None` if it is not installed.
fn socat_row(path: &Path, rounds: usize, lines: usize) -> Option<Round> {
    let (mut child, addr) = socat(path)?;
    let row = tcp_row(addr, rounds, lines, &format!("/proc/{}", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    Some(row)
}

/// The rounds of one relay, summed up: the medians over its rounds of the
/// throughput, of the round trip's p50 and of its p99 (a round that other
/// work on the machine slowed down moves a median little, where it would
/// set the p99 of all round trips pooled).
struct Summary {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    /// The median of the rounds' CPU time per line.
    cpu: Duration,
}

fn summary(rounds: &[Round]) -> Summary {
    let each = |q: f64| {
        Duration::from_secs_f64(median(
            rounds
                .iter()
                .map(|r| pct(&mut r.rtts.clone(), q).as_secs_f64())
                .collect(),
        ))
    };
    Summary {
        per_sec: median(rounds.iter().map(|r| r.per_sec).collect()),
        p50: each(0.5),
        p99: each(0.99),
        cpu: Duration::from_secs_f64(median(
            rounds
                .iter()
                .map(|r| r.cpu_per_line.as_secs_f64())
                .collect(),
        )),
    }
}

fn print(name: &str, s: &Summary, bare: &Summary) {
    let added = s.p50.saturating_sub(bare.p50);
    let cpu = if s.cpu.is_zero() {
        String::new()
    } else {
        format!("   CPU {:>5.2} µs/line", s.cpu.as_secs_f64() * 1e6)
    };
    println!(
        "{name:<22} {:>9.0} lines/s   round trip p50 {:>7.1} µs  p99 {:>7.1} µs   added p50 {:>7.1} µs{cpu}",
        s.per_sec,
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        added.as_secs_f64() * 1e6
    );
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    // paired rounds, hio and socat one after the other (in alternating
    // order, so neither always runs first), on the same pty and board
    let (pairs, rounds, lines) = if smoke {
        (1, 50, 500)
    } else {
        (20, 1000, 20_000)
    };
    let pty = Pty::open().expect("a pty");
    let path = pty.path().to_path_buf();
    let done = Arc::new(AtomicBool::new(false));
    let board = {
        let tty = pty.into_tty();
        let done = done.clone();
        thread::spawn(move || echo_board(tty, done))
    };
    println!(
        "bridge bench: 64-byte lines, echoed by a board on {}; {pairs} paired rounds of {rounds} round trips and {lines} pipelined lines",
        path.display()
    );
    let (mut bare, mut hio, mut socat) = (Vec::new(), Vec::new(), Vec::new());
    let mut ratios = Vec::new();
    let mut have_socat = true;
    // for profiling one relay alone: BRIDGE_BENCH=hio or BRIDGE_BENCH=socat
    let only = std::env::var("BRIDGE_BENCH").ok();
    if let Some(which) = only.as_deref() {
        for _ in 0..pairs {
            let r = match which {
                "socat" => socat_row(&path, rounds, lines),
                _ => Some(hio_row(&path, rounds, lines)),
            };
            hio.extend(r);
        }
        print(which, &summary(&hio), &summary(&hio));
        done.store(true, Ordering::Relaxed);
        let _ = board.join();
        return;
    }
    for i in 0..pairs {
        bare.push(bare_row(&path, rounds, lines));
        let (h, s) = if i % 2 == 0 {
            let h = hio_row(&path, rounds, lines);
            (h, socat_row(&path, rounds, lines))
        } else {
            let s = socat_row(&path, rounds, lines);
            (hio_row(&path, rounds, lines), s)
        };
        if let Some(s) = s {
            ratios.push(h.per_sec / s.per_sec);
            socat.push(s);
        } else {
            have_socat = false;
        }
        hio.push(h);
    }
    let bare = summary(&bare);
    print("bare pty (no relay)", &bare, &bare);
    let hio = summary(&hio);
    print("hio bridge", &hio, &bare);
    if have_socat {
        let socat = summary(&socat);
        print("socat", &socat, &bare);
        let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "hio/socat: throughput {:.2} (median of the pairs {}; above 1: hio moves more)",
            median(ratios),
            each.join(" "),
        );
        println!(
            "hio/socat: round trip p50 {:.2} p99 {:.2}, CPU per line {:.2} (below 1: hio is quicker, or uses less)",
            hio.p50.as_secs_f64() / socat.p50.as_secs_f64(),
            hio.p99.as_secs_f64() / socat.p99.as_secs_f64(),
            hio.cpu.as_secs_f64() / socat.cpu.as_secs_f64(),
        );
    } else {
        println!("socat: not installed, skipped (Debian package `socat`)");
    }
    done.store(true, Ordering::Relaxed);
    let _ = board.join();
}
