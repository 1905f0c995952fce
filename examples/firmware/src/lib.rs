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

/// The device part of an image's vector table (the `device` feature of
/// cortex-m-rt; `device.x` names the handlers).
///
/// - `vector_table!()`: an image that takes no device interrupt. The
///   LM3S6965's device vectors then need no room: one entry is kept because
///   cortex-m-rt's `link.x` wants the table to reach past the system
///   exceptions, which saves 956 bytes of cortex-m-rt's generic 240-entry
///   table.
/// - `vector_table!(UART0)`: an image that takes UART0's interrupt (IRQ 5
///   of the LM3S6965): the table reaches it, and the image defines the
///   handler, `#[no_mangle] extern "C" fn UART0()` (else `device.x` makes
///   it the default handler). Enable it in the NVIC with [`Uart0Irq`].
#[macro_export]
macro_rules! vector_table {
    () => {
        #[link_section = ".vector_table.interrupts"]
        #[no_mangle]
        #[used]
        static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [$crate::default_handler];
    };
    (UART0) => {
        /// The table up to UART0's vector (IRQ 5).
        mod vectors {
            extern "C" {
                fn GPIOA();
                fn GPIOB();
                fn GPIOC();
                fn GPIOD();
                fn GPIOE();
                fn UART0();
            }
            #[link_section = ".vector_table.interrupts"]
            #[no_mangle]
            #[used]
            static __INTERRUPTS: [unsafe extern "C" fn(); 6] =
                [GPIOA, GPIOB, GPIOC, GPIOD, GPIOE, UART0];
        }
    };
}

extern "C" {
    /// cortex-m-rt's handler of interrupts no one handles (for
    /// [`vector_table!`]).
    #[link_name = "DefaultHandler"]
    pub fn default_handler();
}

/// UART0's interrupt line on the LM3S6965 (IRQ 5), for
/// `cortex_m::peripheral::NVIC::unmask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uart0Irq;

// SAFETY: 5 is UART0's interrupt number on the LM3S6965 (and QEMU's
// lm3s6965evb), a valid device interrupt of this chip.
unsafe impl cortex_m::interrupt::InterruptNumber for Uart0Irq {
    fn number(self) -> u16 {
        5
    }
}

/// Ends the program on any panic with semihosting exit status 1. No message
/// is kept: the images carry no panic strings.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    exit(false)
}
