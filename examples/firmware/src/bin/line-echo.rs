//! The smallest serial flow: every line received on UART0 is sent back.
//! It is one [`SerialDoer`] whose rx Deck is its
//! tx Deck: each line it receives is the next line it sends, in the same
//! recur. A full Deck holds reading back, so nothing is lost. It runs under
//! a real-time Doist on SysTick until QEMU is stopped, and sleeps (`WFI`)
//! while nothing comes: the SerialDoer parks until UART0's receive
//! interrupt wakes it, as in `serial-flow`.
//!
//! It first sends one line, `line-echo`, once UART0 is enabled: a peer
//! waits for it before it talks, since bytes that reach a UART before it
//! is set up may be lost (QEMU drops a byte waiting in the PL011's receive
//! register when the firmware switches the FIFOs on).
//!
//! ```text
//! cargo run --release --bin line-echo
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use hio_core::{Deck, Doist, Tock, WakeBoard};
use hio_embedded::systick::{on_systick, SysTickClock};
use hio_embedded::{Frame, Lines, SerialDoer, SerialStats};
use hio_firmware::flow::{on_uart0, uart0, wake_on_uart0, Uart};
use hio_firmware::{exit, vector_table, CORE_HZ};

vector_table!(UART0);

/// The SerialDoer's waker.
static BOARD: WakeBoard<1> = WakeBoard::new();

/// The longest line echoed.
const LINE: usize = 64;
type Line = Frame<LINE>;
/// Lines on their way back.
type LineDeck = Deck<Line, 2>;

#[entry]
fn main() -> ! {
    let Some(p) = cortex_m::Peripherals::take() else {
        exit(false)
    };
    let Ok(io) = BOARD.waker() else { exit(false) };
    let stats = SerialStats::new();
    let lines = LineDeck::new();
    let uart = uart0().with_rx_interrupt();
    let mut serial: SerialDoer<'_, Uart, Lines<LINE>, LINE, { LINE + 1 }> =
        SerialDoer::new("serial", uart, Lines::new(), &lines, &lines, &stats).with_waker(io);
    // ready: sent in the first pass
    let mut ready = Line::new();
    let _ = ready.extend_from_slice(b"line-echo");
    let _ = lines.push(ready);
    let Ok(mut doist): Result<Doist<'_, 1>, _> = Doist::new(Tock::from_millis(10)) else {
        exit(false)
    };
    doist.wakes(&BOARD);
    if doist.add(&mut serial).is_err() {
        exit(false)
    }
    let mut clock = SysTickClock::<CORE_HZ>::start(p.SYST);
    wake_on_uart0(io);
    doist.run(&mut clock, None);
    exit(false)
}

#[exception]
fn SysTick() {
    on_systick();
}

/// UART0's interrupt (IRQ 5): wakes the SerialDoer.
#[no_mangle]
extern "C" fn UART0() {
    on_uart0();
}
