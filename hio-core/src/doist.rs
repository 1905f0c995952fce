//! [`Doist`]: the root scheduler, owner of the clock.

use core::cell::Cell;
use core::fmt;

use core::sync::atomic::{AtomicBool, Ordering};

use crate::cx::{Env, Origin, Shared, NEVER_WOKEN};
use crate::group::{DoerRef, Group as _, Root};
use crate::wake::Board;
use crate::Full;
#[cfg(feature = "observe")]
use crate::Observer;
use crate::{Clock, Deeds, Fault, StopFlag, Tick, Tock, Tyme, WakeBoard};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum End {
    /// No doer was left.
    Done,
    /// The limit was reached; every running doer was ceased.
    Limit,
    /// A fault reached the Doist; every other doer was ceased.
    Fault(Fault),
    /// Stopped from outside ([`StopFlag`] or [`Doist::stop`]).
    Stopped,
}

impl End {
    /// The name used in traces: `done`, `limit`, `fault` or `stopped`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            End::Done => "done",
            End::Limit => "limit",
            End::Fault(_) => "fault",
            End::Stopped => "stopped",
        }
    }
}

/// The end of a run: why, and at what tyme. For a fault,
/// [`Doist::origin`] names the doer where it arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Report {
    /// Why it ended.
    pub end: End,
    /// The tyme at which it ended.
    pub tyme: Tyme,
}

/// A Doist could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DoistError {
    /// The tock is zero; tyme would never advance. Give a positive tock.
    ZeroTock,
}

impl fmt::Display for DoistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DoistError::ZeroTock => f.write_str(
                "the Doist's tock is zero, so its tyme would never advance; give a positive tock (or build it from a `Tick`)",
            ),
        }
    }
}

impl core::error::Error for DoistError {}

#[cfg(test)]
mod tests {
    use super::grid_ceil;

    #[test]
    fn grid_ceil_matches_division() {
        for &(from, target, tock) in &[
            (0u64, 0u64, 7u64),
            (0, 1, 7),
            (0, 7, 7),
            (0, 8, 7),
            (14, 8, 7),
            (0, 1_000_000_000, 31_250_000),
            (0, 1_000_000_001, 31_250_000),
            (3, 1_000_000_001, 31_250_000),
            (0, u64::MAX / 3, 1),
            (10, 12_345_678_901, 100_000_000),
            (5, u64::MAX, 10),
            (u64::MAX - 3, u64::MAX, 10),
            (0, u64::MAX, u64::MAX),
        ] {
            let want = if target <= from {
                from
            } else {
                let k = (target - from).div_ceil(tock);
                k.checked_mul(tock)
                    .and_then(|d| d.checked_add(from))
                    .unwrap_or(u64::MAX)
            };
            assert_eq!(
                grid_ceil(from, target, tock),
                want,
                "{from} {target} {tock}"
            );
        }
    }
}

/// What [`Doist::with_env`] runs on the top-level scheduler.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Enters its doers.
    Enter,
    /// Runs one pass, after the wakes from outside.
    Pass,
    /// Stops its doers.
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ready,
    Running,
    Ended,
}

