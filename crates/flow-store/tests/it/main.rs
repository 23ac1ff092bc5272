//! Integration tests of flow-store: one port contract suite run against the memory adapters,
//! SQLite (file and in-memory) and PostgreSQL (when `FLOWD_TEST_DATABASE_URL` is set), the
//! default flows end to end on SQL-backed ports, and the mailers against real receivers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backends;
mod contract;
mod database;
mod e2e;
mod mail;
mod support;
