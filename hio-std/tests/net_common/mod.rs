//! Helpers of the networking tests: the `hio` binary as a child, servers on
//! threads, file-descriptor limits, process figures. Loopback only.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use hio_core::{Report, StopFlag};
use hio_std::net::{tool, ServerConfig};

/// The safety net of every wait: a test that waits longer has failed.
pub const NET: Duration = Duration::from_secs(20);

/// A `hio` child with its ready line read.
pub struct HioChild {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout: BufReader<ChildStdout>,
}

impl HioChild {
    /// Starts `hio ARGS` and waits for its `listening on IP:PORT` line.
    pub fn start(args: &[&str]) -> HioChild {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hio"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hio");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("ready line");
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("not a ready line: {line:?}"));
        HioChild {
            child,
            addr,
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` and waits for the exit status.
    pub fn signal(mut self, signal: i32) -> std::process::ExitStatus {
        // SAFETY: kill(2) with a child's pid and a signal number.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
        self.child.wait().expect("wait")
    }
}

impl Drop for HioChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/PID/status`, as a number (kB for memory).
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in status"))
}

/// How many file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("fd dir").count()
}

/// Raises the open-file limit to `want` (or the hard limit). Returns false
/// (and says so) if it stays below `want`.
pub fn raise_fd_limit(want: u64) -> bool {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        }
    }
    if lim.rlim_cur < want {
        eprintln!(
            "SKIPPED: the open-file limit is {} and cannot be raised to {want}",
            lim.rlim_cur
        );
        return false;
    }
    true
}

/// An echo server (`tool::echo`) on a thread of this process.
pub struct EchoThread {
    pub addr: SocketAddr,
    stop: &'static StopFlag,
    handle: Option<JoinHandle<Result<Report, tool::ToolError>>>,
}

impl EchoThread {
    pub fn start(config: ServerConfig) -> EchoThread {
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            tool::echo(
                "127.0.0.1:0".parse().unwrap(),
                config,
                false,
                &mut |addr, stop| {
                    let _ = tx.send((addr, stop));
                },
            )
        });
        let (addr, stop) = rx.recv_timeout(NET).expect("server ready");
        EchoThread {
            addr,
            stop,
            handle: Some(handle),
        }
    }

    /// Stops it and returns its report.
    pub fn stop(mut self) -> Report {
        self.stop.stop();
        self.handle
            .take()
            .expect("running")
            .join()
            .expect("server thread")
            .expect("server run")
    }
}

impl Drop for EchoThread {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.stop.stop();
            let _ = h.join();
        }
    }
}

/// A blocking loopback client with the safety-net timeouts.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, NET).expect("connect");
    s.set_read_timeout(Some(NET)).unwrap();
    s.set_write_timeout(Some(NET)).unwrap();
    s
}

/// Writes `bytes`, half-closes, reads everything until the server closes.
pub fn round_trip(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    let writer = {
        let mut w = s.try_clone().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            w.write_all(&bytes).unwrap();
            w.shutdown(std::net::Shutdown::Write).unwrap();
        })
    };
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read to end");
    writer.join().unwrap();
    got
}

/// Reads one line (without `\n`).
pub fn read_line(r: &mut impl BufRead) -> String {
    let mut l = String::new();
    r.read_line(&mut l).expect("line");
    l.trim_end_matches('\n').to_string()
}

/// Pseudo-random bytes (every value appears).
pub fn payload(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as u8) ^ (i as u8)
        })
        .collect()
}

/// What a [`ServerThread`] runs as its application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// Byte echo.
    Echo,
    /// Lines, answered in upper case through Decks.
    Upper,
}

/// A server built from the library's doers on a thread of this process;
/// its counters come back when it stops.
pub struct ServerThread {
    pub addr: SocketAddr,
    stop: &'static StopFlag,
    handle: Option<JoinHandle<(Report, hio_std::net::ServerStats)>>,
}

impl ServerThread {
    pub fn start(config: ServerConfig, app: App) -> ServerThread {
        use hio_core::{Deck, Doist};
        use hio_std::net::{
            EchoServerDoer, Line, LineServer, LineService, Server, ServerDoer, ServerParts,
        };
        use hio_std::reactor::{Reactor, NET_TOCK};
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || {
                let reactor = Reactor::new().unwrap();
                let server =
                    Server::bind(&reactor, "127.0.0.1:0".parse().unwrap(), config).unwrap();
                let mut parts = ServerParts::new(&server).unwrap();
                let mut serve: ServerDoer<'_, 4097> =
                    ServerDoer::new("server", &mut parts).unwrap();
                let mut echo = EchoServerDoer::new(&server).unwrap();
                let requests: Deck<Line, 64> = Deck::new();
                let replies: Deck<Line, 64> = Deck::new();
                let mut lines = LineServer::new(&server, &requests, &replies).unwrap();
                let mut upper =
                    LineService::new(&requests, &replies, |l: &[u8]| l.to_ascii_uppercase())
                        .with_waker(reactor.waker().unwrap());
                let mut doist: Doist<'_, 3> = Doist::new(NET_TOCK).unwrap();
                doist.wakes(reactor.board());
                doist.add(&mut serve).unwrap();
                match app {
                    App::Echo => doist.add(&mut echo).unwrap(),
                    App::Upper => {
                        doist.add(&mut lines).unwrap();
                        doist.add(&mut upper).unwrap();
                    }
                }
                tx.send((server.local_addr(), reactor.stop_flag())).unwrap();
                let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
                (report, server.stats())
            })
            .unwrap();
        let (addr, stop) = rx.recv_timeout(NET).expect("server ready");
        ServerThread {
            addr,
            stop,
            handle: Some(handle),
        }
    }

    /// Stops it; its report and counters.
    pub fn stop(mut self) -> (Report, hio_std::net::ServerStats) {
        self.stop.stop();
        self.handle.take().unwrap().join().expect("server thread")
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.stop.stop();
            let _ = h.join();
        }
    }
}
