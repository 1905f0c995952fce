//! CRC-16/CCITT-FALSE, the checksum carried by every COBS frame.
//!
//! Parameters (in the catalogue's notation): width 16, polynomial `0x1021`,
//! init `0xFFFF`, no input or output reflection, xorout `0x0000`, check
//! value `0x29B1` (the CRC of the ASCII bytes `123456789`). This is the
//! variant that Python's `binascii.crc_hqx(data, 0xFFFF)` computes, so a
//! host-side peer needs no extra library.
//!
//! The implementation processes a nibble at a time with a 16-entry table
//! (32 bytes of flash), a middle way between the bitwise loop (8 steps per
//! byte, no table) and the usual 256-entry table (512 bytes).
//!
//! Because the CRC is not reflected and has no xorout, appending the CRC
//! big-endian to the data makes the CRC of the whole come out as `0`.
//!
//! ```
//! use hio_embedded::crc::{crc16, Crc16};
//!
//! assert_eq!(crc16(b"123456789"), 0x29B1);
//!
//! let mut crc = Crc16::new();
//! crc.update(b"1234");
//! crc.update(b"56789");
//! assert_eq!(crc.finish(), 0x29B1);
//! ```

/// The generator polynomial, `x^16 + x^12 + x^5 + 1`.
pub const POLYNOMIAL: u16 = 0x1021;

/// The register's value before the first byte.
pub const INIT: u16 = 0xFFFF;

/// `TABLE[n]` is the register after shifting the nibble `n` through it.
const TABLE: [u16; 16] = make_table();

const fn make_table() -> [u16; 16] {
    let mut table = [0_u16; 16];
    let mut nibble = 0;
    while nibble < 16 {
        let mut reg = (nibble as u16) << 12;
        let mut bit = 0;
        while bit < 4 {
            reg = if reg & 0x8000 != 0 {
                (reg << 1) ^ POLYNOMIAL
            } else {
                reg << 1
            };
            bit += 1;
        }
        table[nibble] = reg;
        nibble += 1;
    }
    table
}

/// Shift one nibble (the low four bits of `nibble`) through the register.
const fn step(reg: u16, nibble: u8) -> u16 {
    // The index is masked to 0..16, so it is always inside TABLE.
    let index = ((reg >> 12) ^ (nibble as u16 & 0x0F)) & 0x0F;
    (reg << 4) ^ TABLE[index as usize]
}

/// Feed `data` into the register `reg`.
const fn update(mut reg: u16, data: &[u8]) -> u16 {
    let mut i = 0;
    while i < data.len() {
        let byte = data[i];
        reg = step(reg, byte >> 4);
        reg = step(reg, byte);
        i += 1;
    }
    reg
}

/// The CRC-16/CCITT-FALSE of `data`, in one call (usable in `const`).
///
/// ```
/// use hio_embedded::crc::crc16;
///
/// const EMPTY: u16 = crc16(&[]);
/// assert_eq!(EMPTY, 0xFFFF);
/// assert_eq!(crc16(b"123456789"), 0x29B1);
/// ```
pub const fn crc16(data: &[u8]) -> u16 {
    update(INIT, data)
}

/// A running CRC-16/CCITT-FALSE, for data that arrives in pieces.
///
/// ```
/// use hio_embedded::crc::{crc16, Crc16};
///
/// let mut crc = Crc16::new();
/// crc.update(b"hello, ");
/// crc.update(b"world");
/// assert_eq!(crc.finish(), crc16(b"hello, world"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Crc16 {
    reg: u16,
}

impl Crc16 {
    /// A CRC over no data yet.
    pub const fn new() -> Self {
        Self { reg: INIT }
    }

    /// Add `data` to the checksum.
    pub fn update(&mut self, data: &[u8]) {
        self.reg = update(self.reg, data);
    }

    /// The checksum of all data added so far. The running CRC is unchanged
    /// and can take more data.
    pub const fn finish(&self) -> u16 {
        self.reg
    }
}

impl Default for Crc16 {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The textbook bit-at-a-time loop, as an independent reference.
    fn bitwise(data: &[u8]) -> u16 {
        let mut reg = 0xFFFF_u16;
        for &byte in data {
            reg ^= u16::from(byte) << 8;
            for _ in 0..8 {
                reg = if reg & 0x8000 != 0 {
                    (reg << 1) ^ 0x1021
                } else {
                    reg << 1
                };
            }
        }
        reg
    }

    #[test]
    fn check_value() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(bitwise(b"123456789"), 0x29B1);
    }

    #[test]
    fn known_values() {
        assert_eq!(crc16(&[]), 0xFFFF);
        // binascii.crc_hqx(b"A", 0xFFFF) == 0xB915
        assert_eq!(crc16(b"A"), 0xB915);
        assert_eq!(crc16(&[0x00]), 0xE1F0);
    }

    #[test]
    fn table_matches_bitwise_for_every_byte() {
        for byte in 0..=255_u8 {
            assert_eq!(crc16(&[byte]), bitwise(&[byte]), "{byte:#04x}");
        }
    }

    #[test]
    fn default_is_new() {
        assert_eq!(Crc16::default(), Crc16::new());
        assert_eq!(Crc16::new().finish(), INIT);
    }

    proptest! {
        #[test]
        fn matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(crc16(&data), bitwise(&data));
        }

        #[test]
        fn incremental_equals_one_shot(
            data in proptest::collection::vec(any::<u8>(), 0..256),
            cut in any::<proptest::sample::Index>(),
        ) {
            let at = cut.index(data.len() + 1);
            let (head, tail) = data.split_at(at);
            let mut crc = Crc16::new();
            crc.update(head);
            crc.update(tail);
            prop_assert_eq!(crc.finish(), crc16(&data));
        }

        #[test]
        fn appended_crc_leaves_zero_residue(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut framed: Vec<u8> = data.clone();
            framed.extend_from_slice(&crc16(&data).to_be_bytes());
            prop_assert_eq!(crc16(&framed), 0);
        }

        #[test]
        fn detects_every_single_bit_error(
            data in proptest::collection::vec(any::<u8>(), 1..128),
            bit in any::<proptest::sample::Index>(),
        ) {
            let bit = bit.index(data.len() * 8);
            let mut damaged = data.clone();
            if let Some(byte) = damaged.get_mut(bit / 8) {
                *byte ^= 1 << (bit % 8);
            }
            prop_assert_ne!(crc16(&damaged), crc16(&data));
        }
    }
}
