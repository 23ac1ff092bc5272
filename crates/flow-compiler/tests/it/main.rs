//! The integration tests of `flow-compiler`, as one test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;
mod properties;
