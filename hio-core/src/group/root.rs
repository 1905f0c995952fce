//! [`Root`]: the Doist's own scheduler, as the tree sees it.
//!
//! Its wake code (applying wakes, attaching wakers to top-level doers) is
//! reached through function pointers that [`Root::wakes`] sets, so an image
//! whose Doist drains no board does not link it; and the Doist's own
//! scheduler never wakes through a DoDoer's path, so an image with no
//! DoDoer does not link that either.

use core::cell::Cell;
use core::fmt;

use super::wake::{Nested, Parent, Woken};
#[cfg(feature = "requests")]
use super::RequestError;
use super::{Deeds, Group};
use crate::cx::Env;
#[cfg(feature = "requests")]
use crate::cx::Shared;
use crate::wake::Board;
use crate::{WakeError, Waker};

/// The Doist's scheduler, with its wake code once the Doist drains a board.
pub(crate) struct Root<'a, const N: usize, const S: usize, const B: usize> {
    pub(crate) deeds: Deeds<'a, N, S, B>,
    wakes: Option<Wakes<'a, N, S, B>>,
    /// The code of wakes through DoDoers, once one is placed below.
    nested: Cell<Option<Nested>>,
}

/// The wake code of a Doist's scheduler.
struct Wakes<'a, const N: usize, const S: usize, const B: usize> {
    attach: fn(&Deeds<'a, N, S, B>, u16, Waker) -> Result<(), WakeError>,
    apply: fn(&Deeds<'a, N, S, B>, &Env<'_>, Option<Nested>),
}

impl<const N: usize, const S: usize, const B: usize> Clone for Wakes<'_, N, S, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<const N: usize, const S: usize, const B: usize> Copy for Wakes<'_, N, S, B> {}

impl<'a, const N: usize, const S: usize, const B: usize> Root<'a, N, S, B> {
    /// An empty scheduler named `name`, draining no board.
    pub(crate) const fn new(name: &'a str) -> Self {
        Root {
            deeds: Deeds::new(name),
            wakes: None,
            nested: Cell::new(None),
        }
    }

    /// Its deeds can be woken through `board`: links the wake code.
    pub(crate) fn wakes(&mut self, board: &'static dyn Board) {
        self.deeds.make_root(board);
        self.wakes = Some(Wakes {
            attach: Deeds::attach_deed,
            apply: Deeds::drain_root,
        });
    }
}

impl<const N: usize, const S: usize, const B: usize> Group for Root<'_, N, S, B> {
    fn group_name(&self) -> &str {
        self.deeds.name
    }

    fn own_slot(&self) -> u16 {
        self.deeds.own.get()
    }

    fn place(&self, _: Parent<'_>, _: u16, _: &dyn Group) {
        // never a child
    }

    fn nested(&self, wake: Nested) {
        self.nested.set(Some(wake));
    }

    fn wake_path(&self, _: &Woken<'_>) -> bool {
        // never on a DoDoer's path
        false
    }

    fn apply_wakes(&self, env: &Env<'_>) {
        if let Some(w) = self.wakes {
            (w.apply)(&self.deeds, env, self.nested.get());
        }
    }

    fn attach_at(&self, index: u16, waker: Waker) -> Result<(), WakeError> {
        match self.wakes {
            Some(w) => (w.attach)(&self.deeds, index, waker),
            None => Err(WakeError::Foreign),
        }
    }

    #[cfg(feature = "requests")]
    fn is_running(&self) -> bool {
        self.deeds.is_running()
    }

    #[cfg(feature = "requests")]
    fn find(&self, name: &str, f: &mut dyn FnMut(&dyn Group)) -> bool {
        self.deeds.find_named(name, f)
    }

    #[cfg(feature = "requests")]
    fn extend_one(&self, shared: &Shared<'_>, name: &str) -> Result<(), RequestError> {
        self.deeds.extend_named(shared, name)
    }

    #[cfg(feature = "requests")]
    fn remove_names(&self, shared: &Shared<'_>, names: &[&str]) {
        self.deeds.remove_named(shared, names)
    }
}

impl<const N: usize, const S: usize, const B: usize> fmt::Debug for Root<'_, N, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.deeds.fmt(f)
    }
}
