//! The serial flow on UART0: a [`SerialDoer`](hio_embedded::SerialDoer)
//! cutting lines, a [`Console`](hio_embedded::Console) answering them and a
//! [`Heartbeat`](hio_embedded::Heartbeat) beating once a second, linked by
//! two Decks, under a real-time Doist on SysTick (tickless: it sleeps with
//! `WFI` between passes).
//!
//! `quit` answers `bye` and raises the stop flag: the Doist ends `stopped`,
//! ceasing every doer in reverse order (the SerialDoer sends what is left),
//! and the program exits with semihosting status 0. Any other end exits
//! with status 1.
//!
//! The first beat, `beat 1 0.0`, also says that UART0 is up: a peer waits
//! for it before it talks, since bytes that reach a UART before it is set
//! up may be lost.
//!
//! ```text
//! cargo run --release --bin serial-flow
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use hio_core::{Doist, End, StopFlag};
use hio_embedded::systick::{on_systick, SysTickClock};
use hio_embedded::{Lines, SerialStats};
use hio_firmware::flow::{uart0, Beat, Cons, FlowDoist, LineDeck, Serial, TOCK};
use hio_firmware::{exit, CORE_HZ};

/// Raised by the console on `quit`.
static STOP: StopFlag = StopFlag::new();

#[entry]
fn main() -> ! {
    let Some(p) = cortex_m::Peripherals::take() else {
        exit(false)
    };
    // The tree lives in this frame, which never returns.
    let stats = SerialStats::new();
    let rx = LineDeck::new();
    let tx = LineDeck::new();
    let mut serial = Serial::new("serial", uart0(), Lines::new(), &rx, &tx, &stats);
    let mut console = Cons::new(&rx, &tx, &stats, &STOP);
    let mut beat = Beat::new(&tx);
    let Ok(mut doist): Result<FlowDoist<'_>, _> = Doist::new(TOCK) else {
        exit(false)
    };
    if doist.add(&mut serial).is_err()
        || doist.add(&mut console).is_err()
        || doist.add(&mut beat).is_err()
    {
        exit(false)
    }
    let mut clock = SysTickClock::<CORE_HZ>::start(p.SYST);
    let report = doist.run(&mut clock, Some(&STOP));
    exit(report.end == End::Stopped)
}

#[exception]
fn SysTick() {
    on_systick();
}
