//! The serial-to-network bridge behind `hio bridge`: frames from a serial
//! device go to every connected TCP client, frames from any client go to
//! the device.
//!
//! ```text
//!  tty --> [serial: TtyDoer] --from-device Deck--> [hub] --> every client's queue --> TCP
//!  tty <-- [serial: TtyDoer] <--to-device Deck--- [hub] <-- any client ------------- TCP
//!                                                  [server: acceptor, a remoter for the clients]
//! ```
//!
//! - The device is a [`Tty`] under a [`TtyDoer`] (hio-embedded's
//!   SerialDoer, unchanged, sends), parked until the tty is ready; framing
//!   is [`Framing::Lines`] (the default) or [`Framing::Cobs`] (binary
//!   frames with a CRC), the same on the device and on TCP.
//! - Data moves in batches: the device is read in large chunks and every
//!   complete frame of a chunk is cut at once (lines by a search for each
//!   newline); the frames of a pass go to each client in one send, and to
//!   the device in one write; a client's bytes are taken in large reads.
//! - Clients come and go freely. A slow client has its own bounded queue
//!   (the server's send buffer, `client_queue` bytes) and is dropped with a
//!   log line when it overflows; the others and the device do not wait.
//! - A client sending faster than the device takes is held back (its bytes
//!   wait in TCP: nothing is lost), counted in `held_back`.
//! - A device that goes away is reported; clients stay connected, frames
//!   from them are dropped and counted until it is back; the device is
//!   reopened every [`RETRY`](crate::tty::RETRY).
//! - A [`WireLog`] records every frame in and out with its tyme and
//!   direction.
//! - Clients may be served over TLS ([`BridgeConfig::tls`]).
//! - [`replay`] reruns the hub and the device's doer in simulated time
//!   against a wire log (`hio replay FILE`), and gives the live run's
//!   trace and the replay's: they are the same, event for event.

mod clients;
mod hub;
mod record;
mod replay;
mod wirelog;

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use hio_core::{Deck, Doer, Doist, End, Report, StopFlag};
use hio_embedded::{Cobs, Frame, Framer, Lines, SerialStats};

pub use clients::{ClientEvent, ClientId, Clients, ServerClients};
pub use hub::{BridgeStats, Hub};
pub use record::{Answers, NoClients, Recorded, Tape};
pub use replay::{replay, ReplayError, Replayed};
pub use wirelog::{Direction, WireLog};

use crate::net::tls::ServerTls;
use crate::net::{Server, ServerConfig, ServerDoer, ServerParts};
use crate::reactor::{Reactor, NET_TOCK};
use crate::tty::{Tty, TtyConfig, TtyDoer, TtyError, TtyStatus};

/// The longest frame a bridge carries, bytes (longer ones are dropped and
/// counted).
pub const FRAME: usize = 1024;
/// The encode buffer of a frame on its way to the device.
pub(crate) const ENCODED: usize = FRAME + FRAME / 254 + 16;
/// Frames each of the device's Decks holds.
const DECK: usize = 128;
/// The most clients a bridge serves.
pub const MAX_CLIENTS: usize = 1024;

/// A frame through a bridge.
pub type BridgeFrame = Frame<FRAME>;
/// A Deck of frames to or from the device.
pub type FrameDeck = Deck<BridgeFrame, DECK>;

/// How frames are cut, on the device and on TCP alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// Newline-delimited lines (`\r\n` accepted).
    #[default]
    Lines,
    /// COBS frames with a CRC-16, `0x00`-delimited (binary).
    Cobs,
}

impl std::str::FromStr for Framing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lines" => Ok(Framing::Lines),
            "cobs" => Ok(Framing::Cobs),
            _ => Err(format!("`{s}`: give `lines` or `cobs`")),
        }
    }
}

/// How a bridge runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// The serial device's path.
    pub serial: PathBuf,
    /// How the device is set up.
    pub tty: TtyConfig,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// How frames are cut.
    pub framing: Framing,
    /// Clients served at once.
    pub max_clients: usize,
    /// Each client's queue, bytes: a client that falls further behind is
    /// dropped.
    pub client_queue: usize,
    /// Where to record every frame, if anywhere.
    pub wirelog: Option<PathBuf>,
    /// TLS for the clients' connections, if any.
    pub tls: Option<ServerTls>,
}

impl BridgeConfig {
    /// A bridge between `serial` (115200 8N1, raw; lines) and `listen`.
    pub fn new(serial: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        BridgeConfig {
            serial: serial.into(),
            tty: TtyConfig::default(),
            listen,
            framing: Framing::Lines,
            max_clients: 64,
            client_queue: 64 * 1024,
            wirelog: None,
            tls: None,
        }
    }

    /// With this tty set-up.
    pub fn tty_config(mut self, tty: TtyConfig) -> Self {
        self.tty = tty;
        self
    }

