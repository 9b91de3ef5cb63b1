//! Tests of the deploy artifacts live in `tests/`.