/// The root of a doer tree: it owns the tyme, runs up to `N` top-level
/// doers (and `S` spares) one pass per tock, and ends the run.
///
/// Drive it all at once with [`run`](Doist::run) (simulated time with a
/// [`SimClock`](crate::SimClock), real time with a target's clock), or step
/// by step with [`enter`](Doist::enter) and [`pass`](Doist::pass) from a loop
/// of your own.
///
/// ```
/// use hio_core::{Cx, Doer, Doist, End, Fault, SimClock, Step, Tock, Tyme};
///
/// struct Ticker(u32);
/// impl Doer for Ticker {
///     fn tock(&self) -> Tock { Tock::from_millis(250) }
///     fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
///         self.0 += 1;
///         Ok(Step::Continue)
///     }
/// }
///
/// let mut t = Ticker(0);
/// let mut doist: Doist<'_, 4> = Doist::new(Tock::from_millis(125))
///     .unwrap()
///     .with_limit(Tock::from_secs(1));
/// doist.add(&mut t).unwrap();
/// let report = doist.run(&mut SimClock::new(), None);
/// assert_eq!((report.end, report.tyme), (End::Limit, Tyme::from_secs(1)));
/// drop(doist);
/// assert_eq!(t.0, 4); // at 0, 0.25, 0.5, 0.75
/// ```
pub struct Doist<'a, const N: usize, const S: usize = 0, const B: usize = 0> {
    tock: Tock,
    start: Tyme,
    limit: Option<Tock>,
    /// `start + limit`, kept with them.
    until: Option<Tyme>,
    tyme: Tyme,
    root: Root<'a, N, S, B>,
    #[cfg(feature = "observe")]
    observer: Option<&'a dyn Observer>,
    board: Option<&'static dyn Board>,
    /// The board's flag raised by every wake (one never raised without a
    /// board).
    woken: &'static AtomicBool,
    phase: Phase,
    report: Option<Report>,
    /// The fault's origin (`blamed` says whether it is set).
    origin: Origin,
    /// The tyme after the last pass's tick: no pass runs before it.
    floor: Tyme,
}

impl<'a, const N: usize, const S: usize, const B: usize> Doist<'a, N, S, B> {
    /// A Doist whose tyme advances by `tock` each pass; a zero tock is
    /// refused. With a tock known when the program is written,
    /// [`ticking`](Doist::ticking) cannot fail.
    ///
    /// ```
    /// use hio_core::{Doist, DoistError, Tock};
    /// let e = Doist::<'_, 1>::new(Tock::ZERO).unwrap_err();
    /// assert_eq!(e, DoistError::ZeroTock);
    /// assert!(e.to_string().contains("give a positive tock"));
    /// ```
    pub const fn new(tock: Tock) -> Result<Self, DoistError> {
        match Tick::new(tock) {
            Some(tick) => Ok(Self::ticking(tick)),
            None => Err(DoistError::ZeroTock),
        }
    }

    /// A Doist whose tyme advances by `tick` each pass: cannot fail, and
    /// `const`, so a whole tree can live in `static`s.
    pub const fn ticking(tick: Tick) -> Self {
        let tock = tick.tock();
        Doist {
            tock,
            start: Tyme::ZERO,
            limit: None,
            until: None,
            tyme: Tyme::ZERO,
            root: Root::new("root"),
            #[cfg(feature = "observe")]
            observer: None,
            board: None,
            woken: &NEVER_WOKEN,
            phase: Phase::Ready,
            report: None,
            origin: Origin::NONE,
            floor: Tyme::ZERO,
        }
    }

    /// Ends the run `limit` after the start (every doer ceased). Zero means
    /// no limit.
    pub const fn with_limit(mut self, limit: Tock) -> Self {
        self.limit = if limit.is_zero() { None } else { Some(limit) };
        self.until = Self::until(self.start, self.limit);
        self
    }

    const fn until(start: Tyme, limit: Option<Tock>) -> Option<Tyme> {
        match limit {
            None => None,
            Some(l) => match start.checked_add(l) {
                Some(t) => Some(t),
                None => Some(Tyme::MAX),
            },
        }
    }

    /// Starts tyme at `start` instead of zero.
    pub const fn with_start(mut self, start: Tyme) -> Self {
        self.start = start;
        self.tyme = start;
        self.until = Self::until(start, self.limit);
        self
    }

    /// Shows every lifecycle event to `observer`.
    #[cfg(feature = "observe")]
    #[cfg_attr(docsrs, doc(cfg(feature = "observe")))]
    pub fn observe(&mut self, observer: &'a dyn Observer) {
        self.observer = Some(observer);
    }

