//! Ten thousand connections in a row leave no file descriptor behind. Alone
//! in its binary: it counts this process's descriptors.

mod net_common;

use hio_std::net::ServerConfig;
use net_common::*;

#[test]
fn ten_thousand_connections_in_a_row_leave_no_descriptor_behind() {
    let server = ServerThread::start(ServerConfig::default(), App::Echo);
    // warm up: first-use allocations and descriptors are in the baseline
    assert_eq!(round_trip(server.addr, b"warm\n"), b"warm\n");
    let start = open_fds();
    for k in 0..10_000u32 {
        let line = format!("{k}\n");
        // the server closes after echoing the half-closed stream: once
        // this client sees EOF, the server's socket is closed
        assert_eq!(round_trip(server.addr, line.as_bytes()), line.as_bytes());
    }
    assert_eq!(open_fds(), start, "open descriptors back to the start");
    let (_, stats) = server.stop();
    assert_eq!(stats.accepted, 10_001);
    assert_eq!(stats.closed, 10_001);
    assert_eq!(stats.open, 0);
}
