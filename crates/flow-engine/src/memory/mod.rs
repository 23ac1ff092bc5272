//! In-memory implementations of every port (`Mutex<HashMap>`), for embedders, tests and
//! single-process deployments that can lose their state on restart.

use std::sync::Arc;

use crate::FlowCatalog;
use crate::federation::FederationClient;
use crate::ports::{Clock, OsRandom, Ports, SystemClock};

mod clock;
mod codes;
mod events;
mod executions;
mod federation;
mod flows;
mod invitations;
mod keys;
mod login_attempts;
mod outbox;
mod users;

pub use clock::ManualClock;
pub use codes::MemoryCodeStore;
pub use events::MemoryEventLog;
pub use executions::MemoryExecutionStore;
pub use federation::MemoryIdentityProviders;
pub use flows::MemoryFlowRepository;
pub use invitations::MemoryInvitationStore;
pub use keys::MemoryKeyStore;
pub use login_attempts::MemoryLoginAttempts;
pub use outbox::MemoryOutbox;
pub use users::MemoryUserDirectory;

/// The memory ports with typed handles, so tests can look into the outbox or move the clock.
#[derive(Clone)]
pub struct MemoryPorts {
    /// The execution store.
    pub executions: Arc<MemoryExecutionStore>,
    /// The user directory.
    pub users: Arc<MemoryUserDirectory>,
    /// The code store.
    pub codes: Arc<MemoryCodeStore>,
    /// The invitation store.
    pub invitations: Arc<MemoryInvitationStore>,
    /// The failed sign-ins per user.
    pub login_attempts: Arc<MemoryLoginAttempts>,
    /// The event log.
    pub events: Arc<MemoryEventLog>,
    /// The outbox that serves as mailer and SMS sender.
    pub outbox: Arc<MemoryOutbox>,
    /// The flow repository: the [`FlowCatalog`] of [`MemoryPorts::catalog`] manages flows in
    /// it, and the engine finds the programs of executions there.
    pub flows: Arc<MemoryFlowRepository>,
    /// The signing keys (not part of [`Ports`]: protocol adapters sign tokens, the engine
    /// does not).
    pub keys: Arc<MemoryKeyStore>,
    /// The identity providers.
    pub identity_providers: Arc<MemoryIdentityProviders>,
    /// The client that talks to identity providers (none by default: social login steps fail
    /// with `social_providers_unavailable` until a test or embedder sets one).
    pub federation: Option<Arc<dyn FederationClient>>,
    /// The webhook client (none by default: `webhook` steps take their `false` edge).
    pub webhooks: Option<Arc<dyn crate::WebhookClient>>,
    /// The manual clock, when built with [`MemoryPorts::with_manual_clock`].
    pub clock: Option<Arc<ManualClock>>,
}

impl MemoryPorts {
    /// Memory ports with the system clock.
    pub fn new() -> Self {
        Self {
            executions: Arc::new(MemoryExecutionStore::new()),
            users: Arc::new(MemoryUserDirectory::new()),
            codes: Arc::new(MemoryCodeStore::new()),
            invitations: Arc::new(MemoryInvitationStore::new()),
            login_attempts: Arc::new(MemoryLoginAttempts::new()),
            events: Arc::new(MemoryEventLog::new()),
            outbox: Arc::new(MemoryOutbox::new()),
            flows: Arc::new(MemoryFlowRepository::new()),
            keys: Arc::new(MemoryKeyStore::new()),
            identity_providers: Arc::new(MemoryIdentityProviders::new()),
            federation: None,
            webhooks: None,
            clock: None,
        }
    }

    /// Memory ports with a [`ManualClock`] standing at `millis`.
    pub fn with_manual_clock(millis: i64) -> Self {
        Self {
            clock: Some(Arc::new(ManualClock::at_millis(millis))),
            ..Self::new()
        }
    }

    /// The clock these ports use: the manual clock if there is one, else the system clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        match &self.clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        }
    }

    /// A [`FlowCatalog`] over [`MemoryPorts::flows`], with this clock and [`OsRandom`].
    pub fn catalog(&self) -> FlowCatalog {
        FlowCatalog::new(self.flows.clone(), self.clock(), Arc::new(OsRandom))
    }

    /// The engine's view of these ports (with [`OsRandom`]).
    pub fn ports(&self) -> Ports {
        let clock = self.clock();
        Ports {
            executions: self.executions.clone(),
            flows: self.flows.clone(),
            users: self.users.clone(),
            codes: self.codes.clone(),
            invitations: self.invitations.clone(),
            login_attempts: self.login_attempts.clone(),
            events: self.events.clone(),
            mailer: self.outbox.clone(),
            sms: Some(self.outbox.clone()),
            identity_providers: self.identity_providers.clone(),
            identity_links: self.users.clone(),
            federation: self.federation.clone(),
            webhooks: self.webhooks.clone(),
            clock,
            random: Arc::new(OsRandom),
        }
    }
}

impl std::fmt::Debug for MemoryPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPorts")
            .field("federation", &self.federation.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryPorts {
    fn default() -> Self {
        Self::new()
    }
}
