//! Small memory routines for the images.
//!
//! The compiler calls `memcpy`, `memset`, `memcmp` and their ARM EABI
//! forms to move and compare values larger than a few words (a line moving
//! through a Deck, for one). compiler-builtins' versions are tuned for
//! speed and take about 1.3 KB of flash together; these take a few dozen
//! bytes, at a few cycles per byte, which is plenty for lines of a hundred
//! bytes. They replace the built-in ones at link time (those are weak).
//!
//! The loops go through volatile accesses so that the compiler cannot turn
//! them back into calls to the routines they define.

use core::ptr::{read_volatile, write_volatile};

/// Copies `n` bytes from `src` to `dst`, forwards (which also makes it a
/// correct `memmove` when `dst` is below `src`).
///
/// # Safety
///
/// `src` and `dst` are valid for `n` bytes.
#[inline(always)]
unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    let mut i = 0;
    while i < n {
        write_volatile(dst.add(i), read_volatile(src.add(i)));
        i += 1;
    }
}

/// Copies `n` bytes from `src` to `dst`, which may overlap.
unsafe fn copy(dst: *mut u8, src: *const u8, n: usize) {
    if (dst as usize) <= (src as usize) {
        copy_forward(dst, src, n);
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            write_volatile(dst.add(i), read_volatile(src.add(i)));
        }
    }
}

/// Sets `n` bytes at `dst` to `c`.
unsafe fn fill(dst: *mut u8, c: u8, n: usize) {
    let mut i = 0;
    while i < n {
        write_volatile(dst.add(i), c);
        i += 1;
    }
}

/// `memcpy`: the regions do not overlap.
///
/// # Safety
///
/// As C's `memcpy`.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    copy_forward(dst, src, n);
    dst
}

/// `memmove`: the regions may overlap.
///
/// # Safety
///
/// As C's `memmove`.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    copy(dst, src, n);
    dst
}

/// `memset`.
///
/// # Safety
///
/// As C's `memset`.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    fill(dst, c as u8, n);
    dst
}

/// `memcmp`.
///
/// # Safety
///
/// As C's `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let (x, y) = (read_volatile(a.add(i)), read_volatile(b.add(i)));
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// `bcmp`: zero when equal.
///
/// # Safety
///
/// As C's `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

macro_rules! aeabi_copy {
    ($($name:ident),*) => {$(
        /// ARM EABI copy (destination, source, length).
        ///
        /// # Safety
        ///
        /// As C's `memcpy`.
        #[no_mangle]
        pub unsafe extern "C" fn $name(dst: *mut u8, src: *const u8, n: usize) {
            copy_forward(dst, src, n);
        }
    )*};
}

macro_rules! aeabi_move {
    ($($name:ident),*) => {$(
        /// ARM EABI move (destination, source, length).
        ///
        /// # Safety
        ///
        /// As C's `memmove`.
        #[no_mangle]
        pub unsafe extern "C" fn $name(dst: *mut u8, src: *const u8, n: usize) {
            copy(dst, src, n);
        }
    )*};
}

macro_rules! aeabi_set {
    ($($name:ident),*) => {$(
        /// ARM EABI fill (destination, length, value): note the order.
        ///
        /// # Safety
        ///
        /// As C's `memset`.
        #[no_mangle]
        pub unsafe extern "C" fn $name(dst: *mut u8, n: usize, c: i32) {
            fill(dst, c as u8, n);
        }
    )*};
}

macro_rules! aeabi_clr {
    ($($name:ident),*) => {$(
        /// ARM EABI clear (destination, length).
        ///
        /// # Safety
        ///
        /// As C's `memset` with zero.
        #[no_mangle]
        pub unsafe extern "C" fn $name(dst: *mut u8, n: usize) {
            fill(dst, 0, n);
        }
    )*};
}

aeabi_copy!(__aeabi_memcpy, __aeabi_memcpy4, __aeabi_memcpy8);
aeabi_move!(__aeabi_memmove, __aeabi_memmove4, __aeabi_memmove8);
aeabi_set!(__aeabi_memset, __aeabi_memset4, __aeabi_memset8);
aeabi_clr!(__aeabi_memclr, __aeabi_memclr4, __aeabi_memclr8);
