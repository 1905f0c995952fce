//! [`DoDoer`]: a doer that runs child doers.

use core::fmt;

use crate::group::DoerRef;
use crate::group::Group;
use crate::Full;
use crate::{Cx, Deeds, Doer, Fault, Step, Tock, Waker};

/// A doer that runs up to `N` child doers (and keeps up to `S` spares that
/// run-time requests may add), nested to any depth.
///
/// Its recur *is* its children's pass, at the same tyme: children whose tock
/// is 0 run every time it runs. It finishes when, after a pass, it has no
/// children left — unless it is [`always`](DoDoer::always). Stopped, it
/// ceases, stops its children in reverse order, then exits; a child's fault
/// makes it abort, stop the other children, exit and pass the fault up.
///
/// Capacity is a const generic, so the tree's memory is known at link time;
/// [`add`](DoDoer::add) past it hands the doer back. `B` (opt-in, for large
/// hosted trees) adds a summary of `B` blocks, see [`Deeds`].
///
/// ```
/// use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, SimClock, Step, Tock};
///
/// struct Twice(u8);
/// impl Doer for Twice {
///     fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
///         self.0 += 1;
///         Ok(if self.0 == 2 { Step::Done } else { Step::Continue })
///     }
/// }
///
/// let (mut a, mut b) = (Twice(0), Twice(0));
/// let mut group: DoDoer<'_, 2> = DoDoer::new("group");
/// group.add(&mut a).unwrap();
/// group.add(&mut b).unwrap();
/// let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(10)).unwrap();
/// doist.add(&mut group).unwrap();
/// let report = doist.run(&mut SimClock::new(), None);
/// assert_eq!(report.end, End::Done);
/// ```
pub struct DoDoer<'a, const N: usize, const S: usize = 0, const B: usize = 0> {
    tock: Tock,
    always: bool,
    lazy: bool,
    deeds: Deeds<'a, N, S, B>,
}

impl<'a, const N: usize, const S: usize, const B: usize> DoDoer<'a, N, S, B> {
    /// An empty DoDoer named `name`, with tock 0 (runs whenever its parent
    /// runs).
    pub const fn new(name: &'a str) -> Self {
        DoDoer {
            tock: Tock::ZERO,
            always: false,
            lazy: false,
            deeds: Deeds::new(name),
        }
    }

    /// With this tock. [`Tock::NEVER`] parks it after each recur: it runs
    /// again when it (or, through it, one of its children) is woken; its
    /// tock-0 children then run whenever it runs.
    pub const fn with_tock(mut self, tock: Tock) -> Self {
        self.tock = tock;
        self.deeds = self.deeds.propagating(self.lazy || tock.is_never());
        self
    }

    /// Lazy (opt-in): it runs only when one of its children is due. After
    /// each of its recurs its retyme is the earliest retyme among its
    /// children (never, when it has none or all are parked) instead of the
    /// rule from its own tock, which remains the period of its tock-0
    /// children. A wake of a child, and a doer added to it or removed from
    /// it at run time, bring it forward. A server's pool of connections,
    /// most of them parked, costs nothing per pass this way.
    ///
    /// Laziness needs a Doist that drains a [`WakeBoard`](crate::WakeBoard)
    /// ([`Doist::wakes`](crate::Doist::wakes)); without one a lazy DoDoer
    /// runs by its tock like any other.
    pub const fn lazy(mut self, lazy: bool) -> Self {
        self.lazy = lazy;
        self.deeds = self.deeds.propagating(lazy || self.tock.is_never());
        self
    }

    /// Its own waker: waking it runs its pass (its children run if due).
    /// Without one it takes a slot of the board for itself when entered, so
    /// that its children can be woken.
    pub const fn with_waker(mut self, waker: Waker) -> Self {
        self.deeds = self.deeds.with_user(waker);
        self
    }

    /// Never finishes by itself (it ends only when stopped), even with no
    /// children left.
    pub const fn always(mut self, always: bool) -> Self {
        self.always = always;
        self
    }

    /// Contains its children's recur faults instead of passing them up
    /// (opt-in; the contract's default is to pass them up): a failing child
    /// ends aborted, its siblings keep running, and
    /// [`Deeds::contained`] counts it.
    pub fn contain(self, contain: bool) -> Self {
        self.deeds.contain(contain);
        self
    }

    /// Supervises its children (feature `requests`): a child whose recur
    /// (or enter, when restarted) fails ends aborted as with
    /// [`contain`](DoDoer::contain), and is entered again `restart.delay`
    /// later, appended to its siblings as a doer added at run time. After
    /// `restart.max` restarts within `restart.window` it gives up: the next
    /// fault passes up as without containment. A child waiting for its
    /// restart takes a spare slot (`S` ≥ 1); with none free the fault
    /// passes up.
    ///
    /// ```
    /// use hio_core::{Cx, DoDoer, Doer, Doist, End, Fault, Restart, SimClock, Step, Tock};
    ///
    /// /// Fails on every second recur.
    /// struct Flaky(u32);
    /// impl Doer for Flaky {
    ///     fn name(&self) -> &str { "flaky" }
    ///     fn enter(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> { self.0 = 0; Ok(Step::Continue) }
    ///     fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
    ///         self.0 += 1;
    ///         if self.0 == 2 { Err(Fault::failed("flaked")) } else { Ok(Step::Continue) }
    ///     }
    /// }
    ///
    /// let mut f = Flaky(0);
    /// let mut sup: DoDoer<'_, 1, 1> = DoDoer::new("sup").restart(Restart {
    ///     delay: Tock::from_millis(500),
    ///     max: 2,
    ///     window: Tock::from_secs(60),
    /// });
    /// sup.add(&mut f).unwrap();
    /// let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(100)).unwrap();
    /// doist.add(&mut sup).unwrap();
    /// let report = doist.run(&mut SimClock::new(), None);
    /// // two restarts, then the third failure ends the run
    /// assert_eq!(report.end, End::Fault(Fault::failed("flaked")));
    /// assert_eq!(doist.origin(), Some("flaky"));
    /// ```
    #[cfg(feature = "requests")]
    #[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
    pub fn restart(self, restart: crate::Restart) -> Self {
        self.deeds.set_restart(restart);
        self
    }

