//! Cycle arithmetic of the SysTick clock, kept apart from the registers so
//! it is tested on the host.

const NANOS: u64 = 1_000_000_000;

/// SysTick's largest reload value (a 24-bit counter).
pub(crate) const MAX_RELOAD: u32 = 0x00ff_ffff;

/// Conversions between cycles of an `HZ` clock and nanoseconds.
pub(crate) struct Cycles<const HZ: u32>;

impl<const HZ: u32> Cycles<HZ> {
    const HZ64: u64 = if HZ == 0 { 1 } else { HZ as u64 };
    /// Nanoseconds per cycle when that is a whole number, else 0.
    const NS_PER_CYCLE: u64 = if NANOS % Self::HZ64 == 0 {
        NANOS / Self::HZ64
    } else {
        0
    };

    /// Nanoseconds in `cycles`, rounded down. A multiplication when `HZ`
    /// divides 10⁹ (no 64-bit division routine on a 32-bit MCU).
    pub(crate) fn to_nanos(cycles: u64) -> u64 {
        if Self::NS_PER_CYCLE != 0 {
            return cycles.saturating_mul(Self::NS_PER_CYCLE);
        }
        let hz = Self::HZ64;
        (cycles / hz)
            .saturating_mul(NANOS)
            .saturating_add((cycles % hz) * NANOS / hz)
    }

    /// Cycles to wait for `nanos`, rounded up (never wake early), at least
    /// 1 and at most one SysTick period.
    pub(crate) fn to_cycles(nanos: u64) -> u32 {
        if Self::NS_PER_CYCLE != 0
            && Self::NS_PER_CYCLE * u64::from(MAX_RELOAD) <= u64::from(u32::MAX)
        {
            // a 32-bit division by a constant
            let k = Self::NS_PER_CYCLE as u32;
            let ns = nanos.min(u64::from(MAX_RELOAD) * Self::NS_PER_CYCLE) as u32;
            return ns.div_ceil(k).clamp(1, MAX_RELOAD);
        }
        let hz = Self::HZ64;
        let whole = (nanos / NANOS).saturating_mul(hz);
        let c = whole.saturating_add(((nanos % NANOS) * hz).div_ceil(NANOS));
        c.clamp(1, u64::from(MAX_RELOAD)) as u32
    }
}

/// Cycles gone in SysTick's current period (plus the finished one, if it
/// wrapped and its interrupt has not run yet). A current value of 0 is the
/// end of a period when it wrapped, else a counter just cleared.
///
/// In 32 bits: with a 24-bit reload value it is less than 2²⁵.
pub(crate) fn elapsed(reload: u32, current: u32, wrapped: bool) -> u32 {
    match (current, wrapped) {
        (0, true) => reload,
        (0, false) => 0,
        (v, true) => reload + 1 + (reload - v.min(reload)),
        (v, false) => reload - v.min(reload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_nanoseconds_per_cycle_multiply() {
        type Q = Cycles<12_500_000>; // QEMU's lm3s6965evb: 80 ns a cycle
        assert_eq!(Q::to_nanos(1), 80);
        assert_eq!(Q::to_nanos(12_500_000), NANOS);
        assert_eq!(Q::to_cycles(80), 1);
        assert_eq!(Q::to_cycles(81), 2, "rounded up: never wake early");
        assert_eq!(Q::to_cycles(0), 1);
        assert_eq!(Q::to_cycles(u64::MAX), MAX_RELOAD);
    }

    #[test]
    fn other_frequencies_convert_exactly_enough() {
        type M = Cycles<12_000_000>; // 83.3 ns a cycle
        assert_eq!(M::to_nanos(12_000_000), NANOS);
        assert_eq!(M::to_nanos(3), 250);
        assert_eq!(M::to_nanos(1), 83);
        assert_eq!(M::to_cycles(250), 3);
        assert_eq!(M::to_cycles(251), 4);
        type K = Cycles<32_768>; // a watch crystal
        assert_eq!(K::to_nanos(32_768), NANOS);
        assert_eq!(K::to_cycles(NANOS), 32_768);
        assert_eq!(K::to_cycles(1), 1);
        for c in [1u64, 7, 1000, 1_000_000] {
            // a round trip never comes back short
            assert!(u64::from(M::to_cycles(M::to_nanos(c))) <= c.min(u64::from(MAX_RELOAD)));
            assert!(M::to_nanos(u64::from(M::to_cycles(M::to_nanos(c) + 1))) > M::to_nanos(c));
        }
    }

    #[test]
    fn elapsed_across_a_wrap_never_goes_back() {
        let reload = 999;
        assert_eq!(elapsed(reload, 999, false), 0);
        assert_eq!(elapsed(reload, 1, false), 998);
        assert_eq!(elapsed(reload, 0, true), 999); // counted down, not yet reloaded
        assert_eq!(elapsed(reload, 999, true), 1000); // reloaded, handler pending
        assert_eq!(elapsed(reload, 500, true), 1499);
        assert_eq!(elapsed(reload, 0, false), 0); // just cleared
                                                  // one reading per cycle through a wrap: monotonic
        let mut last = 0;
        for v in (1..=999u32).rev() {
            let e = elapsed(reload, v, false);
            assert!(e >= last);
            last = e;
        }
        for (v, w) in [(0, true), (999, true), (998, true)] {
            let e = elapsed(reload, v, w);
            assert!(e >= last);
            last = e;
        }
    }
}
