//! A TCP echo server built from hio's doers: the server's acceptor and
//! remoter (parked until their sockets are ready) and an echo doer, in
//! one real-time Doist on the mio reactor. Ctrl-C stops it cleanly.
//!
//! ```text
//! cargo run -p hio-examples --example echo_server -- 127.0.0.1:7000
//! ```

use hio_core::Doist;
use hio_std::net::{EchoServerDoer, Server, ServerConfig, ServerDoer, ServerParts};
use hio_std::reactor::{Reactor, NET_TOCK};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let addr = hio_std::net::parse_addr(&addr)?;
    let reactor = Reactor::new()?;
    reactor.stop_on_signals()?;
    let config = ServerConfig::default().max_conns(256);
    let server = Server::bind(&reactor, addr, config)?;
    let mut parts = ServerParts::new(&server)?;
    let mut serve: ServerDoer<'_, 257> = ServerDoer::new("server", &mut parts)?;
    let mut echo = EchoServerDoer::new(&server)?;
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK).map_err(std::io::Error::other)?;
    doist.wakes(reactor.board());
    doist
        .add(&mut serve)
        .map_err(|_| std::io::Error::other("the Doist is full"))?;
    doist
        .add(&mut echo)
        .map_err(|_| std::io::Error::other("the Doist is full"))?;
    println!("listening on {}", server.local_addr());
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    println!("{}: {:?}", report.end.as_str(), server.stats());
    Ok(())
}
