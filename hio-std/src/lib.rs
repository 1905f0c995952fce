//! # hio-std
//!
//! hio on hosted systems (Linux):
//!
//! - [`reactor`]: a mio reactor whose clock lets a real-time Doist sleep in
//!   one `poll` until the next due doer or a ready socket, whose readiness
//!   wakes the socket's parked doer; Ctrl-C and SIGTERM stop the run.
//! - [`net`]: TCP clients and servers (a parked remoter per connection, in a
//!   lazy DoDoer) and UDP peers, with bounded buffers, and their doers.
//! - [`logger`]: the `log` facade into a bounded queue, written out by a
//!   parked doer, so logging never blocks the tree.
//! - [`StdClock`]: a plain real-time clock on `Instant`.
//! - [`scenario`]: the runner behind `hio trace`; [`demo`]: the flow behind
//!   `hio demo`.
//!
//! TLS and Linux ttys are not built yet.
//!
//! The `hio` command line:
//!
//! ```text
//! hio demo [--seconds N]                    run the demo flow in real time (0: until Ctrl-C)
//! hio trace SCENARIO.json                   run a scenario in simulated time, print its trace
//! hio echo --listen ADDR                    a TCP echo server
//! hio udp-echo --bind ADDR                  a UDP echo peer
//! hio send --connect ADDR | --udp ADDR      send stdin's lines, print the replies
//! ```
//!
//! `-v` / `-q` set how much is logged on stderr.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
pub mod demo;
pub mod logger;
pub mod net;
pub mod reactor;
pub mod scenario;

pub use clock::StdClock;
