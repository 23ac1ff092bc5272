//! The flow catalog: the application service that manages a tenant's flows (create, edit,
//! validate, compile, activate, import/export, seeding) and hands executors the program to run.
//!
//! The admin API and the server's start-up call [`FlowCatalog`], so they stay thin adapters:
//! every rule of seed 002's lifecycle lives here, on top of the [`FlowRepository`] port.
//!
//! # Lifecycle rules
//!
//! - **Create / import** make a `draft` at version 1, `compiled: false`. Drafts may hold
//!   invalid graphs (editors save work in progress); [`FlowCatalog::validate`] says what is
//!   wrong.
//! - **Update** changes display name, description, graph and extra fields; a *changed* graph
//!   clears `compiled` and `compiled_at`. The status is kept: an active flow stays active and
//!   keeps running its last compiled version until it is compiled (or activated) again.
//! - **Compile** validates; an invalid flow is [`CatalogError::Invalid`] with the report.
//!   Every successful compile makes a new version (previous + 1, so a fresh flow's first
//!   compile is version 2, as in the seed's example), stores the program under it and sets
//!   `compiled`/`compiled_at`.
//! - **Activate** compiles first when the current graph is not compiled, then sets `active`;
//!   **deactivate** sets `inactive`. New executions start only on active flows; executions in
//!   flight hold their `Arc<Program>` and finish on the version they started with, whatever
//!   happens to the flow afterwards (recompile, deactivate, delete).
//! - **Default per type**: [`FlowCatalog::set_default`]; the repository keeps one per type.
//!
//! # Ids
//!
//! New flows get `flow_` + 16 lowercase hex characters (64 random bits), not an id derived
//! from the name (the seed's examples look like `flow_social_login`): names are freed by a
//! delete and can be reused, and an id that came back would make old links, logs and audit
//! records point at a different flow. [`FlowCatalog::import`] keeps the document's id when it
//! is well-formed and free in the tenant (so the fixtures keep their readable
//! `flow_default_login`), and otherwise makes a random one.
//!
//! # Concurrency
//!
//! Changes are read-modify-write over the repository, serialized by a lock inside the catalog,
//! so concurrent admin calls on one process never lose an update. Two replicas editing the
//! same flow at the same instant are last-writer-wins (the port has no revision to compare);
//! two concurrent compiles of one flow cannot both store the same version: one of them fails
//! with `store_error`.

use std::sync::{Arc, Mutex};

use flow_compiler::Program;
use flow_model::{Flow, FlowName, FlowStatus, FlowType, Graph, NodeRegistry, Report};
use serde_json::{Map, Value};

use crate::ports::{Clock, Random};
use crate::programs::{DEFAULT_PROGRAM_CACHE_CAPACITY, Programs};
use crate::{
    CatalogError, FlowPage, FlowQuery, FlowRepository, FlowSelector, FlowVersion, PortError,
    ProgramRef, StoredFlow, TenantId, lock,
};

/// The prefix of every flow id.
pub const FLOW_ID_PREFIX: &str = "flow_";

/// The longest flow id that [`FlowCatalog::import`] keeps from a document.
pub const MAX_FLOW_ID_LEN: usize = 100;

/// Top-level fields of an imported document that the catalog manages itself (an export
/// rendered by the admin API may carry them); they are dropped, not kept as extra fields.
const MANAGED_FIELDS: [&str; 3] = ["is_default", "activated_at", "deactivated_at"];

/// How many random ids to try before giving up on a (practically impossible) collision.
const ID_ATTEMPTS: usize = 4;

/// What [`FlowCatalog::create`] needs: the fields of seed 002's create request.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFlow {
    /// The unique slug (checked by [`FlowName::parse`] at the boundary).
    pub name: FlowName,
    /// The human-readable name.
    pub display_name: String,
    /// An optional description (empty means none).
    pub description: Option<String>,
    /// The journey the flow implements.
    pub flow_type: FlowType,
    /// The graph; it may be invalid (a draft).
    pub graph: Graph,
    /// Unknown top-level fields to keep and write back.
    pub extra: Map<String, Value>,
}

/// What [`FlowCatalog::update`] changes; `None` (or an empty map) leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowPatch {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new description; an empty text removes it.
    pub description: Option<String>,
    /// A new graph; if it differs from the current one, the flow is no longer compiled.
    pub graph: Option<Graph>,
    /// Extra top-level fields to merge: a key with `null` removes it.
    pub extra: Map<String, Value>,
}

