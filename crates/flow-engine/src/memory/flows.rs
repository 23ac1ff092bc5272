//! The in-memory flow repository: flows and their compiled versions per tenant.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

use flow_model::FlowType;

use crate::{
    FlowPage, FlowQuery, FlowRepository, FlowVersion, PortError, StoredFlow, TenantId, lock,
};

/// One tenant's flows: rows by id (so listing is ordered by id), a name index, and the
/// compiled versions by flow id and version.
#[derive(Debug, Default)]
struct TenantFlows {
    flows: BTreeMap<String, StoredFlow>,
    names: HashMap<String, String>,
    versions: BTreeMap<(String, u32), FlowVersion>,
}

impl TenantFlows {
    /// Clears the default flag of every flow of `flow_type` except `keep`.
    fn unset_other_defaults(&mut self, flow_type: FlowType, keep: &str) {
        for (id, other) in &mut self.flows {
            if id != keep && other.flow.flow_type == flow_type {
                other.is_default = false;
            }
        }
    }
}

/// Flows and their compiled versions per tenant, behind one lock (so every call is atomic,
/// like a transaction). Names are unique per tenant; there is at most one default per type.
#[derive(Debug, Default)]
pub struct MemoryFlowRepository {
    tenants: Mutex<HashMap<TenantId, TenantFlows>>,
}

impl MemoryFlowRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many flows are stored, over all tenants.
    pub fn len(&self) -> usize {
        lock(&self.tenants)
            .values()
            .map(|tenant| tenant.flows.len())
            .sum()
    }

    /// Whether no flow is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many compiled versions are stored, over all tenants.
    pub fn version_count(&self) -> usize {
        lock(&self.tenants)
            .values()
            .map(|tenant| tenant.versions.len())
            .sum()
    }
}

impl FlowRepository for MemoryFlowRepository {
    /// Also keeps the one-default-per-type rule: a new flow with `is_default` takes the flag
    /// from the others of its type, as [`FlowRepository::update`] does.
    fn create(&self, flow: &StoredFlow) -> Result<(), PortError> {
        let mut tenants = lock(&self.tenants);
        let tenant = tenants.entry(flow.tenant.clone()).or_default();
        let id = &flow.flow.id;
        let name = flow.flow.name.as_str();
        if tenant.flows.contains_key(id) || tenant.names.contains_key(name) {
            return Err(PortError::Duplicate);
        }
        if flow.is_default {
            tenant.unset_other_defaults(flow.flow.flow_type, id);
        }
        tenant.names.insert(name.to_owned(), id.clone());
        tenant.flows.insert(id.clone(), flow.clone());
        Ok(())
    }

    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<StoredFlow>, PortError> {
        Ok(lock(&self.tenants)
            .get(tenant)
            .and_then(|tenant| tenant.flows.get(id))
            .cloned())
    }

    fn get_by_name(&self, tenant: &TenantId, name: &str) -> Result<Option<StoredFlow>, PortError> {
        let tenants = lock(&self.tenants);
        Ok(tenants.get(tenant).and_then(|tenant| {
            tenant
                .names
                .get(name)
                .and_then(|id| tenant.flows.get(id))
                .cloned()
        }))
    }

