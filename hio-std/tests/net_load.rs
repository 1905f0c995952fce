//! Load and faults: a thousand connections at once, ten thousand in a row,
//! and peers that misbehave while others are served. Loopback only.

mod net_common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use hio_core::End;
use hio_std::net::ServerConfig;
use net_common::*;

#[test]
fn a_thousand_connections_at_once_each_round_trip() {
    if !raise_fd_limit(8192) {
        return;
    }
    let server = ServerThread::start(ServerConfig::default().max_conns(1100), App::Echo);
    let mut conns: Vec<_> = (0..1000).map(|_| connect(server.addr)).collect();
    for (k, c) in conns.iter_mut().enumerate() {
        c.write_all(format!("ping {k}\n").as_bytes()).unwrap();
    }
    for (k, c) in conns.iter_mut().enumerate() {
        let want = format!("ping {k}\n");
        let mut got = vec![0u8; want.len()];
        c.read_exact(&mut got).unwrap();
        assert_eq!(got, want.as_bytes());
    }
    drop(conns);
    let (report, stats) = server.stop();
    assert_eq!(report.end, End::Stopped);
    assert_eq!(stats.accepted, 1000);
    assert_eq!(stats.refused, 0);
}

#[test]
fn past_the_limit_connections_are_closed_at_once() {
    let server = ServerThread::start(ServerConfig::default().max_conns(2), App::Echo);
    let mut a = connect(server.addr);
    let mut b = connect(server.addr);
    for c in [&mut a, &mut b] {
        c.write_all(b"in\n").unwrap();
        let mut got = [0u8; 3];
        c.read_exact(&mut got).unwrap();
    }
    let mut third = connect(server.addr);
    let mut rest = Vec::new();
    match third.read_to_end(&mut rest) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the third connection is served: {other:?}"),
    }
    // the first two are still served
    a.write_all(b"again\n").unwrap();
    let mut got = [0u8; 6];
    a.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"again\n");
    drop((a, b));
    let (_, stats) = server.stop();
    assert_eq!((stats.accepted, stats.refused), (2, 1));
}

#[test]
fn misbehaving_peers_do_not_stop_the_others_and_memory_stays_bounded() {
    let config = ServerConfig::default().max_conns(200);
    let server = ServerThread::start(config, App::Echo);
    let addr = server.addr;
    let rss_before = proc_status(std::process::id(), "VmRSS");

    // connects and never sends
    let silent = connect(addr);
    // sends half a line and stops
    let mut half = connect(addr);
    half.write_all(b"half a li").unwrap();
    // writes without ever reading, until the server stops taking
    let mut hog = connect(addr);
    hog.set_write_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let chunk = vec![b'h'; 64 * 1024];
    let mut hogged = 0usize;
    loop {
        match hog.write(&chunk) {
            Ok(n) => hogged += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("hog: {e}"),
        }
        assert!(hogged < 256 << 20, "the server never pushed back");
    }
    // resets in the middle of a write
    let mut reset = connect(addr);
    reset.write_all(&vec![b'r'; 100_000]).unwrap();
    socket2::SockRef::from(&reset)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(reset);
    // floods: writes 32 MiB while reading it all back
    let flood = {
        let mut w = connect(addr);
        let mut r = w.try_clone().unwrap();
        let data = payload(32 << 20, 9);
        let want = data.clone();
        let writer = std::thread::spawn(move || {
            w.write_all(&data).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        });
        std::thread::spawn(move || {
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            writer.join().unwrap();
            got == want
        })
    };
    // everyone else is answered meanwhile
    for k in 0..50 {
        let line = format!("client {k}\n");
        assert_eq!(round_trip(addr, line.as_bytes()), line.as_bytes());
    }
    assert!(flood.join().unwrap(), "the flood came back byte-exact");
    // the half line is echoed as it is, the silent one is still open
    let mut got = [0u8; 9];
    half.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"half a li");
    let rss_after = proc_status(std::process::id(), "VmRSS");
    println!(
        "faults: hog pushed {hogged} bytes before backpressure; RSS {rss_before} kB -> {rss_after} kB"
    );
    // bounded: rings of a few KiB each, never the hog's or the flood's size
    assert!(
        rss_after < rss_before + 48 * 1024,
        "RSS grew to {rss_after} kB"
    );
    drop((silent, half, hog));
    let (report, stats) = server.stop();
    assert_eq!(report.end, End::Stopped);
    assert!(stats.resets >= 1, "{stats:?}");
}

#[test]
fn a_line_longer_than_the_buffer_is_dropped_and_counted() {
    let config = ServerConfig::default().buffers(64, 256);
    let server = ServerThread::start(config, App::Upper);
    let mut c = connect(server.addr);
    let mut input = b"short\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 1000));
    input.extend(b"\nafter\r\nlast");
    c.write_all(&input).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut r = BufReader::new(c);
    assert_eq!(read_line(&mut r), "SHORT");
    assert_eq!(read_line(&mut r), "AFTER");
    assert_eq!(read_line(&mut r), "LAST");
    let mut rest = Vec::new();
    assert_eq!(
        r.read_to_end(&mut rest).unwrap(),
        0,
        "closed after the last reply"
    );
    let (_, stats) = server.stop();
    assert_eq!(stats.overlong, 1);
}

#[test]
fn lines_from_many_connections_are_answered_in_order() {
    let server = ServerThread::start(ServerConfig::default(), App::Upper);
    let handles: Vec<_> = (0..20)
        .map(|k| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let c = connect(addr);
                let mut w = c.try_clone().unwrap();
                let writer = std::thread::spawn(move || {
                    for n in 0..200 {
                        writeln!(w, "conn {k} line {n}").unwrap();
                    }
                    w.shutdown(Shutdown::Write).unwrap();
                });
                let r = BufReader::new(c);
                let got: Vec<String> = r.lines().map(|l| l.unwrap()).collect();
                writer.join().unwrap();
                let want: Vec<String> = (0..200).map(|n| format!("CONN {k} LINE {n}")).collect();
                assert_eq!(got, want);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn bytes_and_the_end_arriving_together_are_both_served() {
    // the peer's end right behind its bytes: the server's short read must
    // not be taken as all there is (the end comes after it)
    for app in [App::Echo, App::Upper] {
        let server = ServerThread::start(ServerConfig::default().buffers(256, 256), app);
        let mut conns: Vec<_> = (0..64).map(|_| connect(server.addr)).collect();
        for (k, c) in conns.iter_mut().enumerate() {
            c.write_all(format!("bye {k}\n").as_bytes()).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
        }
        for (k, c) in conns.iter_mut().enumerate() {
            let mut got = String::new();
            c.read_to_string(&mut got).expect("served, then closed");
            let want = format!("bye {k}\n");
            let want = if app == App::Upper {
                want.to_ascii_uppercase()
            } else {
                want
            };
            assert_eq!(got, want);
        }
        let (_, stats) = server.stop();
        assert_eq!(stats.closed, 64, "{stats:?}");
    }
}

#[test]
fn a_server_with_more_slots_than_the_board_has_wakers() {
    // the server's remoter serves every slot: two wakers in all
    let slots = hio_std::reactor::BOARD_SLOTS + 100;
    let server = ServerThread::start(ServerConfig::default().max_conns(slots), App::Echo);
    assert_eq!(round_trip(server.addr, b"many slots\n"), b"many slots\n");
    let (report, stats) = server.stop();
    assert_eq!(report.end, End::Stopped);
    assert_eq!(stats.accepted, 1);
}
