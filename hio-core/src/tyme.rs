//! Exact integer time: [`Tyme`] (a point on a Doist's clock) and [`Tock`]
//! (a span of it), both counted in nanoseconds.
//!
//! No floating point takes part in scheduling: ten tocks of 0.1 s are exactly
//! one second. Conversions from seconds and milliseconds are exact or return
//! a [`TymeError`]; nothing is ever rounded silently.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A point in tyme: nanoseconds since the origin of a Doist's clock.
///
/// Every doer in one tree sees the same `Tyme`. Arithmetic saturates at the
/// ends of the range (about 584 years), so it never panics.
///
/// `Display` prints exact decimal seconds with at least one fractional digit,
/// as traces do:
///
/// ```
/// use hio_core::Tyme;
/// assert_eq!(Tyme::from_nanos(93_750_000).to_string(), "0.09375");
/// assert_eq!(Tyme::from_nanos(1_000_000_000).to_string(), "1.0");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tyme(u64);

/// A span of tyme in nanoseconds: a doer's period, a Doist's tick, a timeout.
///
/// A tock of zero means "every time my parent runs".
///
/// ```
/// use core::time::Duration;
/// use hio_core::{Tock, TymeError};
/// let t = Tock::from_millis(100);
/// assert_eq!(t * 10, Tock::from_secs(1)); // exact, unlike f64
/// assert_eq!("0.03125".parse::<Tock>(), Ok(Tock::from_nanos(31_250_000)));
/// // to and from `Duration`, exactly or not at all
/// assert_eq!(Tock::try_from(Duration::from_micros(250)), Ok(Tock::from_micros(250)));
/// assert_eq!(Duration::from(Tock::from_millis(5)), Duration::from_millis(5));
/// assert_eq!(Tock::try_from(Duration::MAX), Err(TymeError::Overflow));
/// assert_eq!(format!("{:?}", Tock::from_millis(250)), "Tock(0.25 s)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tock(u64);

/// Why a time value could not be converted exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TymeError {
    /// The value is below zero; tyme and tocks are never negative.
    Negative,
    /// The value has more precision than a nanosecond and would need rounding.
    NotWholeNanos,
    /// The value does not fit in 64 bits of nanoseconds (about 584 years).
    Overflow,
    /// The text is not a decimal number of seconds (digits, one optional
    /// point, an optional exponent such as `e-3`).
    Malformed,
}

impl fmt::Display for TymeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TymeError::Negative => "time is negative; give zero or more seconds",
            TymeError::NotWholeNanos => {
                "time is not a whole number of nanoseconds; use at most 9 decimal places"
            }
            TymeError::Overflow => "time is too large; it must fit in 64 bits of nanoseconds",
            TymeError::Malformed => {
                "time is not a decimal number of seconds (for example 0.25, 1, 5e-3)"
            }
        })
    }
}

impl core::error::Error for TymeError {}

