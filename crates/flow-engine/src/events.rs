//! The event log: what happened to whom, for operators (sign-ins and their failures,
//! registrations, recoveries, lockouts, password and credential changes, administrators'
//! changes). An event never holds a secret: no password, code, hash or token.

use flow_model::FlowType;
use serde::{Deserialize, Serialize};

use crate::{Engine, Execution, ExecutionId, RequestContext, TenantId, UserId};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A sign-in: a login flow completed (success), or a password or code was refused
    /// (failure, with the reason).
    SignIn,
    /// A registration flow created a user.
    Registration,
    /// A recovery flow set a new password.
    Recovery,
    /// Too many failed sign-ins locked a user.
    Lockout,
    /// A password was set or changed (by a recovery or an administrator).
    PasswordChange,
    /// A second factor was enrolled.
    CredentialAdded,
    /// A credential was removed.
    CredentialRemoved,
    /// An administrator changed a user (the reason says how).
    Admin,
}

impl EventKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [Self; 8] = [
        Self::SignIn,
        Self::Registration,
        Self::Recovery,
        Self::Lockout,
        Self::PasswordChange,
        Self::CredentialAdded,
        Self::CredentialRemoved,
        Self::Admin,
    ];

    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Registration => "registration",
            Self::Recovery => "recovery",
            Self::Lockout => "lockout",
            Self::PasswordChange => "password_change",
            Self::CredentialAdded => "credential_added",
            Self::CredentialRemoved => "credential_removed",
            Self::Admin => "admin",
        }
    }

    /// The kind of a spelling, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Whether what happened succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// It worked.
    Success,
    /// It was refused.
    Failure,
}

impl EventOutcome {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// The outcome of a spelling, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Success, Self::Failure]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// One event, as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique, and ordered by time: `evt_`, the time in milliseconds (13 digits), the
    /// writing engine's sequence number and random hex (8 digits each), so that sorting ids
    /// sorts events (those of one millisecond as one server wrote them).
    pub id: String,
    /// The tenant.
    pub tenant: TenantId,
    /// When (Unix milliseconds).
    pub at_ms: i64,
    /// What happened.
    pub kind: EventKind,
    /// Whether it worked.
    pub outcome: EventOutcome,
    /// A stable code saying why (`invalid_credentials`, `account_locked`) or, for
    /// [`EventKind::Admin`], what the administrator did (`user_created`, `user_disabled`).
    pub reason: Option<String>,
    /// The user concerned, when known.
    pub user_id: Option<UserId>,
    /// The identifier as typed and normalized (a failed sign-in of an unknown identifier
    /// has no user).
    pub identifier: Option<String>,
    /// The flow, for events of an execution.
    pub flow_id: Option<String>,
    /// The execution, for events of an execution.
    pub execution_id: Option<ExecutionId>,
    /// The client's address, as the adapter determined it.
    pub client_address: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

/// Which events [`EventLog::list`] returns: newest first, optionally filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only this outcome.
    pub outcome: Option<EventOutcome>,
    /// Only events of this user.
    pub user_id: Option<UserId>,
    /// Only events of this flow.
    pub flow_id: Option<String>,
    /// Only events at or after this time (Unix milliseconds).
    pub from_ms: Option<i64>,
    /// Only events before this time (Unix milliseconds).
    pub before_ms: Option<i64>,
    /// Only events older than the one with this id (the cursor of the previous page).
    pub before_id: Option<String>,
    /// At most this many.
    pub limit: usize,
}

/// Where events go and are read back.
pub trait EventLog: Send + Sync {
    /// Stores events (ids are unique).
    fn record(&self, events: &[Event]) -> Result<(), crate::PortError>;
    /// Events of `tenant` as `query` selects them, newest first.
    fn list(&self, tenant: &TenantId, query: &EventQuery) -> Result<Vec<Event>, crate::PortError>;
    /// Deletes the events older than `cutoff_ms` (every tenant); how many.
    fn delete_older_than(&self, cutoff_ms: i64) -> Result<usize, crate::PortError>;
}

/// What a step or a service knows of an event; the engine adds the id, time and origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventDraft {
    pub(crate) kind: EventKind,
    pub(crate) outcome: EventOutcome,
    pub(crate) reason: Option<String>,
}

impl EventDraft {
    /// A success of `kind`.
    pub(crate) fn success(kind: EventKind) -> Self {
        Self {
            kind,
            outcome: EventOutcome::Success,
            reason: None,
        }
    }

    /// A failure of `kind` for `reason`.
    pub(crate) fn failure(kind: EventKind, reason: &str) -> Self {
        Self {
            kind,
            outcome: EventOutcome::Failure,
            reason: Some(reason.to_owned()),
        }
    }

    /// The same, with `reason`.
    pub(crate) fn because(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }
}

