//! flow-store's crate root: module layout and re-exports (the crate documentation is README.md).
#![doc = include_str!("../README.md")]

mod codes;
mod db;
mod error;
mod events;
mod executions;
mod federation;
mod flows;
mod group_commit;
mod invitations;
mod keys;
mod login_attempts;
mod mail;
mod schema;
mod settings;
mod users;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use flow_engine::{Mailer, OsRandom, Ports, SystemClock};

pub use db::{Backend, Database, DatabaseOptions, MIGRATIONS};
pub use error::StoreError;
pub use mail::{FileOutbox, SmtpMailer, render};
pub use users::IdentifierBackfill;

/// Entry points for the fuzz targets in `fuzz/` (see `docs/reliability.md`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::executions::{decode as decode_execution, encode as encode_execution};
}

impl Database {
    /// The engine's ports on this database: executions, flows, users, codes, invitations,
    /// failed sign-ins, events, identity providers and identity links here, `mailer` for
    /// e-mail, no SMS sender, no federation client, the system clock and the OS random
    /// generator.
    /// Replace fields of the returned [`Ports`] to change any of them.
    pub fn ports(self: &Arc<Self>, mailer: Arc<dyn Mailer>) -> Ports {
        Ports {
            executions: self.clone(),
            flows: self.clone(),
            users: self.clone(),
            codes: self.clone(),
            invitations: self.clone(),
            login_attempts: self.clone(),
            events: self.clone(),
            mailer,
            sms: None,
            identity_providers: self.clone(),
            identity_links: self.clone(),
            federation: None,
            webhooks: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }
}

/// Now in Unix seconds, for bookkeeping columns (`updated_at`) the ports give no time for.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
