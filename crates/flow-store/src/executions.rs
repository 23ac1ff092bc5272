//! [`ExecutionStore`] on SQL: the execution record as versioned JSON, with the revision in its
//! own column so that a save is one `UPDATE … WHERE id = ? AND tenant_id = ? AND revision = ?`,
//! and the trace in `execution_trace`, appended in the same transaction.
//!
//! # Record formats (`executions.body_format`)
//!
//! - **2** (written now): the engine's [`Execution`] serialized with serde. The program is a
//!   reference (flow, version, content hash) and the trace lives in `execution_trace`, so the
//!   record's size does not grow with the flow.
//! - **1** (read only): the same with the whole compiled program and the trace inline. Its
//!   program header reads as the reference; the inline trace is dropped.
//!
//! Any other format, or a body that does not decode, is [`PortError::Corrupt`].

use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Integer, Text};
use flow_engine::{
    Execution, ExecutionId, ExecutionStore, MAX_TRACE_ENTRIES, PortError, TenantId, TraceEntry,
};

use crate::Database;
use crate::db::{AnyConnection, Fail};
use crate::schema::{execution_trace, executions};

/// The format `executions.body` is written in: the engine's `Execution` serialized with serde.
pub(crate) const EXECUTION_FORMAT: i32 = 2;

/// The earlier format that is still read: the program and the trace inline.
const EMBEDDED_PROGRAM_FORMAT: i32 = 1;

/// A row of `executions`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = executions)]
struct ExecutionRow {
    id: String,
    tenant_id: String,
    flow_id: String,
    status: String,
    revision: i64,
    body_format: i32,
    body: String,
    created_at: i64,
    updated_at: i64,
    expires_at: i64,
}

impl TryFrom<&Execution> for ExecutionRow {
    type Error = Fail;

    fn try_from(execution: &Execution) -> Result<Self, Fail> {
        let status = serde_json::to_value(execution.status)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        let (body_format, body) = encode(execution)?;
        Ok(Self {
            id: execution.id.to_string(),
            tenant_id: execution.tenant.as_str().to_owned(),
            flow_id: execution.program.flow_id.clone(),
            status,
            revision: revision_column(execution.revision)?,
            body_format,
            body,
            created_at: execution.created_at,
            updated_at: execution.updated_at,
            expires_at: execution.expires_at,
        })
    }
}

impl TryFrom<ExecutionRow> for Execution {
    type Error = Fail;

    fn try_from(row: ExecutionRow) -> Result<Self, Fail> {
        decode(row.body_format, &row.body).map_err(Fail::from)
    }
}

/// Decodes an execution record (`executions.body_format`, `executions.body`), refusing a
/// format this version does not know. Public for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub fn decode(body_format: i32, body: &str) -> Result<Execution, PortError> {
    if body_format != EXECUTION_FORMAT && body_format != EMBEDDED_PROGRAM_FORMAT {
        return Err(corrupt("unsupported execution format", body_format));
    }
    serde_json::from_str(body).map_err(|error| corrupt("cannot decode execution", error))
}

/// Encodes an execution as the record [`decode`] reads: `(body_format, body)`. Public for
/// the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub fn encode(execution: &Execution) -> Result<(i32, String), PortError> {
    serde_json::to_string(execution)
        .map(|body| (EXECUTION_FORMAT, body))
        .map_err(|error| corrupt("cannot encode execution", error))
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> PortError {
    PortError::Corrupt(format!("{what}: {error}"))
}

/// A row of `execution_trace`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = execution_trace)]
// A `None` detail is bound as NULL: SQLite's multi-row VALUES has no DEFAULT.
#[diesel(treat_none_as_default_value = false)]
struct TraceRow {
    tenant_id: String,
    execution_id: String,
    seq: i64,
    step: i64,
    node_id: String,
    op: String,
    result: String,
    detail: Option<String>,
    at_ms: i64,
}

impl From<TraceRow> for TraceEntry {
    fn from(row: TraceRow) -> Self {
        Self {
            step: usize::try_from(row.step).unwrap_or(usize::MAX),
            node_id: row.node_id,
            op: row.op,
            result: row.result,
            detail: row.detail,
            at_ms: row.at_ms,
        }
    }
}

