//! Future doers: an `async` block as a doer, without heap.
//!
//! hio's generator doers (`doify`) become, in Rust, a future polled once per
//! recur. The future awaits [`Yielder::tock`] (or [`Yielder::next`]) to give
//! the Doist back control, reads the tyme from its [`Yielder`], finishes by
//! returning `Ok(())` and faults by returning `Err(Fault)`. Ceasing it drops
//! the future in place, so its destructors run at cease.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll, Waker};

use crate::{Cx, Doer, Fault, Step, Tock, Tyme};

/// The future's side of a [`FutureDoer`]: the tyme, and the way to yield.
///
/// ```
/// use core::pin::pin;
/// use hio_core::{Doist, End, Fault, FutureDoer, SimClock, Tock, Tyme, Yielder};
///
/// let y = Yielder::new();
/// let mut seen = [Tyme::ZERO; 3];
/// let fut = pin!(Some(async {
///     for s in seen.iter_mut() {
///         *s = y.tyme();
///         y.tock(Tock::from_millis(500)).await; // run again in 0.5 s
///     }
///     Ok::<(), Fault>(())
/// }));
/// let mut doer = FutureDoer::new("gen", &y, fut);
/// let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(100)).unwrap();
/// doist.add(&mut doer).unwrap();
/// assert_eq!(doist.run(&mut SimClock::new(), None).end, End::Done);
/// drop(doist);
/// drop(doer);
/// assert_eq!(seen, [Tyme::ZERO, Tyme::from_millis(500), Tyme::from_secs(1)]);
/// ```
#[derive(Debug, Default)]
pub struct Yielder {
    tyme: Cell<Tyme>,
    tock: Cell<Tock>,
}

impl Yielder {
    /// A new yielder.
    pub const fn new() -> Self {
        Yielder {
            tyme: Cell::new(Tyme::ZERO),
            tock: Cell::new(Tock::ZERO),
        }
    }

    /// The tyme of the current recur.
    pub fn tyme(&self) -> Tyme {
        self.tyme.get()
    }

    /// Yields to the Doist and resumes `tock` later (from the last
    /// scheduled run, without drift; 0: whenever the parent runs next).
    pub fn tock(&self, tock: Tock) -> Yield<'_> {
        Yield {
            yielder: self,
            tock,
            yielded: false,
        }
    }

    /// Yields until the next time the parent runs (a tock of 0).
    pub fn next(&self) -> Yield<'_> {
        self.tock(Tock::ZERO)
    }
}

/// The future returned by [`Yielder::tock`]: pending once, then ready.
#[derive(Debug)]
#[must_use = "a yield does nothing unless awaited"]
pub struct Yield<'y> {
    yielder: &'y Yielder,
    tock: Tock,
    yielded: bool,
}

impl Future for Yield<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            self.yielder.tock.set(self.tock);
            Poll::Pending
        }
    }
}

/// A doer that polls a future once per recur.
///
/// The future lives where the caller pinned it (`core::pin::pin!(Some(fut))`
/// on the stack, or a pinned static): no heap. Cease and abort drop it in
/// place.
pub struct FutureDoer<'a, F> {
    name: &'a str,
    yielder: &'a Yielder,
    fut: Pin<&'a mut Option<F>>,
    tock: Tock,
}

impl<'a, F> FutureDoer<'a, F>
where
    F: Future<Output = Result<(), Fault>>,
{
    /// A doer named `name` running the pinned future `fut`, which yields
    /// through `yielder`.
    pub fn new(name: &'a str, yielder: &'a Yielder, fut: Pin<&'a mut Option<F>>) -> Self {
        FutureDoer {
            name,
            yielder,
            fut,
            tock: Tock::ZERO,
        }
    }

    /// Whether the future is still there (not finished, not dropped).
    pub fn is_live(&self) -> bool {
        self.fut.is_some()
    }
}

impl<F> Doer for FutureDoer<'_, F>
where
    F: Future<Output = Result<(), Fault>>,
{
    fn name(&self) -> &str {
        self.name
    }

    fn tock(&self) -> Tock {
        self.tock
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.yielder.tyme.set(cx.tyme());
        self.yielder.tock.set(Tock::ZERO);
        let Some(fut) = self.fut.as_mut().as_pin_mut() else {
            return Ok(Step::Done);
        };
        let mut tcx = TaskContext::from_waker(Waker::noop());
        match fut.poll(&mut tcx) {
            Poll::Pending => {
                self.tock = self.yielder.tock.get();
                Ok(Step::Continue)
            }
            Poll::Ready(r) => {
                self.fut.set(None);
                r.map(|()| Step::Done)
            }
        }
    }

    fn cease(&mut self, _: &mut Cx<'_>) {
        self.fut.set(None);
    }

    fn abort(&mut self, _: &mut Cx<'_>) {
        self.fut.set(None);
    }
}

impl<F> fmt::Debug for FutureDoer<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureDoer")
            .field("name", &self.name)
            .field("live", &self.fut.is_some())
            .finish()
    }
}
