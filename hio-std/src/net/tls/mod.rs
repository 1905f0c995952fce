//! TLS over the TCP [`Server`](crate::net::Server) and
//! [`Client`](crate::net::Client), with rustls (on *ring*).
//!
//! rustls does no I/O: a [`Session`] holds one connection's rustls state
//! and is pumped by the connection's doer (a server's remoter, a client's
//! doer) from the same non-blocking socket and bounded
//! [`Ring`](crate::net::Ring)s as plain TCP. A TLS connection is served
//! like any other, not on a thread: a slow or stalled handshake holds up
//! no other connection, and one that takes longer than its timeout is
//! closed ([`TlsFailure::HandshakeTimeout`]).
//!
//! - A server: [`ServerTls`] from PEM files (certificate chain and key),
//!   optional client-certificate verification (mutual TLS), ALPN, TLS 1.3
//!   and 1.2; then [`Server::with_tls`](crate::net::Server::with_tls).
//! - A client: [`ClientTls`] trusting a CA file (or, with the
//!   `webpki-roots` feature, the public roots), a server name, an optional
//!   client certificate; then
//!   [`Client::with_tls`](crate::net::Client::with_tls).
//! - Memory stays bounded: besides the connection's rings, a session
//!   holds at most one incoming record (a handshake message: 64 KiB at
//!   most), a record or two of decrypted plaintext (it stops reading
//!   while that waits: backpressure reaches TCP as on plain connections),
//!   and outgoing records up to the send buffer's size (at least one
//!   record).
//! - Closing sends a close_notify; a peer's close_notify is its end of
//!   data. A peer that drops TCP without one fails its connection with
//!   [`TlsFailure::Truncated`].
//! - Every failure of a connection is logged and counted
//!   ([`ServerStats`](crate::net::ServerStats)'s `tls_*` counters) and
//!   closes that connection only.
//! - [`Authority`] issues certificates (`hio cert`, tests).
//!
//! ```no_run
//! use hio_std::net::tls::{ClientTls, ServerTls};
//! let server = ServerTls::from_pem_files("server.pem", "server-key.pem")?
//!     .client_ca_file("ca.pem")? // mutual TLS
//!     .build()?;
//! let client = ClientTls::with_ca_file("ca.pem")?
//!     .server_name("localhost")?
//!     .client_cert_files("client.pem", "client-key.pem")?
//!     .build()?;
//! # Ok::<(), hio_std::net::tls::TlsError>(())
//! ```

mod cert;
mod config;
mod drive;
mod error;
pub(crate) mod session;

pub use cert::{write_cert_set, Authority, Date, Issued, Usage, CERT_SET_FILES, CLIENT_CERT_FILES};
pub use config::{
    ClientTls, ClientTlsBuilder, ServerTls, ServerTlsBuilder, TlsVersions, HANDSHAKE_TIMEOUT,
};
pub use drive::{serve_bytes, Served};
pub use error::{TlsError, TlsFailure};
pub use session::{Broken, Pumped, Session};
