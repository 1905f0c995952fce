//! [`Ring`]: a bounded byte ring buffer, the rx and tx buffers of every
//! connection.

use std::fmt;
use std::io::{self, Read, Write};

/// A ring buffer of at most `capacity` bytes: memory is allocated once (at
/// [`new`](Ring::new), or on the first [`reserve`](Ring::reserve)) and
/// never grows, so a fast peer cannot make it grow either.
///
/// ```
/// use hio_std::net::Ring;
/// let mut r = Ring::new(4);
/// assert_eq!(r.push(b"abcdef"), 4); // only what fits
/// let mut out = [0u8; 3];
/// assert_eq!(r.pop(&mut out), 3);
/// assert_eq!(&out, b"abc");
/// assert_eq!(r.push(b"xy"), 2); // wraps around
/// assert_eq!(r.to_vec(), b"dxy");
/// ```
#[derive(Default)]
pub struct Ring {
    buf: Box<[u8]>,
    head: usize,
    len: usize,
}

/// How a [`Ring::read_from`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// The source would block: all it had is in.
    Drained,
    /// The ring is full: stop reading until it is drained (backpressure).
    Full,
    /// The budget for this pass is used up; more may be waiting.
    Budget,
    /// The source reached its end (the peer closed its side).
    Eof,
}

impl Ring {
    /// An empty ring of `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Ring {
            buf: vec![0; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    /// Makes its capacity `capacity` if it has none yet (buffers of a slot
    /// are allocated when it first serves a connection, then kept).
    pub fn reserve(&mut self, capacity: usize) {
        if self.buf.len() != capacity {
            *self = Ring::new(capacity);
        }
    }

    /// Its capacity.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether it is full.
    pub fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// Room left.
    pub fn free(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Drops everything held.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// The bytes held, as one or two slices in order.
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        let cap = self.buf.len();
        let end = self.head + self.len;
        if end <= cap {
            (self.buf.get(self.head..end).unwrap_or(&[]), &[])
        } else {
            (
                self.buf.get(self.head..).unwrap_or(&[]),
                self.buf.get(..end - cap).unwrap_or(&[]),
            )
        }
    }

    /// The free space, as one or two slices in order.
    fn free_slices(&mut self) -> (&mut [u8], &mut [u8]) {
        let cap = self.buf.len();
        if cap == 0 {
            return (&mut [], &mut []);
        }
        let tail = (self.head + self.len) % cap;
        let free = cap - self.len;
        if tail + free <= cap {
            let s = self.buf.get_mut(tail..tail + free).unwrap_or(&mut []);
            (s, &mut [])
        } else {
            let (lo, hi) = self.buf.split_at_mut(tail);
            let wrap = free - (cap - tail);
            (hi, lo.get_mut(..wrap).unwrap_or(&mut []))
        }
    }

    /// Appends as much of `bytes` as fits; returns how many.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let mut done = 0;
        let (a, b) = self.free_slices();
        for dst in [a, b] {
            let n = dst.len().min(bytes.len() - done);
            if let (Some(d), Some(s)) = (dst.get_mut(..n), bytes.get(done..done + n)) {
                d.copy_from_slice(s);
            }
            done += n;
        }
        self.len += done;
        done
    }