/// An active flow with the program its new executions run.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveFlow {
    /// The flow as stored.
    pub flow: StoredFlow,
    /// The program of its latest compiled version.
    pub program: Arc<Program>,
}

/// The application service over a [`FlowRepository`]: every admin operation on flows, the
/// seeding of default flows, and the lookup of the program a new execution runs.
///
/// Synchronous like the rest of the engine: async servers call it on a blocking pool.
pub struct FlowCatalog {
    flows: Arc<dyn FlowRepository>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    registry: NodeRegistry,
    /// The programs new executions start on, in front of the repository's versions.
    programs: Programs,
    /// Serializes read-modify-write changes made through this catalog.
    writes: Mutex<()>,
}

impl std::fmt::Debug for FlowCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowCatalog")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl FlowCatalog {
    /// A catalog over `flows` that knows the built-in node types.
    pub fn new(
        flows: Arc<dyn FlowRepository>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            flows,
            clock,
            random,
            registry: NodeRegistry::default(),
            programs: Programs::new(DEFAULT_PROGRAM_CACHE_CAPACITY),
            writes: Mutex::new(()),
        }
    }

    /// The same catalog, validating and compiling with an embedder's node types as well.
    pub fn with_node_registry(mut self, registry: NodeRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// The node types the catalog validates against.
    pub fn node_registry(&self) -> &NodeRegistry {
        &self.registry
    }

    /// The repository underneath.
    pub fn repository(&self) -> &Arc<dyn FlowRepository> {
        &self.flows
    }

    /// Creates a draft at version 1, not compiled; the graph may be invalid.
    /// [`CatalogError::NameTaken`] if the tenant has a flow with this name.
    pub fn create(&self, tenant: &TenantId, new: NewFlow) -> Result<StoredFlow, CatalogError> {
        let _writing = lock(&self.writes);
        let now = self.clock.now_secs();
        let flow = Flow {
            id: String::new(),
            name: new.name,
            display_name: new.display_name,
            description: new.description.filter(|text| !text.is_empty()),
            flow_type: new.flow_type,
            status: FlowStatus::Draft,
            version: 1,
            graph: new.graph,
            compiled: false,
            compiled_at: None,
            created_at: now,
            updated_at: now,
            extra: new.extra,
        };
        self.insert(tenant, flow, None)
    }

    /// The flow with this id.
    pub fn get(&self, tenant: &TenantId, id: &str) -> Result<StoredFlow, CatalogError> {
        self.flows.get(tenant, id)?.ok_or(CatalogError::NotFound)
    }

    /// The flow with this name.
    pub fn get_by_name(&self, tenant: &TenantId, name: &str) -> Result<StoredFlow, CatalogError> {
        self.flows
            .get_by_name(tenant, name)?
            .ok_or(CatalogError::NotFound)
    }

    /// A page of the tenant's flows, ordered by id (the caller bounds `query.limit`).
    pub fn list(&self, tenant: &TenantId, query: &FlowQuery) -> Result<FlowPage, CatalogError> {
        Ok(self.flows.list(tenant, query)?)
    }

    /// Changes display name, description, graph or extra fields; `updated_at` becomes now.
    /// A changed graph clears `compiled` and `compiled_at`; the status stays as it is.
    pub fn update(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: FlowPatch,
    ) -> Result<StoredFlow, CatalogError> {
        let _writing = lock(&self.writes);
        let mut stored = self.get(tenant, id)?;
        let flow = &mut stored.flow;
        if let Some(display_name) = patch.display_name {
            flow.display_name = display_name;
        }
        if let Some(description) = patch.description {
            flow.description = Some(description).filter(|text| !text.is_empty());
        }
        if let Some(graph) = patch.graph
            && graph != flow.graph
        {
            flow.graph = graph;
            flow.compiled = false;
            flow.compiled_at = None;
        }
        for (key, value) in patch.extra {
            if value.is_null() {
                flow.extra.shift_remove(&key);
            } else {
                flow.extra.insert(key, value);
            }
        }
        flow.updated_at = self.clock.now_secs();
        self.save(&mut stored)?;
        Ok(stored)
    }

    /// Deletes a flow and its compiled versions. Executions in flight keep their program.
    pub fn delete(&self, tenant: &TenantId, id: &str) -> Result<(), CatalogError> {
        let _writing = lock(&self.writes);
        if self.flows.delete(tenant, id)? {
            Ok(())
        } else {
            Err(CatalogError::NotFound)
        }
    }

    /// The validator's report on the flow's current graph, valid or not.
    pub fn validate(&self, tenant: &TenantId, id: &str) -> Result<Report, CatalogError> {
        let stored = self.get(tenant, id)?;
        Ok(flow_model::check(&stored.flow, &self.registry).0)
    }

    /// Compiles the current graph into a new version (previous + 1), stores its program and
    /// marks the flow compiled. [`CatalogError::Invalid`] (nothing changed) if it does not
    /// validate.
    pub fn compile(&self, tenant: &TenantId, id: &str) -> Result<StoredFlow, CatalogError> {
        let _writing = lock(&self.writes);
        let stored = self.get(tenant, id)?;
        self.compile_stored(tenant, stored)
    }

    /// Activates a flow, compiling it first if its current graph is not compiled
    /// ([`CatalogError::Invalid`], nothing changed, if it does not validate).
    pub fn activate(&self, tenant: &TenantId, id: &str) -> Result<StoredFlow, CatalogError> {
        let _writing = lock(&self.writes);
        let stored = self.get(tenant, id)?;
        let mut stored = self.ensure_compiled(tenant, stored)?;
        let now = self.clock.now_secs();
        stored.flow.status = FlowStatus::Active;
        stored.activated_at = Some(now);
        stored.flow.updated_at = now;
        self.save(&mut stored)?;
        Ok(stored)
    }

    /// Deactivates a flow: no new execution starts on it; those in flight finish.
    pub fn deactivate(&self, tenant: &TenantId, id: &str) -> Result<StoredFlow, CatalogError> {
        let _writing = lock(&self.writes);
        let mut stored = self.get(tenant, id)?;
        let now = self.clock.now_secs();
        stored.flow.status = FlowStatus::Inactive;
        stored.deactivated_at = Some(now);
        stored.flow.updated_at = now;
        self.save(&mut stored)?;
        Ok(stored)
    }

    /// Marks a flow as the default of its type (the others of the type lose the mark) or
    /// removes the mark. Any status may be marked; starting by type still needs it active.
    pub fn set_default(
        &self,
        tenant: &TenantId,
        id: &str,
        is_default: bool,
    ) -> Result<StoredFlow, CatalogError> {
        let _writing = lock(&self.writes);
        let mut stored = self.get(tenant, id)?;
        stored.is_default = is_default;
        stored.flow.updated_at = self.clock.now_secs();
        self.save(&mut stored)?;
        Ok(stored)
    }

    /// Creates a flow from a full document (a fixture, an export from another server).
    ///
    /// Name, display name, description, type, graph and unknown fields are kept; the result is
    /// a new draft at version 1, not compiled, created now: the document's status, version,
    /// compile state and timestamps describe another history and are ignored, and so are the
    /// catalog-managed `is_default`, `activated_at` and `deactivated_at` fields. The id is
    /// kept when it is 1 to [`MAX_FLOW_ID_LEN`] ASCII letters, digits, `_` or `-` and free in
    /// the tenant; otherwise a new one is made. [`CatalogError::NameTaken`] if the name is.
    pub fn import(&self, tenant: &TenantId, flow: Flow) -> Result<StoredFlow, CatalogError> {
        let _writing = lock(&self.writes);
        let (flow, id) = self.as_new_draft(flow);
        self.insert(tenant, flow, Some(id))
    }

    /// The flow's document, as [`FlowCatalog::import`] reads it back.
    pub fn export(&self, tenant: &TenantId, id: &str) -> Result<Flow, CatalogError> {
        Ok(self.get(tenant, id)?.flow)
    }

    /// Seeds the default flows, idempotently (start-up calls it every time): each flow whose
    /// name is not yet in the tenant is imported, compiled, activated and, when its type has
    /// no default yet, marked default. Flows already present are left untouched, so an
    /// operator's edits survive restarts. Returns the flows it installed.
    ///
    /// A flow that does not validate is [`CatalogError::Invalid`] before anything of it is
    /// stored (the flows before it stay installed; a fixed retry installs the rest).
    pub fn install_defaults(
        &self,
        tenant: &TenantId,
        defaults: &[Flow],
    ) -> Result<Vec<StoredFlow>, CatalogError> {
        let _writing = lock(&self.writes);
        let mut installed = Vec::new();
        for flow in defaults {
            if self
                .flows
                .get_by_name(tenant, flow.name.as_str())?
                .is_some()
            {
                continue;
            }
            let report = flow_model::check(flow, &self.registry).0;
            if !report.valid {
                return Err(CatalogError::Invalid(report));
            }
            let (draft, id) = self.as_new_draft(flow.clone());
            let stored = match self.insert(tenant, draft, Some(id)) {
                Ok(stored) => stored,
                // Another replica installed it meanwhile.
                Err(CatalogError::NameTaken(_)) => continue,
                Err(error) => return Err(error),
            };
            let mut stored = self.compile_stored(tenant, stored)?;
            stored.flow.status = FlowStatus::Active;
            stored.activated_at = Some(stored.flow.updated_at);
            stored.is_default = self
                .flows
                .default_for(tenant, stored.flow.flow_type)?
                .is_none();
            self.save(&mut stored)?;
            installed.push(stored);
        }
        Ok(installed)
    }

    /// The active flow with this name and the program of its latest compiled version:
    /// [`CatalogError::NotFound`] if there is no such flow, [`CatalogError::Inactive`] if it
    /// is a draft or inactive.
    pub fn active_by_name(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<ActiveFlow, CatalogError> {
        let stored = self.get_by_name(tenant, name)?;
        self.runnable(tenant, stored)
    }

    /// The default flow of a type and the program of its latest compiled version:
    /// [`CatalogError::NoDefault`] if the type has no default, [`CatalogError::Inactive`] if
    /// the default is not active.
    pub fn active_by_type(
        &self,
        tenant: &TenantId,
        flow_type: FlowType,
    ) -> Result<ActiveFlow, CatalogError> {
        let stored = self
            .flows
            .default_for(tenant, flow_type)?
            .ok_or(CatalogError::NoDefault(flow_type))?;
        self.runnable(tenant, stored)
    }

    /// The program a new execution of the flow named `name` runs: the latest compiled version
    /// of the active flow with that name ([`CatalogError::NotFound`] if there is none,
    /// [`CatalogError::Inactive`] if it is a draft or inactive).
    pub fn program_for_name(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Arc<Program>, CatalogError> {
        self.program_for(tenant, FlowSelector::Named(name))
    }

    /// The program a new execution of the default flow of `flow_type` runs
    /// ([`CatalogError::NoDefault`] if the type has none, [`CatalogError::Inactive`] if the
    /// default is not active).
    pub fn program_for_type(
        &self,
        tenant: &TenantId,
        flow_type: FlowType,
    ) -> Result<Arc<Program>, CatalogError> {
        self.program_for(tenant, FlowSelector::DefaultOf(flow_type))
    }

    /// Every start comes here: one small read of the flow's head, then the program from the
    /// cache (immutable programs never go stale; the head says which version is current, so an
    /// activation or recompile on any replica takes effect at the next start).
    fn program_for(
        &self,
        tenant: &TenantId,
        selector: FlowSelector<'_>,
    ) -> Result<Arc<Program>, CatalogError> {
        let head = self.flows.head(tenant, selector)?.ok_or(match selector {
            FlowSelector::Named(_) => CatalogError::NotFound,
            FlowSelector::DefaultOf(flow_type) => CatalogError::NoDefault(flow_type),
        })?;
        if head.status != FlowStatus::Active {
            return Err(CatalogError::Inactive(head.name));
        }
        // An active flow always has its version (activation compiles), unless the store was
        // changed behind the catalog's back.
        let missing = || CatalogError::Store(PortError::NotFound);
        let reference = ProgramRef {
            content_hash: head.content_hash.ok_or_else(missing)?,
            flow_id: head.flow_id,
            version: head.version,
            flow_name: head.name,
            flow_type: head.flow_type,
        };
        self.programs
            .resolve(self.flows.as_ref(), tenant, &reference)?
            .ok_or_else(missing)
    }

    /// Checks that a flow may start and loads its latest compiled program.
    fn runnable(&self, tenant: &TenantId, stored: StoredFlow) -> Result<ActiveFlow, CatalogError> {
        if stored.flow.status != FlowStatus::Active {
            return Err(CatalogError::Inactive(stored.flow.name.as_str().to_owned()));
        }
        let version = self
            .flows
            .version(tenant, &stored.flow.id, stored.flow.version)?
            // An active flow always has its version (activation compiles), unless the store
            // was changed behind the catalog's back.
            .ok_or(CatalogError::Store(PortError::NotFound))?;
        Ok(ActiveFlow {
            flow: stored,
            program: version.program,
        })
    }

    /// Compiles unless the current graph is compiled and its version is stored.
    fn ensure_compiled(
        &self,
        tenant: &TenantId,
        stored: StoredFlow,
    ) -> Result<StoredFlow, CatalogError> {
        let has_program = stored.flow.compiled
            && self
                .flows
                .version(tenant, &stored.flow.id, stored.flow.version)?
                .is_some();
        if has_program {
            Ok(stored)
        } else {
            self.compile_stored(tenant, stored)
        }
    }

    /// Compiles `stored` as the next version and saves program and flow (lock held).
    fn compile_stored(
        &self,
        tenant: &TenantId,
        mut stored: StoredFlow,
    ) -> Result<StoredFlow, CatalogError> {
        stored.flow.version = stored.flow.version.saturating_add(1);
        let program = flow_compiler::compile_with(&stored.flow, &self.registry)
            .map_err(CatalogError::Invalid)?;
        let now = self.clock.now_secs();
        let version = FlowVersion {
            flow_id: stored.flow.id.clone(),
            version: stored.flow.version,
            program: Arc::new(program),
            compiled_at: now,
        };
        self.flows
            .save_version(tenant, &version)
            .map_err(flow_gone)?;
        stored.flow.compiled = true;
        stored.flow.compiled_at = Some(now);
        stored.flow.updated_at = now;
        self.save(&mut stored)?;
        Ok(stored)
    }

    /// Writes a changed flow back.
    fn save(&self, stored: &mut StoredFlow) -> Result<(), CatalogError> {
        scrub_extras(&mut stored.flow);
        self.flows.update(stored).map_err(flow_gone)
    }

    /// Stores a new flow under `preferred` (if usable and free) or a random id (lock held).
    fn insert(
        &self,
        tenant: &TenantId,
        mut flow: Flow,
        preferred: Option<String>,
    ) -> Result<StoredFlow, CatalogError> {
        scrub_extras(&mut flow);
        let name = flow.name.as_str().to_owned();
        if self.flows.get_by_name(tenant, &name)?.is_some() {
            return Err(CatalogError::NameTaken(name));
        }
        let mut preferred = preferred.filter(|id| is_usable_id(id));
        for _ in 0..ID_ATTEMPTS {
            flow.id = preferred.take().unwrap_or_else(|| self.new_id());
            let stored = StoredFlow {
                tenant: tenant.clone(),
                flow,
                is_default: false,
                activated_at: None,
                deactivated_at: None,
            };
            match self.flows.create(&stored) {
                Ok(()) => return Ok(stored),
                Err(PortError::Duplicate) => {
                    if self.flows.get_by_name(tenant, &name)?.is_some() {
                        return Err(CatalogError::NameTaken(name));
                    }
                    flow = stored.flow;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(CatalogError::Store(PortError::Duplicate))
    }

    /// A document reset to a new draft, with the id it asks for.
    fn as_new_draft(&self, mut flow: Flow) -> (Flow, String) {
        let now = self.clock.now_secs();
        let id = std::mem::take(&mut flow.id);
        flow.status = FlowStatus::Draft;
        flow.version = 1;
        flow.compiled = false;
        flow.compiled_at = None;
        flow.created_at = now;
        flow.updated_at = now;
        flow.description = flow.description.filter(|text| !text.is_empty());
        scrub_extras(&mut flow);
        (flow, id)
    }

    /// `flow_` and 16 lowercase hex characters of fresh randomness.
    fn new_id(&self) -> String {
        let mut bytes = [0u8; 8];
        self.random.fill(&mut bytes);
        format!("{FLOW_ID_PREFIX}{}", hex::encode(bytes))
    }
}

/// Drops extra fields that would shadow a flow field or a catalog-managed one: whatever
/// reaches the catalog, a stored document holds each key once and its managed state is the
/// catalog's own.
fn scrub_extras(flow: &mut Flow) {
    flow.drop_shadowing_extras();
    for field in MANAGED_FIELDS {
        flow.extra.shift_remove(field);
    }
}

/// Whether an imported id can be kept: safe in a URL path segment and of bounded length.
fn is_usable_id(id: &str) -> bool {
    (1..=MAX_FLOW_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A flow that disappeared between read and write (deleted concurrently) is not found.
fn flow_gone(error: PortError) -> CatalogError {
    match error {
        PortError::NotFound => CatalogError::NotFound,
        other => CatalogError::Store(other),
    }
}
