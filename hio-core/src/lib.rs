//! # hio-core
//!
//! The heart of hio for Rust: hierarchical structured concurrency on one
//! tick-based clock, with no heap, no `unsafe` and no I/O.
//!
//! - **Tyme** ([`Tyme`], [`Tock`]): exact integer nanoseconds. Ten tocks of
//!   0.1 s are exactly 1 s.
//! - **Doers** ([`Doer`]): units of work with six contexts — *enter*,
//!   *recur*, *clean*, *exit*, *cease*, *abort* — that fail with a
//!   [`Fault`] value, never a panic.
//! - **DoDoers** ([`DoDoer`]): doers that run child doers, nested to any
//!   depth, with capacities fixed at build time.
//! - **The Doist** ([`Doist`]): the root; it owns the tyme, runs one pass
//!   per tock, ends the run (`done`, `limit`, `fault`, `stopped`), and in
//!   real time sleeps until the next due doer ([`Clock`]).
//! - **Decks** ([`Deck`]): bounded FIFOs that link doers into flows.
//! - **Future doers** ([`FutureDoer`]): an `async` block as a doer.
//! - **Park and wake** ([`Tock::NEVER`], [`Waker`], [`WakeBoard`], lazy
//!   DoDoers): a doer waiting for I/O, an interrupt or another doer costs
//!   nothing until that event wakes it.
//! - **Observers** (`Observer`, feature `observe`): see every lifecycle
//!   event (traces).
//!
//! The scheduling contract (`SEMANTICS.md` in the repository) is kept
//! exactly, on every target.
//!
//! ## Features
//!
//! - `requests` (default): run-time changes to the tree — a recur asks
//!   with `Cx::request`, and `Doer::request` adds spares and removes doers
//!   through `Requests`. Firmware whose tree is fixed leaves it out
//!   (`default-features = false`) and saves about 1.1 KB of flash on a
//!   Cortex-M3; the scheduling is otherwise the same.
//! - `observe` (default): `Observer`s see every lifecycle event
//!   (`Doist::observe`). Without it the event hooks compile to nothing
//!   (about 200 bytes less flash on a Cortex-M3).
//! - `scenario`: the contract's scenario doers, for `hio trace` and
//!   on-target conformance (implies `requests` and `observe`).
//! - `defmt`: `defmt::Format` on the public types.
//! - `std`: reserved.
//!
//! ```
//! use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, SimClock, Step, Tock};
//!
//! struct Blink { on: bool, flips: u32 }
//! impl Doer for Blink {
//!     fn name(&self) -> &str { "blink" }
//!     fn tock(&self) -> Tock { Tock::from_millis(500) }
//!     fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
//!         self.on = !self.on;
//!         self.flips += 1;
//!         Ok(Step::Continue)
//!     }
//! }
//!
//! let mut blink = Blink { on: false, flips: 0 };
//! let mut doist: Doist<'_, 4> = Doist::new(Tock::from_millis(100))
//!     .unwrap()
//!     .with_limit(Tock::from_secs(2));
//! doist.add(&mut blink).unwrap();
//! let report = doist.run(&mut SimClock::new(), None);
//! assert_eq!(report.end, End::Limit);
//! drop(doist);
//! assert_eq!(blink.flips, 4); // 0, 0.5, 1.0, 1.5 s
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod cx;
mod deck;
mod dodoer;
mod doer;
mod doist;
mod full;
mod future;
mod group;
#[cfg(feature = "requests")]
mod requests;
#[cfg(feature = "scenario")]
#[cfg_attr(docsrs, doc(cfg(feature = "scenario")))]
pub mod scenario;
mod tick;
mod tyme;
mod tymer;
pub mod wake;

pub use clock::{Clock, SimClock, StopFlag};
#[doc(hidden)]
pub use cx::Env;
#[cfg(feature = "observe")]
pub use cx::Observer;
pub use cx::{Cx, Name};
pub use deck::{Deck, Pull, Push};
pub use dodoer::DoDoer;
pub use doer::{Context, Doer, Fault, FaultKind, Outcome, Step};
pub use doist::{Doist, DoistError, End, Report};
pub use full::{Full, Refusal};
pub use future::{FutureDoer, Yield, Yielder};
#[cfg(feature = "requests")]
pub use group::Restart;
pub use group::{Deeds, DoerRef, Group, DEED_BYTES, SUMMARY_BLOCK};
#[cfg(feature = "requests")]
#[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
pub use requests::{RequestError, Requests, Target};
pub use tick::Tick;
pub use tyme::{Tock, Tyme, TymeError};
pub use tymer::Tymer;
pub use wake::{Pender, WakeBoard, WakeError, Waker};

/// The README's examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
