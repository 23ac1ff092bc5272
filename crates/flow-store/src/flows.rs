//! [`FlowRepository`] on SQL: `flows` (the seed-002 flow as versioned JSON, with the columns
//! that queries filter on copied beside it) and `flow_versions` (compiled programs).

use std::sync::Arc;

use diesel::prelude::*;
use flow_compiler::Program;
use flow_engine::{
    FlowHead, FlowPage, FlowQuery, FlowRepository, FlowSelector, FlowVersion, PortError,
    StoredFlow, TenantId,
};
use flow_model::{Flow, FlowStatus, FlowType};

use crate::Database;
use crate::db::{AnyConnection, Fail};
use crate::schema::{flow_versions, flows};

/// The format of `flows.body`: the seed-002 flow JSON as `flow_model::Flow` writes it.
const FLOW_FORMAT: i32 = 1;

/// A row of `flows`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = flows)]
#[diesel(treat_none_as_null = true)]
struct FlowRow {
    tenant_id: String,
    id: String,
    name: String,
    flow_type: String,
    status: String,
    version: i64,
    is_default: bool,
    body_format: i32,
    body: String,
    activated_at: Option<i64>,
    deactivated_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<&StoredFlow> for FlowRow {
    type Error = Fail;

    fn try_from(stored: &StoredFlow) -> Result<Self, Fail> {
        let flow = &stored.flow;
        Ok(Self {
            tenant_id: stored.tenant.as_str().to_owned(),
            id: flow.id.clone(),
            name: flow.name.as_str().to_owned(),
            flow_type: flow.flow_type.as_str().to_owned(),
            status: flow.status.as_str().to_owned(),
            version: i64::from(flow.version),
            is_default: stored.is_default,
            body_format: FLOW_FORMAT,
            body: serde_json::to_string(flow)
                .map_err(|error| Fail::corrupt("cannot encode flow", error))?,
            activated_at: stored.activated_at,
            deactivated_at: stored.deactivated_at,
            created_at: flow.created_at,
            updated_at: flow.updated_at,
        })
    }
}

impl TryFrom<FlowRow> for StoredFlow {
    type Error = Fail;

    fn try_from(row: FlowRow) -> Result<Self, Fail> {
        if row.body_format != FLOW_FORMAT {
            return Err(Fail::corrupt("unsupported flow format", row.body_format));
        }
        Ok(Self {
            tenant: TenantId::new(row.tenant_id),
            flow: Flow::from_json(&row.body)
                .map_err(|error| Fail::corrupt("cannot decode flow", error))?,
            is_default: row.is_default,
            activated_at: row.activated_at,
            deactivated_at: row.deactivated_at,
        })
    }
}

/// A row of `flow_versions`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = flow_versions)]
struct VersionRow {
    tenant_id: String,
    flow_id: String,
    version: i64,
    graph: Option<String>,
    program_format: i32,
    program: String,
    content_hash: String,
    compiled_at: i64,
}

impl TryFrom<VersionRow> for FlowVersion {
    type Error = Fail;

