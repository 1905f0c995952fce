//! [`Full`]: a scheduler refused a doer, and handed it back.

use core::fmt;

/// Why a scheduler refused a doer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Refusal {
    /// It holds as many doers (or spares) as it was built for.
    AtCapacity {
        /// That capacity.
        capacity: usize,
    },
    /// It is already running (or has ended): `add` is for building a tree.
    /// A running scheduler takes doers through a run-time request
    /// (`Requests::extend` of a spare).
    Running,
}

/// A scheduler refused a doer: it says which scheduler and why, and hands
/// the doer back.
///
/// ```
/// use hio_core::{Cx, DoDoer, Doer, Fault, Refusal, Step};
///
/// struct Idle;
/// impl Doer for Idle {
///     fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> { Ok(Step::Continue) }
/// }
/// let (mut a, mut b) = (Idle, Idle);
/// let mut g: DoDoer<'_, 1> = DoDoer::new("pool");
/// g.add(&mut a).unwrap();
/// let e = g.add(&mut b).unwrap_err();
/// assert_eq!(e.scheduler(), "pool");
/// assert_eq!(e.reason(), Refusal::AtCapacity { capacity: 1 });
/// assert_eq!(
///     e.to_string(),
///     "\"pool\" is full (it holds 1 doer); build it with a larger capacity"
/// );
/// let _doer_back = e.into_inner();
/// ```
pub struct Full<T> {
    doer: T,
    /// The scheduler's name: its first `len` bytes, copied as they are
    /// (decoded only when asked for: less code in a firmware image).
    scheduler: [u8; 32],
    len: u8,
    reason: Refusal,
}

impl<T> Full<T> {
    pub(crate) fn new(doer: T, scheduler: &str, reason: Refusal) -> Self {
        let mut bytes = [0u8; 32];
        let name = scheduler.as_bytes();
        let len = name.len().min(32);
        if let (Some(to), Some(from)) = (bytes.get_mut(..len), name.get(..len)) {
            to.copy_from_slice(from);
        }
        Full {
            doer,
            scheduler: bytes,
            len: len as u8,
            reason,
        }
    }

    /// The doer, handed back.
    pub fn into_inner(self) -> T {
        self.doer
    }

    /// The name of the scheduler that refused it (`root` for the Doist),
    /// cut to 32 bytes.
    pub fn scheduler(&self) -> &str {
        // a character the cut at 32 bytes split is left out
        crate::cx::utf8_prefix(self.scheduler.get(..usize::from(self.len)).unwrap_or(&[]))
    }

    /// Why.
    pub fn reason(&self) -> Refusal {
        self.reason
    }
}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Full")
            .field("scheduler", &self.scheduler())
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.scheduler();
        match self.reason {
            Refusal::AtCapacity { capacity } => write!(
                f,
                "\"{name}\" is full (it holds {capacity} doer{}); build it with a larger capacity",
                if capacity == 1 { "" } else { "s" }
            ),
            Refusal::Running => write!(
                f,
                "\"{name}\" is already running and takes no doers with `add`; keep the doer as a spare and add it with a run-time request"
            ),
        }
    }
}

impl<T> core::error::Error for Full<T> {}
