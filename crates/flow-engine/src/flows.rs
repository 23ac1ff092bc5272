//! The flow repository port: flow definitions and their compiled versions, per tenant.
//!
//! The admin API edits flows through it; the protocol adapters find the program to start from
//! it (by name for authentik's `:slug`, by type for WSO2's `flowType`). Every compiled version
//! is kept, so executions pinned to an older version can always be resumed.

use std::sync::Arc;

use flow_compiler::Program;
use flow_model::{Flow, FlowStatus, FlowType};

use crate::{PortError, TenantId};

/// A flow as stored: the seed-002 definition plus what flowd keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFlow {
    /// The tenant the flow belongs to.
    pub tenant: TenantId,
    /// The definition, status, version and timestamps (`flow.version` is the latest version).
    pub flow: Flow,
    /// Whether this is the flow started for its type when a client names only the type.
    pub is_default: bool,
    /// When it was last activated (Unix seconds).
    pub activated_at: Option<i64>,
    /// When it was last deactivated (Unix seconds).
    pub deactivated_at: Option<i64>,
}

/// One compiled version of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowVersion {
    /// The flow's id.
    pub flow_id: String,
    /// The version number (the program's `version`).
    pub version: u32,
    /// The compiled program.
    pub program: Arc<Program>,
    /// When it was compiled (Unix seconds).
    pub compiled_at: i64,
}

/// Filters and paging of [`FlowRepository::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowQuery {
    /// Only flows of this type.
    pub flow_type: Option<FlowType>,
    /// Only flows with this status.
    pub status: Option<FlowStatus>,
    /// Start after the flow with this id (flows are listed by id).
    pub after: Option<String>,
    /// At most this many items.
    pub limit: usize,
}

/// A page of [`FlowRepository::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct FlowPage {
    /// The flows of this page, ordered by id.
    pub items: Vec<StoredFlow>,
    /// How many flows match the filters in all.
    pub total: u64,
    /// The id to pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Which flow a new execution starts: one named by the client (authentik's `:slug`, WSO2's
/// named start), or the default of a type (WSO2's `flowType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowSelector<'a> {
    /// The flow with this name.
    Named(&'a str),
    /// The default flow of this type.
    DefaultOf(FlowType),
}

/// What starting a flow needs to know of it: read at every start, so a store answers it
/// without reading or parsing the graph or the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowHead {
    /// The flow's id.
    pub flow_id: String,
    /// The flow's name.
    pub name: String,
    /// The flow's type.
    pub flow_type: FlowType,
    /// The flow's status (only an active flow starts).
    pub status: FlowStatus,
    /// The flow's latest version.
    pub version: u32,
    /// The content hash of that version's program; `None` if the version is not stored.
    pub content_hash: Option<String>,
}

/// Persists flows and their compiled versions, per tenant. Names are unique per tenant.
pub trait FlowRepository: Send + Sync {
    /// Stores a new flow; [`PortError::Duplicate`] if its id or its name is taken in the tenant.
    fn create(&self, flow: &StoredFlow) -> Result<(), PortError>;

    /// The flow with this id.
    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredFlow>, PortError>;

    /// The flow with this name.
    fn get_by_name(&self, tenant: &TenantId, name: &str) -> Result<Option<StoredFlow>, PortError>;

    /// Flows matching `query`, ordered by id.
    fn list(&self, tenant: &TenantId, query: &FlowQuery) -> Result<FlowPage, PortError>;

    /// Replaces a stored flow (matched by tenant and id); [`PortError::NotFound`] if it is gone.
    /// When `flow.is_default` is set, every other flow of the same type in the tenant loses the
    /// flag in the same transaction.
    fn update(&self, flow: &StoredFlow) -> Result<(), PortError>;

    /// Deletes a flow and its versions; `false` if there was none.
    fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, PortError>;

    /// Stores a compiled version; [`PortError::Duplicate`] if that version exists.
    fn save_version(&self, tenant: &TenantId, version: &FlowVersion) -> Result<(), PortError>;

    /// A compiled version of a flow.
    fn version(
        &self,
        tenant: &TenantId,
        flow_id: &str,
        version: u32,
    ) -> Result<Option<FlowVersion>, PortError>;

    /// The default flow of a type (whatever its status; callers check that it is active).
    fn default_for(
        &self,
        tenant: &TenantId,
        flow_type: FlowType,
    ) -> Result<Option<StoredFlow>, PortError>;

    /// The head of the flow `selector` picks (whatever its status). The default reads the
    /// whole flow and version; a store with a query language overrides it with one small read.
    fn head(
        &self,
        tenant: &TenantId,
        selector: FlowSelector<'_>,
    ) -> Result<Option<FlowHead>, PortError> {
        let stored = match selector {
            FlowSelector::Named(name) => self.get_by_name(tenant, name)?,
            FlowSelector::DefaultOf(flow_type) => self.default_for(tenant, flow_type)?,
        };
        let Some(stored) = stored else {
            return Ok(None);
        };
        let content_hash = self
            .version(tenant, &stored.flow.id, stored.flow.version)?
            .map(|version| version.program.content_hash.clone());
        Ok(Some(FlowHead {
            flow_id: stored.flow.id,
            name: stored.flow.name.as_str().to_owned(),
            flow_type: stored.flow.flow_type,
            status: stored.flow.status,
            version: stored.flow.version,
            content_hash,
        }))
    }
}
