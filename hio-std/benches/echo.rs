//! Echo server throughput and latency: hio's `ServerDoer` + `EchoServerDoer`
//! against a tokio echo server (current-thread runtime, a task per
//! connection), both driven by the same load generator (one mio loop,
//! loopback only) in the same run.
//!
//! ```text
//! cargo bench -p hio-std --bench echo            # the measurement (< 1 min)
//! cargo bench -p hio-std --bench echo -- --test  # one short smoke round
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hio_core::StopFlag;
use hio_std::net::{tool, ServerConfig};
use mio::{Events, Interest, Poll, Token};

/// One row's figures.
#[derive(Debug, Clone, Copy)]
struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(count: usize, elapsed: Duration, mut lat: Vec<Duration>) -> Figures {
    lat.sort_unstable();
    let at = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        per_sec: count as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// `conns` connections, each sending `size` bytes and waiting for them to
/// come back, over and over, for `run`.
fn request_response(addr: SocketAddr, conns: usize, size: usize, run: Duration) -> Figures {
    let mut poll = Poll::new().expect("poll");
    let mut streams = Vec::with_capacity(conns);
    for i in 0..conns {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s.set_nonblocking(true).expect("nonblocking");
        let mut s = mio::net::TcpStream::from_std(s);
        poll.registry()
            .register(&mut s, Token(i), Interest::READABLE | Interest::WRITABLE)
            .expect("register");
        streams.push(s);
    }
    let request = vec![0x5a_u8; size];
    let mut buf = vec![0u8; 256 * 1024];
    // per connection: bytes of the request still to write, bytes of the
    // reply still to read, when the request started
    let mut to_write = vec![size; conns];
    let mut to_read = vec![size; conns];
    let mut started = vec![Instant::now(); conns];
    let mut lat = Vec::with_capacity(1 << 20);
    let mut events = Events::with_capacity(1024);
    let begin = Instant::now();
    let end = begin + run;
    let pump = |i: usize,
                s: &mut mio::net::TcpStream,
                to_write: &mut [usize],
                to_read: &mut [usize],
                started: &mut [Instant],
                lat: &mut Vec<Duration>,
                buf: &mut [u8]| {
        loop {
            let mut progress = false;
            while to_write[i] > 0 {
                match s.write(&request[size - to_write[i]..]) {
                    Ok(n) => {
                        to_write[i] -= n;
                        progress = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("load: write: {e}"),
                }
            }
            while to_read[i] > 0 {
                let want = to_read[i].min(buf.len());
                match s.read(&mut buf[..want]) {
                    Ok(0) => panic!("load: the server closed"),
                    Ok(n) => {
                        to_read[i] -= n;
                        progress = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("load: read: {e}"),
                }
            }
            if to_read[i] == 0 && to_write[i] == 0 {
                let now = Instant::now();
                lat.push(now - started[i]);
                started[i] = now;
                to_write[i] = size;
                to_read[i] = size;
                continue;
            }
            if !progress {
                return;
            }
        }
    };
    for (i, s) in streams.iter_mut().enumerate() {
        pump(
            i,
            s,
            &mut to_write,
            &mut to_read,
            &mut started,
            &mut lat,
            &mut buf,
        );
    }
    while Instant::now() < end {
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
        for ev in events.iter() {
            let i = ev.token().0;
            if let Some(s) = streams.get_mut(i) {
                pump(
                    i,
                    s,
                    &mut to_write,
                    &mut to_read,
                    &mut started,
                    &mut lat,
                    &mut buf,
                );
            }
        }
    }
    let elapsed = begin.elapsed();
    figures(lat.len(), elapsed, lat)
}

/// hio's echo server on a thread.
struct Hio {
    addr: SocketAddr,
    stop: &'static StopFlag,
    handle: std::thread::JoinHandle<()>,
}

fn start_hio(buffers: usize) -> Hio {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let config = ServerConfig::default()
                .max_conns(1024)
                .buffers(buffers, buffers);
            let r = tool::echo(
                "127.0.0.1:0".parse().expect("addr"),
                config,
                false,
                &mut |addr, stop| {
                    let _ = tx.send((addr, stop));
                },
            );
            if let Err(e) = r {
                eprintln!("hio echo: {e}");
            }
        })
        .expect("thread");
    let (addr, stop) = rx.recv().expect("hio ready");
    Hio { addr, stop, handle }
}

/// tokio's echo server (current-thread runtime, a task per connection).
fn start_tokio() -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, rx) = mpsc::channel();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let _ = tx.send(listener.local_addr().expect("addr"));
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => {
                        let Ok((mut s, _)) = accepted else { continue };
                        let _ = s.set_nodelay(true);
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 64 * 1024];
                            loop {
                                match s.read(&mut buf).await {
                                    Ok(0) | Err(_) => return,
                                    Ok(n) => {
                                        if s.write_all(&buf[..n]).await.is_err() {
                                            return;
                                        }
                                    }
                                }
                            }
                        });
                    }
                }
            }
        });
    });
    let addr = rx.recv().expect("tokio ready");
    (addr, stop_tx, handle)
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(8192);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    raise_fd_limit();
    let run = if smoke {
        Duration::from_millis(100)
    } else {
        Duration::from_millis(1500)
    };
    if smoke {
        println!("echo bench: smoke test (--test): one short round, NOT a measurement");
    }
    let hio = start_hio(4096);
    let hio_big = start_hio(64 * 1024);
    let (tokio_addr, tokio_stop, tokio_thread) = start_tokio();
    println!(
        "{:<24} {:>12} {:>10} {:>10} | {:>12} {:>10} {:>10} | {:>8}",
        "row", "hio rt/s", "p50 µs", "p99 µs", "tokio rt/s", "p50 µs", "p99 µs", "hio/tokio"
    );
    // (name, connections, request size, hio's buffers are 64 KiB)
    let rows: [(&str, usize, usize, bool); 5] = [
        ("64 B, C=1", 1, 64, false),
        ("64 B, C=64", 64, 64, false),
        ("64 B, C=512", 512, 64, false),
        ("64 KiB bulk, C=1", 1, 64 * 1024, false),
        ("  same, 64 KiB buffers", 1, 64 * 1024, true),
    ];
    for (name, conns, size, big) in rows {
        let at = if big { hio_big.addr } else { hio.addr };
        let ours = request_response(at, conns, size, run);
        let theirs = request_response(tokio_addr, conns, size, run);
        println!(
            "{:<24} {:>12.0} {:>10.1} {:>10.1} | {:>12.0} {:>10.1} {:>10.1} | {:>8.2}",
            name,
            ours.per_sec,
            micros(ours.p50),
            micros(ours.p99),
            theirs.per_sec,
            micros(theirs.p50),
            micros(theirs.p99),
            ours.per_sec / theirs.per_sec.max(1e-9),
        );
    }
    for h in [hio, hio_big] {
        h.stop.stop();
        let _ = h.handle.join();
    }
    let _ = tokio_stop.send(());
    let _ = tokio_thread.join();
    if smoke {
        println!("echo bench: smoke test passed (figures above are not a measurement)");
    } else {
        println!(
            "hio's default buffers are 4 KiB each way per connection (memory per idle \
             connection); a 64 KiB echo then moves in 4 KiB steps"
        );
    }
}