    /// With this framing.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// With this client limit.
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n;
        self
    }

    /// With this queue per client, bytes.
    pub fn client_queue(mut self, bytes: usize) -> Self {
        self.client_queue = bytes;
        self
    }

    /// Recording every frame into `path`.
    pub fn wirelog(mut self, path: Option<PathBuf>) -> Self {
        self.wirelog = path;
        self
    }

    /// Serving the clients over TLS (`None`: plain TCP).
    pub fn tls(mut self, tls: Option<ServerTls>) -> Self {
        self.tls = tls;
        self
    }
}

/// Why a bridge could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BridgeError {
    /// The serial device could not be opened.
    Device {
        /// Its path.
        path: PathBuf,
        /// Why.
        error: TtyError,
    },
    /// Could not listen at the address.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        kind: io::ErrorKind,
    },
    /// The wire log could not be created.
    WireLog {
        /// Its path.
        path: PathBuf,
        /// Why.
        kind: io::ErrorKind,
    },
    /// `max_clients` is out of range.
    MaxClients(usize),
    /// The reactor failed (out of file descriptors or wakers).
    Io(io::ErrorKind),
    /// The run ended in a fault.
    Fault(String),
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Device { path, error } => write!(f, "{}: {error}", path.display()),
            BridgeError::Bind { addr, kind } => write!(
                f,
                "cannot listen on {addr}: {kind} (pick another port, or 0 for a free one)"
            ),
            BridgeError::WireLog { path, kind } => write!(
                f,
                "cannot create the wire log {}: {kind} (check the directory exists and is writable)",
                path.display()
            ),
            BridgeError::MaxClients(n) => {
                write!(f, "--max-clients {n} is out of range: give 1 to {MAX_CLIENTS}")
            }
            BridgeError::Io(k) => write!(f, "i/o error: {k}"),
            BridgeError::Fault(s) => write!(f, "the bridge failed: {s}"),
        }
    }
}

impl std::error::Error for BridgeError {}

/// A running bridge's parts, lent to the closure of [`with_bridge`]: its
/// three doers, to add to a Doist (in this order), and its counters.
pub struct Bridge<'b> {
    /// The TCP server's doer (acceptor and remoter).
    pub server: &'b mut dyn Doer,
    /// The hub between clients and the device.
    pub hub: &'b mut dyn Doer,
    /// The device's doer.
    pub serial: &'b mut dyn Doer,
    /// The address it listens on.
    pub local: SocketAddr,
    /// Its counters.
    pub stats: &'b BridgeStats,
    /// The device's status.
    pub status: &'b TtyStatus,
    /// The device's serial counters.
    pub serial_stats: &'b SerialStats,
    /// The wire log, if it keeps one.
    pub wirelog: Option<&'b RefCell<WireLog>>,
}

