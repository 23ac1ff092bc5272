//! [`ExecutionStore`] on SQL: the execution snapshot as versioned JSON, with the revision in its
//! own column so that a save is one `UPDATE … WHERE id = ? AND tenant_id = ? AND revision = ?`.

use diesel::prelude::*;
use flow_engine::{Execution, ExecutionId, ExecutionStore, PortError};

use crate::Database;
use crate::db::Fail;
use crate::schema::executions;

/// The format of `executions.body`: the engine's `Execution` serialized with serde.
const EXECUTION_FORMAT: i32 = 1;

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
    if body_format != EXECUTION_FORMAT {
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
    PortError::Unavailable(format!("{what}: {error}"))
}

fn revision_column(revision: u64) -> Result<i64, Fail> {
    i64::try_from(revision).map_err(|error| Fail::corrupt("revision out of range", error))
}

impl ExecutionStore for Database {
    fn insert(&self, execution: &Execution) -> Result<(), PortError> {
        let row = ExecutionRow::try_from(execution).map_err(Fail::into_port)?;
        self.write(|conn| {
            diesel::insert_into(executions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn load(&self, id: &ExecutionId) -> Result<Option<Execution>, PortError> {
        self.read(|conn| {
            executions::table
                .find(id.to_string())
                .select(ExecutionRow::as_select())
                .first(conn)
                .optional()?
                .map(Execution::try_from)
                .transpose()
        })
    }

    fn save(&self, execution: &Execution, expected_revision: u64) -> Result<(), PortError> {
        let row = ExecutionRow::try_from(execution).map_err(Fail::into_port)?;
        let expected = revision_column(expected_revision).map_err(Fail::into_port)?;
        self.write(|conn| {
            let changed = diesel::update(
                executions::table
                    .filter(executions::id.eq(&row.id))
                    .filter(executions::tenant_id.eq(&row.tenant_id))
                    .filter(executions::revision.eq(expected)),
            )
            .set((
                executions::status.eq(&row.status),
                executions::revision.eq(row.revision),
                executions::body_format.eq(row.body_format),
                executions::body.eq(&row.body),
                executions::updated_at.eq(row.updated_at),
                executions::expires_at.eq(row.expires_at),
            ))
            .execute(conn)?;
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
        })
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        self.write(|conn| {
            Ok(
                diesel::delete(executions::table.filter(executions::expires_at.le(now_secs)))
                    .execute(conn)?,
            )
        })
    }
}
