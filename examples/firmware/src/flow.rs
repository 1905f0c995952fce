//! The serial flow's parts, as types: `serial-flow` builds its tree from
//! them and `sizes` reports what each one takes.
//!
//! ```text
//!  UART0 --> [SerialDoer] --rx Deck--> [Console] --tx Deck--> [SerialDoer] --> UART0
//!                                      [Heartbeat] --^
//! ```

use hio_core::{Deck, Doist, Tock};
use hio_embedded::pl011::{BaudDivisor, Pl011Mmio, LM3S6965_UART0};
use hio_embedded::{Console, Frame, Heartbeat, Lines, Pl011, SerialDoer};

use crate::{BAUD, CORE_HZ};

/// The longest line, in bytes (a `stats` reply is about 80).
pub const LINE: usize = 128;
/// The encode buffer: a line and its `\r\n`.
pub const ENCODED: usize = LINE + 2;
/// Lines each Deck holds.
pub const DECK: usize = 4;
/// The Doist's tock: 10 ms.
pub const TOCK: Tock = Tock::from_millis(10);

/// UART0, polled.
pub type Uart = Pl011<Pl011Mmio>;
/// A line as it travels between doers.
pub type Line = Frame<LINE>;
/// A Deck of lines.
pub type LineDeck = Deck<Line, DECK>;
/// The I/O doer on UART0.
pub type Serial<'a> = SerialDoer<'a, Uart, Lines<LINE>, LINE, ENCODED>;
/// The command console.
pub type Cons<'a> = Console<'a, LINE>;
/// The heartbeat.
pub type Beat<'a> = Heartbeat<'a, LINE>;
/// The Doist of the flow: three top-level doers.
pub type FlowDoist<'a> = Doist<'a, 3>;

/// UART0 of the LM3S6965, enabled: 8N1, FIFOs on, [`BAUD`] from
/// [`CORE_HZ`].
///
/// Call it once: the returned driver owns the UART's registers.
pub fn uart0() -> Uart {
    // SAFETY: LM3S6965_UART0 is the PL011 block of this board; this is the
    // only place that makes a driver for it, and each image calls it once.
    let mut uart = Pl011::new(unsafe { Pl011Mmio::new(LM3S6965_UART0) });
    if let Some(divisor) = BaudDivisor::new(CORE_HZ, BAUD) {
        uart.enable(divisor);
    }
    uart
}