impl fmt::Debug for Bridge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("local", &self.local)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Opens the device, listens, builds the bridge's doers on `reactor` and
/// hands them to `f` (which adds them to a Doist and runs it); returns what
/// `f` returns.
///
/// # Errors
///
/// [`BridgeError::Device`] if the device cannot be opened (the message
/// says what to fix), [`BridgeError::Bind`], [`BridgeError::WireLog`],
/// [`BridgeError::MaxClients`].
pub fn with_bridge<R>(
    reactor: &Reactor,
    config: &BridgeConfig,
    f: impl FnOnce(Bridge<'_>) -> R,
) -> Result<R, BridgeError> {
    match config.framing {
        Framing::Lines => build(reactor, config, Lines::<FRAME>::new(), f),
        Framing::Cobs => build(reactor, config, Cobs::<FRAME>::new(), f),
    }
}

fn build<F: Framer + Clone, R>(
    reactor: &Reactor,
    config: &BridgeConfig,
    framer: F,
    f: impl FnOnce(Bridge<'_>) -> R,
) -> Result<R, BridgeError> {
    if config.max_clients == 0 || config.max_clients > MAX_CLIENTS {
        return Err(BridgeError::MaxClients(config.max_clients));
    }
    let tty = Tty::open(&config.serial, config.tty).map_err(|error| BridgeError::Device {
        path: config.serial.clone(),
        error,
    })?;
    let framing = match config.framing {
        Framing::Lines => "lines",
        Framing::Cobs => "cobs",
    };
    let wire = match &config.wirelog {
        Some(path) => Some(RefCell::new(WireLog::create(path).map_err(|e| {
            BridgeError::WireLog {
                path: path.clone(),
                kind: e.kind(),
            }
        })?)),
        None => None,
    };
    if let Some(w) = wire.as_ref() {
        w.borrow_mut()
            .header(framing, &config.serial.display().to_string());
    }
    let server_config = ServerConfig {
        tx_capacity: config.client_queue.max(ENCODED),
        ..ServerConfig::default().max_conns(config.max_clients)
    };
    let mut server =
        Server::bind(reactor, config.listen, server_config).map_err(|e| BridgeError::Bind {
            addr: config.listen,
            kind: e.kind(),
        })?;
    if let Some(tls) = config.tls.clone() {
        server = server.with_tls(tls);
    }
    let mut parts = ServerParts::new(&server).map_err(|e| BridgeError::Io(e.kind()))?;
    let mut serve: ServerDoer<'_, { MAX_CLIENTS + 1 }> =
        ServerDoer::new("server", &mut parts).map_err(|e| BridgeError::Io(e.kind()))?;
    let from_dev = FrameDeck::new();
    let to_dev = FrameDeck::new();
    let stats = BridgeStats::default();
    let status = TtyStatus::new();
    let serial_stats = SerialStats::new();
    let no_waker = |_| BridgeError::Io(io::ErrorKind::OutOfMemory);
    let device = Recorded::record(tty, wire.as_ref());
    let mut serial: TtyDoer<'_, F, FRAME, ENCODED, Recorded<'_, Tty>> = TtyDoer::new(
        "serial",
        reactor,
        device,
        framer.clone(),
        &from_dev,
        &to_dev,
        &serial_stats,
        &status,
    )
    .map_err(no_waker)?;
    let clients = Recorded::record(ServerClients::new(&server), wire.as_ref());
    let mut hub = Hub::new(
        &clients, reactor, &from_dev, &to_dev, framer, &status, &stats,
    )
    .map_err(no_waker)?;
    if config.framing == Framing::Lines {
        // lines are cut a chunk at a time, on both sides
        serial = serial.cut_lines();
        hub = hub.cut_lines();
    }
    if let Some(w) = wire.as_ref() {
        hub = hub.with_wirelog(w);
    }
    to_dev.wake_on_push(Some(serial.waker()));
    from_dev.wake_on_pull(Some(serial.waker()));
    from_dev.wake_on_push(Some(hub.waker()));
    to_dev.wake_on_pull(Some(hub.waker()));
    let local = server.local_addr();
    Ok(f(Bridge {
        server: &mut serve,
        hub: &mut hub,
        serial: &mut serial,
        local,
        stats: &stats,
        status: &status,
        serial_stats: &serial_stats,
        wirelog: wire.as_ref(),
    }))
}

/// The doers a replay reruns: their lifecycle events are its trace.
pub const TRACED: [&str; 2] = ["hub", "serial"];

/// Writes the trace of the [`TRACED`] doers into the wire log.
struct Tracer<'w> {
    wire: &'w RefCell<WireLog>,
}

impl hio_core::Observer for Tracer<'_> {
    fn event(&self, doer: &str, context: hio_core::Context, tyme: hio_core::Tyme) {
        if TRACED.contains(&doer) {
            if let Ok(mut w) = self.wire.try_borrow_mut() {
                w.trace(tyme, doer, context.as_str());
            }
        }
    }
}

/// Runs a bridge as `config` says until `stop` (or, with `signals`,
/// SIGINT or SIGTERM) stops it. `ready` gets the bound address and the
/// stop flag once it accepts. Logs its counters at the end.
///
/// # Errors
///
/// As [`with_bridge`]; [`BridgeError::Fault`] if the run ends in a fault.
pub fn run(
    config: &BridgeConfig,
    signals: bool,
    ready: &mut dyn FnMut(SocketAddr, &'static StopFlag),
) -> Result<Report, BridgeError> {
    let reactor = Reactor::new().map_err(|e| BridgeError::Io(e.kind()))?;
    if signals {
        reactor
            .stop_on_signals()
            .map_err(|e| BridgeError::Io(e.kind()))?;
    }
    let report = with_bridge(&reactor, config, |b| {
        let mut doist: Doist<'_, 4> = match Doist::new(NET_TOCK) {
            Ok(d) => d,
            Err(_) => return Err(BridgeError::Io(io::ErrorKind::InvalidInput)),
        };
        doist.wakes(reactor.board());
        // the log writer first: ceased last, it writes what the others log
        let mut logs = crate::logger::installed().map(|l| {
            let d = crate::logger::LogDoer::new(l);
            match reactor.waker() {
                Ok(w) => d.with_waker(w),
                Err(_) => d,
            }
        });
        if let Some(l) = logs.as_mut() {
            let _ = doist.add(l);
        }
        let refused = |_| BridgeError::Io(io::ErrorKind::OutOfMemory);
        doist.add(b.server).map_err(refused)?;
        doist.add(b.hub).map_err(refused)?;
        doist.add(b.serial).map_err(refused)?;
        // with a wire log, the trace of the hub and the device's doer goes
        // into it too, for `hio replay`
        let tracer = b.wirelog.map(|w| Tracer { wire: w });
        if let Some(t) = tracer.as_ref() {
            doist.observe(t);
        }
        ready(b.local, reactor.stop_flag());
        let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
        if let Some(w) = b.wirelog {
            w.borrow_mut().end(report.tyme, report.end.as_str());
            w.borrow_mut().flush();
        }
        log::info!(
            "bridge: ended {}: {}; device: {}",
            report.end.as_str(),
            b.stats,
            b.serial_stats
        );
        Ok(report)
    })??;
    match report.end {
        End::Fault(f) => Err(BridgeError::Fault(f.to_string())),
        _ => Ok(report),
    }
}
