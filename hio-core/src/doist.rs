//! [`Doist`]: the root scheduler, owner of the clock.

use core::cell::Cell;
use core::fmt;

use crate::cx::{Env, Name, Shared};
use crate::group::{DoerRef, Full};
use crate::{Clock, Deeds, Fault, Observer, StopFlag, Tock, Tyme};

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

/// The end of a run: why, at what tyme, and for a fault, where it arose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Why it ended.
    pub end: End,
    /// The tyme at which it ended.
    pub tyme: Tyme,
    /// For a fault: the name of the doer where it arose.
    pub origin: Option<Name>,
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
            DoistError::ZeroTock => f.write_str("the Doist's tock is zero; give a positive tock"),
        }
    }
}

impl core::error::Error for DoistError {}

#[cfg(test)]
mod tests {
    use super::ceil_multiple;

    #[test]
    fn ceil_multiple_matches_division() {
        for &(x, m) in &[
            (0u64, 7u64),
            (1, 7),
            (7, 7),
            (8, 7),
            (1_000_000_000, 31_250_000),
            (1_000_000_001, 31_250_000),
            (u64::MAX / 3, 1),
            (12_345_678_901, 100_000_000),
            (5, 0),
        ] {
            let want = if m == 0 {
                x
            } else {
                x.div_ceil(m).saturating_mul(m)
            };
            assert_eq!(ceil_multiple(x, m), want, "{x} {m}");
        }
    }
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
    tyme: Tyme,
    root: Deeds<'a, N, S, B>,
    observer: Option<&'a dyn Observer>,
    phase: Phase,
    report: Option<Report>,
}

impl<'a, const N: usize, const S: usize, const B: usize> Doist<'a, N, S, B> {
    /// A Doist whose tyme advances by `tock` each pass.
    pub const fn new(tock: Tock) -> Result<Self, DoistError> {
        if tock.is_zero() {
            return Err(DoistError::ZeroTock);
        }
        Ok(Doist {
            tock,
            start: Tyme::ZERO,
            limit: None,
            tyme: Tyme::ZERO,
            root: Deeds::new("root"),
            observer: None,
            phase: Phase::Ready,
            report: None,
        })
    }

    /// Ends the run `limit` after the start (every doer ceased). Zero means
    /// no limit.
    pub const fn with_limit(mut self, limit: Tock) -> Self {
        self.limit = if limit.is_zero() { None } else { Some(limit) };
        self
    }

    /// Starts tyme at `start` instead of zero.
    pub const fn with_start(mut self, start: Tyme) -> Self {
        self.start = start;
        self.tyme = start;
        self
    }

    /// Shows every lifecycle event to `observer`.
    pub fn observe(&mut self, observer: &'a dyn Observer) {
        self.observer = Some(observer);
    }

    /// Adds a top-level doer, entered at the start. Hands it back when full.
    pub fn add(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.root.add(doer)
    }

