//! Echo server throughput and latency: hio's `ServerDoer` + `EchoServerDoer`
//! against a tokio echo server (current-thread runtime, a task per
//! connection), both driven by the same load generator (one mio loop,
//! loopback only) in the same run. The TLS rows do the same over TLS
//! (hio's rustls sessions against tokio-rustls, the same certificates and
//! rustls configuration), and count full handshakes per second.
//!
//! ```text
//! cargo bench -p hio-std --bench echo            # the measurement (< 1 min)
//! cargo bench -p hio-std --bench echo -- --test  # one short smoke round
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use std::sync::Arc;

use hio_core::StopFlag;
use hio_std::net::tls::{Authority, ClientTls, ServerTls, Session};
use hio_std::net::{tool, Ring, ServerConfig};
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

/// One TLS connection of the load generator: a mio stream driven through
/// a client [`Session`] (the same sans-I/O pump as hio's client, so both
/// servers face the same client).
struct TlsConn {
    s: mio::net::TcpStream,
    sess: Session,
    rx: Ring,
    tx: Ring,
    to_write: usize,
    to_read: usize,
    started: Instant,
}

fn tls_connect(addr: SocketAddr, tls: &ClientTls, size: usize) -> TlsConn {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.set_nonblocking(true).expect("nonblocking");
    let name = tls
        .server_name()
        .cloned()
        .unwrap_or_else(|| "localhost".try_into().expect("server name"));
    let cap = size.max(16 * 1024);
    TlsConn {
        s: mio::net::TcpStream::from_std(s),
        sess: Session::client(tls, name, cap).expect("session"),
        rx: Ring::new(cap),
        tx: Ring::new(cap),
        to_write: size,
        to_read: size,
        started: Instant::now(),
    }
}

/// Pumps `c` until it would block; returns the round trips it finished.
fn tls_pump(c: &mut TlsConn, request: &[u8], lat: &mut Vec<Duration>) -> usize {
    let size = request.len();
    let mut done = 0;
    loop {
        let pushed = if c.to_write > 0 {
            let n = c.tx.push(&request[size - c.to_write..]);
            c.to_write -= n;
            n
        } else {
            0
        };
        let p = c.sess.pump(&mut c.s, &mut c.rx, &mut c.tx, usize::MAX);
        if let Some(f) = p.failed {
            panic!("load: TLS: {f:?}");
        }
        let got = c.rx.len().min(c.to_read);
        c.rx.consume(got);
        c.to_read -= got;
        if c.to_read == 0 && c.to_write == 0 {
            let now = Instant::now();
            lat.push(now - c.started);
            c.started = now;
            c.to_write = size;
            c.to_read = size;
            done += 1;
            continue;
        }
        if pushed == 0 && got == 0 && p.wire_in == 0 && p.wire_out == 0 {
            return done;
        }
    }
}

/// [`request_response`] over TLS.
fn tls_request_response(
    addr: SocketAddr,
    tls: &ClientTls,
    conns: usize,
    size: usize,
    run: Duration,
) -> Figures {
    let mut poll = Poll::new().expect("poll");
    let mut cs: Vec<TlsConn> = (0..conns).map(|_| tls_connect(addr, tls, size)).collect();
    for (i, c) in cs.iter_mut().enumerate() {
        poll.registry()
            .register(&mut c.s, Token(i), Interest::READABLE | Interest::WRITABLE)
            .expect("register");
    }
    let request = vec![0x5a_u8; size];
    let mut lat = Vec::with_capacity(1 << 20);
    let mut events = Events::with_capacity(1024);
    for c in cs.iter_mut() {
        c.started = Instant::now();
        tls_pump(c, &request, &mut lat);
    }
    // the handshakes are part of the first round trips: leave them out
    lat.clear();
    let begin_measure = Instant::now();
    while begin_measure.elapsed() < run {
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
        for ev in events.iter() {
            if let Some(c) = cs.get_mut(ev.token().0) {
                tls_pump(c, &request, &mut lat);
            }
        }
    }
    figures(lat.len(), begin_measure.elapsed(), lat)
}

/// Full handshakes per second: `conns` at a time, each connecting,
/// handshaking, echoing one byte (so the server's side is done too), and
/// closing with a close_notify, over and over.
fn handshakes(addr: SocketAddr, tls: &ClientTls, conns: usize, run: Duration) -> Figures {
    let mut poll = Poll::new().expect("poll");
    let request = [0x5a_u8; 1];
    let mut cs: Vec<TlsConn> = Vec::with_capacity(conns);
    for i in 0..conns {
        let mut c = tls_connect(addr, tls, 1);
        poll.registry()
            .register(&mut c.s, Token(i), Interest::READABLE | Interest::WRITABLE)
            .expect("register");
        cs.push(c);
    }
    let mut lat = Vec::with_capacity(1 << 16);
    let mut events = Events::with_capacity(1024);
    let begin = Instant::now();
    let mut count = 0;
    let step = |reg: &mio::Registry,
                i: usize,
                c: &mut TlsConn,
                lat: &mut Vec<Duration>,
                count: &mut usize| {
        let mut scratch = Vec::new();
        if tls_pump(c, &request, &mut scratch) > 0 {
            lat.extend(scratch.first());
            *count += 1;
            c.sess.close(&mut c.s, &mut c.tx);
            reg.deregister(&mut c.s).expect("deregister");
            *c = tls_connect(addr, tls, 1);
            reg.register(&mut c.s, Token(i), Interest::READABLE | Interest::WRITABLE)
                .expect("register");
        }
    };
    for (i, c) in cs.iter_mut().enumerate() {
        step(poll.registry(), i, c, &mut lat, &mut count);
    }
    while begin.elapsed() < run {
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
        for ev in events.iter() {
            let i = ev.token().0;
            if let Some(c) = cs.get_mut(i) {
                step(poll.registry(), i, c, &mut lat, &mut count);
            }
        }
    }
    figures(count, begin.elapsed(), lat)
}