/// The rows of the entries an execution appends, numbered on so that the last one is
/// `execution.traced - 1`: at most the last [`MAX_TRACE_ENTRIES`] (older ones would be
/// deleted by the same transaction).
fn trace_rows(execution: &Execution, trace: &[TraceEntry]) -> Vec<TraceRow> {
    let trace = &trace[trace.len().saturating_sub(MAX_TRACE_ENTRIES)..];
    let first = execution.traced.saturating_sub(trace.len() as u64);
    trace
        .iter()
        .enumerate()
        .map(|(offset, entry)| TraceRow {
            tenant_id: execution.tenant.as_str().to_owned(),
            execution_id: execution.id.to_string(),
            seq: i64::try_from(first.saturating_add(offset as u64)).unwrap_or(i64::MAX),
            step: i64::try_from(entry.step).unwrap_or(i64::MAX),
            node_id: entry.node_id.clone(),
            op: entry.op.clone(),
            result: entry.result.clone(),
            detail: entry.detail.clone(),
            at_ms: entry.at_ms,
        })
        .collect()
}

/// One write of an execution, owned so that it can wait for
/// [`Database::grouped_write`] and be applied by another thread.
struct ExecutionWrite {
    row: ExecutionRow,
    /// `None` for a new execution; else the revision the stored one must have.
    expected: Option<i64>,
    trace: Vec<TraceRow>,
    /// Trace rows numbered below this are dropped (the bound of [`MAX_TRACE_ENTRIES`]).
    keep_from: i64,
}

impl ExecutionWrite {
    fn new(
        execution: &Execution,
        expected: Option<u64>,
        trace: &[TraceEntry],
    ) -> Result<Self, PortError> {
        let row = ExecutionRow::try_from(execution).map_err(Fail::into_port)?;
        let expected = expected
            .map(revision_column)
            .transpose()
            .map_err(Fail::into_port)?;
        let keep_from = execution.traced.saturating_sub(MAX_TRACE_ENTRIES as u64);
        Ok(Self {
            row,
            expected,
            trace: trace_rows(execution, trace),
            keep_from: i64::try_from(keep_from).unwrap_or(i64::MAX),
        })
    }

    /// Applies the write on `conn`, inside the caller's transaction.
    fn apply(&self, conn: &mut AnyConnection) -> Result<(), Fail> {
        match self.expected {
            None => {
                diesel::insert_into(executions::table)
                    .values(&self.row)
                    .execute(conn)?;
            }
            Some(expected) => self.swap(conn, expected)?,
        }
        self.append_trace(conn)
    }

    /// The revision-checked `UPDATE`; a lost swap is `Conflict`, a missing row `NotFound`.
    fn swap(&self, conn: &mut AnyConnection, expected: i64) -> Result<(), Fail> {
        let row = &self.row;
        let swap = SwapStatement {
            row,
            expected: &expected,
        };
        let changed = match conn {
            AnyConnection::Sqlite(conn) => swap.execute(conn)?,
            AnyConnection::Postgres(conn) => swap.execute(conn)?,
        };
        if changed == 1 {
            return Ok(());
        }
        // Lost the swap, or the execution is gone (expired and swept, or another tenant's).
        let exists = executions::table
            .filter(executions::id.eq(&row.id))
            .filter(executions::tenant_id.eq(&row.tenant_id))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        Err(if exists {
            PortError::Conflict
        } else {
            PortError::NotFound
        }
        .into())
    }

    /// Appends the trace rows and drops those beyond the last [`MAX_TRACE_ENTRIES`].
    fn append_trace(&self, conn: &mut AnyConnection) -> Result<(), Fail> {
        // A save usually appends two entries (the submitted step's result and the next
        // prompt). diesel caches the statement of a one-row insert and of a fixed-size array
        // of rows, but prepares a slice of rows again at every use (its SQL depends on the
        // count), so rows go in pairs, then one on its own. The batch insert works per
        // backend, hence the match.
        let mut pairs = self.trace.chunks_exact(2);
        for pair in pairs.by_ref() {
            let pair = <&[TraceRow; 2]>::try_from(pair)
                .map_err(|error| Fail::corrupt("trace rows", error))?;
            let insert = diesel::insert_into(execution_trace::table).values(pair);
            match conn {
                AnyConnection::Sqlite(conn) => insert.execute(conn)?,
                AnyConnection::Postgres(conn) => insert.execute(conn)?,
            };
        }
        if let [last] = pairs.remainder() {
            diesel::insert_into(execution_trace::table)
                .values(last)
                .execute(conn)?;
        }
        // Only once the trace is longer than the bound is there anything to drop.
        if self.keep_from > 0 {
            diesel::delete(
                execution_trace::table
                    .filter(execution_trace::execution_id.eq(&self.row.id))
                    .filter(execution_trace::seq.lt(self.keep_from)),
            )
            .execute(conn)?;
        }
        Ok(())
    }
}

