//! The smallest serial flow: every line received on UART0 is sent back, by
//! a [`SerialDoer`](hio_embedded::SerialDoer) and a tiny echo doer under a
//! real-time Doist on SysTick. It runs until QEMU is stopped.
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
use hio_core::{Cx, Deck, Doer, Doist, Fault, Step, Tock};
use hio_embedded::systick::{on_systick, SysTickClock};
use hio_embedded::{Frame, Lines, SerialDoer, SerialStats};
use hio_firmware::flow::{uart0, Uart};
use hio_firmware::{exit, CORE_HZ};

/// The longest line echoed.
const LINE: usize = 64;
type Line = Frame<LINE>;
type LineDeck = Deck<Line, 2>;

/// Moves lines from `rx` to `tx`; a line that does not fit waits.
struct Echo<'a> {
    rx: &'a LineDeck,
    tx: &'a LineDeck,
}

impl Doer for Echo<'_> {
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        while !self.tx.is_full() {
            let Some(line) = self.rx.pull() else { break };
            let _ = self.tx.push(line);
        }
        Ok(Step::Continue)
    }
}

#[entry]
fn main() -> ! {
    let Some(p) = cortex_m::Peripherals::take() else {
        exit(false)
    };
    let stats = SerialStats::new();
    let rx = LineDeck::new();
    let tx = LineDeck::new();
    let mut serial: SerialDoer<'_, Uart, Lines<LINE>, LINE, { LINE + 1 }> =
        SerialDoer::new("serial", uart0(), Lines::new(), &rx, &tx, &stats);
    let mut echo = Echo { rx: &rx, tx: &tx };
    // ready: sent in the first pass
    let mut ready = Line::new();
    let _ = ready.extend_from_slice(b"line-echo");
    let _ = tx.push(ready);
    let Ok(mut doist): Result<Doist<'_, 2>, _> = Doist::new(Tock::from_millis(10)) else {
        exit(false)
    };
    if doist.add(&mut serial).is_err() || doist.add(&mut echo).is_err() {
        exit(false)
    }
    let mut clock = SysTickClock::<CORE_HZ>::start(p.SYST);
    doist.run(&mut clock, None);
    exit(false)
}

#[exception]
fn SysTick() {
    on_systick();
}