/// The kind of the events of a flow of `flow_type`: what a refused password or code was an
/// attempt at.
pub(crate) fn kind_of_flow(flow_type: FlowType) -> EventKind {
    match flow_type {
        FlowType::Registration | FlowType::InvitedRegistration => EventKind::Registration,
        FlowType::PasswordReset | FlowType::AccountRecovery => EventKind::Recovery,
        FlowType::MfaSetup => EventKind::CredentialAdded,
        // Login, and flow types added later.
        _ => EventKind::SignIn,
    }
}

/// Who caused events outside a flow (an administrator's request): its client address and
/// user agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventOrigin {
    /// The client's address.
    pub client_address: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

impl EventOrigin {
    /// The origin of a request from `client_address` with this `User-Agent` (cut to the
    /// length flows keep).
    pub fn new(client_address: Option<String>, user_agent: Option<&str>) -> Self {
        Self {
            client_address,
            user_agent: user_agent
                .map(|agent| agent.chars().take(crate::types::MAX_HEADER_CHARS).collect()),
        }
    }

    /// The origin of a flow's request.
    fn of_request(request: &RequestContext) -> Self {
        Self {
            client_address: request.client_ip.clone(),
            user_agent: request.user_agent.clone(),
        }
    }
}

impl Engine {
    /// Writes the events of a saved run, with the execution's user, flow and client. The
    /// event log never fails a flow: a write that fails is counted
    /// (`flowd_event_log_failures_total`) and dropped.
    pub(crate) fn log_events(&self, execution: &Execution, drafts: Vec<EventDraft>) {
        if drafts.is_empty() {
            return;
        }
        let origin = EventOrigin::of_request(&execution.request);
        let events = drafts
            .into_iter()
            .map(|draft| {
                let mut event = self.new_event(&execution.tenant, draft, &origin);
                event.user_id.clone_from(&execution.user_id);
                event.identifier.clone_from(&execution.identifier);
                event.flow_id = Some(execution.program.flow_id.clone());
                event.execution_id = Some(execution.id);
                event
            })
            .collect::<Vec<_>>();
        self.write_events(&events);
    }

    /// Writes one event of an administrator's change to `user`.
    pub(crate) fn log_admin_event(
        &self,
        tenant: &TenantId,
        draft: EventDraft,
        user: Option<(&UserId, &str)>,
        origin: &EventOrigin,
    ) {
        let mut event = self.new_event(tenant, draft, origin);
        if let Some((id, identifier)) = user {
            event.user_id = Some(id.clone());
            event.identifier = Some(identifier.to_owned());
        }
        self.write_events(&[event]);
    }

    /// An event of `draft` now, with a fresh id.
    fn new_event(&self, tenant: &TenantId, draft: EventDraft, origin: &EventOrigin) -> Event {
        let at_ms = self.ports().clock.now_millis();
        let sequence = self
            .event_sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut random = [0u8; 4];
        self.ports().random.fill(&mut random);
        Event {
            id: event_id(at_ms, sequence, random),
            tenant: tenant.clone(),
            at_ms,
            kind: draft.kind,
            outcome: draft.outcome,
            reason: draft.reason,
            user_id: None,
            identifier: None,
            flow_id: None,
            execution_id: None,
            client_address: origin.client_address.clone(),
            user_agent: origin.user_agent.clone(),
        }
    }

    /// Stores events and counts them per kind and outcome (`flowd_events_total`).
    fn write_events(&self, events: &[Event]) {
        for event in events {
            metrics::counter!(
                "flowd_events_total",
                "kind" => event.kind.as_str(),
                "outcome" => event.outcome.as_str(),
            )
            .increment(1);
        }
        if self.ports().events.record(events).is_err() {
            metrics::counter!("flowd_event_log_failures_total").increment(1);
        }
    }
}

/// A new event id for `at_ms`: `evt_`, 13 digits of milliseconds, 8 hex digits of
/// `sequence` and 8 of `random`.
pub(crate) fn event_id(at_ms: i64, sequence: u32, random: [u8; 4]) -> String {
    format!(
        "evt_{:013}{sequence:08x}{}",
        at_ms.max(0),
        crate::code::hex(&random)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn kinds_and_outcomes_spell_as_on_the_wire() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(EventKind::parse("login"), None);
        assert_eq!(EventOutcome::parse("failure"), Some(EventOutcome::Failure));
    }

    #[test]
    fn ids_sort_by_time() {
        let early = event_id(999, 7, [0xff; 4]);
        let late = event_id(1_700_000_000_000, 0, [0; 4]);
        let later = event_id(1_700_000_000_000, 1, [0; 4]);
        assert!(early < late && late < later);
        assert_eq!(late.len(), 4 + 13 + 16);
    }
}
