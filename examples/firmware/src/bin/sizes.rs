//! Prints, over semihosting, the RAM each part of `serial-flow`'s tree
//! takes on thumbv7m (`core::mem::size_of`), so the static RAM of a tree
//! can be computed per doer before it is built.
//!
//! ```text
//! cargo run --release --bin sizes
//! ```
#![no_std]
#![no_main]

use core::mem::size_of;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use hio_core::{Deeds, Doist, StopFlag};
use hio_embedded::SerialStats;
use hio_firmware::flow::{Beat, Cons, FlowDoist, Line, LineDeck, Serial, DECK, ENCODED, LINE};
use hio_firmware::{exit, vector_table};

vector_table!();

fn row(what: &str, bytes: usize) {
    hprintln!("{:<44} {:>6}", what, bytes);
}

#[entry]
fn main() -> ! {
    hprintln!(
        "sizes on thumbv7m-none-eabi, in bytes (LINE = {LINE}, ENCODED = {ENCODED}, DECK = {DECK})"
    );
    hprintln!("-- doers of serial-flow");
    row(
        "SerialDoer<Pl011, Lines<LINE>, LINE, ENCODED>",
        size_of::<Serial<'static>>(),
    );
    row("Console<LINE>", size_of::<Cons<'static>>());
    row("Heartbeat<LINE>", size_of::<Beat<'static>>());
    hprintln!("-- links");
    row("Frame<LINE> (one line)", size_of::<Line>());
    row("Deck<Frame<LINE>, DECK>", size_of::<LineDeck>());
    row("SerialStats", size_of::<SerialStats>());
    row("StopFlag", size_of::<StopFlag>());
    hprintln!("-- schedulers");
    let slot = size_of::<Deeds<'static, 2, 0>>() - size_of::<Deeds<'static, 1, 0>>();
    let spare = size_of::<Deeds<'static, 1, 1>>() - size_of::<Deeds<'static, 1, 0>>();
    row("Deeds: per deed slot", slot);
    row("Deeds: per spare slot", spare);
    row(
        "Deeds<0, 0> (fixed part)",
        size_of::<Deeds<'static, 0, 0>>(),
    );
    row("Doist<0> (fixed part)", size_of::<Doist<'static, 0>>());
    row("Doist<3> (serial-flow's)", size_of::<FlowDoist<'static>>());
    let tree = size_of::<Serial<'static>>()
        + size_of::<Cons<'static>>()
        + size_of::<Beat<'static>>()
        + 2 * size_of::<LineDeck>()
        + size_of::<SerialStats>()
        + size_of::<StopFlag>()
        + size_of::<FlowDoist<'static>>();
    hprintln!("-- total");
    row("serial-flow's tree (3 doers, 2 Decks, stats)", tree);
    exit(true)
}
