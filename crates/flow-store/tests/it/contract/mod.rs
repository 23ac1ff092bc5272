//! The port contracts, written once as generic functions over the engine's port traits; every
//! adapter must pass all of them (see `backends.rs` for where they run).

pub(crate) mod codes;
pub(crate) mod events;
pub(crate) mod executions;
pub(crate) mod federation;
pub(crate) mod flows;
pub(crate) mod invitations;
pub(crate) mod keys;
pub(crate) mod login_attempts;
pub(crate) mod programs;
pub(crate) mod users;
