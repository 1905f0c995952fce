//! Cross-crate tests of hio live in `tests/tests/`.
