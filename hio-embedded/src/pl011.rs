//! A small driver for the ARM PL011 UART, implementing the `embedded-io`
//! traits.
//!
//! The PL011 is the UART of many Arm boards, and the one QEMU emulates for
//! the `lm3s6965evb` machine (UART0 at [`LM3S6965_UART0`]). The driver uses
//! the FIFOs in 8N1 mode and polls the flag register, so a Doist can poll
//! it through [`ReadReady`]/[`WriteReady`].
//!
//! # Receive interrupt
//!
//! A parked [`SerialDoer`](crate::SerialDoer) is woken by the receive
//! interrupt instead ([`Pl011::with_rx_interrupt`]): whenever `read_ready`
//! finds the receive FIFO empty, the driver unmasks the receive and
//! receive-timeout interrupts; the interrupt handler masks them again
//! ([`Pl011Mmio::mask_interrupts`], or [`mask_interrupts`] on any register
//! block) and wakes the doer. Both interrupts are levels that stay raised
//! while bytes wait, and neither side clears them (only reading the FIFO
//! does), so a byte that arrives just after the FIFO was found empty raises
//! the interrupt as soon as it is unmasked: none is missed, and the handler
//! runs once per wake, not once per byte.
//!
//! Register access goes through the [`Pl011Regs`] trait, so the driver's
//! logic is tested on the host against a fake register block. On Arm
//! targets, [`Pl011Mmio`] implements it with volatile accesses to the real
//! device; that is the only `unsafe` code in the crate.
//!
//! # Receive errors
//!
//! Each received byte comes out of the data register with four error bits.
//! A byte with any of them set is discarded, the error is reported as a
//! [`SerialError`] (priority: overrun, break, parity, framing), and the
//! error status is cleared. If `read` already moved bytes when the error
//! comes, it returns those bytes and the error comes with the next call.
//!
//! ```
//! use embedded_io::{Read, ReadReady};
//! use hio_embedded::pl011::{BaudDivisor, Pl011, Pl011Regs, Reg, FR_RXFE};
//!
//! /// A register block with one received byte.
//! struct Fake(Option<u32>);
//! impl Pl011Regs for Fake {
//!     fn read(&mut self, reg: Reg) -> u32 {
//!         match reg {
//!             Reg::Fr if self.0.is_none() => FR_RXFE,
//!             Reg::Dr => self.0.take().unwrap_or(0),
//!             _ => 0,
//!         }
//!     }
//!     fn write(&mut self, _reg: Reg, _value: u32) {}
//! }
//!
//! let mut uart = Pl011::new(Fake(Some(u32::from(b'A'))));
//! if let Some(divisor) = BaudDivisor::new(12_000_000, 115_200) {
//!     uart.enable(divisor);
//! }
//! let mut buf = [0_u8; 4];
//! assert!(uart.read_ready()?);
//! assert_eq!(uart.read(&mut buf)?, 1);
//! assert_eq!(buf.first(), Some(&b'A'));
//! # Ok::<(), hio_embedded::error::SerialError>(())
//! ```

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

use crate::error::SerialError;
use crate::nb_adapter::{read_into, settle, write_from};

/// Base address of UART0 on the Stellaris LM3S6965 (and QEMU's
/// `lm3s6965evb` machine).
pub const LM3S6965_UART0: usize = 0x4000_C000;

/// A PL011 register, by its offset from the base address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(usize)]
pub enum Reg {
    /// Data register: reading pops a received byte and its error bits;
    /// writing pushes a byte to transmit.
    Dr = 0x000,
    /// Receive status (read) / error clear (write).
    RsrEcr = 0x004,
    /// Flag register.
    Fr = 0x018,
    /// Integer part of the baud rate divisor.
    Ibrd = 0x024,
    /// Fractional part of the baud rate divisor, in 64ths.
    Fbrd = 0x028,
    /// Line control: word length, FIFOs, parity, stop bits.
    LcrH = 0x02C,
    /// Control: enables the UART, transmitter and receiver.
    Cr = 0x030,
    /// Interrupt mask set/clear.
    Imsc = 0x038,
    /// Interrupt clear.
    Icr = 0x044,
}

impl Reg {
    /// The register's byte offset from the base address.
    pub const fn offset(self) -> usize {
        self as usize
    }
}

