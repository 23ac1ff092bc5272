//! Workspace checks that run as tests (`cargo test -p tidy`); the crate itself is empty.
//!
//! They keep the promises of `docs/ARCHITECTURE.md` true mechanically: which of our crates may
//! depend on which, that the pure crates never pull in HTTP or SQL, and that every Rust file
//! says what it is for.
