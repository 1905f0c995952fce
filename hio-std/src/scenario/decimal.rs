//! Exact decimal numbers: the seconds written in a scenario, turned into
//! nanoseconds with integer arithmetic only (no floating point, no rounding).

use core::fmt;

/// Nanoseconds in one second.
pub(crate) const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Exponents are clamped to this magnitude while parsing. Any larger
/// exponent already means overflow (or a fraction below one nanosecond), so
/// clamping never changes a result; it only keeps the arithmetic in range.
const EXPONENT_CLAMP: i64 = 1 << 40;

/// Why a decimal text is not a valid time (or count).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// The text is not a decimal number of the form
    /// `[-]DIGITS[.DIGITS][(e|E)[+|-]DIGITS]` (JSON's number syntax, leading
    /// zeros allowed, no surrounding whitespace).
    Syntax,
    /// The number is below zero.
    Negative,
    /// The number has a nonzero digit below the unit (for seconds: more than
    /// nine significant decimal places).
    NotWhole,
    /// The number of units does not fit in a `u64` (for seconds: more than
    /// 18446744073.709551615 s, about 584 years).
    Overflow,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "is not a decimal number such as 0.25, 3 or 1e-3",
            Self::Negative => "is negative: times are zero or more seconds",
            Self::NotWhole => {
                "is not a whole number of nanoseconds: use at most 9 decimal places of a second"
            }
            Self::Overflow => "is too large: the largest time is 18446744073.709551615 seconds",
        })
    }
}

impl std::error::Error for TimeError {}

/// Parses decimal seconds exactly into nanoseconds.
///
/// The text is a decimal number in JSON's syntax, exponents included:
/// `"0.03125"` is 31 250 000 ns, `"1.5e2"` is 150 s, `"1e-9"` is 1 ns and
/// `"-0"` is 0. A value that is negative, not a whole number of nanoseconds
/// (`"0.0000000005"`) or beyond `u64::MAX` nanoseconds is an error: it is
/// never rounded.
///
/// # Errors
///
/// A [`TimeError`] saying which of those it is, or that the text is not a
/// decimal number at all.
///
/// ```
/// # use hio_std::scenario::parse_seconds;
/// assert_eq!(parse_seconds("0.03125"), Ok(31_250_000));
/// assert!(parse_seconds("0.0000000001").is_err());
/// ```
pub fn parse_seconds(text: &str) -> Result<u64, TimeError> {
    Decimal::parse(text).ok_or(TimeError::Syntax)?.scaled(9)
}

/// Parses a decimal text that must be a whole number (`3`, `3.0` or `3e0`).
pub(crate) fn parse_whole(text: &str) -> Result<u64, TimeError> {
    Decimal::parse(text).ok_or(TimeError::Syntax)?.scaled(0)
}

