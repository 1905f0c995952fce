//! Hosted networking: TCP clients and servers and UDP peers as doers on
//! the [`Reactor`](crate::reactor::Reactor).
//!
//! As in hio, each endpoint is a plain object shared by reference —
//! [`Client`], [`Server`], [`Peer`] — and a doer serves it:
//! [`ClientDoer`], [`ServerDoer`], [`PeerDoer`]. Application doers read and
//! write the endpoint (or Decks linked to it, [`LineServer`] and
//! [`LineService`]) and never touch a socket. Every socket doer parks
//! ([`Tock::NEVER`](hio_core::Tock::NEVER)) until its socket is ready, so
//! idle connections cost nothing per pass.
//!
//! Everything is bounded: receive and send buffers are fixed [`Ring`]s,
//! reads per pass are capped, a server has a connection limit, datagram
//! queues have a length. Faults a peer can cause (resets, overlong lines,
//! oversize datagrams, floods) are counted and logged; none stops the
//! others.
//!
//! TLS ([`tls`]) runs over the same server and client: a [`Server`] made
//! [`with_tls`](Server::with_tls) or a [`Client`]
//! [`with_tls`](Client::with_tls) drives a rustls session from each
//! connection's own doer, with the same buffers and limits.

mod client;
mod config;
mod error;
mod lines;
mod ring;
mod server;
mod server_doer;
pub mod tls;
pub mod tool;
mod udp;

pub use client::{Client, ClientDoer, ClientState, ClientStats};
pub use config::{Backoff, ClientConfig, ServerConfig};
pub use error::NetError;
pub use lines::{Line, LineServer, LineService, IN_FLIGHT};
pub use ring::{Filled, Ring};
pub use server::{CloseReason, ConnId, Server, ServerEvent, ServerStats};
pub use server_doer::{Acceptor, EchoServerDoer, Remoter, ServerDoer, ServerParts};
pub use udp::{Datagram, Peer, PeerConfig, PeerDoer, PeerStats, UdpEchoDoer};

/// Parses `IP:PORT` (IPv4, or IPv6 in brackets: `[::1]:7000`).
///
/// ```
/// use hio_std::net::parse_addr;
/// assert_eq!(parse_addr("[::1]:0").unwrap().port(), 0);
/// assert!(parse_addr("localhost").is_err());
/// ```
///
/// # Errors
///
/// [`NetError::BadAddress`] for anything else.
pub fn parse_addr(s: &str) -> Result<std::net::SocketAddr, NetError> {
    s.trim().parse().map_err(|_| NetError::BadAddress)
}