macro_rules! common {
    ($t:ident) => {
        impl $t {
            /// Zero.
            pub const ZERO: $t = $t(0);
            /// The largest value, about 584 years.
            pub const MAX: $t = $t(u64::MAX);

            /// From whole nanoseconds.
            pub const fn from_nanos(nanos: u64) -> Self {
                $t(nanos)
            }

            /// As whole nanoseconds.
            pub const fn as_nanos(self) -> u64 {
                self.0
            }

            /// From whole microseconds, saturating at [`Self::MAX`].
            pub const fn from_micros(micros: u64) -> Self {
                $t(micros.saturating_mul(1_000))
            }

            /// From whole milliseconds, saturating at [`Self::MAX`].
            pub const fn from_millis(millis: u64) -> Self {
                $t(millis.saturating_mul(1_000_000))
            }

            /// From whole seconds, saturating at [`Self::MAX`].
            pub const fn from_secs(secs: u64) -> Self {
                $t(secs.saturating_mul(NANOS_PER_SEC))
            }

            /// From a fraction `num / den` of a second, exactly or not at all.
            ///
            /// ```
            #[doc = concat!("use hio_core::{", stringify!($t), ", TymeError};")]
            #[doc = concat!("assert_eq!(", stringify!($t), "::from_ratio(1, 32), Ok(", stringify!($t), "::from_nanos(31_250_000)));")]
            #[doc = concat!("assert_eq!(", stringify!($t), "::from_ratio(1, 3), Err(TymeError::NotWholeNanos));")]
            /// ```
            pub const fn from_ratio(num: u64, den: u64) -> Result<Self, TymeError> {
                if den == 0 {
                    return Err(TymeError::Malformed);
                }
                let n = (num as u128) * (NANOS_PER_SEC as u128);
                if n % (den as u128) != 0 {
                    return Err(TymeError::NotWholeNanos);
                }
                let q = n / (den as u128);
                if q > u64::MAX as u128 {
                    return Err(TymeError::Overflow);
                }
                Ok($t(q as u64))
            }

            /// Whole seconds and the nanoseconds beyond them.
            pub const fn split_secs(self) -> (u64, u32) {
                (self.0 / NANOS_PER_SEC, (self.0 % NANOS_PER_SEC) as u32)
            }

            /// Whole milliseconds, rounded down.
            pub const fn as_millis(self) -> u64 {
                self.0 / 1_000_000
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_secs(f, self.0)
            }
        }

        /// In seconds, exactly: `Tock(0.25 s)`; the largest value is
        /// `never`.
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "("))?;
                if self.0 == u64::MAX {
                    f.write_str("never")?;
                } else {
                    write_secs(f, self.0)?;
                    f.write_str(" s")?;
                }
                f.write_str(")")
            }
        }

        /// Exactly: a [`Duration`](core::time::Duration) is a whole number
        /// of nanoseconds; one past about 584 years is
        /// [`TymeError::Overflow`].
        impl TryFrom<core::time::Duration> for $t {
            type Error = TymeError;
            fn try_from(d: core::time::Duration) -> Result<Self, TymeError> {
                u64::try_from(d.as_nanos())
                    .map($t)
                    .map_err(|_| TymeError::Overflow)
            }
        }

        /// Exactly (the largest value, never, is about 584 years).
        impl From<$t> for core::time::Duration {
            fn from(t: $t) -> core::time::Duration {
                core::time::Duration::from_nanos(t.0)
            }
        }

        impl core::str::FromStr for $t {
            type Err = TymeError;
            /// Parses decimal seconds exactly: `"0.1"`, `"3"`, `"2.5e-3"`.
            fn from_str(s: &str) -> Result<Self, TymeError> {
                parse_secs(s).map($t)
            }
        }
    };
}

common!(Tyme);
common!(Tock);

impl Tyme {
    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn since(self, earlier: Tyme) -> Tock {
        Tock(self.0.saturating_sub(earlier.0))
    }

    /// `self + tock`, or `None` past [`Tyme::MAX`].
    pub const fn checked_add(self, tock: Tock) -> Option<Tyme> {
        match self.0.checked_add(tock.0) {
            Some(v) => Some(Tyme(v)),
            None => None,
        }
    }
}

impl Tyme {
    /// Never: later than any tyme. The retyme of a parked doer.
    pub const NEVER: Tyme = Tyme::MAX;
}

impl Tock {
    /// Never: a doer whose tock is never is *parked* after each recur that
    /// keeps it going, and runs again only when it is woken (see
    /// [`Waker`](crate::Waker)). It is [`Tock::MAX`]: adding it to any tyme
    /// gives [`Tyme::NEVER`].
    ///
    /// ```
    /// use hio_core::{Tock, Tyme};
    /// assert!(Tock::NEVER.is_never());
    /// assert_eq!(Tyme::from_secs(3) + Tock::NEVER, Tyme::NEVER);
    /// ```
    pub const NEVER: Tock = Tock::MAX;

