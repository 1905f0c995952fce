//! # hio-embedded
//!
//! Serial flows for hio on microcontrollers: no_std, no heap.
//!
//! A serial flow is a small doer tree: a [`SerialDoer`] at the edge moves
//! bytes between a UART and frames on Decks; logic doers such as
//! [`Console`] and [`Heartbeat`] sit between the Decks and never touch the
//! device. The same tree runs on a Cortex-M, under QEMU, and on a host
//! against a mock UART or a tty.
//!
//! ```text
//!  UART --> [SerialDoer] --rx Deck--> [Console] --tx Deck--> [SerialDoer] --> UART
//!                                      [Heartbeat] --^
//! ```
//!
//! - UARTs: anything with the `embedded-io` traits; `embedded-hal-nb`
//!   UARTs through [`nb_adapter::NbSerial`]; a PL011 driver in [`pl011`];
//!   a scriptable [`mock::MockUart`] for tests.
//! - Framing: [`Lines`] (newline-delimited, like hio's serial Driver) and
//!   [`Cobs`] (COBS with a CRC-16, for binary frames over noisy lines).
//! - Errors: every UART and framing error is counted in [`SerialStats`];
//!   none stops the flow.
//! - Waiting: a [`SerialDoer`] or [`Console`] given a waker parks until
//!   there is work (a UART's receive interrupt, a line in a Deck), so an
//!   idle flow costs nothing between its heartbeats; without one they poll.
//!   On a Cortex-M, `systick::SysTickClock` (feature `cortex-m`) sleeps with
//!   `WFI` until the next due doer or a wake, and counts its wake-ups.
//! - `defmt` (feature `defmt`): derives on every public type and log lines
//!   in the flow.
//!
//! hio-embedded takes hio-core without its default features. A firmware
//! whose tree is fixed and has no tracer does the same and stays small
//! (`hio-core = { version = "0.1", default-features = false }`): about
//! 1.3 KB less flash on a Cortex-M3 than with run-time requests and
//! observers, which a firmware that needs them turns on by name.
#![no_std]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod fmt;

pub mod cobs;
mod console;
pub mod crc;
#[cfg_attr(not(feature = "cortex-m"), allow(dead_code))]
mod cycles;
pub mod error;
mod framer;
pub mod line;
pub mod mock;
pub mod nb_adapter;
pub mod pl011;
mod serial;
#[cfg(feature = "cortex-m")]
#[cfg_attr(docsrs, doc(cfg(feature = "cortex-m")))]
pub mod systick;

pub use console::{Console, Heartbeat};
pub use error::{FrameDecodeError, FrameEncodeError, LineEncodeError, LineError, SerialError};
pub use framer::{Cobs, FrameError, Framer, Lines};
pub use mock::MockUart;
pub use nb_adapter::NbSerial;
pub use pl011::Pl011;
pub use serial::{Frame, SerialDoer, SerialStats};