/// hio's echo server on a thread.
struct Hio {
    addr: SocketAddr,
    stop: &'static StopFlag,
    handle: std::thread::JoinHandle<()>,
}

fn start_hio(buffers: usize) -> Hio {
    start_hio_with(buffers, None)
}

fn start_hio_with(buffers: usize, tls: Option<ServerTls>) -> Hio {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let config = ServerConfig::default()
                .max_conns(1024)
                .buffers(buffers, buffers);
            let r = tool::echo_with(
                "127.0.0.1:0".parse().expect("addr"),
                config,
                tls,
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

/// tokio-rustls' echo server (current-thread runtime, a task per
/// connection) with the same rustls configuration as hio's.
fn start_tokio_tls(
    config: Arc<rustls::ServerConfig>,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, rx) = mpsc::channel();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
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
                        let Ok((s, _)) = accepted else { continue };
                        let _ = s.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let Ok(mut s) = acceptor.accept(s).await else { return };
                            let mut buf = vec![0u8; 64 * 1024];
                            loop {
                                match s.read(&mut buf).await {
                                    Ok(0) | Err(_) => {
                                        let _ = s.shutdown().await;
                                        return;
                                    }
                                    Ok(n) => {
                                        if s.write_all(&buf[..n]).await.is_err()
                                            || s.flush().await.is_err()
                                        {
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

    // TLS: the same certificates and rustls configuration on both sides
    let ca = Authority::new("bench CA").expect("CA");
    let id = ca.issue_server(&["localhost"]).expect("cert");
    let server_tls = ServerTls::from_pem(id.cert_pem.as_bytes(), id.key_pem.as_bytes())
        .and_then(|b| b.build())
        .expect("server tls");
    let client_tls = ClientTls::with_ca_pem(ca.cert_pem().as_bytes())
        .and_then(|b| b.server_name("localhost"))
        .and_then(|b| b.build())
        .expect("client tls");
    let hio_tls = start_hio_with(4096, Some(server_tls.clone()));
    let hio_tls_big = start_hio_with(64 * 1024, Some(server_tls.clone()));
    let (tokio_tls_addr, tokio_tls_stop, tokio_tls_thread) =
        start_tokio_tls(Arc::clone(server_tls.rustls()));
    let tls_rows: [(&str, usize, usize, bool); 4] = [
        ("TLS 64 B, C=1", 1, 64, false),
        ("TLS 64 B, C=64", 64, 64, false),
        ("TLS 64 KiB bulk, C=1", 1, 64 * 1024, false),
        ("  same, 64 KiB buffers", 1, 64 * 1024, true),
    ];
    for (name, conns, size, big) in tls_rows {
        let at = if big { hio_tls_big.addr } else { hio_tls.addr };
        let ours = tls_request_response(at, &client_tls, conns, size, run);
        let theirs = tls_request_response(tokio_tls_addr, &client_tls, conns, size, run);
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
    // full handshakes: no session resumption (the client would resume
    // sessions the servers' shared cache issued, whichever server)
    let mut full = (**client_tls.rustls()).clone();
    full.resumption = rustls::client::Resumption::disabled();
    let client_tls = ClientTls::from_rustls(Arc::new(full));
    // handshakes are CPU-bound on both sides of one machine: alternate
    // rounds and keep each side's median, so a passing load elsewhere
    // does not decide the row
    let rounds = if smoke { 1 } else { 3 };
    let mut ours_all = Vec::new();
    let mut theirs_all = Vec::new();
    for _ in 0..rounds {
        ours_all.push(handshakes(hio_tls.addr, &client_tls, 8, run));
        theirs_all.push(handshakes(tokio_tls_addr, &client_tls, 8, run));
    }
    let median = |mut v: Vec<Figures>| {
        v.sort_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
        v[v.len() / 2]
    };
    let ours = median(ours_all);
    let theirs = median(theirs_all);
    println!(
        "{:<24} {:>12.0} {:>10.1} {:>10.1} | {:>12.0} {:>10.1} {:>10.1} | {:>8.2}",
        "TLS handshakes/s, C=8 *",
        ours.per_sec,
        micros(ours.p50),
        micros(ours.p99),
        theirs.per_sec,
        micros(theirs.p50),
        micros(theirs.p99),
        ours.per_sec / theirs.per_sec.max(1e-9),
    );
    for h in [hio_tls, hio_tls_big] {
        h.stop.stop();
        let _ = h.handle.join();
    }
    let _ = tokio_tls_stop.send(());
    let _ = tokio_tls_thread.join();
    if smoke {
        println!("echo bench: smoke test passed (figures above are not a measurement)");
    } else {
        println!(
            "hio's default buffers are 4 KiB each way per connection (memory per idle \
             connection); the echo doer sends straight to the socket, 64 KiB at a time"
        );
        println!("* the median of {rounds} alternating rounds; p50/p99: one handshake's time");
    }
}