/// The revision-checked `UPDATE` of a save, written out so that diesel caches its prepared
/// statement: diesel's own `update(..).set(..)` marks every `UPDATE` as not cacheable (a
/// changeset may skip `None` fields), so each save would parse and plan it again (3 % of a
/// step's CPU in a profile). Every save of the store contract suite runs it, on SQLite and
/// PostgreSQL.
struct SwapStatement<'a> {
    row: &'a ExecutionRow,
    expected: &'a i64,
}

impl QueryId for SwapStatement<'_> {
    type QueryId = SwapStatement<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for SwapStatement<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Integer>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let row = self.row;
        out.push_sql("UPDATE executions SET status = ");
        out.push_bind_param::<Text, _>(&row.status)?;
        out.push_sql(", revision = ");
        out.push_bind_param::<BigInt, _>(&row.revision)?;
        out.push_sql(", body_format = ");
        out.push_bind_param::<Integer, _>(&row.body_format)?;
        out.push_sql(", body = ");
        out.push_bind_param::<Text, _>(&row.body)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<BigInt, _>(&row.updated_at)?;
        out.push_sql(", expires_at = ");
        out.push_bind_param::<BigInt, _>(&row.expires_at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(&row.id)?;
        out.push_sql(" AND tenant_id = ");
        out.push_bind_param::<Text, _>(&row.tenant_id)?;
        out.push_sql(" AND revision = ");
        out.push_bind_param::<BigInt, _>(self.expected)?;
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for SwapStatement<'_> {}

fn revision_column(revision: u64) -> Result<i64, Fail> {
    i64::try_from(revision).map_err(|error| Fail::corrupt("revision out of range", error))
}

impl ExecutionStore for Database {
    fn insert(&self, execution: &Execution, trace: &[TraceEntry]) -> Result<(), PortError> {
        let write = ExecutionWrite::new(execution, None, trace)?;
        self.grouped_write(move |conn| write.apply(conn))
    }

    fn load(&self, tenant: &TenantId, id: &ExecutionId) -> Result<Option<Execution>, PortError> {
        self.read(|conn| {
            executions::table
                .find(id.to_string())
                .filter(executions::tenant_id.eq(tenant.as_str()))
                .select(ExecutionRow::as_select())
                .get_result(conn)
                .optional()?
                .map(Execution::try_from)
                .transpose()
        })
    }

    fn save(
        &self,
        execution: &Execution,
        expected_revision: u64,
        trace: &[TraceEntry],
    ) -> Result<(), PortError> {
        let write = ExecutionWrite::new(execution, Some(expected_revision), trace)?;
        self.grouped_write(move |conn| write.apply(conn))
    }

    fn trace(
        &self,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Option<Vec<TraceEntry>>, PortError> {
        let id = id.to_string();
        self.read(|conn| {
            let exists = executions::table
                .filter(executions::id.eq(&id))
                .filter(executions::tenant_id.eq(tenant.as_str()))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if !exists {
                return Ok(None);
            }
            let rows = execution_trace::table
                .filter(execution_trace::execution_id.eq(&id))
                .filter(execution_trace::tenant_id.eq(tenant.as_str()))
                .order(execution_trace::seq.asc())
                .select(TraceRow::as_select())
                .load(conn)?;
            Ok(Some(rows.into_iter().map(TraceEntry::from).collect()))
        })
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        self.transaction(|conn| {
            let expired = executions::table
                .filter(executions::expires_at.le(now_secs))
                .select(executions::id);
            diesel::delete(
                execution_trace::table.filter(execution_trace::execution_id.eq_any(expired)),
            )
            .execute(conn)?;
            Ok(
                diesel::delete(executions::table.filter(executions::expires_at.le(now_secs)))
                    .execute(conn)?,
            )
        })
    }
}
