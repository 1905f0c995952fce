//! Configurations of the TCP server and client.

use std::time::Duration;

/// How a [`Server`](crate::net::Server) serves: its connection limit,
/// buffers and timeouts.
///
/// ```
/// use std::time::Duration;
/// use hio_std::net::ServerConfig;
/// let c = ServerConfig::default()
///     .max_conns(100)
///     .idle_timeout(Some(Duration::from_secs(30)));
/// assert_eq!(c.max_conns, 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Connections served at once. A connection past it is accepted and
    /// closed at once (counted in `refused`), never left queued.
    pub max_conns: usize,
    /// Close a connection after this long without a byte in or out.
    pub idle_timeout: Option<Duration>,
    /// Receive buffer per connection, bytes. When it is full the server
    /// stops reading that connection (the peer's sends then wait in TCP).
    pub rx_capacity: usize,
    /// Send buffer per connection, bytes. `Server::send` takes what fits.
    pub tx_capacity: usize,
    /// Bytes read from one connection per pass at most, so that one fast
    /// peer cannot starve the others.
    pub read_budget: usize,
    /// Connections accepted per pass at most.
    pub accept_budget: usize,
    /// The listen backlog.
    pub backlog: i32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_conns: 1024,
            idle_timeout: None,
            rx_capacity: 4096,
            tx_capacity: 4096,
            read_budget: 64 * 1024,
            accept_budget: 64,
            backlog: 1024,
        }
    }
}

impl ServerConfig {
    /// With this connection limit.
    pub const fn max_conns(mut self, n: usize) -> Self {
        self.max_conns = n;
        self
    }

    /// With this idle timeout (`None`: never).
    pub const fn idle_timeout(mut self, t: Option<Duration>) -> Self {
        self.idle_timeout = t;
        self
    }

    /// With these buffer sizes (receive, send), bytes.
    pub const fn buffers(mut self, rx: usize, tx: usize) -> Self {
        self.rx_capacity = rx;
        self.tx_capacity = tx;
        self
    }

    /// With this read budget per connection and pass, bytes.
    pub const fn read_budget(mut self, bytes: usize) -> Self {
        self.read_budget = bytes;
        self
    }
}

/// When and how often a [`Client`](crate::net::Client) reconnects: after a
/// failed connect and after the peer closes, waiting `initial`, then twice
/// as long each time up to `max`; a connection that came up resets it.
///
/// ```
/// use std::time::Duration;
/// use hio_std::net::Backoff;
/// let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
/// assert_eq!(b.delay(0), Duration::from_millis(100));
/// assert_eq!(b.delay(3), Duration::from_millis(800));
/// assert_eq!(b.delay(40), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Give up after this many attempts in a row (`None`: never).
    pub attempts: Option<u32>,
}

impl Backoff {
    /// Waits from `initial` doubling up to `max`, never giving up.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            attempts: None,
        }
    }

    /// Gives up after `n` attempts in a row.
    pub const fn attempts(mut self, n: u32) -> Self {
        self.attempts = Some(n);
        self
    }

    /// The wait before attempt `failures + 1`.
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        self.initial
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// How a [`Client`](crate::net::Client) connects.
///
/// ```
/// use std::time::Duration;
/// use hio_std::net::{Backoff, ClientConfig};
/// let c = ClientConfig::default()
///     .connect_timeout(Duration::from_secs(2))
///     .reconnect(Some(Backoff::new(Duration::from_millis(50), Duration::from_secs(1))));
/// assert!(c.reconnect.is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Give a connect up after this long.
    pub connect_timeout: Duration,
    /// Reconnect after a failed connect and after the peer closes
    /// (`None`: stay closed).
    pub reconnect: Option<Backoff>,
    /// Receive buffer, bytes.
    pub rx_capacity: usize,
    /// Send buffer, bytes.
    pub tx_capacity: usize,
    /// Bytes read per pass at most.
    pub read_budget: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(5),
            reconnect: None,
            rx_capacity: 16 * 1024,
            tx_capacity: 16 * 1024,
            read_budget: 64 * 1024,
        }
    }
}

impl ClientConfig {
    /// With this connect timeout.
    pub const fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// With this reconnect policy (`None`: no reconnect).
    pub const fn reconnect(mut self, b: Option<Backoff>) -> Self {
        self.reconnect = b;
        self
    }

    /// With these buffer sizes (receive, send), bytes.
    pub const fn buffers(mut self, rx: usize, tx: usize) -> Self {
        self.rx_capacity = rx;
        self.tx_capacity = tx;
        self
    }
}