    fn try_from(row: VersionRow) -> Result<Self, Fail> {
        Ok(Self {
            flow_id: row.flow_id,
            version: u32::try_from(row.version)
                .map_err(|error| Fail::corrupt("flow version out of range", error))?,
            // `Program::from_json` refuses formats this flowd does not know.
            program: Arc::new(
                Program::from_json(&row.program)
                    .map_err(|error| Fail::corrupt("cannot decode program", error))?,
            ),
            compiled_at: row.compiled_at,
        })
    }
}

/// What [`FlowRepository::head`] reads: a few columns of `flows` and the content hash of the
/// latest version, never a graph or a program.
type HeadRow = (String, String, String, String, i64, Option<String>);

fn decode_head(
    (flow_id, name, flow_type, status, version, content_hash): HeadRow,
) -> Result<FlowHead, Fail> {
    Ok(FlowHead {
        flow_type: FlowType::from_wire(&flow_type)
            .ok_or_else(|| Fail::corrupt("unknown flow type", &flow_type))?,
        status: FlowStatus::from_wire(&status)
            .ok_or_else(|| Fail::corrupt("unknown flow status", &status))?,
        version: u32::try_from(version)
            .map_err(|error| Fail::corrupt("flow version out of range", error))?,
        flow_id,
        name,
        content_hash,
    })
}

fn decode_all(rows: Vec<FlowRow>) -> Result<Vec<StoredFlow>, Fail> {
    rows.into_iter().map(StoredFlow::try_from).collect()
}

/// Takes the default flag from every other flow of `flow_type` in the tenant.
fn unset_other_defaults(
    conn: &mut AnyConnection,
    tenant: &str,
    flow_type: &str,
    keep_id: &str,
) -> Result<(), Fail> {
    diesel::update(
        flows::table
            .filter(flows::tenant_id.eq(tenant))
            .filter(flows::flow_type.eq(flow_type))
            .filter(flows::is_default.eq(true))
            .filter(flows::id.ne(keep_id)),
    )
    .set(flows::is_default.eq(false))
    .execute(conn)?;
    Ok(())
}

impl FlowRepository for Database {
    /// Stores a new flow. A flow created as the default also takes the flag from the others
    /// of its type, as [`FlowRepository::update`] does.
    fn create(&self, flow: &StoredFlow) -> Result<(), PortError> {
        let row = FlowRow::try_from(flow).map_err(Fail::into_port)?;
        self.transaction(|conn| {
            if row.is_default {
                unset_other_defaults(conn, &row.tenant_id, &row.flow_type, &row.id)?;
            }
            diesel::insert_into(flows::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredFlow>, PortError> {
        self.read(|conn| {
            flows::table
                .find((tenant.as_str(), id))
                .select(FlowRow::as_select())
                .get_result(conn)
                .optional()?
                .map(StoredFlow::try_from)
                .transpose()
        })
    }

    fn get_by_name(&self, tenant: &TenantId, name: &str) -> Result<Option<StoredFlow>, PortError> {
        self.read(|conn| {
            flows::table
                .filter(flows::tenant_id.eq(tenant.as_str()))
                .filter(flows::name.eq(name))
                .select(FlowRow::as_select())
                .get_result(conn)
                .optional()?
                .map(StoredFlow::try_from)
                .transpose()
        })
    }

    fn list(&self, tenant: &TenantId, query: &FlowQuery) -> Result<FlowPage, PortError> {
        let flow_type = query.flow_type.map(FlowType::as_str);
        let status = query.status.map(|status| status.as_str());
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let filtered = || {
                let mut select = flows::table
                    .filter(flows::tenant_id.eq(tenant.as_str()))
                    .into_boxed();
                if let Some(flow_type) = flow_type {
                    select = select.filter(flows::flow_type.eq(flow_type));
                }
                if let Some(status) = status {
                    select = select.filter(flows::status.eq(status));
                }
                select
            };
            let total: i64 = filtered().count().get_result(conn)?;
            let mut page = filtered();
            if let Some(after) = &query.after {
                page = page.filter(flows::id.gt(after));
            }
            // One row more than asked tells whether there is a next page.
            let mut rows: Vec<FlowRow> = page
                .order(flows::id.asc())
                .limit(limit.saturating_add(1))
                .select(FlowRow::as_select())
                .load(conn)?;
            let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
            rows.truncate(query.limit);
            let next = if more {
                rows.last().map(|row| row.id.clone())
            } else {
                None
            };
            Ok(FlowPage {
                items: decode_all(rows)?,
                total: u64::try_from(total).unwrap_or(0),
                next,
            })
        })
    }

    fn update(&self, flow: &StoredFlow) -> Result<(), PortError> {
        let row = FlowRow::try_from(flow).map_err(Fail::into_port)?;
        self.transaction(|conn| {
            let changed = diesel::update(flows::table.find((&row.tenant_id, &row.id)))
                .set(&row)
                .execute(conn)?;
            if changed == 0 {
                return Err(PortError::NotFound.into());
            }
            if row.is_default {
                unset_other_defaults(conn, &row.tenant_id, &row.flow_type, &row.id)?;
            }
            Ok(())
        })
    }

    fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, PortError> {
        self.transaction(|conn| {
            // Explicit, so it does not depend on `ON DELETE CASCADE` being enforced.
            diesel::delete(
                flow_versions::table
                    .filter(flow_versions::tenant_id.eq(tenant.as_str()))
                    .filter(flow_versions::flow_id.eq(id)),
            )
            .execute(conn)?;
            let deleted = diesel::delete(flows::table.find((tenant.as_str(), id))).execute(conn)?;
            Ok(deleted > 0)
        })
    }

    /// Stores a compiled version, with a snapshot of the flow's current graph beside it;
    /// [`PortError::NotFound`] if the flow does not exist.
    fn save_version(&self, tenant: &TenantId, version: &FlowVersion) -> Result<(), PortError> {
        let program = serde_json::to_string(&*version.program)
            .map_err(|error| Fail::corrupt("cannot encode program", error).into_port())?;
        self.transaction(|conn| {
            let body: Option<String> = flows::table
                .find((tenant.as_str(), &version.flow_id))
                .select(flows::body)
                .get_result(conn)
                .optional()?;
            let Some(body) = body else {
                return Err(PortError::NotFound.into());
            };
            let graph = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|mut flow| flow.get_mut("graph").map(serde_json::Value::take))
                .map(|graph| graph.to_string());
            let row = VersionRow {
                tenant_id: tenant.as_str().to_owned(),
                flow_id: version.flow_id.clone(),
                version: i64::from(version.version),
                graph,
                program_format: i32::try_from(version.program.format).unwrap_or(i32::MAX),
                program: program.clone(),
                content_hash: version.program.content_hash.clone(),
                compiled_at: version.compiled_at,
            };
            diesel::insert_into(flow_versions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn version(
        &self,
        tenant: &TenantId,
        flow_id: &str,
        version: u32,
    ) -> Result<Option<FlowVersion>, PortError> {
        self.read(|conn| {
            flow_versions::table
                .find((tenant.as_str(), flow_id, i64::from(version)))
                .select(VersionRow::as_select())
                .get_result(conn)
                .optional()?
                .map(FlowVersion::try_from)
                .transpose()
        })
    }

    fn default_for(
        &self,
        tenant: &TenantId,
        flow_type: FlowType,
    ) -> Result<Option<StoredFlow>, PortError> {
        self.read(|conn| {
            flows::table
                .filter(flows::tenant_id.eq(tenant.as_str()))
                .filter(flows::flow_type.eq(flow_type.as_str()))
                .filter(flows::is_default.eq(true))
                .order(flows::id.asc())
                .select(FlowRow::as_select())
                .get_result(conn)
                .optional()?
                .map(StoredFlow::try_from)
                .transpose()
        })
    }

    fn head(
        &self,
        tenant: &TenantId,
        selector: FlowSelector<'_>,
    ) -> Result<Option<FlowHead>, PortError> {
        self.read(|conn| {
            let latest = flow_versions::table.on(flow_versions::tenant_id
                .eq(flows::tenant_id)
                .and(flow_versions::flow_id.eq(flows::id))
                .and(flow_versions::version.eq(flows::version)));
            let query = flows::table
                .left_join(latest)
                .filter(flows::tenant_id.eq(tenant.as_str()))
                .select((
                    flows::id,
                    flows::name,
                    flows::flow_type,
                    flows::status,
                    flows::version,
                    flow_versions::content_hash.nullable(),
                ))
                .into_boxed();
            let query = match selector {
                FlowSelector::Named(name) => query.filter(flows::name.eq(name)),
                FlowSelector::DefaultOf(flow_type) => query
                    .filter(flows::flow_type.eq(flow_type.as_str()))
                    .filter(flows::is_default.eq(true))
                    .order(flows::id.asc()),
            };
            query
                .get_result::<HeadRow>(conn)
                .optional()?
                .map(decode_head)
                .transpose()
        })
    }
}