/// A decimal number in canonical form: its value is
/// `(-1)^negative × digits × 10^exponent`, where `digits` has neither leading
/// nor trailing zeros. Zero is always `(false, "", 0)`, so two texts denote
/// the same number exactly when their canonical forms are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Decimal {
    /// Reads a decimal number in JSON's syntax; `None` if the text is not one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let negative = bytes.first() == Some(&b'-');
        let mut i = usize::from(negative);
        let digits_from = |mut i: usize| {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let int_end = digits_from(i);
        let int = text.get(i..int_end).filter(|s| !s.is_empty())?;
        i = int_end;
        let mut frac = "";
        if bytes.get(i) == Some(&b'.') {
            let end = digits_from(i + 1);
            frac = text.get(i + 1..end).filter(|s| !s.is_empty())?;
            i = end;
        }
        let mut exponent: i64 = 0;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            let sign: i64 = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    -1
                }
                Some(b'+') => {
                    i += 1;
                    1
                }
                _ => 1,
            };
            let end = digits_from(i);
            let exp_text = text.get(i..end).filter(|s| !s.is_empty())?;
            for d in exp_text.bytes() {
                exponent = (exponent * 10 + i64::from(d - b'0')).min(EXPONENT_CLAMP);
            }
            exponent *= sign;
            i = end;
        }
        if i != bytes.len() {
            return None;
        }
        let mut digits: String = int
            .chars()
            .chain(frac.chars())
            .skip_while(|&c| c == '0')
            .collect();
        let frac_len = i64::try_from(frac.len()).unwrap_or(i64::MAX);
        exponent = exponent.saturating_sub(frac_len);
        while digits.ends_with('0') {
            digits.pop();
            exponent = exponent.saturating_add(1);
        }
        if digits.is_empty() {
            return Some(Self {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        Some(Self {
            negative,
            digits,
            exponent,
        })
    }

    /// The value times `10^shift` as a `u64`, if it is a whole number in
    /// range and not negative.
    fn scaled(&self, shift: i64) -> Result<u64, TimeError> {
        if self.digits.is_empty() {
            return Ok(0);
        }
        if self.negative {
            return Err(TimeError::Negative);
        }
        let exponent = self.exponent.saturating_add(shift);
        let zeros = u32::try_from(exponent).map_err(|_| {
            if exponent < 0 {
                TimeError::NotWhole
            } else {
                TimeError::Overflow
            }
        })?;
        let mut value: u64 = 0;
        for d in self.digits.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or(TimeError::Overflow)?;
        }
        10u64
            .checked_pow(zeros)
            .and_then(|p| value.checked_mul(p))
            .ok_or(TimeError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_edge_cases() {
        let ok = [
            ("0", 0),
            ("-0", 0),
            ("0.0", 0),
            ("0e5", 0),
            ("0.000000000000", 0),
            ("1", 1_000_000_000),
            ("1.0", 1_000_000_000),
            ("0.1", 100_000_000),
            ("0.3", 300_000_000),
            ("0.03125", 31_250_000),
            ("1e-9", 1),
            ("1E-9", 1),
            ("1.5e2", 150_000_000_000),
            ("1.5E+2", 150_000_000_000),
            ("25e-2", 250_000_000),
            ("0.0000000010", 1),
            ("00.5", 500_000_000),
            ("18446744073.709551615", u64::MAX),
            ("18446744073709551615e-9", u64::MAX),
        ];
        for (text, ns) in ok {
            assert_eq!(parse_seconds(text), Ok(ns), "{text}");
        }
        let bad = [
            ("-0.1", TimeError::Negative),
            ("-1e-30", TimeError::Negative),
            ("0.0000000005", TimeError::NotWhole),
            ("0.0000000001", TimeError::NotWhole),
            ("1e-10", TimeError::NotWhole),
            ("1e-99999999999999999999", TimeError::NotWhole),
            ("18446744073.709551616", TimeError::Overflow),
            ("18446744074", TimeError::Overflow),
            ("1e20", TimeError::Overflow),
            ("1e99999999999999999999", TimeError::Overflow),
            ("123456789012345678901234567890", TimeError::Overflow),
            ("", TimeError::Syntax),
            ("-", TimeError::Syntax),
            (".5", TimeError::Syntax),
            ("1.", TimeError::Syntax),
            ("1e", TimeError::Syntax),
            ("1e+", TimeError::Syntax),
            ("+1", TimeError::Syntax),
            (" 1", TimeError::Syntax),
            ("1 ", TimeError::Syntax),
            ("0x10", TimeError::Syntax),
            ("1.2.3", TimeError::Syntax),
            ("NaN", TimeError::Syntax),
            ("١", TimeError::Syntax),
        ];
        for (text, err) in bad {
            assert_eq!(parse_seconds(text), Err(err), "{text}");
        }
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(parse_whole("3"), Ok(3));
        assert_eq!(parse_whole("3.0"), Ok(3));
        assert_eq!(parse_whole("3e1"), Ok(30));
        assert_eq!(parse_whole("2.5"), Err(TimeError::NotWhole));
        assert_eq!(parse_whole("-3"), Err(TimeError::Negative));
    }

    #[test]
    fn canonical_form_compares_values() {
        let same = |a: &str, b: &str| Decimal::parse(a) == Decimal::parse(b);
        assert!(same("0.3", "0.30"));
        assert!(same("0.3", "3e-1"));
        assert!(same("1.0", "1"));
        assert!(same("0", "-0.0"));
        assert!(same("100", "1e2"));
        assert!(!same("0.3", "0.30000000000000004"));
        assert!(!same("1", "-1"));
        assert!(!same("10", "1"));
        assert_eq!(Decimal::parse("x"), None);
    }

    #[test]
    fn messages_say_what_to_do() {
        assert!(TimeError::NotWhole.to_string().contains("9 decimal places"));
        assert!(TimeError::Overflow.to_string().contains("largest"));
    }
}
