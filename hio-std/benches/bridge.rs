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
//! ```text
//! cargo bench -p hio-std --bench bridge            # the measurement (a few seconds)
//! cargo bench -p hio-std --bench bridge -- --test  # one short smoke round
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

#[derive(Debug, Clone, Copy)]
struct Row {
    p50: Duration,
    p99: Duration,
    per_sec: f64,
}

fn pct(mut v: Vec<Duration>, q: f64) -> Duration {
    v.sort_unstable();
    v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// Round trips of single lines, then pipelined throughput, over `io`.
fn measure<S: std::io::Read + Write>(
    mut w: S,
    r: &mut BufReader<impl std::io::Read>,
    rounds: usize,
    lines: usize,
) -> Row {
    let payload = "x".repeat(63);
    let mut line = String::new();
    // warm up
    for _ in 0..20 {
        writeln!(w, "{payload}").expect("write");
        line.clear();
        r.read_line(&mut line).expect("echo");
    }
    let mut rtts = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        writeln!(w, "{payload}").expect("write");
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
            writeln!(w, "{payload}").expect("write");
            sent += 1;
        }
        w.flush().expect("flush");
        line.clear();
        r.read_line(&mut line).expect("echo");
        got += 1;
    }
    let per_sec = lines as f64 / start.elapsed().as_secs_f64();
    Row {
        p50: pct(rtts.clone(), 0.5),
        p99: pct(rtts, 0.99),
        per_sec,
    }
}

fn tcp_row(addr: SocketAddr, rounds: usize, lines: usize) -> Row {
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
    measure(s, &mut r, rounds, lines)
}

/// The bare pty: the same lines straight on its slave end.
fn bare_row(path: &Path, rounds: usize, lines: usize) -> Row {
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

fn print(name: &str, row: Row, bare: Row) {
    let added = row.p50.saturating_sub(bare.p50);
    println!(
        "{name:<22} {:>9.0} lines/s   round trip p50 {:>7.1} µs  p99 {:>7.1} µs   added p50 {:>7.1} µs",
        row.per_sec,
        row.p50.as_secs_f64() * 1e6,
        row.p99.as_secs_f64() * 1e6,
        added.as_secs_f64() * 1e6
    );
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    let (rounds, lines) = if smoke { (50, 500) } else { (2000, 50_000) };
    let pty = Pty::open().expect("a pty");
    let path = pty.path().to_path_buf();
    let done = Arc::new(AtomicBool::new(false));
    let board = {
        let tty = pty.into_tty();
        let done = done.clone();
        thread::spawn(move || echo_board(tty, done))
    };
    println!(
        "bridge bench: 64-byte lines, echoed by a board on {}",
        path.display()
    );
    let bare = bare_row(&path, rounds, lines);
    print("bare pty (no relay)", bare, bare);

    // hio's bridge
    let (ready_tx, ready_rx) = mpsc::channel();
    let config = BridgeConfig::new(&path, "127.0.0.1:0".parse().expect("addr"));
    let bridge_thread = thread::spawn(move || {
        bridge::run(&config, false, &mut |addr, stop| {
            let _ = ready_tx.send((addr, stop));
        })
    });
    let (addr, stop) = ready_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the bridge is ready");
    let hio = tcp_row(addr, rounds, lines);
    print("hio bridge", hio, bare);
    stop.stop();
    let _ = bridge_thread.join();

    match socat(&path) {
        Some((mut child, addr)) => {
            let row = tcp_row(addr, rounds, lines);
            print("socat", row, bare);
            let _ = child.kill();
            let _ = child.wait();
        }
        None => println!("socat: not installed, skipped (Debian package `socat`)"),
    }
    done.store(true, Ordering::Relaxed);
    let _ = board.join();
}
