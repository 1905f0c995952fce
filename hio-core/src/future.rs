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
use core::task::{Context as TaskContext, Poll};

use crate::{Cx, Deck, Doer, Fault, Step, Tock, Tyme, Waker};

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
    waker: Cell<Option<Waker>>,
}

impl Yielder {
    /// A new yielder.
    pub const fn new() -> Self {
        Yielder {
            tyme: Cell::new(Tyme::ZERO),
            tock: Cell::new(Tock::ZERO),
            waker: Cell::new(None),
        }
    }

    /// The future doer's waker, once it has one
    /// ([`FutureDoer::with_waker`]) and has been entered: hand it to
    /// whatever will wake it.
    pub fn waker(&self) -> Option<Waker> {
        self.waker.get()
    }

    /// Parks until woken: the future is not polled again until its waker
    /// is used. Without a waker it would never run again, so it then waits
    /// for the parent's next run instead.
    pub fn park(&self) -> Yield<'_> {
        self.tock(park_tock(self))
    }

    /// The next item of `deck`: at once if there is one, else parked until
    /// a push wakes this doer (which this sets up with
    /// [`Deck::wake_on_push`]).
    ///
    /// ```
    /// use core::pin::pin;
    /// use hio_core::{Deck, Doist, End, Fault, FutureDoer, SimClock, Tock, WakeBoard, Yielder};
    ///
    /// static BOARD: WakeBoard<4> = WakeBoard::new();
    /// let deck: Deck<u32, 4> = Deck::new();
    /// let y = Yielder::new();
    /// let mut sum = 0;
    /// let fut = pin!(Some(async {
    ///     for _ in 0..3 {
    ///         sum += y.pull(&deck).await;
    ///     }
    ///     Ok::<(), Fault>(())
    /// }));
    /// let mut doer = FutureDoer::new("sum", &y, fut).with_waker(BOARD.waker().unwrap());
    /// let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(10)).unwrap()
    ///     .with_limit(Tock::from_secs(1));
    /// doist.wakes(&BOARD);
    /// doist.add(&mut doer).unwrap();
    /// deck.extend([1, 2, 3]);
    /// assert_eq!(doist.run(&mut SimClock::new(), None).end, End::Done);
    /// drop(doist);
    /// drop(doer);
    /// assert_eq!(sum, 6);
    /// ```
    pub fn pull<'d, T, const N: usize>(&'d self, deck: &'d Deck<T, N>) -> Pulling<'d, T, N> {
        Pulling {
            yielder: self,
            deck,
        }
    }

    /// Waits, parked, until `deck` has room (a pull from the full Deck wakes
    /// this doer, which this sets up with [`Deck::wake_on_pull`]).
    pub fn room<'d, T, const N: usize>(&'d self, deck: &'d Deck<T, N>) -> Room<'d, T, N> {
        Room {
            yielder: self,
            deck,
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

/// The future returned by [`Yielder::pull`]: the Deck's next item.
#[derive(Debug)]
#[must_use = "a pull does nothing unless awaited"]
pub struct Pulling<'d, T, const N: usize> {
    yielder: &'d Yielder,
    deck: &'d Deck<T, N>,
}

impl<T, const N: usize> Future for Pulling<'_, T, N> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<T> {
        match self.deck.pull() {
            Some(item) => Poll::Ready(item),
            None => {
                self.deck.wake_on_push(self.yielder.waker.get());
                self.yielder.tock.set(park_tock(self.yielder));
                Poll::Pending
            }
        }
    }
}

/// The future returned by [`Yielder::room`]: ready when the Deck has room.
#[derive(Debug)]
#[must_use = "waiting for room does nothing unless awaited"]
pub struct Room<'d, T, const N: usize> {
    yielder: &'d Yielder,
    deck: &'d Deck<T, N>,
}

impl<T, const N: usize> Future for Room<'_, T, N> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<()> {
        if !self.deck.is_full() {
            return Poll::Ready(());
        }
        self.deck.wake_on_pull(self.yielder.waker.get());
        self.yielder.tock.set(park_tock(self.yielder));
        Poll::Pending
    }
}

/// Parked with a waker; without one, the parent's next run.
fn park_tock(y: &Yielder) -> Tock {
    if y.waker.get().is_some() {
        Tock::NEVER
    } else {
        Tock::ZERO
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
    waker: Option<Waker>,
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
            waker: None,
        }
    }

    /// With a waker, taken on when entered and handed to the future through
    /// its [`Yielder`]: awaiting [`Yielder::park`], [`Yielder::pull`] or
    /// [`Yielder::room`] then parks the doer, which is not polled again
    /// until woken.
    pub fn with_waker(mut self, waker: Waker) -> Self {
        self.waker = Some(waker);
        self
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

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if let Some(w) = self.waker {
            cx.attach(w)
                .map_err(|_| Fault::failed("the future doer's waker could not be attached"))?;
            self.yielder.waker.set(Some(w));
        }
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.yielder.tyme.set(cx.tyme());
        self.yielder.tock.set(Tock::ZERO);
        let Some(fut) = self.fut.as_mut().as_pin_mut() else {
            return Ok(Step::Done);
        };
        let mut tcx = TaskContext::from_waker(core::task::Waker::noop());
        match fut.poll(&mut tcx) {
            Poll::Pending => {
                let tock = self.yielder.tock.get();
                if tock != self.tock {
                    self.tock = tock;
                    cx.retock();
                }
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

/// Declares a [`FutureDoer`] from an `async` body, without the ceremony of
/// a [`Yielder`] and a pinned `Option`: both are made in the caller's scope
/// (no heap), and the body sees the yielder under the name given.
///
/// `future_doer!(let mut NAME = "doer name", |y| { BODY })` binds `NAME` to
/// the doer; `BODY` is the `async` block's body and returns
/// `Result<(), Fault>`. Add `, waker = W` to give it a [`Waker`]: awaiting
/// [`Yielder::park`], [`Yielder::pull`] or [`Yielder::room`] then parks it.
///
/// ```
/// use hio_core::{future_doer, Doist, End, Fault, SimClock, Tock, Tyme};
///
/// let mut seen = Vec::new();
/// future_doer!(let mut gen = "gen", |y| {
///     for _ in 0..3 {
///         seen.push(y.tyme());
///         y.tock(Tock::from_millis(500)).await; // run again in 0.5 s
///     }
///     Ok::<(), Fault>(())
/// });
/// let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(100)).unwrap();
/// doist.add(&mut gen).unwrap();
/// assert_eq!(doist.run(&mut SimClock::new(), None).end, End::Done);
/// drop(doist);
/// drop(gen);
/// assert_eq!(seen, [Tyme::ZERO, Tyme::from_millis(500), Tyme::from_secs(1)]);
/// ```
#[macro_export]
macro_rules! future_doer {
    (let mut $doer:ident = $name:expr, |$y:ident| $body:block $(, waker = $waker:expr)? $(,)?) => {
        let __hio_yielder = $crate::Yielder::new();
        let $y: &$crate::Yielder = &__hio_yielder;
        let __hio_future = ::core::pin::pin!(::core::option::Option::Some(async $body));
        #[allow(unused_mut)]
        let mut $doer = $crate::FutureDoer::new($name, $y, __hio_future);
        $( let mut $doer = $doer.with_waker($waker); )?
    };
}
