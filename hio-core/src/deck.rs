//! [`Deck`]: the bounded FIFO that links doers.

use core::cell::Cell;
use core::fmt;

use crate::Waker;

/// A bounded first-in first-out buffer of up to `N` items, shared by
/// reference between the doers of one tree.
///
/// Flows link doers with Decks: an I/O doer pushes frames into an rx Deck, a
/// logic doer pulls them and pushes replies into a tx Deck. One Doist runs on
/// one thread, so a Deck needs no lock: it uses `Cell`s, and every method
/// takes `&self`. Pushing into a full Deck hands the item back; nothing is
/// dropped silently.
///
/// A consumer can park until there is something to pull: give the Deck its
/// waker with [`wake_on_push`](Deck::wake_on_push) and the next push into
/// the empty Deck wakes it (a push during a recur, by a producer before it
/// in canonical order, reaches it in the same pass). A producer can park
/// until there is room the same way, with
/// [`wake_on_pull`](Deck::wake_on_pull). Wakes come on the edge (empty to
/// not empty, full to not full): a woken consumer pulls until the Deck is
/// empty before it parks again.
///
/// ```
/// use hio_core::Deck;
/// let deck: Deck<u8, 2> = Deck::new();
/// assert_eq!(deck.push(1), Ok(()));
/// assert_eq!(deck.push(2), Ok(()));
/// assert_eq!(deck.push(3), Err(3)); // full: the item comes back
/// assert_eq!(deck.pull(), Some(1));
/// assert_eq!(deck.len(), 1);
/// ```
pub struct Deck<T, const N: usize> {
    slots: [Cell<Option<T>>; N],
    head: Cell<usize>,
    len: Cell<usize>,
    /// Woken by a push into the empty Deck.
    reader: Cell<Option<Waker>>,
    /// Woken by a pull from the full Deck.
    writer: Cell<Option<Waker>>,
}

impl<T, const N: usize> Deck<T, N> {
    /// The slots of an empty Deck. (Built from this constant, a Deck's
    /// slots are written in place, a tag each; from a repeat expression in
    /// `new`, they were built whole on the stack and copied, about 70 bytes
    /// of code on thumbv7m.) Only ever used by value, to set up fresh
    /// cells.
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: [Cell<Option<T>>; N] = [const { Cell::new(None) }; N];

    /// An empty Deck.
    pub const fn new() -> Self {
        Deck {
            slots: Self::EMPTY,
            head: Cell::new(0),
            len: Cell::new(0),
            reader: Cell::new(None),
            writer: Cell::new(None),
        }
    }

    /// Wakes `waker` whenever a push finds the Deck empty (replacing an
    /// earlier one); `None` stops it.
    pub fn wake_on_push(&self, waker: Option<Waker>) {
        self.reader.set(waker);
    }

    /// Wakes `waker` whenever a pull finds the Deck full (replacing an
    /// earlier one); `None` stops it.
    pub fn wake_on_pull(&self, waker: Option<Waker>) {
        self.writer.set(waker);
    }

    /// Appends `item` at the back, or hands it back if the Deck is full.
    pub fn push(&self, item: T) -> Result<(), T> {
        let len = self.len.get();
        if len >= N {
            return Err(item);
        }
        let idx = (self.head.get() + len) % N;
        match self.slots.get(idx) {
            Some(slot) => {
                slot.set(Some(item));
                self.len.set(len + 1);
                if len == 0 {
                    if let Some(w) = self.reader.get() {
                        w.wake();
                    }
                }
                Ok(())
            }
            None => Err(item),
        }
    }

    /// Takes the item at the front, if any.
    pub fn pull(&self) -> Option<T> {
        let len = self.len.get();
        if len == 0 {
            return None;
        }
        let head = self.head.get();
        let item = self.slots.get(head)?.take();
        self.head.set((head + 1) % N);
        self.len.set(len - 1);
        if len == N {
            if let Some(w) = self.writer.get() {
                w.wake();
            }
        }
        item
    }

    /// Pushes as many items of `items` as fit, in order; returns how many.
    pub fn extend<I: IntoIterator<Item = T>>(&self, items: I) -> usize
    where
        T: Clone,
    {
        let mut n = 0;
        for item in items {
            if self.push(item).is_err() {
                break;
            }
            n += 1;
        }
        n
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.len.get()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len.get() == 0
    }

    /// Whether a push would fail.
    pub fn is_full(&self) -> bool {
        self.len.get() >= N
    }

    /// Room left.
    pub fn free(&self) -> usize {
        N - self.len.get()
    }

    /// Its capacity, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Drops every item.
    pub fn clear(&self) {
        while self.pull().is_some() {}
    }
}

/// The producer's side of a [`Deck`], whatever its capacity: what an I/O
/// doer holds to hand frames on without naming the Deck's size.
pub trait Push<T> {
    /// Appends `item`, or hands it back when full.
    fn push(&self, item: T) -> Result<(), T>;
    /// Whether a push would fail.
    fn is_full(&self) -> bool;
}

/// The consumer's side of a [`Deck`], whatever its capacity.
pub trait Pull<T> {
    /// Takes the item at the front, if any.
    fn pull(&self) -> Option<T>;
    /// Whether there is nothing to take.
    fn is_empty(&self) -> bool;
}

impl<T, const N: usize> Push<T> for Deck<T, N> {
    fn push(&self, item: T) -> Result<(), T> {
        Deck::push(self, item)
    }
    fn is_full(&self) -> bool {
        Deck::is_full(self)
    }
}

impl<T, const N: usize> Pull<T> for Deck<T, N> {
    fn pull(&self) -> Option<T> {
        Deck::pull(self)
    }
    fn is_empty(&self) -> bool {
        Deck::is_empty(self)
    }
}

impl<T, const N: usize> Default for Deck<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> fmt::Debug for Deck<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deck")
            .field("len", &self.len())
            .field("capacity", &N)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_full_wrap() {
        let d: Deck<u32, 3> = Deck::new();
        assert!(d.is_empty() && d.pull().is_none());
        for round in 0..5u32 {
            for k in 0..3 {
                assert_eq!(d.push(round * 10 + k), Ok(()));
            }
            assert!(d.is_full());
            assert_eq!(d.push(99), Err(99));
            for k in 0..3 {
                assert_eq!(d.pull(), Some(round * 10 + k));
            }
            assert!(d.is_empty());
            // shift the head by one so the next round wraps around
            assert_eq!(d.push(7), Ok(()));
            assert_eq!(d.pull(), Some(7));
        }
    }

    #[test]
    fn zero_capacity_hands_back() {
        let d: Deck<u8, 0> = Deck::new();
        assert_eq!(d.push(1), Err(1));
        assert_eq!(d.pull(), None);
        assert_eq!(d.free(), 0);
    }

    #[test]
    fn extend_stops_when_full_and_clear_empties() {
        let d: Deck<u8, 4> = Deck::new();
        assert_eq!(d.extend([1, 2, 3, 4, 5, 6]), 4);
        assert_eq!(d.len(), 4);
        d.clear();
        assert!(d.is_empty());
        assert_eq!(d.free(), 4);
    }

    #[test]
    fn shared_between_two_users() {
        let d: Deck<&'static str, 2> = Deck::new();
        let (a, b) = (&d, &d);
        a.push("x").unwrap();
        assert_eq!(b.pull(), Some("x"));
    }
}
