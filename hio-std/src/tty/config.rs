//! [`TtyConfig`]: how a serial device is set up (baud, parity, stop bits).

use std::fmt;
use std::str::FromStr;

use super::TtyError;

/// Parity of a serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parity {
    /// No parity bit (the usual `8N1`).
    #[default]
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// Stop bits of a serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopBits {
    /// One stop bit (the usual `8N1`).
    #[default]
    One,
    /// Two stop bits.
    Two,
}

/// How a tty is set up when opened: 8 data bits, `baud`, `parity`,
/// `stop_bits`, and raw mode (no echo, no line editing, no translation of
/// `\n`, no signals from the line: bytes pass through unchanged), which is
/// what a serial flow needs. Pseudo-terminals ignore the baud rate.
///
/// ```
/// use hio_std::tty::{Parity, StopBits, TtyConfig};
/// let c = TtyConfig::new(115_200).parity(Parity::Even).stop_bits(StopBits::Two);
/// assert_eq!(c.to_string(), "115200 8E2");
/// assert_eq!("9600 8N1".parse::<TtyConfig>().map(|c| c.baud), Ok(9600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TtyConfig {
    /// Bits per second.
    pub baud: u32,
    /// Parity.
    pub parity: Parity,
    /// Stop bits.
    pub stop_bits: StopBits,
    /// Raw mode (the default). Off, the line discipline's settings other
    /// than speed and framing are left as they are.
    pub raw: bool,
}

impl Default for TtyConfig {
    fn default() -> Self {
        TtyConfig::new(115_200)
    }
}

impl TtyConfig {
    /// `baud`, 8N1, raw.
    pub const fn new(baud: u32) -> Self {
        TtyConfig {
            baud,
            parity: Parity::None,
            stop_bits: StopBits::One,
            raw: true,
        }
    }

    /// With this parity.
    pub const fn parity(mut self, parity: Parity) -> Self {
        self.parity = parity;
        self
    }

    /// With these stop bits.
    pub const fn stop_bits(mut self, stop_bits: StopBits) -> Self {
        self.stop_bits = stop_bits;
        self
    }

    /// Raw mode on or off.
    pub const fn raw(mut self, raw: bool) -> Self {
        self.raw = raw;
        self
    }

    /// The system's speed constant for the baud rate.
    pub(crate) fn speed(&self) -> Result<libc::speed_t, TtyError> {
        Ok(match self.baud {
            1200 => libc::B1200,
            2400 => libc::B2400,
            4800 => libc::B4800,
            9600 => libc::B9600,
            19_200 => libc::B19200,
            38_400 => libc::B38400,
            57_600 => libc::B57600,
            115_200 => libc::B115200,
            230_400 => libc::B230400,
            460_800 => libc::B460800,
            500_000 => libc::B500000,
            576_000 => libc::B576000,
            921_600 => libc::B921600,
            1_000_000 => libc::B1000000,
            1_500_000 => libc::B1500000,
            2_000_000 => libc::B2000000,
            3_000_000 => libc::B3000000,
            4_000_000 => libc::B4000000,
            b => return Err(TtyError::Baud(b)),
        })
    }

    /// Applies this configuration to `t`.
    pub(crate) fn apply(&self, t: &mut libc::termios) -> Result<(), TtyError> {
        let speed = self.speed()?;
        if self.raw {
            // SAFETY: cfmakeraw only writes the fields of a live termios.
            unsafe { libc::cfmakeraw(t) };
            t.c_cc[libc::VMIN] = 1;
            t.c_cc[libc::VTIME] = 0;
        }
        t.c_cflag &= !(libc::CSIZE | libc::PARENB | libc::PARODD | libc::CSTOPB | libc::CRTSCTS);
        t.c_cflag |= libc::CS8 | libc::CREAD | libc::CLOCAL;
        match self.parity {
            Parity::None => {}
            Parity::Even => t.c_cflag |= libc::PARENB,
            Parity::Odd => t.c_cflag |= libc::PARENB | libc::PARODD,
        }
        if self.stop_bits == StopBits::Two {
            t.c_cflag |= libc::CSTOPB;
        }
        // SAFETY: both only write the speed fields of a live termios.
        let r = unsafe { libc::cfsetispeed(t, speed) | libc::cfsetospeed(t, speed) };
        if r != 0 {
            return Err(TtyError::Baud(self.baud));
        }
        Ok(())
    }
}

impl fmt::Display for TtyConfig {
    /// `115200 8N1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = match self.parity {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        };
        let s = match self.stop_bits {
            StopBits::One => 1,
            StopBits::Two => 2,
        };
        write!(f, "{} 8{p}{s}", self.baud)
    }
}

impl FromStr for TtyConfig {
    type Err = String;

    /// `BAUD` or `BAUD 8N1` (`8E1`, `8O2`, ...).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut words = s.split_whitespace();
        let baud = words
            .next()
            .and_then(|b| b.parse::<u32>().ok())
            .ok_or_else(|| format!("`{s}`: give a baud rate, e.g. `115200` or `115200 8N1`"))?;
        let mut c = TtyConfig::new(baud);
        if let Some(frame) = words.next() {
            let b = frame.as_bytes();
            c.parity = match b.get(1) {
                Some(b'N' | b'n') => Parity::None,
                Some(b'E' | b'e') => Parity::Even,
                Some(b'O' | b'o') => Parity::Odd,
                _ => {
                    return Err(format!(
                        "`{frame}`: give the framing as 8N1, 8E1, 8O1 or 8N2"
                    ))
                }
            };
            c.stop_bits = match (b.len(), b.first(), b.get(2)) {
                (3, Some(b'8'), Some(b'1')) => StopBits::One,
                (3, Some(b'8'), Some(b'2')) => StopBits::Two,
                _ => {
                    return Err(format!(
                        "`{frame}`: give the framing as 8N1, 8E1, 8O1 or 8N2"
                    ))
                }
            };
        }
        c.speed().map_err(|e| e.to_string())?;
        Ok(c)
    }
}