    /// Whether this is [`Tock::NEVER`].
    pub const fn is_never(self) -> bool {
        self.0 == u64::MAX
    }

    /// Whether this is the zero tock ("run whenever the parent runs").
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add<Tock> for Tyme {
    type Output = Tyme;
    // (out of line on a microcontroller: a 64-bit saturating add takes
    // seven instructions, a call two)
    #[cfg_attr(target_os = "none", inline(never))]
    fn add(self, rhs: Tock) -> Tyme {
        Tyme(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<Tock> for Tyme {
    fn add_assign(&mut self, rhs: Tock) {
        *self = *self + rhs;
    }
}

impl Sub<Tyme> for Tyme {
    type Output = Tock;
    fn sub(self, rhs: Tyme) -> Tock {
        self.since(rhs)
    }
}

impl Add for Tock {
    type Output = Tock;
    fn add(self, rhs: Tock) -> Tock {
        Tock(self.0.saturating_add(rhs.0))
    }
}

impl core::ops::Mul<u64> for Tock {
    type Output = Tock;
    fn mul(self, rhs: u64) -> Tock {
        Tock(self.0.saturating_mul(rhs))
    }
}

impl From<Tock> for Tyme {
    /// The tyme `tock` after the origin.
    fn from(t: Tock) -> Tyme {
        Tyme(t.0)
    }
}

fn write_secs(f: &mut fmt::Formatter<'_>, nanos: u64) -> fmt::Result {
    let secs = nanos / NANOS_PER_SEC;
    let mut frac = nanos % NANOS_PER_SEC;
    let mut width = 9;
    if frac == 0 {
        return write!(f, "{secs}.0");
    }
    while frac % 10 == 0 {
        frac /= 10;
        width -= 1;
    }
    write!(f, "{secs}.{frac:0width$}")
}

/// Parses decimal seconds (`"1"`, `"0.03125"`, `"5e-3"`, `"1.5E2"`) into
/// nanoseconds, exactly.
fn parse_secs(s: &str) -> Result<u64, TymeError> {
    let s = s.trim();
    let (s, negative) = match s.as_bytes().first() {
        Some(b'-') => (&s[1..], true),
        Some(b'+') => (&s[1..], false),
        _ => (s, false),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], parse_exp(&s[i + 1..])?),
        None => (s, 0i32),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(TymeError::Malformed);
    }
    // value = digits * 10^(exp - frac.len()) seconds
    //       = digits * 10^(exp - frac.len() + 9) nanoseconds
    let mut digits: u128 = 0;
    let mut all_zero = true;
    let mut sig = 0u32; // significant digits kept, to bound the u128
    let mut dropped_scale = 0i64;
    for b in int.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return Err(TymeError::Malformed);
        }
        let d = (b - b'0') as u128;
        if d != 0 {
            all_zero = false;
        }
        if sig < 36 {
            digits = digits * 10 + d;
            if digits != 0 {
                sig += 1;
            }
        } else {
            // Too many digits to keep: only zeros can follow harmlessly.
            if d != 0 {
                return Err(TymeError::Overflow);
            }
            dropped_scale += 1;
        }
    }
    if all_zero {
        return Ok(0);
    }
    if negative {
        return Err(TymeError::Negative);
    }
    let scale = exp as i64 - frac.len() as i64 + 9 + dropped_scale;
    let mut v = digits;
    if scale >= 0 {
        for _ in 0..scale {
            v = v.checked_mul(10).ok_or(TymeError::Overflow)?;
            if v > u64::MAX as u128 {
                return Err(TymeError::Overflow);
            }
        }
    } else {
        for _ in 0..(-scale) {
            if v % 10 != 0 {
                return Err(TymeError::NotWholeNanos);
            }
            v /= 10;
        }
    }
    u64::try_from(v).map_err(|_| TymeError::Overflow)
}

