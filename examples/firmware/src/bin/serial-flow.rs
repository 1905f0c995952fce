//! The serial flow on UART0: a [`SerialDoer`](hio_embedded::SerialDoer)
//! cutting lines, a [`Console`](hio_embedded::Console) answering them and a
//! [`Heartbeat`](hio_embedded::Heartbeat) beating once a second, linked by
//! two Decks, under a real-time Doist on SysTick (tickless: it sleeps with
//! `WFI` until a doer is due or an interrupt comes).
//!
//! The SerialDoer and the Console park until there is work: UART0's
//! receive interrupt or a line in the tx Deck wakes the SerialDoer, a line
//! in the rx Deck (or room in the tx Deck for a held reply) wakes the
//! Console. An idle flow wakes once a second, for the beat: `stats` ends
//! with `wakeups N`, the sleeps that ended so far. The SerialDoer runs last
//! in the tree, so a beat or a reply pushed in a pass goes out in that
//! same pass.
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
use hio_core::{DoerRef, Doist, End, StopFlag};
use hio_embedded::systick::{on_systick, wakeups, SysTickClock};
use hio_embedded::{Lines, SerialStats};
use hio_firmware::flow::{
    on_uart0, uart0, wake_on_uart0, Beat, Cons, FlowDoist, LineDeck, Serial, BOARD, TOCK,
};
use hio_firmware::{exit, vector_table, CORE_HZ};

vector_table!(UART0);

/// Raised by the console on `quit`.
static STOP: StopFlag = StopFlag::new();

#[entry]
fn main() -> ! {
    let Some(p) = cortex_m::Peripherals::take() else {
        exit(false)
    };
    let (Ok(io), Ok(cw)) = (BOARD.waker(), BOARD.waker()) else {
        exit(false)
    };
    // The tree lives in this frame, which never returns.
    let stats = SerialStats::new();
    let rx = LineDeck::new();
    let tx = LineDeck::new();
    // a line to send wakes the SerialDoer; a command, or room for a held
    // reply, wakes the console
    tx.wake_on_push(Some(io));
    rx.wake_on_push(Some(cw));
    tx.wake_on_pull(Some(cw));
    let uart = uart0().with_rx_interrupt();
    let mut serial = Serial::new("serial", uart, Lines::new(), &rx, &tx, &stats).with_waker(io);
    let mut console = Cons::new(&rx, &tx, &stats, &STOP)
        .with_waker(cw)
        .with_wakeups(wakeups);
    let mut beat = Beat::new(&tx);
    let Ok(mut doist): Result<FlowDoist<'_>, _> = Doist::new(TOCK) else {
        exit(false)
    };
    doist.wakes(&BOARD);
    if doist
        .add_all([&mut console as DoerRef<'_>, &mut beat, &mut serial])
        .is_err()
    {
        exit(false)
    }
    let mut clock = SysTickClock::<CORE_HZ>::start(p.SYST);
    wake_on_uart0(io);
    let report = doist.run(&mut clock, Some(&STOP));
    exit(report.end == End::Stopped)
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
