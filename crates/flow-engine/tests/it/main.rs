//! Integration tests of flow-engine: the default flows end to end on the memory ports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod catalog;
mod common;
mod events;
mod example;
mod extension;
mod invitation;
mod lifecycle;
mod lockout;
mod login;
mod mfa;
mod passkeys;
mod recovery;
mod registration;
mod social;
mod webhook;
