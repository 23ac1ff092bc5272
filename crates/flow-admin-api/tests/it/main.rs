//! Integration tests of the admin API, in process (actix's test service) over the memory
//! catalog: the seed-002 examples replayed, and every error path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod errors;
mod identity_providers;
mod invitations;
mod openapi;
mod seed;