/// FR: the UART is busy transmitting (including bytes still in the FIFO).
pub const FR_BUSY: u32 = 1 << 3;
/// FR: the receive FIFO is empty.
pub const FR_RXFE: u32 = 1 << 4;
/// FR: the transmit FIFO is full.
pub const FR_TXFF: u32 = 1 << 5;
/// FR: the transmit FIFO is empty.
pub const FR_TXFE: u32 = 1 << 7;
/// DR: framing error (no valid stop bit).
pub const DR_FE: u32 = 1 << 8;
/// DR: parity error.
pub const DR_PE: u32 = 1 << 9;
/// DR: break error (line held low for more than a byte).
pub const DR_BE: u32 = 1 << 10;
/// DR: overrun error (a byte arrived while the receive FIFO was full).
pub const DR_OE: u32 = 1 << 11;
/// DR: all four error bits.
pub const DR_ERRORS: u32 = DR_FE | DR_PE | DR_BE | DR_OE;
/// LCR_H: enable the FIFOs.
pub const LCRH_FEN: u32 = 1 << 4;
/// LCR_H: 8-bit words.
pub const LCRH_WLEN_8: u32 = 0b11 << 5;
/// CR: enable the UART.
pub const CR_UARTEN: u32 = 1 << 0;
/// CR: enable the transmitter.
pub const CR_TXE: u32 = 1 << 8;
/// CR: enable the receiver.
pub const CR_RXE: u32 = 1 << 9;
/// IMSC: the receive interrupt (the FIFO reached its trigger level).
pub const IMSC_RXIM: u32 = 1 << 4;
/// IMSC: the receive-timeout interrupt (bytes below the trigger level wait
/// in the FIFO and no more came for 32 bit periods).
pub const IMSC_RTIM: u32 = 1 << 6;
/// IMSC: what [`Pl011::with_rx_interrupt`] unmasks.
pub const IMSC_RX: u32 = IMSC_RXIM | IMSC_RTIM;

/// Masks every interrupt of the PL011 behind `regs` (one write of 0 to
/// IMSC): what a receive interrupt handler does before it wakes the doer.
/// It clears nothing, so no byte goes unannounced: the driver unmasks the
/// receive interrupts again once it has read the FIFO empty.
pub fn mask_interrupts<R: Pl011Regs>(regs: &mut R) {
    regs.write(Reg::Imsc, 0);
}

/// The error a data-register value carries, if any.
///
/// ```
/// use hio_embedded::error::SerialError;
/// use hio_embedded::pl011::{dr_error, DR_FE, DR_OE};
///
/// assert_eq!(dr_error(0x41), None);
/// assert_eq!(dr_error(DR_FE | 0x41), Some(SerialError::Framing));
/// assert_eq!(dr_error(DR_FE | DR_OE), Some(SerialError::Overrun));
/// ```
pub const fn dr_error(dr: u32) -> Option<SerialError> {
    if dr & DR_OE != 0 {
        Some(SerialError::Overrun)
    } else if dr & DR_BE != 0 {
        Some(SerialError::Break)
    } else if dr & DR_PE != 0 {
        Some(SerialError::Parity)
    } else if dr & DR_FE != 0 {
        Some(SerialError::Framing)
    } else {
        None
    }
}

/// Access to a PL011's registers: the seam between the driver and the
/// hardware.
///
/// Implementations MUST perform each call as exactly one access to the
/// register (reading `Dr` pops the receive FIFO, so a read must not be
/// repeated, cached or elided). [`Pl011Mmio`] does so with volatile
/// accesses; tests implement it on a plain struct.
pub trait Pl011Regs {
    /// Read a register.
    fn read(&mut self, reg: Reg) -> u32;
    /// Write a register.
    fn write(&mut self, reg: Reg, value: u32);
}

/// The PL011 baud rate divisor: `UARTCLK / (16 * baud)`, as an integer and
/// a fraction in 64ths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BaudDivisor {
    /// Integer part (IBRD), 1 to 65535.
    pub integer: u16,
    /// Fractional part (FBRD), 0 to 63.
    pub fraction: u8,
}

