//! On-target checks of the images' own memory routines
//! (`hio_firmware::mem`): copies at every small length and misalignment,
//! overlapping moves both ways, fills, and comparisons, each against a plain
//! loop over the same bytes. The routines are called directly, so the
//! compiler's choice to call them or not changes nothing here.
//!
//! ```text
//! MISMATCH <routine> n=<len> a=<offset> b=<offset>   (each failure)
//! mem: N checks, M failed
//! ```
//!
//! The image exits with status 0 if every check passed, else 1.
//!
//! ```text
//! cargo test --release --test mem
//! ```
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::hint::black_box;

use cortex_m_rt::entry;
use hio_firmware::host::Line;
use hio_firmware::mem;
use hio_firmware::{exit, vector_table};

vector_table!();

/// Room for every case: the longest length plus the largest offsets.
const ROOM: usize = 96;
/// Lengths 0 to this are checked.
const MAX_LEN: usize = 70;
/// Offsets 0 to 3 (every alignment of a word).
const OFFSETS: usize = 4;

/// A buffer of distinct bytes, so a byte copied from the wrong place shows.
fn pattern(seed: u8) -> [u8; ROOM] {
    let mut b = [0u8; ROOM];
    for (i, x) in b.iter_mut().enumerate() {
        *x = (i as u8).wrapping_mul(7).wrapping_add(seed);
    }
    b
}

// The expected bytes are built and compared by plain loops through
// `black_box`, never by the routines under test (which the compiler would
// otherwise call for slice copies and comparisons).

/// Whether `a` and `b` hold the same bytes.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (0..a.len()).all(|i| black_box(a[i]) == black_box(b[i]))
}

/// Whether every byte of `a` is `v`.
fn all(a: &[u8], v: u8) -> bool {
    a.iter().all(|&x| black_box(x) == v)
}

/// `dst[i] = src[i]` for every `i`.
fn copy_ref(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = black_box(*s);
    }
}

/// `dst[i] = v` for every `i`.
fn fill_ref(dst: &mut [u8], v: u8) {
    for d in dst {
        *d = black_box(v);
    }
}

struct Tally {
    checks: u32,
    failed: u32,
    line: Line,
}

impl Tally {
    fn check(&mut self, ok: bool, routine: &str, n: usize, a: usize, b: usize) {
        self.checks += 1;
        if !ok {
            self.failed += 1;
            let _ = write!(self.line, "MISMATCH {routine} n={n} a={a} b={b}");
            self.line.print();
        }
    }
}

/// `memcpy` and the ARM EABI copies: the bytes arrive, nothing around them
/// is touched.
fn copies(t: &mut Tally) {
    type Copy = unsafe extern "C" fn(*mut u8, *const u8, usize);
    let eabi: [(&str, Copy); 3] = [
        ("__aeabi_memcpy", mem::__aeabi_memcpy),
        ("__aeabi_memcpy4", mem::__aeabi_memcpy4),
        ("__aeabi_memcpy8", mem::__aeabi_memcpy8),
    ];
    for n in 0..=MAX_LEN {
        for a in 0..OFFSETS {
            for b in 0..OFFSETS {
                let src = pattern(1);
                let mut dst = [0u8; ROOM];
                // SAFETY: both ranges lie inside their buffers (a, b < 4 and
                // n <= 70 < 96 - 4); the buffers are distinct.
                unsafe {
                    mem::memcpy(dst.as_mut_ptr().add(b), src.as_ptr().add(a), black_box(n));
                }
                let ok = same(&dst[b..b + n], &src[a..a + n])
                    && all(&dst[..b], 0)
                    && all(&dst[b + n..], 0);
                t.check(ok, "memcpy", n, a, b);
            }
        }
        // the EABI forms are called with aligned pointers (their contract)
        for (name, f) in eabi {
            let src = pattern(2);
            let mut dst = [0u8; ROOM];
            // SAFETY: as above, from the start of both buffers.
            unsafe { f(dst.as_mut_ptr(), src.as_ptr(), black_box(n)) };
            let ok = same(&dst[..n], &src[..n]) && all(&dst[n..], 0);
            t.check(ok, name, n, 0, 0);
        }
    }
}

