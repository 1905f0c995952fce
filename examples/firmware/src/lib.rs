//! # hio-firmware
//!
//! hio on QEMU's `lm3s6965evb` board (a Stellaris LM3S6965, Cortex-M3):
//! what the bins and the on-target conformance image share.
//!
//! - `serial-flow`: a Doist running a [`SerialDoer`] on UART0, a
//!   [`Console`] and a [`Heartbeat`], linked by Decks, in real time on
//!   SysTick; `quit` ends it with semihosting exit status 0.
//! - `line-echo`: the smallest flow: every line comes back.
//! - `sizes`: the RAM each part of the serial flow's tree takes.
//! - `tests/conformance.rs`: every conformance vector, run and checked on
//!   the target.
//! - `tests/mem.rs`: the images' own memory routines ([`mem`]), checked on
//!   the target.
//!
//! ```text
//! cargo run --release --bin serial-flow          # UART0 on this terminal
//! cargo test --release --test conformance        # on-target conformance
//! ```
//!
//! [`SerialDoer`]: hio_embedded::SerialDoer
//! [`Console`]: hio_embedded::Console
//! [`Heartbeat`]: hio_embedded::Heartbeat
#![no_std]
#![deny(missing_docs)]

pub mod flow;
pub mod host;
pub mod mem;

pub use host::exit;

/// The core clock of QEMU's `lm3s6965evb`, in Hz: 12.5 MHz.
///
/// QEMU takes it from the SYSDIV field of the RCC register's reset value
/// (200 MHz divided by SYSDIV + 1 = 16: an 80 ns period), and SysTick
/// counts it.
/// Measured against the host's clock (semihosting `SYS_ELAPSED`): 25 050 383
/// SysTick cycles in 2.004 s. (The real chip boots on its 12 MHz internal
/// oscillator; QEMU does not model that.)
pub const CORE_HZ: u32 = 12_500_000;

/// The UART's baud rate. QEMU ignores it, but the divisor is programmed as
/// on the real board.
pub const BAUD: u32 = 115_200;

/// The device part of the vector table: one entry.
///
/// The images enable no device interrupt (UART0 is polled; SysTick is a
/// system exception with its own vector), so an NVIC interrupt can never be
/// taken and the LM3S6965's device vectors need no room. One entry is
/// kept because cortex-m-rt's `link.x` wants the table to reach past the
/// system exceptions. This saves 956 bytes of cortex-m-rt's generic
/// 240-entry table (it is the `device` feature of cortex-m-rt; `device.x`
/// names no handler).
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
#[used]
pub static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [default_handler];

extern "C" {
    #[link_name = "DefaultHandler"]
    fn default_handler();
}

/// Ends the program on any panic with semihosting exit status 1. No message
/// is kept: the images carry no panic strings.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    exit(false)
}
