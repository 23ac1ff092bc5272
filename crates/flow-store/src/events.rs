//! [`EventLog`] on SQL: the `events` table, listed newest first by its time-ordered id.

use diesel::prelude::*;
use flow_engine::{
    Event, EventKind, EventLog, EventOutcome, EventQuery, ExecutionId, PortError, TenantId, UserId,
};

use crate::Database;
use crate::db::Fail;
use crate::schema::events;

/// A row of `events`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
struct EventRow {
    tenant_id: String,
    id: String,
    at_ms: i64,
    kind: String,
    outcome: String,
    reason: Option<String>,
    user_id: Option<String>,
    identifier: Option<String>,
    flow_id: Option<String>,
    execution_id: Option<String>,
    client_address: Option<String>,
    user_agent: Option<String>,
}

impl From<&Event> for EventRow {
    fn from(event: &Event) -> Self {
        Self {
            tenant_id: event.tenant.as_str().to_owned(),
            id: event.id.clone(),
            at_ms: event.at_ms,
            kind: event.kind.as_str().to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            reason: event.reason.clone(),
            user_id: event.user_id.as_ref().map(|id| id.as_str().to_owned()),
            identifier: event.identifier.clone(),
            flow_id: event.flow_id.clone(),
            execution_id: event.execution_id.map(|id| id.to_string()),
            client_address: event.client_address.clone(),
            user_agent: event.user_agent.clone(),
        }
    }
}

impl TryFrom<EventRow> for Event {
    type Error = Fail;

    fn try_from(row: EventRow) -> Result<Self, Fail> {
        let kind =
            EventKind::parse(&row.kind).ok_or_else(|| Fail::corrupt("event kind", &row.kind))?;
        let outcome = EventOutcome::parse(&row.outcome)
            .ok_or_else(|| Fail::corrupt("event outcome", &row.outcome))?;
        let execution_id = row
            .execution_id
            .map(|text| {
                ExecutionId::parse(&text).ok_or_else(|| Fail::corrupt("event execution", &text))
            })
            .transpose()?;
        Ok(Self {
            id: row.id,
            tenant: TenantId::new(row.tenant_id),
            at_ms: row.at_ms,
            kind,
            outcome,
            reason: row.reason,
            user_id: row.user_id.map(UserId::new),
            identifier: row.identifier,
            flow_id: row.flow_id,
            execution_id,
            client_address: row.client_address,
            user_agent: row.user_agent,
        })
    }
}

impl EventLog for Database {
    fn record(&self, events: &[Event]) -> Result<(), PortError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<EventRow> = events.iter().map(EventRow::from).collect();
        self.grouped_write(move |conn| {
            // One statement per row: diesel's multi-backend connection has no batch insert.
            for row in &rows {
                diesel::insert_into(events::table)
                    .values(row)
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn list(&self, tenant: &TenantId, query: &EventQuery) -> Result<Vec<Event>, PortError> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut select = events::table
                .filter(events::tenant_id.eq(tenant.as_str()))
                .select(EventRow::as_select())
                .order(events::id.desc())
                .limit(limit)
                .into_boxed();
            if let Some(kind) = query.kind {
                select = select.filter(events::kind.eq(kind.as_str()));
            }
            if let Some(outcome) = query.outcome {
                select = select.filter(events::outcome.eq(outcome.as_str()));
            }
            if let Some(user) = &query.user_id {
                select = select.filter(events::user_id.eq(user.as_str()));
            }
            if let Some(flow) = &query.flow_id {
                select = select.filter(events::flow_id.eq(flow));
            }
            if let Some(from) = query.from_ms {
                select = select.filter(events::at_ms.ge(from));
            }
            if let Some(before) = query.before_ms {
                select = select.filter(events::at_ms.lt(before));
            }
            if let Some(id) = &query.before_id {
                select = select.filter(events::id.lt(id));
            }
            select
                .load::<EventRow>(conn)?
                .into_iter()
                .map(Event::try_from)
                .collect()
        })
    }

    fn delete_older_than(&self, cutoff_ms: i64) -> Result<usize, PortError> {
        self.write(|conn| {
            Ok(diesel::delete(events::table.filter(events::at_ms.lt(cutoff_ms))).execute(conn)?)
        })
    }
}