    /// Drops the first `n` bytes (all, if fewer are held).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        if self.len == n {
            self.clear();
            return;
        }
        self.head = (self.head + n) % self.buf.len().max(1);
        self.len -= n;
    }

    /// Moves up to `out.len()` bytes out; returns how many.
    pub fn pop(&mut self, out: &mut [u8]) -> usize {
        let mut done = 0;
        let (a, b) = self.as_slices();
        for src in [a, b] {
            let n = src.len().min(out.len() - done);
            if let (Some(d), Some(s)) = (out.get_mut(done..done + n), src.get(..n)) {
                d.copy_from_slice(s);
            }
            done += n;
        }
        self.consume(done);
        done
    }

    /// The position of the first `byte`, if held.
    pub fn find(&self, byte: u8) -> Option<usize> {
        let (a, b) = self.as_slices();
        a.iter()
            .position(|&x| x == byte)
            .or_else(|| b.iter().position(|&x| x == byte).map(|p| p + a.len()))
    }

    /// A copy of everything held (for tests and logs).
    pub fn to_vec(&self) -> Vec<u8> {
        let (a, b) = self.as_slices();
        [a, b].concat()
    }

    /// Reads from `src` into the free space until it would block, the ring
    /// is full, `budget` bytes came in, or the source ends. Returns how the
    /// reading ended and how many bytes came in; an error of the source
    /// (other than would-block and interrupted) comes back as is, with the
    /// bytes read before it kept.
    pub fn read_from<R: Read + ?Sized>(
        &mut self,
        src: &mut R,
        budget: usize,
    ) -> (io::Result<Filled>, usize) {
        self.fill(src, budget, false)
    }

    /// [`read_from`](Ring::read_from) a non-blocking stream socket whose
    /// readiness is edge-triggered: a read that returns less than it asked
    /// for took all there was, so it stops there as if the next read would
    /// block (it would, and costs a system call to say so) — unless
    /// `closing`, the peer's end (or an error) was reported: then it reads
    /// on to find it.
    pub(crate) fn read_from_stream<R: Read + ?Sized>(
        &mut self,
        src: &mut R,
        budget: usize,
        closing: bool,
    ) -> (io::Result<Filled>, usize) {
        self.fill(src, budget, !closing)
    }

    fn fill<R: Read + ?Sized>(
        &mut self,
        src: &mut R,
        budget: usize,
        short_drains: bool,
    ) -> (io::Result<Filled>, usize) {
        let mut total = 0;
        loop {
            if self.is_full() {
                return (Ok(Filled::Full), total);
            }
            if total >= budget {
                return (Ok(Filled::Budget), total);
            }
            let room = budget - total;
            let (a, _) = self.free_slices();
            let n = a.len().min(room);
            let Some(dst) = a.get_mut(..n) else {
                return (Ok(Filled::Full), total);
            };
            match src.read(dst) {
                Ok(0) => return (Ok(Filled::Eof), total),
                Ok(k) => {
                    self.len += k;
                    total += k;
                    if short_drains && k < n {
                        return (Ok(Filled::Drained), total);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return (Ok(Filled::Drained), total)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), total),
            }
        }
    }

    /// Writes what it holds to `dst` until it is empty or `dst` would
    /// block; a short write counts as would-block (a non-blocking socket,
    /// or a TLS session with a bounded buffer, took all it had room for).
    /// Returns the bytes written; an error of `dst` comes back as is
    /// (would-block is not an error here).
    pub fn write_to<W: Write + ?Sized>(&mut self, dst: &mut W) -> (io::Result<()>, usize) {
        let mut total = 0;
        while !self.is_empty() {
            let (a, _) = self.as_slices();
            let want = a.len();
            match dst.write(a) {
                Ok(0) => {
                    return (Err(io::ErrorKind::WriteZero.into()), total);
                }
                Ok(k) => {
                    self.consume(k);
                    total += k;
                    if k < want {
                        return (Ok(()), total);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (Ok(()), total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), total),
            }
        }
        (Ok(()), total)
    }
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("len", &self.len)
            .field("capacity", &self.buf.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_around_keeps_order() {
        let mut r = Ring::new(5);
        let mut seen = Vec::new();
        let mut next = 0u8;
        for round in 0..50usize {
            let chunk: Vec<u8> = (0..(round % 4 + 1) as u8)
                .map(|k| next.wrapping_add(k))
                .collect();
            let n = r.push(&chunk);
            next = next.wrapping_add(n as u8);
            let mut out = [0u8; 3];
            let k = r.pop(&mut out[..round % 3 + 1]);
            seen.extend_from_slice(&out[..k]);
        }
        seen.extend(r.to_vec());
        let want: Vec<u8> = (0..seen.len()).map(|k| k as u8).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn full_empty_and_zero_capacity() {
        let mut r = Ring::new(3);
        assert_eq!(r.push(b"abc"), 3);
        assert!(r.is_full());
        assert_eq!(r.push(b"d"), 0);
        assert_eq!(r.find(b'c'), Some(2));
        r.consume(10);
        assert!(r.is_empty());
        let mut z = Ring::default();
        assert_eq!(z.push(b"x"), 0);
        assert_eq!(z.pop(&mut [0; 2]), 0);
    }

    #[test]
    fn read_from_stops_at_budget_full_and_eof() {
        let mut r = Ring::new(8);
        let mut src: &[u8] = b"0123456789";
        let (res, n) = r.read_from(&mut src, 4);
        assert_eq!((res.ok(), n), (Some(Filled::Budget), 4));
        let (res, n) = r.read_from(&mut src, 100);
        assert_eq!((res.ok(), n), (Some(Filled::Full), 4));
        r.consume(8);
        let (res, n) = r.read_from(&mut src, 100);
        assert_eq!((res.ok(), n), (Some(Filled::Eof), 2));
        assert_eq!(r.to_vec(), b"89");
    }

    /// Hands out at most `chunk` bytes a read, then would-block once.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
        reads: usize,
    }

    impl<'a> Trickle<'a> {
        fn new(data: &'a [u8], chunk: usize) -> Self {
            Trickle {
                data,
                chunk,
                reads: 0,
            }
        }
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let n = out.len().min(self.chunk).min(self.data.len());
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let (now, rest) = self.data.split_at(n);
            out[..n].copy_from_slice(now);
            self.data = rest;
            Ok(n)
        }
    }

    #[test]
    fn a_short_read_of_a_stream_drains_unless_closing() {
        let mut r = Ring::new(16);
        let mut src = Trickle::new(b"0123456789", 4);
        let (res, n) = r.read_from_stream(&mut src, 100, false);
        assert_eq!((res.ok(), n, src.reads), (Some(Filled::Drained), 4, 1));
        let (res, n) = r.read_from_stream(&mut src, 100, true);
        assert_eq!((res.ok(), n, src.reads), (Some(Filled::Drained), 6, 4));
        // a read that fills what it asked for goes on
        let mut r = Ring::new(4);
        let mut src = Trickle::new(b"0123456789", 4);
        let (res, n) = r.read_from_stream(&mut src, 100, false);
        assert_eq!((res.ok(), n, src.reads), (Some(Filled::Full), 4, 1));
    }

    /// Takes at most `room` bytes in all.
    struct Tight {
        room: usize,
        writes: usize,
    }

    impl Write for Tight {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            let n = b.len().min(self.room);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_to_stops_at_a_short_write() {
        let mut r = Ring::new(8);
        r.push(b"abcdef");
        let mut dst = Tight { room: 4, writes: 0 };
        let (res, n) = r.write_to(&mut dst);
        assert!(res.is_ok());
        assert_eq!((n, dst.writes, r.to_vec()), (4, 1, b"ef".to_vec()));
    }
}
