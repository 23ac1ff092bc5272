//! [`EventLog`] in memory: a vector in time order.

use std::sync::Mutex;

use crate::events::{Event, EventLog, EventQuery};
use crate::{PortError, TenantId, lock};

/// The event log in memory.
#[derive(Debug, Default)]
pub struct MemoryEventLog {
    events: Mutex<Vec<Event>>,
}

impl MemoryEventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Whether `event` is one `query` selects (all but the limit).
fn selects(query: &EventQuery, event: &Event) -> bool {
    query.kind.is_none_or(|kind| event.kind == kind)
        && query.outcome.is_none_or(|outcome| event.outcome == outcome)
        && query
            .user_id
            .as_ref()
            .is_none_or(|user| event.user_id.as_ref() == Some(user))
        && query
            .flow_id
            .as_ref()
            .is_none_or(|flow| event.flow_id.as_ref() == Some(flow))
        && query.from_ms.is_none_or(|from| event.at_ms >= from)
        && query.before_ms.is_none_or(|before| event.at_ms < before)
        && query
            .before_id
            .as_ref()
            .is_none_or(|id| event.id.as_str() < id.as_str())
}

impl EventLog for MemoryEventLog {
    fn record(&self, events: &[Event]) -> Result<(), PortError> {
        let mut stored = lock(&self.events);
        stored.extend_from_slice(events);
        stored.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(())
    }

    fn list(&self, tenant: &TenantId, query: &EventQuery) -> Result<Vec<Event>, PortError> {
        Ok(lock(&self.events)
            .iter()
            .rev()
            .filter(|event| &event.tenant == tenant && selects(query, event))
            .take(query.limit)
            .cloned()
            .collect())
    }

    fn delete_older_than(&self, cutoff_ms: i64) -> Result<usize, PortError> {
        let mut stored = lock(&self.events);
        let before = stored.len();
        stored.retain(|event| event.at_ms >= cutoff_ms);
        Ok(before - stored.len())
    }
}
