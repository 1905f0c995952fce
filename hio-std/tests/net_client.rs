//! The TCP client: refused, timed out, reconnects after a failed connect
//! and after the peer closes, half-close, resets. Loopback only.

mod net_common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::time::Duration;

use hio_core::{Cx, Doer, Doist, End, Fault, Report, Step, Tock, Waker};
use hio_std::net::{Backoff, Client, ClientConfig, ClientDoer, ClientState, NetError};
use hio_std::reactor::{Reactor, NET_TOCK};

/// Runs the client's doer (and `app`, if any) to the end, with a limit as
/// the safety net.
fn run(reactor: &Reactor, client: &Client<'_>, app: Option<&mut dyn Doer>) -> Report {
    let mut doer = ClientDoer::new(client).unwrap();
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK)
        .unwrap()
        .with_limit(Tock::from_secs(20));
    doist.wakes(reactor.board());
    doist.add(&mut doer).unwrap();
    if let Some(app) = app {
        doist.add(app).unwrap();
    }
    doist.run(&mut reactor.clock(), None)
}

fn closed_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn a_refused_connect_is_reported() {
    let reactor = Reactor::new().unwrap();
    let client = Client::new(&reactor, closed_port(), ClientConfig::default());
    let report = run(&reactor, &client, None);
    assert_eq!(report.end, End::Done);
    assert_eq!(client.state(), ClientState::Closed);
    assert_eq!(client.last_error(), Some(NetError::Refused));
    assert_eq!(client.send(b"x"), Err(NetError::Closed));
    assert_eq!(client.stats().failures, 1);
}

#[test]
fn a_connect_that_hangs_times_out() {
    // a listener that never accepts, its queue filled: further SYNs are
    // dropped and the connect hangs
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    let reactor = Reactor::new().unwrap();
    let config = ClientConfig::default().connect_timeout(Duration::from_millis(300));
    let client = Client::new(&reactor, addr, config);
    let report = run(&reactor, &client, None);
    assert_eq!(report.end, End::Done);
    assert_eq!(client.last_error(), Some(NetError::ConnectTimeout));
    drop(fillers);
}

/// Watches a client: makes the listener listen after `listen_after`
/// failures, and ends the client after `connects` connections.
struct Watch<'a> {
    client: &'a Client<'a>,
    waker: Waker,
    socket: &'a socket2::Socket,
    listen_after: u64,
    connects: u64,
    seen: Cell<u64>,
    listening: Option<std::sync::mpsc::Sender<()>>,
}

impl Doer for Watch<'_> {
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).unwrap();
        self.client.wake_on_rx(Some(self.waker));
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        let s = self.client.stats();
        if s.failures >= self.listen_after {
            // bound but not listening refuses; listening accepts (the
            // kernel completes the handshake)
            if let Some(tx) = self.listening.take() {
                self.socket.listen(16).unwrap();
                tx.send(()).unwrap();
            }
        }
        self.seen.set(s.connects);
        if s.connects >= self.connects {
            self.client.close();
            return Ok(Step::Done);
        }
        Ok(Step::Continue)
    }
}

#[test]
fn reconnects_with_backoff_after_failed_connects_and_after_the_peer_closes() {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    // the peer: accepts and closes the first connection at once
    let listener: TcpListener = sock.try_clone().unwrap().into();
    let (tx, rx) = std::sync::mpsc::channel();
    let peer = std::thread::spawn(move || {
        rx.recv().unwrap();
        let (c, _) = listener.accept().unwrap();
        drop(c);
        listener.accept().unwrap()
    });
    let reactor = Reactor::new().unwrap();
    let config = ClientConfig::default().reconnect(Some(Backoff::new(
        Duration::from_millis(5),
        Duration::from_millis(40),
    )));
    let client = Client::new(&reactor, addr, config);
    client.send(b"hello").unwrap(); // waits in the buffer: sent once connected
    let mut watch = Watch {
        client: &client,
        waker: reactor.waker().unwrap(),
        socket: &sock,
        listen_after: 3,
        connects: 2,
        seen: Cell::new(0),
        listening: Some(tx),
    };
    let report = run(&reactor, &client, Some(&mut watch));
    assert_eq!(report.end, End::Done);
    let s = client.stats();
    assert!(s.failures >= 3, "{s:?}");
    assert_eq!(s.connects, 2, "{s:?}");
    assert_eq!(s.drops, 1, "the peer closed the first connection: {s:?}");
    peer.join().unwrap();
}

/// Sends, half-closes, and reads the reply until the peer closes.
struct HalfClose<'a> {
    client: &'a Client<'a>,
    waker: Waker,
    got: Vec<u8>,
}

impl Doer for HalfClose<'_> {
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).unwrap();
        self.client.wake_on_rx(Some(self.waker));
        self.client.send(b"question").unwrap();
        self.client.shutdown_write();
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        let mut buf = [0u8; 64];
        loop {
            let n = self.client.recv(&mut buf);
            if n == 0 {
                break;
            }
            self.got.extend_from_slice(&buf[..n]);
        }
        Ok(if self.client.state() == ClientState::Closed {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

#[test]
fn half_close_sends_end_of_data_and_still_receives() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut q = Vec::new();
        c.read_to_end(&mut q).unwrap(); // ends at the client's half-close
        c.write_all(&q.to_ascii_uppercase()).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        q
    });
    let reactor = Reactor::new().unwrap();
    let client = Client::new(&reactor, addr, ClientConfig::default());
    let mut app = HalfClose {
        client: &client,
        waker: reactor.waker().unwrap(),
        got: Vec::new(),
    };
    let report = run(&reactor, &client, Some(&mut app));
    assert_eq!(report.end, End::Done);
    assert_eq!(peer.join().unwrap(), b"question");
    assert_eq!(app.got, b"QUESTION");
    assert_eq!(client.last_error(), None, "an orderly close");
}

#[test]
fn a_reset_is_told_apart_from_an_orderly_close() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut b = [0u8; 8];
        c.read_exact(&mut b).unwrap();
        socket2::SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(c); // RST
    });
    let reactor = Reactor::new().unwrap();
    let client = Client::new(&reactor, addr, ClientConfig::default());
    client.send(b"question").unwrap();
    let report = run(&reactor, &client, None);
    peer.join().unwrap();
    assert_eq!(report.end, End::Done);
    assert_eq!(client.state(), ClientState::Closed);
    assert_eq!(client.last_error(), Some(NetError::Reset));
    assert_eq!(client.stats().drops, 1);
}

#[test]
fn errors_convert_to_io_errors_with_clear_text() {
    for e in [
        NetError::Refused,
        NetError::ConnectTimeout,
        NetError::Reset,
        NetError::Closed,
        NetError::TooLong,
        NetError::BadAddress,
    ] {
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), e.kind());
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(hio_std::net::parse_addr("nope"), Err(NetError::BadAddress));
}