fn parse_exp(s: &str) -> Result<i32, TymeError> {
    let (digits, neg) = match s.as_bytes().first() {
        Some(b'-') => (&s[1..], true),
        Some(b'+') => (&s[1..], false),
        _ => (s, false),
    };
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TymeError::Malformed);
    }
    let mut e: i32 = 0;
    for b in digits.bytes() {
        e = e * 10 + (b - b'0') as i32;
    }
    Ok(if neg { -e } else { e })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn display_is_exact_decimal() {
        assert_eq!(Tyme::ZERO.to_string(), "0.0");
        assert_eq!(Tyme::from_nanos(31_250_000).to_string(), "0.03125");
        assert_eq!(Tyme::from_nanos(300_000_000).to_string(), "0.3");
        assert_eq!(Tyme::from_secs(12).to_string(), "12.0");
        assert_eq!(Tyme::from_nanos(1).to_string(), "0.000000001");
        assert_eq!(Tock::from_nanos(1_500_000_001).to_string(), "1.500000001");
    }

    #[test]
    fn ten_tenths_are_one_second() {
        let mut t = Tyme::ZERO;
        for _ in 0..10 {
            t += Tock::from_millis(100);
        }
        assert_eq!(t, Tyme::from_secs(1));
    }

    #[test]
    fn parse_exact_or_error() {
        let p = |s: &str| s.parse::<Tock>().map(Tock::as_nanos);
        assert_eq!(p("0"), Ok(0));
        assert_eq!(p("0.0"), Ok(0));
        assert_eq!(p("-0"), Ok(0));
        assert_eq!(p("1"), Ok(NANOS_PER_SEC));
        assert_eq!(p("0.1"), Ok(100_000_000));
        assert_eq!(p("0.03125"), Ok(31_250_000));
        assert_eq!(p("1e-9"), Ok(1));
        assert_eq!(p("1.5e2"), Ok(150 * NANOS_PER_SEC));
        assert_eq!(p("2.5E-3"), Ok(2_500_000));
        assert_eq!(p(".5"), Ok(500_000_000));
        assert_eq!(p("5."), Ok(5 * NANOS_PER_SEC));
        assert_eq!(p("0.1000000000000"), Ok(100_000_000));
        assert_eq!(p("-0.1"), Err(TymeError::Negative));
        assert_eq!(p("0.0000000005"), Err(TymeError::NotWholeNanos));
        assert_eq!(p("1e-10"), Err(TymeError::NotWholeNanos));
        assert_eq!(p("18446744074"), Err(TymeError::Overflow));
        assert_eq!(p("1e30"), Err(TymeError::Overflow));
        assert_eq!(p(""), Err(TymeError::Malformed));
        assert_eq!(p("."), Err(TymeError::Malformed));
        assert_eq!(p("1e"), Err(TymeError::Malformed));
        assert_eq!(p("abc"), Err(TymeError::Malformed));
        assert_eq!(p("1.2.3"), Err(TymeError::Malformed));
        assert_eq!(p("18446744073.709551615"), Ok(u64::MAX));
    }

    #[test]
    fn ratio_and_arithmetic_saturate() {
        assert_eq!(Tock::from_ratio(3, 10), Ok(Tock::from_millis(300)));
        assert_eq!(Tock::from_ratio(1, 0), Err(TymeError::Malformed));
        assert_eq!(Tock::from_ratio(u64::MAX, 1), Err(TymeError::Overflow));
        assert_eq!(Tyme::MAX + Tock::from_secs(1), Tyme::MAX);
        assert_eq!(Tyme::ZERO - Tyme::from_secs(1), Tock::ZERO);
        assert_eq!(Tyme::MAX.checked_add(Tock::from_nanos(1)), None);
        assert_eq!(Tock::from_secs(u64::MAX), Tock::MAX);
    }
}
