//! # hio-std
//!
//! hio on hosted systems (Linux):
//!
//! - [`reactor`]: a mio reactor whose clock lets a real-time Doist sleep in
//!   one `poll` until the next due doer or a ready socket, whose readiness
//!   wakes the socket's parked doer; Ctrl-C and SIGTERM stop the run.
//! - [`net`]: TCP clients and servers (a server's parked remoter serves its
//!   connections in the order they became ready), TLS on either (rustls,
//!   driven from the same doers), and UDP peers, with bounded buffers, and
//!   their doers.
//! - [`logger`]: the `log` facade into a bounded queue, written out by a
//!   parked doer, so logging never blocks the tree.
//! - [`StdClock`]: a plain real-time clock on `Instant`.
//! - [`tty`]: Linux serial devices and pseudo-terminals as `embedded-io`
//!   UARTs, so hio-embedded's SerialDoer drives them unchanged, parked until
//!   the tty is ready.
//! - [`bridge`]: the serial-to-network bridge behind `hio bridge`.
//! - [`scenario`]: the runner behind `hio trace`; [`demo`]: the main job
//!   behind `hio demo` (a simulated board on a pseudo-terminal, bridged to
//!   TCP, and a client talking to it).
//!
//! The `hio` command line:
//!
//! ```text
//! hio demo [--seconds N]                    a simulated board, bridged to TCP, and a client's conversation
//! hio bridge --serial DEV --listen ADDR     bridge a serial device's frames to TCP clients
//! hio replay WIRELOG                        rerun a bridge's doers against its wire log, print the trace
//! hio trace SCENARIO.json                   run a scenario in simulated time, print its trace
//! hio echo --listen ADDR                    a TCP echo server
//! hio udp-echo --bind ADDR                  a UDP echo peer
//! hio send --connect ADDR | --udp ADDR      send stdin's lines, print the replies
//! hio cert [--out DIR]                      a CA and a server certificate for localhost, for TLS
//! ```
//!
//! `echo`, `send` and `bridge` speak TLS with `--tls-*` options.
//!
//! `-v` / `-q` set how much is logged on stderr.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod bridge;
mod clock;
pub mod demo;
pub mod logger;
pub mod net;
pub mod reactor;
pub mod scenario;
pub mod tty;

pub use clock::StdClock;
