//! The crate's logging shim.
//!
//! `trace!`, `debug!`, `info!`, `warn!` and `error!` forward to [`defmt`]'s
//! macros of the same name when the `defmt` feature is on. Without it they
//! compile to nothing, but still type-check and borrow their arguments, so a
//! build without logging does not warn about unused variables and a typo in a
//! log line fails every build, not only the defmt one.
//!
//! Format strings use defmt's syntax (`{}`, `{=u8}`, ...); arguments must
//! implement `defmt::Format` (every error type here derives it under the
//! feature). The module must be declared first in `lib.rs`, with
//! `#[macro_use]`, so the macros are visible in the modules after it.
//!
//! [`defmt`]: https://docs.rs/defmt
#![allow(unused_macros)]

#[cfg(feature = "defmt")]
macro_rules! trace {
    ($($t:tt)*) => { ::defmt::trace!($($t)*) };
}

#[cfg(feature = "defmt")]
macro_rules! debug {
    ($($t:tt)*) => { ::defmt::debug!($($t)*) };
}

#[cfg(feature = "defmt")]
macro_rules! info {
    ($($t:tt)*) => { ::defmt::info!($($t)*) };
}

#[cfg(feature = "defmt")]
macro_rules! warn {
    ($($t:tt)*) => { ::defmt::warn!($($t)*) };
}

#[cfg(feature = "defmt")]
macro_rules! error {
    ($($t:tt)*) => { ::defmt::error!($($t)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! trace {
    ($s:literal $(,)?) => {{}};
    ($s:literal, $($x:expr),+ $(,)?) => {{ let _ = ($(&$x),+ ,); }};
}

#[cfg(not(feature = "defmt"))]
macro_rules! debug {
    ($s:literal $(,)?) => {{}};
    ($s:literal, $($x:expr),+ $(,)?) => {{ let _ = ($(&$x),+ ,); }};
}

#[cfg(not(feature = "defmt"))]
macro_rules! info {
    ($s:literal $(,)?) => {{}};
    ($s:literal, $($x:expr),+ $(,)?) => {{ let _ = ($(&$x),+ ,); }};
}

#[cfg(not(feature = "defmt"))]
macro_rules! warn {
    ($s:literal $(,)?) => {{}};
    ($s:literal, $($x:expr),+ $(,)?) => {{ let _ = ($(&$x),+ ,); }};
}

#[cfg(not(feature = "defmt"))]
macro_rules! error {
    ($s:literal $(,)?) => {{}};
    ($s:literal, $($x:expr),+ $(,)?) => {{ let _ = ($(&$x),+ ,); }};
}

#[cfg(all(test, not(feature = "defmt")))]
mod tests {
    #[test]
    fn macros_type_check_and_compile_to_nothing() {
        let count = 3_u32;
        let name = "uart0";
        trace!("plain");
        debug!("count {}", count);
        info!("{} {}", name, count,);
        warn!("count {=u32}", count);
        error!("done");
    }
}
