//! The in-memory execution store: executions and their kept traces in a map.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ports::ExecutionStore;
use crate::{Execution, ExecutionId, MAX_TRACE_ENTRIES, PortError, TenantId, TraceEntry, lock};

/// An execution and the kept part of its trace.
#[derive(Debug, Clone)]
struct StoredExecution {
    execution: Execution,
    trace: Vec<TraceEntry>,
}

impl StoredExecution {
    /// Appends entries, keeping the last [`MAX_TRACE_ENTRIES`].
    fn append(&mut self, entries: &[TraceEntry]) {
        self.trace.extend_from_slice(entries);
        let excess = self.trace.len().saturating_sub(MAX_TRACE_ENTRIES);
        self.trace.drain(..excess);
    }
}

/// Executions in a map; compare-and-swap under the map's lock.
#[derive(Debug, Default)]
pub struct MemoryExecutionStore {
    executions: Mutex<HashMap<ExecutionId, StoredExecution>>,
}

impl MemoryExecutionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many executions are stored.
    pub fn len(&self) -> usize {
        lock(&self.executions).len()
    }

    /// Whether no execution is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ExecutionStore for MemoryExecutionStore {
    fn insert(&self, execution: &Execution, trace: &[TraceEntry]) -> Result<(), PortError> {
        let mut executions = lock(&self.executions);
        if executions.contains_key(&execution.id) {
            return Err(PortError::Duplicate);
        }
        let mut stored = StoredExecution {
            execution: execution.clone(),
            trace: Vec::new(),
        };
        stored.append(trace);
        executions.insert(execution.id, stored);
        Ok(())
    }

    fn load(&self, tenant: &TenantId, id: &ExecutionId) -> Result<Option<Execution>, PortError> {
        Ok(lock(&self.executions)
            .get(id)
            .filter(|stored| &stored.execution.tenant == tenant)
            .map(|stored| stored.execution.clone()))
    }

    fn save(
        &self,
        execution: &Execution,
        expected_revision: u64,
        trace: &[TraceEntry],
    ) -> Result<(), PortError> {
        let mut executions = lock(&self.executions);
        let stored = executions
            .get_mut(&execution.id)
            .filter(|stored| stored.execution.tenant == execution.tenant)
            .ok_or(PortError::NotFound)?;
        if stored.execution.revision != expected_revision {
            return Err(PortError::Conflict);
        }
        stored.execution = execution.clone();
        stored.append(trace);
        Ok(())
    }

    fn trace(
        &self,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Option<Vec<TraceEntry>>, PortError> {
        Ok(lock(&self.executions)
            .get(id)
            .filter(|stored| &stored.execution.tenant == tenant)
            .map(|stored| stored.trace.clone()))
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        let mut executions = lock(&self.executions);
        let before = executions.len();
        executions.retain(|_, stored| stored.execution.expires_at > now_secs);
        Ok(before - executions.len())
    }
}
