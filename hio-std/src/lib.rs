//! # hio-std
//!
//! hio on hosted systems: the real-time clock, the scenario runner behind
//! `hio trace`, the demo flow behind `hio demo`, and (growing) sockets, TLS
//! and ttys.
//!
//! The `hio` command line:
//!
//! ```text
//! hio demo [--seconds N]     run the demo flow in real time
//! hio trace SCENARIO.json    run a scenario in simulated time, print its trace
//! ```
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