    /// Changes its tock (also from inside a run: a doer that wraps it and
    /// changes it in its recur calls [`Cx::retock`] there).
    pub fn set_tock(&mut self, tock: Tock) {
        self.tock = tock;
        self.deeds.set_propagate(self.lazy || tock.is_never());
    }

    /// Whether it is lazy.
    pub fn is_lazy(&self) -> bool {
        self.lazy
    }

    /// Adds a child, entered when this DoDoer is entered. Hands it back when
    /// full (or when the DoDoer is already running: use a spare then).
    pub fn add(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.deeds.add(doer)
    }

    /// Adds children in order. On a refusal the children before it are
    /// added, the refused one is handed back, and the rest are left with
    /// the caller.
    ///
    /// ```
    /// use hio_core::{Cx, DoDoer, Doer, Fault, Step};
    /// struct Nop;
    /// impl Doer for Nop {
    ///     fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> { Ok(Step::Done) }
    /// }
    /// let (mut a, mut b, mut c) = (Nop, Nop, Nop);
    /// let mut g: DoDoer<'_, 2> = DoDoer::new("g");
    /// let refused = g.add_all([&mut a as &mut dyn Doer, &mut b, &mut c]).unwrap_err();
    /// assert_eq!(g.deeds().len(), 2);
    /// assert_eq!(refused.scheduler(), "g");
    /// ```
    pub fn add_all<I>(&mut self, doers: I) -> Result<(), Full<DoerRef<'a>>>
    where
        I: IntoIterator<Item = DoerRef<'a>>,
    {
        doers.into_iter().try_for_each(|d| self.deeds.add(d))
    }

    /// Keeps a spare child that a run-time request can add by name.
    #[cfg(feature = "requests")]
    #[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
    pub fn spare(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.deeds.spare(doer)
    }

    /// Its scheduler.
    pub fn deeds(&self) -> &Deeds<'a, N, S, B> {
        &self.deeds
    }
}

impl<const N: usize, const S: usize, const B: usize> Doer for DoDoer<'_, N, S, B> {
    fn name(&self) -> &str {
        self.deeds.name()
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        let env = cx.env.child(self.deeds.group_ref());
        self.deeds.enter_all(&env)?;
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        let env = cx.env.child(self.deeds.group_ref());
        // a parked DoDoer's tock counts as 0 for its tock-0 children
        let period = if self.tock.is_never() {
            Tock::ZERO
        } else {
            self.tock
        };
        self.deeds.pass(&env, period)?;
        if self.lazy && self.deeds.has_board() {
            cx.set_due(self.deeds.exact_due());
        }
        Ok(
            if self.deeds.is_empty() && !self.always && !self.deeds.awaits_restart() {
                Step::Done
            } else {
                Step::Continue
            },
        )
    }

    fn cease(&mut self, cx: &mut Cx<'_>) {
        self.deeds.stop_all(&cx.env.child(self.deeds.group_ref()));
    }

    fn abort(&mut self, cx: &mut Cx<'_>) {
        self.deeds.stop_all(&cx.env.child(self.deeds.group_ref()));
    }

    fn clean(&mut self, cx: &mut Cx<'_>) {
        self.deeds.stop_all(&cx.env.child(self.deeds.group_ref()));
    }

    fn as_group(&self) -> Option<&dyn Group> {
        Some(&self.deeds)
    }
}

impl<const N: usize, const S: usize, const B: usize> fmt::Debug for DoDoer<'_, N, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoDoer")
            .field("tock", &self.tock)
            .field("always", &self.always)
            .field("lazy", &self.lazy)
            .field("deeds", &self.deeds)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Doist, Tyme};

    /// Runs every pass (tock 0), or once an hour.
    struct Ticker(Tock);

    impl Doer for Ticker {
        fn tock(&self) -> Tock {
            self.0
        }
        fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
            Ok(Step::Continue)
        }
    }

    #[test]
    fn a_tock_0_dodoers_summary_looks_as_far_ahead_as_the_doist() {
        let mut every = Ticker(Tock::ZERO);
        let mut hourly: [Ticker; 15] = core::array::from_fn(|_| Ticker(Tock::from_secs(3600)));
        let mut g: DoDoer<'_, 16, 0, 2> = DoDoer::new("g");
        g.add(&mut every).unwrap();
        for d in hourly.iter_mut() {
            g.add(d).unwrap();
        }
        {
            let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(1)).unwrap();
            doist.add(&mut g).unwrap();
            // passes at 0, 1, 2, 3 and 4 ms
            for _ in 0..5 {
                assert!(doist.pass().is_none());
            }
        }
        // its hot bits were made at the pass at 1 ms, 64 of the Doist's
        // tocks ahead, and not again (64 of its own tock 0 would have been
        // 64 ns, passed by every pass)
        assert_eq!(g.deeds.horizon(), Tyme::from_millis(65));
    }
}
