//! hio on hosted systems.
#![deny(missing_docs)]

pub mod scenario;
