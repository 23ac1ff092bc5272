//! The programs executions run. An execution stores only a [`ProgramRef`]; the engine finds
//! the program in a bounded in-process cache, and on a miss in the flow repository's compiled
//! versions, which every replica shares. Programs are immutable, so a cached program never goes
//! stale: a recompile makes a new version with its own reference.

use std::sync::Arc;

use flow_compiler::Program;

use crate::{FlowRepository, PortError, ProgramRef, TenantId};

/// How many programs the engine keeps in memory unless configured otherwise.
pub const DEFAULT_PROGRAM_CACHE_CAPACITY: usize = 512;

/// What identifies a program in the cache: the tenant and the reference's identity (flow,
/// version, content hash).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ProgramKey {
    tenant: TenantId,
    flow_id: String,
    version: u32,
    content_hash: String,
}

impl ProgramKey {
    fn new(tenant: &TenantId, reference: &ProgramRef) -> Self {
        Self {
            tenant: tenant.clone(),
            flow_id: reference.flow_id.clone(),
            version: reference.version,
            content_hash: reference.content_hash.clone(),
        }
    }
}

/// The bounded cache of compiled programs, in front of [`FlowRepository::version`].
pub(crate) struct Programs {
    cache: quick_cache::sync::Cache<ProgramKey, Arc<Program>>,
}

impl std::fmt::Debug for Programs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Programs")
            .field("cached", &self.cache.len())
            .finish()
    }
}

impl Programs {
    /// A cache of at most about `capacity` programs (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    /// Keeps `program`, which an execution of `tenant` is starting on.
    pub(crate) fn remember(&self, tenant: &TenantId, program: &Arc<Program>) {
        let key = ProgramKey::new(tenant, &ProgramRef::of(program));
        if self.cache.get(&key).is_none() {
            self.cache.insert(key, program.clone());
        }
    }

    /// The program `reference` names: from the cache, else from the repository (then cached).
    /// `None` if the repository has no such version, or one with another content hash.
    pub(crate) fn resolve(
        &self,
        flows: &dyn FlowRepository,
        tenant: &TenantId,
        reference: &ProgramRef,
    ) -> Result<Option<Arc<Program>>, PortError> {
        let key = ProgramKey::new(tenant, reference);
        if let Some(program) = self.cache.get(&key) {
            metrics::counter!("flowd_program_cache_total", "result" => "hit").increment(1);
            return Ok(Some(program));
        }
        metrics::counter!("flowd_program_cache_total", "result" => "miss").increment(1);
        let Some(version) = flows.version(tenant, &reference.flow_id, reference.version)? else {
            return Ok(None);
        };
        if !reference.names(&version.program) {
            return Ok(None);
        }
        self.cache.insert(key, version.program.clone());
        Ok(Some(version.program))
    }

    /// How many programs are cached now.
    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }
}