    fn list(&self, tenant: &TenantId, query: &FlowQuery) -> Result<FlowPage, PortError> {
        let tenants = lock(&self.tenants);
        let Some(tenant) = tenants.get(tenant) else {
            return Ok(FlowPage {
                items: Vec::new(),
                total: 0,
                next: None,
            });
        };
        let matches = |flow: &StoredFlow| {
            query.flow_type.is_none_or(|t| flow.flow.flow_type == t)
                && query.status.is_none_or(|s| flow.flow.status == s)
        };
        let total = tenant.flows.values().filter(|flow| matches(flow)).count();
        let lower = match &query.after {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let mut rest = tenant
            .flows
            .range::<str, _>((lower, Bound::Unbounded))
            .map(|(_, flow)| flow)
            .filter(|flow| matches(flow));
        let items: Vec<StoredFlow> = rest.by_ref().take(query.limit).cloned().collect();
        let next = match (rest.next(), items.last()) {
            (Some(_), Some(last)) => Some(last.flow.id.clone()),
            _ => None,
        };
        Ok(FlowPage {
            items,
            total: u64::try_from(total).unwrap_or(u64::MAX),
            next,
        })
    }

    /// A changed name must be free in the tenant ([`PortError::Duplicate`] otherwise).
    fn update(&self, flow: &StoredFlow) -> Result<(), PortError> {
        let mut tenants = lock(&self.tenants);
        let tenant = tenants.get_mut(&flow.tenant).ok_or(PortError::NotFound)?;
        let id = &flow.flow.id;
        let old_name = tenant
            .flows
            .get(id)
            .map(|old| old.flow.name.as_str().to_owned())
            .ok_or(PortError::NotFound)?;
        let new_name = flow.flow.name.as_str();
        if old_name != new_name {
            if tenant.names.contains_key(new_name) {
                return Err(PortError::Duplicate);
            }
            tenant.names.remove(&old_name);
            tenant.names.insert(new_name.to_owned(), id.clone());
        }
        if flow.is_default {
            tenant.unset_other_defaults(flow.flow.flow_type, id);
        }
        tenant.flows.insert(id.clone(), flow.clone());
        Ok(())
    }

    fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, PortError> {
        let mut tenants = lock(&self.tenants);
        let Some(tenant) = tenants.get_mut(tenant) else {
            return Ok(false);
        };
        let Some(removed) = tenant.flows.remove(id) else {
            return Ok(false);
        };
        tenant.names.remove(removed.flow.name.as_str());
        tenant.versions.retain(|(flow_id, _), _| flow_id != id);
        Ok(true)
    }

    /// [`PortError::NotFound`] if the flow does not exist (versions belong to a flow).
    fn save_version(&self, tenant: &TenantId, version: &FlowVersion) -> Result<(), PortError> {
        let mut tenants = lock(&self.tenants);
        let tenant = tenants.get_mut(tenant).ok_or(PortError::NotFound)?;
        if !tenant.flows.contains_key(&version.flow_id) {
            return Err(PortError::NotFound);
        }
        let key = (version.flow_id.clone(), version.version);
        if tenant.versions.contains_key(&key) {
            return Err(PortError::Duplicate);
        }
        tenant.versions.insert(key, version.clone());
        Ok(())
    }

    fn version(
        &self,
        tenant: &TenantId,
        flow_id: &str,
        version: u32,
    ) -> Result<Option<FlowVersion>, PortError> {
        Ok(lock(&self.tenants)
            .get(tenant)
            .and_then(|tenant| tenant.versions.get(&(flow_id.to_owned(), version)))
            .cloned())
    }

    fn default_for(
        &self,
        tenant: &TenantId,
        flow_type: FlowType,
    ) -> Result<Option<StoredFlow>, PortError> {
        Ok(lock(&self.tenants).get(tenant).and_then(|tenant| {
            tenant
                .flows
                .values()
                .find(|flow| flow.is_default && flow.flow.flow_type == flow_type)
                .cloned()
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use super::*;

    fn stored(tenant: &str, id: &str, name: &str, flow_type: &str) -> StoredFlow {
        let text = format!(
            r#"{{"id": "{id}", "name": "{name}", "type": "{flow_type}",
                "graph": {{"nodes": [], "edges": []}}}}"#
        );
        StoredFlow {
            tenant: TenantId::new(tenant),
            flow: flow_model::Flow::from_json(&text).unwrap(),
            is_default: false,
            activated_at: None,
            deactivated_at: None,
        }
    }

    fn version_of(flow_id: &str, version: u32) -> FlowVersion {
        let flow = flow_model::Flow::from_json(
            r#"{"name": "v", "type": "login", "graph": {
                "nodes": [{"id": "s", "type": "start"}, {"id": "ok", "type": "success"}],
                "edges": [{"source": "s", "target": "ok"}]}}"#,
        )
        .unwrap();
        FlowVersion {
            flow_id: flow_id.to_owned(),
            version,
            program: Arc::new(flow_compiler::compile(&flow).unwrap()),
            compiled_at: 0,
        }
    }

    fn query(limit: usize) -> FlowQuery {
        FlowQuery {
            flow_type: None,
            status: None,
            after: None,
            limit,
        }
    }

    fn ids(page: &FlowPage) -> Vec<&str> {
        page.items.iter().map(|f| f.flow.id.as_str()).collect()
    }

    #[test]
    fn flow_ids_and_names_are_unique_per_tenant() {
        let repo = MemoryFlowRepository::new();
        let a = TenantId::new("a");
        repo.create(&stored("a", "f1", "one", "login")).unwrap();
        assert_eq!(
            repo.create(&stored("a", "f1", "other", "login")),
            Err(PortError::Duplicate)
        );
        assert_eq!(
            repo.create(&stored("a", "f2", "one", "login")),
            Err(PortError::Duplicate)
        );
        // Another tenant may use both.
        repo.create(&stored("b", "f1", "one", "login")).unwrap();
        assert_eq!(repo.len(), 2);
        assert_eq!(
            repo.get(&a, "f1").unwrap().unwrap().flow.name.as_str(),
            "one"
        );
        assert_eq!(repo.get_by_name(&a, "one").unwrap().unwrap().flow.id, "f1");
        assert!(repo.get_by_name(&a, "other").unwrap().is_none());
        assert!(repo.get(&TenantId::new("c"), "f1").unwrap().is_none());
    }

    #[test]
    fn update_replaces_renames_and_moves_the_default() {
        let repo = MemoryFlowRepository::new();
        let t = TenantId::new("t");
        let mut first = stored("t", "f1", "one", "login");
        first.is_default = true;
        repo.create(&first).unwrap();
        repo.create(&stored("t", "f2", "two", "login")).unwrap();
        let mut registration = stored("t", "f3", "three", "registration");
        registration.is_default = true;
        repo.create(&registration).unwrap();
        assert_eq!(
            repo.default_for(&t, FlowType::Login)
                .unwrap()
                .unwrap()
                .flow
                .id,
            "f1"
        );

        let mut second = repo.get(&t, "f2").unwrap().unwrap();
        second.is_default = true;
        second.flow.display_name = "Two".into();
        repo.update(&second).unwrap();
        assert_eq!(
            repo.get(&t, "f2").unwrap().unwrap().flow.display_name,
            "Two"
        );
        assert!(!repo.get(&t, "f1").unwrap().unwrap().is_default);
        assert_eq!(
            repo.default_for(&t, FlowType::Login)
                .unwrap()
                .unwrap()
                .flow
                .id,
            "f2"
        );
        // Other types keep theirs.
        assert!(repo.get(&t, "f3").unwrap().unwrap().is_default);

        // Renames keep the index right; a taken name is refused.
        second.flow.name = flow_model::FlowName::parse("one").unwrap();
        assert_eq!(repo.update(&second), Err(PortError::Duplicate));
        second.flow.name = flow_model::FlowName::parse("deux").unwrap();
        repo.update(&second).unwrap();
        assert!(repo.get_by_name(&t, "two").unwrap().is_none());
        assert_eq!(repo.get_by_name(&t, "deux").unwrap().unwrap().flow.id, "f2");

        // Gone or never there.
        assert_eq!(
            repo.update(&stored("t", "nope", "nope", "login")),
            Err(PortError::NotFound)
        );
        assert_eq!(
            repo.update(&stored("x", "f1", "one", "login")),
            Err(PortError::NotFound)
        );
    }

    #[test]
    fn a_new_default_takes_the_flag() {
        let repo = MemoryFlowRepository::new();
        let t = TenantId::new("t");
        let mut first = stored("t", "f1", "one", "login");
        first.is_default = true;
        repo.create(&first).unwrap();
        let mut second = stored("t", "f2", "two", "login");
        second.is_default = true;
        repo.create(&second).unwrap();
        assert!(!repo.get(&t, "f1").unwrap().unwrap().is_default);
        assert_eq!(
            repo.default_for(&t, FlowType::Login)
                .unwrap()
                .unwrap()
                .flow
                .id,
            "f2"
        );
        assert!(repo.default_for(&t, FlowType::MfaSetup).unwrap().is_none());
    }

    #[test]
    fn list_pages_by_id_with_filters_and_total() {
        let repo = MemoryFlowRepository::new();
        let t = TenantId::new("t");
        for (id, flow_type) in [
            ("f5", "login"),
            ("f1", "login"),
            ("f3", "registration"),
            ("f2", "login"),
            ("f4", "login"),
        ] {
            repo.create(&stored("t", id, &format!("n-{id}"), flow_type))
                .unwrap();
        }
        repo.create(&stored("other", "f0", "n-f0", "login"))
            .unwrap();
        let mut active = repo.get(&t, "f4").unwrap().unwrap();
        active.flow.status = flow_model::FlowStatus::Active;
        repo.update(&active).unwrap();

        let page = repo.list(&t, &query(2)).unwrap();
        assert_eq!(ids(&page), ["f1", "f2"]);
        assert_eq!(page.total, 5);
        assert_eq!(page.next.as_deref(), Some("f2"));
        let page = repo
            .list(
                &t,
                &FlowQuery {
                    after: page.next,
                    ..query(2)
                },
            )
            .unwrap();
        assert_eq!(ids(&page), ["f3", "f4"]);
        let page = repo
            .list(
                &t,
                &FlowQuery {
                    after: page.next,
                    ..query(2)
                },
            )
            .unwrap();
        assert_eq!(ids(&page), ["f5"]);
        assert_eq!(page.next, None);

        // Exactly a full last page has no next.
        let page = repo.list(&t, &query(5)).unwrap();
        assert_eq!(page.items.len(), 5);
        assert_eq!(page.next, None);

        let logins = FlowQuery {
            flow_type: Some(FlowType::Login),
            ..query(3)
        };
        let page = repo.list(&t, &logins).unwrap();
        assert_eq!(ids(&page), ["f1", "f2", "f4"]);
        assert_eq!(page.total, 4);
        assert_eq!(page.next.as_deref(), Some("f4"));
        let page = repo
            .list(
                &t,
                &FlowQuery {
                    after: Some("f4".into()),
                    ..logins
                },
            )
            .unwrap();
        assert_eq!(ids(&page), ["f5"]);
        assert_eq!(page.total, 4);

        let actives = FlowQuery {
            status: Some(flow_model::FlowStatus::Active),
            ..query(10)
        };
        let page = repo.list(&t, &actives).unwrap();
        assert_eq!(ids(&page), ["f4"]);
        assert_eq!(page.total, 1);

        // An `after` that is not an id still pages by order; an unknown tenant is empty.
        assert_eq!(
            ids(&repo
                .list(
                    &t,
                    &FlowQuery {
                        after: Some("f25".into()),
                        ..query(10)
                    }
                )
                .unwrap()),
            ["f3", "f4", "f5"]
        );
        let empty = repo.list(&TenantId::new("none"), &query(10)).unwrap();
        assert_eq!((empty.items.len(), empty.total, empty.next), (0, 0, None));
    }

    #[test]
    fn versions_are_write_once_and_deleted_with_their_flow() {
        let repo = MemoryFlowRepository::new();
        let t = TenantId::new("t");
        repo.create(&stored("t", "f1", "one", "login")).unwrap();
        repo.create(&stored("t", "f2", "two", "login")).unwrap();
        repo.save_version(&t, &version_of("f1", 2)).unwrap();
        repo.save_version(&t, &version_of("f1", 3)).unwrap();
        repo.save_version(&t, &version_of("f2", 2)).unwrap();
        assert_eq!(
            repo.save_version(&t, &version_of("f1", 2)),
            Err(PortError::Duplicate)
        );
        assert_eq!(
            repo.save_version(&t, &version_of("ghost", 2)),
            Err(PortError::NotFound)
        );
        assert_eq!(
            repo.save_version(&TenantId::new("x"), &version_of("f1", 4)),
            Err(PortError::NotFound)
        );
        assert_eq!(repo.version(&t, "f1", 3).unwrap().unwrap().version, 3);
        assert!(repo.version(&t, "f1", 4).unwrap().is_none());
        assert!(
            repo.version(&TenantId::new("x"), "f1", 3)
                .unwrap()
                .is_none()
        );

        assert!(repo.delete(&t, "f1").unwrap());
        assert!(!repo.delete(&t, "f1").unwrap());
        assert!(!repo.delete(&TenantId::new("x"), "f2").unwrap());
        assert!(repo.version(&t, "f1", 2).unwrap().is_none());
        assert_eq!(repo.version_count(), 1);
        assert!(repo.get_by_name(&t, "one").unwrap().is_none());
        // The name is free again.
        repo.create(&stored("t", "f9", "one", "login")).unwrap();
        assert!(repo.version(&t, "f9", 2).unwrap().is_none());
    }
}
