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
//! ECHO_HIST=1 cargo bench -p hio-std --bench echo -- "64 b, c=1"
//!     # also the deciles of every round's round trips, on stderr
//! ECHO_VS=raw cargo bench -p hio-std --bench echo
//!     # against a bare mio echo server (no framework; rustls sessions
//!     # driven by hand for TLS) in the tokio columns: the floor, which
//!     # shows how much of a row is the server's and how much the load
//!     # generator's and the kernel's
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
    /// The round trips' deciles, in µs (`ECHO_HIST` prints them).
    deciles: [f64; 9],
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    /// The mean of two measurements' figures.
    fn mean(&self, other: &Figures) -> Figures {
        let mut deciles = [0.0; 9];
        for (d, (x, y)) in deciles
            .iter_mut()
            .zip(self.deciles.iter().zip(&other.deciles))
        {
            *d = (x + y) / 2.0;
        }
        Figures {
            deciles,
            per_sec: (self.per_sec + other.per_sec) / 2.0,
            p50: (self.p50 + other.p50) / 2,
            p99: (self.p99 + other.p99) / 2,
        }
    }
}

fn figures(count: usize, elapsed: Duration, mut lat: Vec<Duration>) -> Figures {
    lat.sort_unstable();
    let at = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    // where the round trips fall, not just two of them: a C=1 row's are
    // often in two groups (see the README)
    let mut deciles = [0.0; 9];
    for (k, d) in deciles.iter_mut().enumerate() {
        *d = micros(at((k + 1) as f64 / 10.0));
    }
    Figures {
        deciles,
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
        .name("hio-server".into())
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

/// Runs the future `serve` makes on a current-thread tokio runtime, on a
/// thread of its own named for profiles.
fn on_tokio<F>(serve: impl FnOnce() -> F + Send + 'static) -> std::thread::JoinHandle<()>
where
    F: std::future::Future<Output = ()>,
{
    std::thread::Builder::new()
        .name("tokio-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .expect("runtime");
            rt.block_on(serve());
        })
        .expect("thread")
}

/// A tokio listener on a port of loopback, its address sent on `tx`.
async fn listen(tx: mpsc::Sender<SocketAddr>) -> tokio::net::TcpListener {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let _ = tx.send(listener.local_addr().expect("addr"));
    listener
}

/// A tokio server on loopback (current-thread runtime): each accepted
/// connection, with TCP_NODELAY, goes to a task of its own running
/// `serve`.
fn start_tokio_with<F, Fut>(
    serve: F,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = on_tokio(move || async move {
        let listener = listen(tx).await;
        loop {
            tokio::select! {
                _ = &mut stop_rx => break,
                accepted = listener.accept() => {
                    let Ok((s, _)) = accepted else { continue };
                    let _ = s.set_nodelay(true);
                    tokio::spawn(serve(s));
                }
            }
        }
    });
    let addr = rx.recv().expect("tokio ready");
    (addr, stop_tx, handle)
}

/// tokio's echo server (current-thread runtime, a task per connection).
fn start_tokio() -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    start_tokio_with(|mut s| async move {
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
    })
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
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    start_tokio_with(move |s| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(mut s) = acceptor.accept(s).await else {
                return;
            };
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let _ = s.shutdown().await;
                        return;
                    }
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() || s.flush().await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    })
}

/// A connection of the bare server: its socket, its buffer, what of the
/// buffer is still to be written (plain), and its TLS session (TLS).
struct RawConn {
    s: mio::net::TcpStream,
    buf: Vec<u8>,
    from: usize,
    to: usize,
    tls: Option<rustls::ServerConnection>,
}