    /// Keeps a spare top-level doer for a run-time request to add.
    pub fn spare(&mut self, doer: DoerRef<'a>) -> Result<(), Full<DoerRef<'a>>> {
        self.root.spare(doer)
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
        &self.root
    }

    fn with_env<R>(&self, f: impl FnOnce(&Env<'_>) -> R) -> (R, Option<Name>) {
        let shared = Shared {
            tyme: self.tyme,
            observer: self.observer,
            root: &self.root,
            origin: Cell::new(None),
        };
        let env = Env {
            shared: &shared,
            group: &self.root,
            up: None,
        };
        let r = f(&env);
        (r, shared.origin.take())
    }

    fn end(&mut self, end: End, origin: Option<Name>) -> Report {
        if !matches!(end, End::Done) {
            self.with_env(|env| self.root.stop_all(env));
        }
        self.phase = Phase::Ended;
        let report = Report {
            end,
            tyme: self.tyme,
            origin,
        };
        self.report = Some(report.clone());
        report
    }

    /// Enters the top-level doers in order at the start tyme. Returns the
    /// report if that already ended the run (a fault in enter).
    pub fn enter(&mut self) -> Option<Report> {
        match self.phase {
            Phase::Ready => {}
            Phase::Running => return None,
            Phase::Ended => return self.report.clone(),
        }
        self.phase = Phase::Running;
        let (r, origin) = self.with_env(|env| self.root.enter_all(env));
        match r {
            Ok(()) => None,
            Err(f) => Some(self.end(End::Fault(f), origin)),
        }
    }

    /// Runs one pass at the current tyme (entering first if needed), ticks,
    /// and checks for the end. Returns the report once the run has ended.
    ///
    /// Passes in which nothing is due are skipped: after this call
    /// [`tyme`](Doist::tyme) is the tyme of the next pass that has work (or
    /// of the limit), on the same grid of tocks.
    pub fn pass(&mut self) -> Option<Report> {
        if self.phase != Phase::Running {
            if let Some(r) = self.enter() {
                return Some(r);
            }
        }
        if let Some(l) = self.limit {
            if self.tyme >= self.start + l {
                return Some(self.end(End::Limit, None));
            }
        }
        let tock = self.tock;
        let (r, origin) = self.with_env(|env| self.root.pass(env, tock));
        if let Err(f) = r {
            return Some(self.end(End::Fault(f), origin));
        }
        self.tyme += self.tock;
        if self.root.is_empty() {
            return Some(self.end(End::Done, None));
        }
        self.skip_idle();
        None
    }

    /// Moves tyme to the first tick at or after the earliest due retyme,
    /// but not past the limit's tick.
    fn skip_idle(&mut self) {
        let due = self.root.next_due();
        if due <= self.tyme {
            return;
        }
        let mut next = self.grid_ceil(due);
        if let Some(l) = self.limit {
            next = next.min(self.grid_ceil(self.start + l));
        }
        if next > self.tyme {
            self.tyme = next;
        }
    }

    fn grid_ceil(&self, t: Tyme) -> Tyme {
        let off = t.since(self.start).as_nanos();
        self.start + Tock::from_nanos(ceil_multiple(off, self.tock.as_nanos()))
    }

    /// Stops the run from outside at the current tyme: every running doer
    /// is ceased in reverse order and the run ends `stopped`.
    pub fn stop(&mut self) -> Report {
        match self.phase {
            Phase::Ended => self.report.clone().unwrap_or(Report {
                end: End::Stopped,
                tyme: self.tyme,
                origin: None,
            }),
            _ => self.end(End::Stopped, None),
        }
    }

    /// Runs to the end, pacing passes by `clock`: pass k does not start
    /// before `start + k × tock` on the clock (a late pass is followed by
    /// passes without waiting until caught up), and idle passes are slept
    /// through. With a [`SimClock`](crate::SimClock) this is simulated time.
    /// `stop`, when given, is checked before every wait.
    pub fn run<C: Clock>(&mut self, clock: &mut C, stop: Option<&StopFlag>) -> Report {
        let origin = clock.now();
        if let Some(r) = self.enter() {
            return r;
        }
        loop {
            if let Some(r) = self.pass() {
                return r;
            }
            let deadline = origin + self.tyme.since(self.start);
            loop {
                if stop.is_some_and(StopFlag::is_stopped) {
                    return self.stop();
                }
                if clock.now() >= deadline {
                    break;
                }
                clock.wait_until(deadline);
            }
        }
    }
}

/// The least multiple of `m` at or above `x` (saturating), by shifts and
/// subtractions: no 64-bit division, which a 32-bit MCU would pull in from
/// a library.
fn ceil_multiple(x: u64, m: u64) -> u64 {
    if m == 0 || x == 0 {
        return x;
    }
    // the largest m << k not above x
    let mut step = m;
    let mut k = 0u32;
    while step <= x >> 1 {
        step <<= 1;
        k += 1;
    }
    let mut rest = x;
    let mut q: u64 = 0;
    loop {
        if rest >= step {
            rest -= step;
            q |= 1 << k;
        }
        if k == 0 {
            break;
        }
        step >>= 1;
        k -= 1;
    }
    if rest > 0 {
        q += 1;
    }
    q.saturating_mul(m)
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
