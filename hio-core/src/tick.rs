//! [`Tick`]: a tock that is not zero, the period of a Doist.

use core::num::NonZeroU64;

use crate::Tock;

/// A tock that is not zero: how far one pass of a [`Doist`](crate::Doist)
/// advances its tyme. A zero tick is refused by the type, so a Doist built
/// from a `Tick` cannot fail ([`Doist::ticking`](crate::Doist::ticking)).
///
/// ```
/// use hio_core::{Doist, Tick, Tock};
/// // checked at compile time: `Tick::millis::<0>()` does not build
/// const TICK: Tick = Tick::millis::<100>();
/// let doist: Doist<'_, 4> = Doist::ticking(TICK);
/// assert_eq!(doist.tock(), Tock::from_millis(100));
/// // a tock known only at run time is checked then
/// assert_eq!(Tick::new(Tock::ZERO), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tick(NonZeroU64);

impl Tick {
    /// `tock`, unless it is zero.
    pub const fn new(tock: Tock) -> Option<Tick> {
        match NonZeroU64::new(tock.as_nanos()) {
            Some(n) => Some(Tick(n)),
            None => None,
        }
    }

    /// `NS` nanoseconds; zero does not compile.
    pub const fn nanos<const NS: u64>() -> Tick {
        const { assert!(NS > 0, "a Doist's tick must be more than zero") };
        match NonZeroU64::new(NS) {
            Some(n) => Tick(n),
            None => Tick(NonZeroU64::MIN),
        }
    }

    /// `US` microseconds; zero does not compile.
    pub const fn micros<const US: u64>() -> Tick {
        const { assert!(US > 0, "a Doist's tick must be more than zero") };
        Tick::of(Tock::from_micros(US))
    }

    /// `MS` milliseconds; zero does not compile.
    pub const fn millis<const MS: u64>() -> Tick {
        const { assert!(MS > 0, "a Doist's tick must be more than zero") };
        Tick::of(Tock::from_millis(MS))
    }

    /// `S` seconds; zero does not compile.
    pub const fn secs<const S: u64>() -> Tick {
        const { assert!(S > 0, "a Doist's tick must be more than zero") };
        Tick::of(Tock::from_secs(S))
    }

    /// A tock known to be more than zero.
    const fn of(tock: Tock) -> Tick {
        match NonZeroU64::new(tock.as_nanos()) {
            Some(n) => Tick(n),
            None => Tick(NonZeroU64::MIN),
        }
    }

    /// As a tock.
    pub const fn tock(self) -> Tock {
        Tock::from_nanos(self.0.get())
    }
}

impl From<Tick> for Tock {
    fn from(t: Tick) -> Tock {
        t.tock()
    }
}

impl TryFrom<Tock> for Tick {
    type Error = crate::DoistError;
    fn try_from(t: Tock) -> Result<Tick, crate::DoistError> {
        Tick::new(t).ok_or(crate::DoistError::ZeroTock)
    }
}
