//! Serial flows for hio on microcontrollers.
#![no_std]
#![deny(missing_docs)]