impl BaudDivisor {
    /// The divisor for `baud` from a `uart_clock_hz` reference clock, or
    /// `None` if the PL011 cannot produce that rate from that clock.
    ///
    /// ```
    /// use hio_embedded::pl011::BaudDivisor;
    ///
    /// // 12 MHz / (16 * 115200) = 6.5104 → 6 + 33/64.
    /// let d = BaudDivisor::new(12_000_000, 115_200);
    /// assert_eq!(d, Some(BaudDivisor { integer: 6, fraction: 33 }));
    /// assert_eq!(BaudDivisor::new(12_000_000, 0), None);
    /// ```
    pub const fn new(uart_clock_hz: u32, baud: u32) -> Option<Self> {
        if baud == 0 {
            return None;
        }
        // In 64ths, rounded: clock * 64 / (16 * baud) = clock * 4 / baud.
        let baud = baud as u64;
        let sixty_fourths = (uart_clock_hz as u64 * 4 + baud / 2) / baud;
        let integer = sixty_fourths >> 6;
        let fraction = (sixty_fourths & 0x3F) as u8;
        if integer == 0 || integer > 0xFFFF || (integer == 0xFFFF && fraction != 0) {
            return None;
        }
        Some(Self {
            integer: integer as u16,
            fraction,
        })
    }
}

/// A PL011 UART driven by polling, over the registers `R`.
///
/// It implements [`Read`], [`Write`], [`ReadReady`] and [`WriteReady`] with
/// [`SerialError`]. `read` and `write` never block after `read_ready()` or
/// `write_ready()` said `true`; called without that, they spin until the
/// hardware has a byte or room for one, as embedded-io requires. `flush`
/// spins until the last byte has left the shift register.
#[derive(Debug)]
pub struct Pl011<R> {
    regs: R,
    /// A receive error that came after `read` had already moved bytes.
    rx_error: Option<SerialError>,
    /// Unmask the receive interrupts when the FIFO is found empty.
    rx_irq: bool,
}

impl<R: Pl011Regs> Pl011<R> {
    /// Wrap a register block. The UART is left as it is: call
    /// [`enable`](Self::enable) unless something else configured it.
    pub const fn new(regs: R) -> Self {
        Self {
            regs,
            rx_error: None,
            rx_irq: false,
        }
    }

    /// Raises the receive interrupt for bytes that arrive once the FIFO was
    /// found empty: each `read_ready` that finds it empty unmasks the
    /// receive and receive-timeout interrupts ([`IMSC_RX`]), and the
    /// interrupt handler masks them ([`mask_interrupts`]) and wakes the
    /// doer (see the [module documentation](self)). Enable the UART's
    /// interrupt in the interrupt controller too.
    pub const fn with_rx_interrupt(mut self) -> Self {
        self.rx_irq = true;
        self
    }

    /// Configure 8N1 with FIFOs at `divisor`, with interrupts masked, and
    /// enable the UART, transmitter and receiver.
    pub fn enable(&mut self, divisor: BaudDivisor) {
        self.regs.write(Reg::Cr, 0);
        self.regs.write(Reg::Imsc, 0);
        self.regs.write(Reg::Icr, 0x7FF);
        self.regs.write(Reg::RsrEcr, 0);
        self.regs.write(Reg::Ibrd, u32::from(divisor.integer));
        self.regs.write(Reg::Fbrd, u32::from(divisor.fraction));
        // LCR_H must be written after the divisor, to latch it.
        self.regs.write(Reg::LcrH, LCRH_WLEN_8 | LCRH_FEN);
        self.regs.write(Reg::Cr, CR_UARTEN | CR_TXE | CR_RXE);
    }

    /// Disable the UART (bytes in flight are lost: [`flush`](Write::flush)
    /// first).
    pub fn disable(&mut self) {
        self.regs.write(Reg::Cr, 0);
    }

    /// The register block.
    pub fn regs(&self) -> &R {
        &self.regs
    }

    /// The register block, mutably.
    pub fn regs_mut(&mut self) -> &mut R {
        &mut self.regs
    }

    /// Unwrap the register block.
    pub fn into_inner(self) -> R {
        self.regs
    }

    /// Take one received byte, if there is one, without blocking.
    pub fn try_read_byte(&mut self) -> nb::Result<u8, SerialError> {
        if self.regs.read(Reg::Fr) & FR_RXFE != 0 {
            return Err(nb::Error::WouldBlock);
        }
        let dr = self.regs.read(Reg::Dr);
        match dr_error(dr) {
            None => Ok((dr & 0xFF) as u8),
            Some(error) => {
                self.regs.write(Reg::RsrEcr, 0);
                debug!("pl011: receive error {}", error);
                Err(nb::Error::Other(error))
            }
        }
    }

