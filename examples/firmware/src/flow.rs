//! The serial flow's parts, as types: `serial-flow` builds its tree from
//! them and `sizes` reports what each one takes; and UART0's receive
//! interrupt, which wakes the parked SerialDoer.
//!
//! ```text
//!  UART0 --> [SerialDoer] --rx Deck--> [Console] --tx Deck--> [SerialDoer] --> UART0
//!                                      [Heartbeat] --^
//! ```

use core::cell::Cell;

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::NVIC;
use hio_core::{Deck, Doist, Tock, WakeBoard, Waker};
use hio_embedded::pl011::{BaudDivisor, Pl011Mmio, LM3S6965_UART0};
use hio_embedded::{Console, Frame, Heartbeat, Lines, Pl011, SerialDoer};

use crate::{Uart0Irq, BAUD, CORE_HZ};

/// The longest line, in bytes (a `stats` reply is about 80).
pub const LINE: usize = 128;
/// The encode buffer: a line and its `\r\n`.
pub const ENCODED: usize = LINE + 2;
/// Lines each Deck holds.
pub const DECK: usize = 4;
/// The Doist's tock: 10 ms.
pub const TOCK: Tock = Tock::from_millis(10);

/// UART0: polled, or with its receive interrupt
/// ([`Pl011::with_rx_interrupt`]).
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

/// The wakers of the serial flow: the SerialDoer's and the Console's.
pub static BOARD: WakeBoard<2> = WakeBoard::new();

/// The waker UART0's interrupt handler uses.
static UART0_WAKER: Mutex<Cell<Option<Waker>>> = Mutex::new(Cell::new(None));

/// From now on, UART0's interrupt wakes `waker` (the SerialDoer's): it is
/// enabled in the NVIC. The UART raises it only once the driver unmasks it
/// ([`Pl011::with_rx_interrupt`]).
pub fn wake_on_uart0(waker: Waker) {
    interrupt::free(|cs| UART0_WAKER.borrow(cs).set(Some(waker)));
    // SAFETY: unmasking cannot break a critical section (none is open
    // here), and the handler it lets run, `on_uart0`, shares only the
    // Mutex above and IMSC (a single store) with the rest of the program.
    unsafe { NVIC::unmask(Uart0Irq) }
}

/// UART0's interrupt: masks the UART's interrupts (the driver unmasks them
/// again once it has read the receive FIFO empty; nothing is cleared, so
/// no byte goes unannounced) and wakes the SerialDoer. Call it from the
/// `UART0` handler.
pub fn on_uart0() {
    // SAFETY: LM3S6965_UART0 is this board's PL011 block; masking from the
    // handler is the one access its driver allows besides its own.
    unsafe { Pl011Mmio::mask_interrupts(LM3S6965_UART0) };
    if let Some(waker) = interrupt::free(|cs| UART0_WAKER.borrow(cs).get()) {
        waker.wake();
    }
}
