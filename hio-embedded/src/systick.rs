//! [`SysTickClock`]: tickless tyme on a Cortex-M.
//!
//! SysTick counts processor cycles; its wrap interrupt folds each period
//! into a 64-bit count. Waiting programs SysTick to wrap at the deadline
//! and sleeps with `WFI`, so an idle Doist wakes only when a doer is due or
//! another interrupt (a UART's, say) arrives: no periodic tick.
//!
//! A wait for a wake ([`Clock::wait_or_wake`]) is race-free: interrupts are
//! masked from the check of `woken()` to `WFI`, and `WFI` ends at a pending
//! interrupt even while they are masked, so a wake made by an interrupt
//! handler just after the check ends the sleep at once. [`wakeups`] counts
//! the sleeps that ended.
//!
//! Call [`on_systick`] from the `SysTick` exception handler:
//!
//! ```ignore
//! #[cortex_m_rt::exception]
//! fn SysTick() {
//!     hio_embedded::systick::on_systick();
//! }
//! ```
//!
//! Each re-programming loses the few cycles between reading and clearing
//! the counter; the clock stays monotonic and drifts by at most that much
//! per wait.

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use hio_core::{Clock, Tyme};

use crate::cycles::{elapsed, Cycles, MAX_RELOAD};

/// Cycles counted up to the start of SysTick's current period.
static BASE: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

/// Sleeps (`WFI`) that ended, since the program started.
static WAKEUPS: AtomicU32 = AtomicU32::new(0);

/// How many times a [`SysTickClock`] woke from its sleep (`WFI`), since the
/// program started (wrapping at `u32::MAX`): an idle tree should add about
/// one per due doer, not one per tock.
pub fn wakeups() -> u32 {
    WAKEUPS.load(Ordering::Relaxed)
}

/// Folds a finished SysTick period into the count. Call it from the
/// `SysTick` exception handler.
pub fn on_systick() {
    interrupt::free(|cs| {
        let base = BASE.borrow(cs);
        base.set(base.get().wrapping_add(u64::from(SYST::get_reload()) + 1));
    });
}

/// Tyme from SysTick on a processor clock of `HZ` cycles per second,
/// waiting with `WFI`.
///
/// The frequency is a const generic so that converting cycles to
/// nanoseconds compiles to a multiplication when `HZ` divides 10⁹ (12.5 MHz:
/// 80 ns a cycle), with no 64-bit division pulled in from a library.
pub struct SysTickClock<const HZ: u32> {
    syst: SYST,
}

impl<const HZ: u32> SysTickClock<HZ> {
    /// Starts SysTick on the processor clock, with its interrupt enabled.
    pub fn start(mut syst: SYST) -> Self {
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(MAX_RELOAD);
        syst.clear_current();
        interrupt::free(|cs| BASE.borrow(cs).set(0));
        syst.enable_interrupt();
        syst.enable_counter();
        SysTickClock { syst }
    }

    /// Cycles since [`start`](SysTickClock::start).
    pub fn cycles(&self) -> u64 {
        interrupt::free(|cs| {
            let base = BASE.borrow(cs).get();
            let reload = SYST::get_reload();
            let before = SYST::get_current();
            let wrapped = SCB::is_pendst_pending();
            // a wrap between the two reads shows as pending: read again
            let v = if wrapped { SYST::get_current() } else { before };
            base + u64::from(elapsed(reload, v, wrapped))
        })
    }
}

impl<const HZ: u32> core::fmt::Debug for SysTickClock<HZ> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SysTickClock").field("hz", &HZ).finish()
    }
}

impl<const HZ: u32> Clock for SysTickClock<HZ> {
    fn now(&mut self) -> Tyme {
        Tyme::from_nanos(Cycles::<HZ>::to_nanos(self.cycles()))
    }

    fn wait_until(&mut self, deadline: Tyme) {
        self.sleep(deadline, None);
    }

    fn wait_or_wake(&mut self, deadline: Tyme, woken: &dyn Fn() -> bool) {
        self.sleep(deadline, Some(woken));
    }
}

impl<const HZ: u32> SysTickClock<HZ> {
    /// Sleeps until `deadline` or any interrupt, unless `woken()` already.
    fn sleep(&mut self, deadline: Tyme, woken: Option<&dyn Fn() -> bool>) {
        let now = self.now();
        if deadline <= now {
            return;
        }
        let reload = Cycles::<HZ>::to_cycles((deadline - now).as_nanos());
        // masked from the check to WFI: an interrupt after the check stays
        // pending and ends WFI at once; its handler runs when unmasked
        interrupt::free(|cs| {
            if woken.is_some_and(|w| w()) || SCB::is_pendst_pending() {
                // woken, or a period just ended: let its handler count it
                return;
            }
            let base = BASE.borrow(cs);
            let v = SYST::get_current();
            base.set(base.get() + u64::from(elapsed(SYST::get_reload(), v, false)));
            self.syst.set_reload(reload);
            self.syst.clear_current();
            cortex_m::asm::wfi();
            WAKEUPS.store(
                WAKEUPS.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Relaxed,
            );
        });
    }
}