    /// Give one byte to the transmitter, if it has room, without blocking.
    pub fn try_write_byte(&mut self, byte: u8) -> nb::Result<(), SerialError> {
        if self.regs.read(Reg::Fr) & FR_TXFF != 0 {
            return Err(nb::Error::WouldBlock);
        }
        self.regs.write(Reg::Dr, u32::from(byte));
        Ok(())
    }
}

impl<R: Pl011Regs> ErrorType for Pl011<R> {
    type Error = SerialError;
}

impl<R: Pl011Regs> ReadReady for Pl011<R> {
    /// `true` when the receive FIFO holds a byte (or an error is pending).
    /// When it finds the FIFO empty, it unmasks the receive interrupts if
    /// asked to ([`with_rx_interrupt`](Pl011::with_rx_interrupt)).
    fn read_ready(&mut self) -> Result<bool, SerialError> {
        let ready = self.rx_error.is_some() || self.regs.read(Reg::Fr) & FR_RXFE == 0;
        if !ready && self.rx_irq {
            // after the empty FIFO was seen: a byte that came since keeps
            // the (level) interrupt raised, so it fires once unmasked
            self.regs.write(Reg::Imsc, IMSC_RX);
        }
        Ok(ready)
    }
}

impl<R: Pl011Regs> Read for Pl011<R> {
    /// Drain the receive FIFO into `buf`, at least one byte.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, SerialError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(error) = self.rx_error.take() {
            return Err(error);
        }
        let moved = read_into(buf, || self.try_read_byte());
        settle(moved, &mut self.rx_error)
    }
}

impl<R: Pl011Regs> WriteReady for Pl011<R> {
    /// `true` when the transmit FIFO has room for a byte.
    fn write_ready(&mut self) -> Result<bool, SerialError> {
        Ok(self.regs.read(Reg::Fr) & FR_TXFF == 0)
    }
}

impl<R: Pl011Regs> Write for Pl011<R> {
    /// Fill the transmit FIFO from `buf`, at least one byte.
    fn write(&mut self, buf: &[u8]) -> Result<usize, SerialError> {
        if buf.is_empty() {
            return Ok(0);
        }
        // The PL011 reports no transmit errors, so nothing is kept.
        let mut unused = None;
        let moved = write_from(buf, true, |byte| self.try_write_byte(byte));
        settle(moved, &mut unused)
    }

    /// Wait until every byte has been sent.
    fn flush(&mut self) -> Result<(), SerialError> {
        while self.regs.read(Reg::Fr) & FR_BUSY != 0 {
            core::hint::spin_loop();
        }
        Ok(())
    }
}

#[cfg(any(target_arch = "arm", doc))]
#[cfg_attr(docsrs, doc(cfg(target_arch = "arm")))]
pub use mmio::Pl011Mmio;

/// The real device, through volatile memory-mapped accesses (Arm only; also
/// built by rustdoc on any target, so the docs show it).
#[cfg(any(target_arch = "arm", doc))]
mod mmio {
    use super::{Pl011Regs, Reg};

    /// A PL011 register block at a fixed address, accessed with volatile
    /// reads and writes.
    #[derive(Debug)]
    pub struct Pl011Mmio {
        base: usize,
    }

    impl Pl011Mmio {
        /// The register block at `base`.
        ///
        /// # Safety
        ///
        /// `base` MUST be the address of a PL011 register block (for
        /// example [`LM3S6965_UART0`](super::LM3S6965_UART0) on the
        /// LM3S6965), mapped as device memory, and no other code may access
        /// that block while this value exists, except the UART's interrupt
        /// handler through [`mask_interrupts`](Pl011Mmio::mask_interrupts).
        pub const unsafe fn new(base: usize) -> Self {
            Self { base }
        }

        /// Masks every interrupt of the PL011 at `base`, from its interrupt
        /// handler, while a driver owns the block: one write of 0 to IMSC
        /// (see [`mask_interrupts`](super::mask_interrupts)). The driver
        /// writes IMSC only with single stores too, so neither side undoes
        /// half of the other's change.
        ///
        /// # Safety
        ///
        /// `base` MUST be the address of a PL011 register block mapped as
        /// device memory, as for [`new`](Pl011Mmio::new).
        pub unsafe fn mask_interrupts(base: usize) {
            // SAFETY: the caller vouches for `base`; IMSC lies inside the
            // block and is 4-byte aligned. A single store cannot tear.
            unsafe {
                core::ptr::write_volatile(base.wrapping_add(Reg::Imsc.offset()) as *mut u32, 0)
            }
        }

