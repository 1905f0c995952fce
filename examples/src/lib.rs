//! Host examples of hio flows (see the `[[bin]]` and `examples/` targets).