impl RawConn {
    /// Echoes what the socket has: writes what waits, reads, writes; until
    /// the socket would block or a read came up short. Whether it is still
    /// open.
    fn serve(&mut self) -> bool {
        if self.tls.is_some() {
            return self.serve_tls();
        }
        loop {
            while self.from < self.to {
                match self.s.write(&self.buf[self.from..self.to]) {
                    Ok(n) => self.from += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                    Err(_) => return false,
                }
            }
            match self.s.read(&mut self.buf) {
                Ok(0) => return false,
                Ok(n) => {
                    (self.from, self.to) = (0, n);
                    if n < self.buf.len() {
                        // drained: write it and wait
                        while self.from < self.to {
                            match self.s.write(&self.buf[self.from..self.to]) {
                                Ok(n) => self.from += n,
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                    return true
                                }
                                Err(_) => return false,
                            }
                        }
                        return true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }

    /// [`serve`](Self::serve) through rustls: records out, records in,
    /// their plaintext straight back.
    fn serve_tls(&mut self) -> bool {
        let Some(tls) = self.tls.as_mut() else {
            return false;
        };
        loop {
            while tls.wants_write() {
                match tls.write_tls(&mut self.s) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                    Err(_) => return false,
                }
            }
            match tls.read_tls(&mut self.s) {
                Ok(0) => return false,
                Ok(_) => {
                    if tls.process_new_packets().is_err() {
                        let _ = tls.write_tls(&mut self.s);
                        return false;
                    }
                    loop {
                        match tls.reader().read(&mut self.buf) {
                            Ok(0) => return false,
                            Ok(n) => {
                                if tls.writer().write_all(&self.buf[..n]).is_err() {
                                    return false;
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(_) => return false,
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A bare echo server on mio, for the floor (`ECHO_VS=raw`): one thread,
/// one poll, edge-triggered, a 64 KiB buffer per connection, no framework
/// at all (with `tls`, a rustls session per connection, driven by hand).
/// Against it the bench shows how much of a row is the server's and how
/// much the load generator's and the kernel's on this machine.
fn start_raw(
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (
    SocketAddr,
    Box<dyn FnOnce() + Send>,
    std::thread::JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    const LISTENER: Token = Token(usize::MAX - 1);
    const STOP: Token = Token(usize::MAX - 2);
    let poll = Poll::new().expect("poll");
    let stop = Arc::new(mio::Waker::new(poll.registry(), STOP).expect("waker"));
    let stopped = Arc::new(AtomicBool::new(false));
    let mut listener =
        mio::net::TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let flag = Arc::clone(&stopped);
    // the thread keeps the waker open: closed while its wake is still on
    // its way, it would take the wake with it
    let waker = Arc::clone(&stop);
    let handle = std::thread::Builder::new()
        .name("raw-server".into())
        .spawn(move || {
            let _waker = waker;
            let mut poll = poll;
            poll.registry()
                .register(&mut listener, LISTENER, Interest::READABLE)
                .expect("register");
            let mut conns: Vec<Option<RawConn>> = Vec::new();
            let mut events = Events::with_capacity(1024);
            while !flag.load(Ordering::Relaxed) {
                if poll.poll(&mut events, None).is_err() {
                    continue;
                }
                for ev in events.iter() {
                    match ev.token() {
                        STOP => {}
                        LISTENER => {
                            while let Ok((mut s, _)) = listener.accept() {
                                let _ = s.set_nodelay(true);
                                let k = conns.len();
                                poll.registry()
                                    .register(
                                        &mut s,
                                        Token(k),
                                        Interest::READABLE | Interest::WRITABLE,
                                    )
                                    .expect("register");
                                let tls = tls.as_ref().map(|config| {
                                    rustls::ServerConnection::new(Arc::clone(config))
                                        .expect("session")
                                });
                                conns.push(Some(RawConn {
                                    s,
                                    buf: vec![0; 64 * 1024],
                                    from: 0,
                                    to: 0,
                                    tls,
                                }));
                            }
                        }
                        Token(k) => {
                            if let Some(slot) = conns.get_mut(k) {
                                if slot.as_mut().is_some_and(|c| !c.serve()) {
                                    *slot = None;
                                }
                            }
                        }
                    }
                }
            }
        })
        .expect("thread");
    let stop_it = move || {
        stopped.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = stop.wake();
    };
    (addr, Box::new(stop_it), handle)
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

/// What a row measures.
#[derive(Debug, Clone, Copy)]
enum Load {
    /// Request/response on plain TCP: connections, request size.
    Plain(usize, usize),
    /// The same over TLS.
    Tls(usize, usize),
    /// Full TLS handshakes, this many at once.
    Handshakes(usize),
}

/// One row: its name, its load, and whether hio's server has 64 KiB
/// buffers (else the default 4 KiB).
struct Row {
    name: &'static str,
    load: Load,
    big: bool,
}

/// A row of the table.
const fn row(name: &'static str, load: Load, big: bool) -> Row {
    Row { name, load, big }
}

const ROWS: [Row; 10] = [
    row("64 B, C=1", Load::Plain(1, 64), false),
    row("64 B, C=64", Load::Plain(64, 64), false),
    row("64 B, C=512", Load::Plain(512, 64), false),
    row("64 KiB bulk, C=1", Load::Plain(1, 64 * 1024), false),
    row("64 KiB bulk, 64 KiB bufs", Load::Plain(1, 64 * 1024), true),
    row("TLS 64 B, C=1", Load::Tls(1, 64), false),
    row("TLS 64 B, C=64", Load::Tls(64, 64), false),
    row("TLS 64 KiB bulk, C=1", Load::Tls(1, 64 * 1024), false),
    row(
        "TLS 64 KiB bulk, 64 KiB bufs",
        Load::Tls(1, 64 * 1024),
        true,
    ),
    row("TLS handshakes/s, C=8", Load::Handshakes(8), false),
];

/// The median of `v` (0 if empty).
fn median_by(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// The servers of one kind (plain or TLS): hio's with 4 KiB and with
/// 64 KiB buffers, and tokio's.
struct Servers {
    hio: Hio,
    hio_big: Hio,
    tokio_addr: SocketAddr,
    tokio_stop: Box<dyn FnOnce() + Send>,
    tokio_thread: std::thread::JoinHandle<()>,
}

impl Servers {
    fn stop(self) {
        for h in [self.hio, self.hio_big] {
            h.stop.stop();
            let _ = h.handle.join();
        }
        (self.tokio_stop)();
        let _ = self.tokio_thread.join();
    }
}

/// A tokio server's stop, as a closure.
fn stop_tokio(tx: tokio::sync::oneshot::Sender<()>) -> Box<dyn FnOnce() + Send> {
    Box::new(move || {
        let _ = tx.send(());
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--test");
    // other arguments not starting with `--`: run only the rows whose name
    // contains one of them
    let filters: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.to_lowercase())
        .collect();
    let rounds: usize = std::env::var("ECHO_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if smoke { 1 } else { 7 })
        .max(1);
    raise_fd_limit();
    let run = if smoke {
        Duration::from_millis(100)
    } else {
        Duration::from_millis(250)
    };
    if smoke {
        println!("echo bench: smoke test (--test): one short round, NOT a measurement");
    }
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
    // full handshakes: no session resumption (the client would resume
    // sessions the servers' shared cache issued, whichever server)
    let mut full = (**client_tls.rustls()).clone();
    full.resumption = rustls::client::Resumption::disabled();
    let full_tls = ClientTls::from_rustls(Arc::new(full));

    // ECHO_VS=raw: against a bare mio echo server (with rustls sessions
    // driven by hand for TLS) instead of tokio: the floor of this machine
    let raw = std::env::var("ECHO_VS").is_ok_and(|v| v == "raw");
    if raw {
        println!("echo bench: against a bare mio echo server (with rustls sessions for TLS) in the tokio columns (ECHO_VS=raw)");
    }
    let plain = {
        let (tokio_addr, tokio_stop, tokio_thread) = if raw {
            start_raw(None)
        } else {
            let (a, s, t) = start_tokio();
            (a, stop_tokio(s), t)
        };
        Servers {
            hio: start_hio(4096),
            hio_big: start_hio(64 * 1024),
            tokio_addr,
            tokio_stop,
            tokio_thread,
        }
    };
    let tls = {
        let (tokio_addr, tokio_stop, tokio_thread) = if raw {
            start_raw(Some(Arc::clone(server_tls.rustls())))
        } else {
            let (a, s, t) = start_tokio_tls(Arc::clone(server_tls.rustls()));
            (a, stop_tokio(s), t)
        };
        Servers {
            hio: start_hio_with(4096, Some(server_tls.clone())),
            hio_big: start_hio_with(64 * 1024, Some(server_tls.clone())),
            tokio_addr,
            tokio_stop,
            tokio_thread,
        }
    };
    println!(
        "{:<28} {:>12} {:>10} {:>10} | {:>12} {:>10} {:>10} | {:>8}",
        "row", "hio rt/s", "p50 µs", "p99 µs", "tokio rt/s", "p50 µs", "p99 µs", "hio/tokio"
    );
    for row in ROWS.iter() {
        if !filters.is_empty()
            && !filters
                .iter()
                .any(|f| row.name.to_lowercase().contains(f.as_str()))
        {
            continue;
        }
        let servers = match row.load {
            Load::Plain(..) => &plain,
            _ => &tls,
        };
        let ours_at = if row.big {
            servers.hio_big.addr
        } else {
            servers.hio.addr
        };
        let measure = |addr: SocketAddr| match row.load {
            Load::Plain(conns, size) => request_response(addr, conns, size, run),
            Load::Tls(conns, size) => tls_request_response(addr, &client_tls, conns, size, run),
            Load::Handshakes(conns) => handshakes(addr, &full_tls, conns, run),
        };
        // Rounds of four measurements in the order hio, tokio, tokio, hio
        // (and tokio, hio, hio, tokio in the next round), each side's round
        // figures the mean of its two: a passing load elsewhere on the
        // machine hits both alike, and so does where a measurement falls in
        // the sequence (on a 2-core machine the one-connection rows come
        // out slow and fast by turns, whichever server runs: with a pair a
        // round, one side got the slow turn in more rounds than the other).
        let mut ours = Vec::with_capacity(rounds);
        let mut theirs = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                (ours_at, servers.tokio_addr)
            } else {
                (servers.tokio_addr, ours_at)
            };
            let (a1, b1, b2, a2) = (measure(a), measure(b), measure(b), measure(a));
            let (a, b) = (a1.mean(&a2), b1.mean(&b2));
            if round % 2 == 0 {
                ours.push(a);
                theirs.push(b);
            } else {
                ours.push(b);
                theirs.push(a);
            }
        }
        if std::env::var_os("ECHO_HIST").is_some() {
            for (side, figs) in [("hio", &ours), ("tokio", &theirs)] {
                for (k, f) in figs.iter().enumerate() {
                    let d: Vec<String> = f.deciles.iter().map(|x| format!("{x:.1}")).collect();
                    eprintln!("{} {side} round {k}: deciles µs {}", row.name, d.join(" "));
                }
            }
        }
        let med =
            |v: &[Figures], f: fn(&Figures) -> f64| median_by(&v.iter().map(f).collect::<Vec<_>>());
        let ratios: Vec<f64> = ours
            .iter()
            .zip(&theirs)
            .map(|(o, t)| o.per_sec / t.per_sec.max(1e-9))
            .collect();
        println!(
            "{:<28} {:>12.0} {:>10.1} {:>10.1} | {:>12.0} {:>10.1} {:>10.1} | {:>8.2}",
            row.name,
            med(&ours, |f| f.per_sec),
            med(&ours, |f| micros(f.p50)),
            med(&ours, |f| micros(f.p99)),
            med(&theirs, |f| f.per_sec),
            med(&theirs, |f| micros(f.p50)),
            med(&theirs, |f| micros(f.p99)),
            median_by(&ratios),
        );
    }
    plain.stop();
    tls.stop();
    if smoke {
        println!("echo bench: smoke test passed (figures above are not a measurement)");
    } else {
        println!(
            "hio's default buffers are 4 KiB each way per connection (memory per idle \
             connection); the echo doer sends straight to the socket, 64 KiB at a time"
        );
        println!(
            "every figure is the median of {rounds} rounds of four {} ms measurements (hio, \
             tokio, tokio, hio, then the other way round; each side's round figures the mean \
             of its two); hio/tokio is the median of the rounds' ratios; handshakes: p50/p99 \
             are one handshake's time",
            run.as_millis()
        );
    }
}