        fn addr(&self, reg: Reg) -> *mut u32 {
            self.base.wrapping_add(reg.offset()) as *mut u32
        }
    }

    impl Pl011Regs for Pl011Mmio {
        fn read(&mut self, reg: Reg) -> u32 {
            // SAFETY: `new`'s contract makes `base` a PL011 block owned by
            // us; every `Reg` offset lies inside it and is 4-byte aligned,
            // so this is a valid, exclusive, aligned device access.
            unsafe { core::ptr::read_volatile(self.addr(reg)) }
        }

        fn write(&mut self, reg: Reg, value: u32) {
            // SAFETY: as in `read`: an aligned register of a PL011 block
            // that `new`'s caller guaranteed to be ours alone.
            unsafe { core::ptr::write_volatile(self.addr(reg), value) }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::VecDeque;
    use std::vec::Vec;

    /// A fake register block: an rx FIFO of DR values, a tx FIFO with a
    /// fixed depth, and a log of register writes.
    #[derive(Default)]
    struct FakeRegs {
        rx: VecDeque<u32>,
        tx: Vec<u8>,
        tx_depth: usize,
        busy_polls: usize,
        writes: Vec<(Reg, u32)>,
    }

    impl Pl011Regs for FakeRegs {
        fn read(&mut self, reg: Reg) -> u32 {
            match reg {
                Reg::Dr => self.rx.pop_front().unwrap_or(0),
                Reg::Fr => {
                    let mut fr = 0;
                    if self.rx.is_empty() {
                        fr |= FR_RXFE;
                    }
                    if self.tx.len() >= self.tx_depth {
                        fr |= FR_TXFF;
                    }
                    if self.busy_polls > 0 {
                        self.busy_polls -= 1;
                        fr |= FR_BUSY;
                    }
                    fr
                }
                _ => 0,
            }
        }

        fn write(&mut self, reg: Reg, value: u32) {
            if reg == Reg::Dr {
                self.tx.push((value & 0xFF) as u8);
            }
            self.writes.push((reg, value));
        }
    }

    fn uart(rx: &[u32], tx_depth: usize) -> Pl011<FakeRegs> {
        Pl011::new(FakeRegs {
            rx: rx.iter().copied().collect(),
            tx_depth,
            ..FakeRegs::default()
        })
    }

    #[test]
    fn reg_offsets_match_the_trm() {
        assert_eq!(Reg::Dr.offset(), 0x00);
        assert_eq!(Reg::RsrEcr.offset(), 0x04);
        assert_eq!(Reg::Fr.offset(), 0x18);
        assert_eq!(Reg::LcrH.offset(), 0x2C);
        assert_eq!(Reg::Cr.offset(), 0x30);
        assert_eq!(Reg::Icr.offset(), 0x44);
    }

    #[test]
    fn enable_programs_divisor_before_line_control() {
        let mut u = uart(&[], 16);
        u.enable(BaudDivisor {
            integer: 6,
            fraction: 33,
        });
        let writes = &u.regs().writes;
        assert_eq!(writes.first(), Some(&(Reg::Cr, 0)));
        let at = |reg| writes.iter().position(|(r, _)| *r == reg);
        assert!(at(Reg::Ibrd) < at(Reg::LcrH));
        assert!(at(Reg::Fbrd) < at(Reg::LcrH));
        assert!(writes.contains(&(Reg::Ibrd, 6)));
        assert!(writes.contains(&(Reg::Fbrd, 33)));
        assert!(writes.contains(&(Reg::LcrH, LCRH_WLEN_8 | LCRH_FEN)));
        assert_eq!(writes.last(), Some(&(Reg::Cr, CR_UARTEN | CR_TXE | CR_RXE)));
        u.disable();
        assert_eq!(u.regs().writes.last(), Some(&(Reg::Cr, 0)));
    }

    #[test]
    fn baud_divisors() {
        let d = |clk, baud| BaudDivisor::new(clk, baud).map(|d| (d.integer, d.fraction));
        assert_eq!(d(16_000_000, 9_600), Some((104, 11)));
        assert_eq!(d(24_000_000, 115_200), Some((13, 1)));
        assert_eq!(d(1_000, 115_200), None);
        assert_eq!(d(u32::MAX, 1), None);
        assert_eq!(d(16 * 65_535, 1), Some((65_535, 0)));
    }

    #[test]
    fn reads_fifo_until_empty() {
        let mut u = uart(&[0x61, 0x62, 0x163], 16);
        assert_eq!(u.read_ready(), Ok(true));
        let mut buf = [0; 8];
        // Only the data bits are returned; bit 8 here is FE: see below.
        assert_eq!(u.read(&mut buf), Ok(2));
        assert_eq!(u.read_ready(), Ok(true));
        assert_eq!(u.read(&mut buf), Err(SerialError::Framing));
        assert_eq!(u.read_ready(), Ok(false));
        assert_eq!(buf.get(..2), Some(&b"ab"[..]));
    }

    #[test]
    fn error_bits_map_and_are_cleared() {
        for (bits, error) in [
            (DR_OE, SerialError::Overrun),
            (DR_BE | DR_FE, SerialError::Break),
            (DR_PE, SerialError::Parity),
            (DR_FE, SerialError::Framing),
        ] {
            let mut u = uart(&[bits | 0x55, 0x41], 16);
            assert_eq!(u.try_read_byte(), Err(nb::Error::Other(error)));
            assert_eq!(u.regs().writes.last(), Some(&(Reg::RsrEcr, 0)));
            assert_eq!(u.try_read_byte(), Ok(0x41));
            assert_eq!(u.try_read_byte(), Err(nb::Error::WouldBlock));
        }
    }

    #[test]
    fn error_first_is_returned_at_once() {
        let mut u = uart(&[DR_OE, 0x41], 16);
        let mut buf = [0; 4];
        assert_eq!(u.read(&mut buf), Err(SerialError::Overrun));
        assert_eq!(u.read(&mut buf), Ok(1));
        assert_eq!(u.read(&mut []), Ok(0));
    }

    #[test]
    fn writes_until_fifo_full() {
        let mut u = uart(&[], 3);
        assert_eq!(u.write_ready(), Ok(true));
        assert_eq!(u.write(b"hello"), Ok(3));
        assert_eq!(u.write_ready(), Ok(false));
        assert_eq!(u.try_write_byte(b'l'), Err(nb::Error::WouldBlock));
        assert_eq!(u.regs().tx, b"hel");
        u.regs_mut().tx.clear();
        assert_eq!(u.write(b"lo"), Ok(2));
        assert_eq!(u.write(&[]), Ok(0));
        assert_eq!(u.into_inner().tx, b"lo");
    }

    #[test]
    fn flush_waits_while_busy() {
        let mut u = uart(&[], 16);
        u.regs_mut().busy_polls = 3;
        assert_eq!(u.flush(), Ok(()));
        assert_eq!(u.regs().busy_polls, 0);
    }

    #[test]
    fn rx_interrupt_is_unmasked_when_the_fifo_is_found_empty() {
        // polled: IMSC is never written after enable
        let mut u = uart(&[0x41], 16);
        assert_eq!(u.read_ready(), Ok(true));
        assert_eq!(u.try_read_byte(), Ok(0x41));
        assert_eq!(u.read_ready(), Ok(false));
        assert!(!u.regs().writes.iter().any(|(r, _)| *r == Reg::Imsc));

        let mut u = uart(&[0x41], 16).with_rx_interrupt();
        assert_eq!(u.read_ready(), Ok(true));
        assert!(u.regs().writes.is_empty(), "not while bytes wait");
        assert_eq!(u.try_read_byte(), Ok(0x41));
        assert_eq!(u.read_ready(), Ok(false));
        assert_eq!(u.regs().writes.last(), Some(&(Reg::Imsc, IMSC_RX)));
        // the handler masks them; nothing is cleared
        mask_interrupts(u.regs_mut());
        assert_eq!(u.regs().writes.last(), Some(&(Reg::Imsc, 0)));
        assert!(!u.regs().writes.iter().any(|(r, _)| *r == Reg::Icr));
    }

    #[test]
    fn works_behind_the_nb_adapter_too() {
        // The inherent try_* methods have the embedded-hal-nb shape.
        let mut u = uart(&[0x31], 16);
        assert_eq!(nb::block!(u.try_read_byte()), Ok(0x31));
        assert_eq!(nb::block!(u.try_write_byte(0x32)), Ok(()));
        assert_eq!(u.regs().tx, [0x32]);
    }
}
