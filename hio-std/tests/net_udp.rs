//! The UDP peer: bounded queues, oversize datagrams dropped and counted,
//! never truncated. Loopback only.

mod net_common;

use std::net::UdpSocket;

use hio_core::{Cx, Doer, Doist, End, Fault, Step, Tock, Waker};
use hio_std::net::{Datagram, NetError, Peer, PeerConfig, PeerDoer};
use hio_std::reactor::{Reactor, NET_TOCK};
use net_common::NET;

/// Collects `want` datagrams, then ends the run.
struct Collect<'a> {
    peer: &'a Peer<'a>,
    waker: Waker,
    want: usize,
    got: Vec<Datagram>,
}

impl Doer for Collect<'_> {
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).unwrap();
        self.peer.wake_on_rx(Some(self.waker));
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        while let Some(d) = self.peer.recv() {
            self.got.push(d);
        }
        if self.got.len() >= self.want {
            return Err(Fault::failed("collected")); // ends the run at once
        }
        Ok(Step::Continue)
    }
}

#[test]
fn oversize_datagrams_are_dropped_and_counted_never_cut() {
    let reactor = Reactor::new().unwrap();
    let peer = Peer::bind(
        &reactor,
        "127.0.0.1:0".parse().unwrap(),
        PeerConfig::default().max_datagram(100),
    )
    .unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = peer.local_addr();
    sender.send_to(&[1u8; 100], to).unwrap(); // exactly the maximum
    sender.send_to(&[2u8; 101], to).unwrap(); // one byte over
    sender.send_to(&[3u8; 5000], to).unwrap();
    sender.send_to(b"", to).unwrap(); // empty is a datagram too
    sender.send_to(b"last", to).unwrap();
    let mut doer = PeerDoer::new(&peer).unwrap();
    let mut app = Collect {
        peer: &peer,
        waker: reactor.waker().unwrap(),
        want: 3,
        got: Vec::new(),
    };
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK)
        .unwrap()
        .with_limit(Tock::from_secs(NET.as_secs()));
    doist.wakes(reactor.board());
    doist.add(&mut doer).unwrap();
    doist.add(&mut app).unwrap();
    let report = doist.run(&mut reactor.clock(), None);
    assert!(matches!(report.end, End::Fault(_)), "{report:?}");
    let sizes: Vec<usize> = app.got.iter().map(|d| d.bytes.len()).collect();
    assert_eq!(sizes, [100, 0, 4]);
    assert_eq!(app.got[2].bytes, b"last");
    let s = peer.stats();
    assert_eq!((s.received, s.oversize), (3, 2));
    assert_eq!(peer.send_to(to, &[0u8; 101]), Err(NetError::TooLong));
}

#[test]
fn the_receive_queue_is_bounded_and_pushes_back() {
    let reactor = Reactor::new().unwrap();
    let peer = Peer::bind(
        &reactor,
        "127.0.0.1:0".parse().unwrap(),
        PeerConfig::default().queues(4, 4),
    )
    .unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for k in 0..10u8 {
        sender.send_to(&[k], peer.local_addr()).unwrap();
    }
    /// Looks once the queue is full, then takes all.
    struct Slow<'a> {
        peer: &'a Peer<'a>,
        waker: Waker,
        max_seen: usize,
        got: Vec<u8>,
    }
    impl Doer for Slow<'_> {
        fn tock(&self) -> Tock {
            Tock::NEVER
        }
        fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
            cx.attach(self.waker).unwrap();
            self.peer.wake_on_rx(Some(self.waker));
            Ok(Step::Continue)
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            self.max_seen = self.max_seen.max(self.peer.rx_len());
            while let Some(d) = self.peer.recv() {
                self.got.extend(d.bytes);
            }
            if self.got.len() == 10 {
                return Err(Fault::failed("all in"));
            }
            Ok(Step::Continue)
        }
    }
    let mut doer = PeerDoer::new(&peer).unwrap();
    let mut app = Slow {
        peer: &peer,
        waker: reactor.waker().unwrap(),
        max_seen: 0,
        got: Vec::new(),
    };
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK)
        .unwrap()
        .with_limit(Tock::from_secs(NET.as_secs()));
    doist.wakes(reactor.board());
    doist.add(&mut doer).unwrap();
    doist.add(&mut app).unwrap();
    let report = doist.run(&mut reactor.clock(), None);
    assert!(matches!(report.end, End::Fault(_)), "{report:?}");
    assert!(app.max_seen <= 4, "queue held {}", app.max_seen);
    assert_eq!(app.got, (0..10).collect::<Vec<u8>>(), "none lost, in order");
}