/// `memmove` on overlapping ranges, destination below and above the
/// source, against a copy made through a second buffer.
fn moves(t: &mut Tally) {
    for n in 0..=MAX_LEN {
        for a in 0..OFFSETS * 2 {
            for b in 0..OFFSETS * 2 {
                let mut buf = pattern(3);
                let before = pattern(3);
                let mut want = pattern(3);
                copy_ref(&mut want[b..b + n], &before[a..a + n]);
                // SAFETY: both ranges lie inside the one buffer (a, b < 8,
                // n <= 70, 78 < 96); memmove allows the overlap.
                unsafe {
                    let p = buf.as_mut_ptr();
                    mem::memmove(p.add(b), p.add(a), black_box(n));
                }
                t.check(same(&buf, &want), "memmove", n, a, b);
            }
        }
    }
}

/// `memset` and the EABI fills and clears (note their argument order).
fn fills(t: &mut Tally) {
    for n in 0..=MAX_LEN {
        for a in 0..OFFSETS {
            let mut buf = pattern(4);
            let mut want = pattern(4);
            fill_ref(&mut want[a..a + n], 0xA5);
            // SAFETY: the range lies inside the buffer.
            unsafe { mem::memset(buf.as_mut_ptr().add(a), 0x1A5, black_box(n)) };
            t.check(same(&buf, &want), "memset", n, a, 0);

            let mut buf = pattern(5);
            let mut want = pattern(5);
            fill_ref(&mut want[a..a + n], 0x3C);
            // SAFETY: as above; (destination, length, value).
            unsafe { mem::__aeabi_memset(buf.as_mut_ptr().add(a), black_box(n), 0x3C) };
            t.check(same(&buf, &want), "__aeabi_memset", n, a, 0);

            let mut buf = pattern(6);
            let mut want = pattern(6);
            fill_ref(&mut want[a..a + n], 0);
            // SAFETY: as above; (destination, length).
            unsafe { mem::__aeabi_memclr(buf.as_mut_ptr().add(a), black_box(n)) };
            t.check(same(&buf, &want), "__aeabi_memclr", n, a, 0);
        }
    }
}

/// `memcmp` and `bcmp`: zero when equal, else the sign of the first
/// differing byte (as unsigned bytes).
fn compares(t: &mut Tally) {
    for n in 0..=MAX_LEN {
        let x = pattern(7);
        // SAFETY: both ranges lie inside their buffers.
        let same = unsafe { mem::memcmp(x.as_ptr(), x.as_ptr(), black_box(n)) };
        t.check(same == 0, "memcmp equal", n, 0, 0);
        for k in 0..n {
            let mut y = pattern(7);
            y[k] = y[k].wrapping_add(0x80);
            let want = x[k].cmp(&y[k]) as i32;
            // SAFETY: as above.
            let (c, d) = unsafe {
                (
                    mem::memcmp(x.as_ptr(), y.as_ptr(), black_box(n)),
                    mem::bcmp(x.as_ptr(), y.as_ptr(), black_box(n)),
                )
            };
            t.check(c.signum() == want && d != 0, "memcmp differ", n, k, 0);
        }
    }
}

#[entry]
fn main() -> ! {
    let mut t = Tally {
        checks: 0,
        failed: 0,
        line: Line::new(),
    };
    copies(&mut t);
    moves(&mut t);
    fills(&mut t);
    compares(&mut t);
    let (checks, failed) = (t.checks, t.failed);
    let _ = write!(t.line, "mem: {checks} checks, {failed} failed");
    t.line.print();
    exit(failed == 0)
}