    /// Drains `board`: doers of this tree can then be woken through its
    /// [`Waker`](crate::Waker)s (from other doers, a reactor, an interrupt
    /// handler, another thread), and lazy DoDoers are lazy. Give it before
    /// the run.
    pub fn wakes<const W: usize>(&mut self, board: &'static WakeBoard<W>) {
        self.board = Some(board);
        self.woken = board.woken();
        self.root.wakes(board);
    }

    /// Whether something was woken since the last pass.
    fn woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }

    /// Adds a top-level doer, entered at the start. Hands it back when full.
    pub fn add(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.root.deeds.add(doer)
    }

    /// Adds top-level doers in order. On a refusal the doers before it are
    /// added, the refused one is handed back, and the rest are left with
    /// the caller.
    pub fn add_all<I>(&mut self, doers: I) -> Result<(), Full<DoerRef<'a>>>
    where
        I: IntoIterator<Item = DoerRef<'a>>,
    {
        doers.into_iter().try_for_each(|d| self.root.deeds.add(d))
    }

    /// Keeps a spare top-level doer for a run-time request to add.
    #[cfg(feature = "requests")]
    #[cfg_attr(docsrs, doc(cfg(feature = "requests")))]
    pub fn spare(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.root.deeds.spare(doer)
    }

    /// The current tyme.
    pub const fn tyme(&self) -> Tyme {
        self.tyme
    }

    /// The tock.
    pub const fn tock(&self) -> Tock {
        self.tock
    }

    /// The top-level scheduler.
    pub fn deeds(&self) -> &Deeds<'a, N, S, B> {
        &self.root.deeds
    }

    /// Runs `op` on the top-level scheduler with the tree's shared state. A
    /// fault's origin is written straight into the Doist (a fault that
    /// does not end the run, contained or in a requested enter, leaves it
    /// as it was). One function for the three, so that the state is built
    /// in one place of the image.
    fn with_env(&mut self, op: Op) -> Result<(), Fault> {
        let root = &self.root;
        let shared = Shared {
            tyme: self.tyme,
            #[cfg(not(target_os = "none"))]
            tock: self.tock,
            #[cfg(feature = "observe")]
            observer: self.observer,
            root,
            board: self.board,
            woken: self.woken,
            origin: Cell::from_mut(&mut self.origin),
        };
        let env = Env {
            shared: &shared,
            group: root,
            up: None,
        };
        match op {
            Op::Enter => root.deeds.enter_all(&env),
            Op::Pass => {
                // wakes from outside, at this pass's tyme
                root.apply_wakes(&env);
                root.deeds.pass(&env, self.tock)
            }
            Op::Stop => {
                root.deeds.stop_all(&env);
                Ok(())
            }
        }
    }

    fn end(&mut self, end: End) -> Report {
        if !matches!(end, End::Done) {
            let _ = self.with_env(Op::Stop);
        }
        self.phase = Phase::Ended;
        let report = Report {
            end,
            tyme: self.tyme,
        };
        self.report = Some(report);
        report
    }

    /// After a run that ended in a fault: the name of the doer where the
    /// fault arose (cut to 32 bytes at a character boundary). `None`
    /// otherwise.
    ///
    /// ```
    /// use hio_core::{Cx, Doer, Doist, End, Fault, SimClock, Step, Tock};
    ///
    /// struct Broken;
    /// impl Doer for Broken {
    ///     fn name(&self) -> &str { "broken" }
    ///     fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
    ///         Err(Fault::failed("sensor unplugged"))
    ///     }
    /// }
    ///
    /// let mut b = Broken;
    /// let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(10)).unwrap();
    /// doist.add(&mut b).unwrap();
    /// let report = doist.run(&mut SimClock::new(), None);
    /// assert_eq!(report.end, End::Fault(Fault::failed("sensor unplugged")));
    /// assert_eq!(doist.origin(), Some("broken"));
    /// ```
    pub fn origin(&self) -> Option<&str> {
        // (a character that the cut at 32 bytes split is left out)
        self.origin.blamed.then(|| self.origin.as_str())
    }

    /// Enters the top-level doers in order at the start tyme. Returns the
    /// report if that already ended the run (a fault in enter).
    pub fn enter(&mut self) -> Option<Report> {
        match self.phase {
            Phase::Ready => {}
            Phase::Running => return None,
            Phase::Ended => return self.report,
        }
        self.phase = Phase::Running;
        match self.with_env(Op::Enter) {
            Ok(()) => None,
            Err(f) => Some(self.end(End::Fault(f))),
        }
    }

    /// Runs one pass at the current tyme (entering first if needed), ticks,
    /// and checks for the end. Returns the report once the run has ended.
    ///
    /// Passes in which nothing is due are skipped: after this call
    /// [`tyme`](Doist::tyme) is the tyme of the next pass that has work (or
    /// of the limit), on the same grid of tocks. A wake before the next call
    /// brings that pass forward to the next tick.
    pub fn pass(&mut self) -> Option<Report> {
        if self.phase != Phase::Running {
            if let Some(r) = self.enter() {
                return Some(r);
            }
        } else if self.woken() {
            // a wake since the last pass: this pass is on the next tick
            self.tyme = self.tyme.min(self.floor);
        }
        self.step()
    }

    /// [`pass`](Doist::pass) once entered.
    fn step(&mut self) -> Option<Report> {
        if let Some(u) = self.until {
            if self.tyme >= u {
                return Some(self.end(End::Limit));
            }
        }
        if self.tyme == Tyme::NEVER {
            // every doer parked, no limit, nothing woken: nothing can ever
            // run again (`run` ends the same way)
            return Some(self.end(End::Stopped));
        }
        self.floor = self.tyme + self.tock;
        let result = self.with_env(Op::Pass);
        if let Err(f) = result {
            return Some(self.end(End::Fault(f)));
        }
        self.tyme += self.tock;
        if self.root.deeds.is_empty() {
            return Some(self.end(End::Done));
        }
        self.skip_idle();
        None
    }

    /// Moves tyme to the first tick at or after the earliest due retyme,
    /// but not past the limit's tick.
    fn skip_idle(&mut self) {
        let due = self.root.deeds.next_due();
        if due <= self.tyme {
            return;
        }
        let mut target = due;
        if let Some(u) = self.until {
            target = target.min(u);
        }
        if target == Tyme::NEVER {
            // all parked, no limit: only a wake brings a next pass
            self.tyme = Tyme::NEVER;
            return;
        }
        let (from, tock) = (self.tyme.as_nanos(), self.tock.as_nanos());
        self.tyme = Tyme::from_nanos(grid_ceil(from, target.as_nanos(), tock));
    }

    /// Stops the run from outside at the current tyme: every running doer
    /// is ceased in reverse order and the run ends `stopped`.
    pub fn stop(&mut self) -> Report {
        match self.phase {
            Phase::Ended => self.report.unwrap_or(Report {
                end: End::Stopped,
                tyme: self.tyme,
            }),
            _ => self.end(End::Stopped),
        }
    }

    /// Runs to the end, pacing passes by `clock`: pass k does not start
    /// before `start + k × tock` on the clock (a late pass is followed by
    /// passes without waiting until caught up), and idle passes are slept
    /// through. With a [`SimClock`](crate::SimClock) this is simulated time.
    ///
    /// A wake ([`Waker`](crate::Waker)) ends the wait: the next pass runs at
    /// the first tyme of the grid that is not earlier than the wake. `stop`,
    /// when given, is checked before and after every wait; give it a
    /// [`Pender`](crate::Pender) (or stop it with a wake) to end a long wait
    /// at once.
    ///
    /// A tree whose doers are all parked, with no limit, waits for a wake or
    /// a stop; if the clock reaches the end of tyme without one (a
    /// simulated clock with no wake left), the run ends
    /// [`Stopped`](End::Stopped).
    #[cfg_attr(target_os = "none", inline(always))]
    #[cfg_attr(not(target_os = "none"), inline)]
    pub fn run<C: Clock>(&mut self, clock: &mut C, stop: Option<&StopFlag>) -> Report {
        // a run without a stop flag has no code for one
        match stop {
            None => self.run_on(clock),
            Some(s) => self.run_stoppable(clock, s),
        }
    }

    /// [`run`](Doist::run) with a stop flag: out of line. (On thumbv7m,
    /// inlined into the serial flow's main, which holds its whole tree, it
    /// took about 120 bytes more; whether a run is inlined follows the stop
    /// flag only because that is what tells the two images apart.)
    #[cfg_attr(target_os = "none", inline(never))]
    fn run_stoppable<C: Clock>(&mut self, clock: &mut C, stop: &StopFlag) -> Report {
        self.run_until(clock, || stop.is_stopped())
    }

    /// [`run`](Doist::run) without a stop flag. On a microcontroller it is
    /// inlined into its caller, the program's main, which calls it once
    /// (about 90 bytes less in line-echo on thumbv7m).
    #[cfg_attr(target_os = "none", inline(always))]
    fn run_on<C: Clock>(&mut self, clock: &mut C) -> Report {
        self.run_until(clock, || false)
    }

    /// [`run`](Doist::run), stopped when `stopped()`.
    #[cfg_attr(target_os = "none", inline(always))]
    fn run_until<C: Clock>(&mut self, clock: &mut C, stopped: impl Fn() -> bool) -> Report {
        let origin = clock.now();
        if let Some(r) = self.enter() {
            return r;
        }
        // no pass before this tyme: the one after the last pass
        let mut floor = self.tyme;
        let flag = self.woken;
        let woken = || flag.load(Ordering::SeqCst);
        loop {
            loop {
                let now = clock.now();
                // the first tyme of the grid not earlier than now
                let at = self.start + now.since(origin);
                let tock = self.tock.as_nanos();
                let next = Tyme::from_nanos(grid_ceil(floor.as_nanos(), at.as_nanos(), tock));
                if stopped() {
                    // stopped on the grid, when the stop came
                    self.tyme = self.tyme.min(next);
                    return self.end(End::Stopped);
                }
                let woke = woken();
                if woke {
                    self.tyme = self.tyme.min(next);
                }
                let deadline = origin + self.tyme.since(self.start);
                if now >= deadline {
                    if self.tyme == Tyme::MAX && !woken() {
                        // all parked, no limit, and the clock is at its end
                        return self.end(End::Stopped);
                    }
                    break;
                }
                if woke {
                    // the pass is on the earliest tick a wake can have:
                    // only its tyme is waited for
                    clock.wait_until(deadline);
                } else {
                    clock.wait_or_wake(deadline, &|| woken() || stopped());
                }
            }
            if let Some(r) = self.step() {
                return r;
            }
            floor = self.floor;
        }
    }
}

/// The first tick of the grid `from + k × tock` (k ≥ 0) at or after
/// `target`, saturating at the end of tyme. Additions only: no 64-bit
/// division or shift, which a 32-bit MCU would pull in from a library, and
/// O(log² n) steps for a gap of n tocks.
fn grid_ceil(from: u64, target: u64, tock: u64) -> u64 {
    let mut t = from;
    while t < target {
        // the largest tock × 2^j that stays below the target (at least one
        // tock, which may reach or pass it: then the loop ends)
        let mut step = tock;
        while let Some(two) = step.checked_add(step) {
            match t.checked_add(two) {
                Some(n) if n < target => step = two,
                _ => break,
            }
        }
        match t.checked_add(step) {
            Some(n) => t = n,
            None => return u64::MAX,
        }
    }
    t
}

impl<const N: usize, const S: usize, const B: usize> fmt::Debug for Doist<'_, N, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Doist")
            .field("tock", &self.tock)
            .field("tyme", &self.tyme)
            .field("limit", &self.limit)
            .field("root", &self.root)
            .finish()
    }
}
