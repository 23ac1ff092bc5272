//! In-memory implementations of every port (`Mutex<HashMap>`), for embedders, tests and
//! single-process deployments that can lose their state on restart.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use flow_model::FlowType;
use serde_json::{Map, Value};

use crate::ports::{
    Clock, CodeCheck, CodeStore, ExecutionStore, FailedLogins, Invitation, InvitationId,
    InvitationState, InvitationStore, KeyStore, LoginAttempts, Mailer, OsRandom, OutgoingMessage,
    Ports, SmsSender, StoredCode, StoredKey, SystemClock, UserDirectory,
};
use crate::{
    Execution, ExecutionId, FlowCatalog, FlowPage, FlowQuery, FlowRepository, FlowVersion,
    MAX_TRACE_ENTRIES, NewUser, PortError, StoredFlow, TenantId, TotpCredential, TraceEntry, User,
    UserId, identifier_skeleton, lock,
};

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

#[derive(Debug, Clone)]
struct UserRow {
    user: User,
    password_hash: Option<String>,
    totp: Option<TotpCredential>,
}

#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<(TenantId, UserId), UserRow>,
    by_identifier: HashMap<(TenantId, String), UserId>,
    /// Confusable skeletons ([`identifier_skeleton`]) of the identifiers, per tenant.
    by_skeleton: HashMap<(TenantId, String), UserId>,
}

/// Users per tenant, with a unique identifier index and a unique index of the identifiers'
/// confusable skeletons (a look-alike of an identifier is taken like the identifier itself).
#[derive(Debug, Default)]
pub struct MemoryUserDirectory {
    users: Mutex<Users>,
}

impl MemoryUserDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes the row of user `id` in `tenant`; [`PortError::NotFound`] if there is none.
    fn update(
        &self,
        tenant: &TenantId,
        id: &UserId,
        change: impl FnOnce(&mut UserRow),
    ) -> Result<(), PortError> {
        let mut users = lock(&self.users);
        let row = users
            .by_id
            .get_mut(&(tenant.clone(), id.clone()))
            .ok_or(PortError::NotFound)?;
        change(row);
        Ok(())
    }

    /// Replaces a user's enrolled second factors (for tests and seeding; flows add them with
    /// [`UserDirectory::add_mfa_method`]).
    pub fn set_mfa_methods(
        &self,
        tenant: &TenantId,
        id: &UserId,
        methods: Vec<String>,
    ) -> Result<(), PortError> {
        self.update(tenant, id, |row| {
            row.user.mfa_methods = methods;
        })
    }
}

impl UserDirectory for MemoryUserDirectory {
    fn find_by_identifier(
        &self,
        tenant: &TenantId,
        identifier: &str,
    ) -> Result<Option<User>, PortError> {
        let users = lock(&self.users);
        Ok(users
            .by_identifier
            .get(&(tenant.clone(), identifier.to_owned()))
            .and_then(|id| users.by_id.get(&(tenant.clone(), id.clone())))
            .map(|row| row.user.clone()))
    }

    fn skeleton_taken(&self, tenant: &TenantId, skeleton: &str) -> Result<bool, PortError> {
        Ok(lock(&self.users)
            .by_skeleton
            .contains_key(&(tenant.clone(), skeleton.to_owned())))
    }

    fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError> {
        Ok(lock(&self.users)
            .by_id
            .get(&(tenant.clone(), id.clone()))
            .map(|row| row.user.clone()))
    }

    fn create(&self, tenant: &TenantId, new: NewUser) -> Result<User, PortError> {
        let mut users = lock(&self.users);
        let identifier_key = (tenant.clone(), new.identifier.clone());
        let id_key = (tenant.clone(), new.id.clone());
        let skeleton_key = (tenant.clone(), identifier_skeleton(&new.identifier));
        if users.by_identifier.contains_key(&identifier_key)
            || users.by_skeleton.contains_key(&skeleton_key)
            || users.by_id.contains_key(&id_key)
        {
            return Err(PortError::Duplicate);
        }
        let user = User {
            id: new.id.clone(),
            tenant: tenant.clone(),
            identifier: new.identifier,
            attributes: new.attributes,
            mfa_methods: Vec::new(),
            created_at: new.created_at,
        };
        users.by_skeleton.insert(skeleton_key, new.id.clone());
        users.by_identifier.insert(identifier_key, new.id);
        users.by_id.insert(
            id_key,
            UserRow {
                user: user.clone(),
                password_hash: new.password_hash,
                totp: None,
            },
        );
        Ok(user)
    }

    fn password_hash(&self, tenant: &TenantId, id: &UserId) -> Result<Option<String>, PortError> {
        Ok(lock(&self.users)
            .by_id
            .get(&(tenant.clone(), id.clone()))
            .and_then(|row| row.password_hash.clone()))
    }

    fn set_password_hash(
        &self,
        tenant: &TenantId,
        id: &UserId,
        hash: &str,
    ) -> Result<(), PortError> {
        self.update(tenant, id, |row| {
            row.password_hash = Some(hash.to_owned());
        })
    }

    fn set_attributes(
        &self,
        tenant: &TenantId,
        id: &UserId,
        attributes: &Map<String, Value>,
    ) -> Result<(), PortError> {
        self.update(tenant, id, |row| {
            for (key, value) in attributes {
                if value.is_null() {
                    row.user.attributes.shift_remove(key);
                } else {
                    row.user.attributes.insert(key.clone(), value.clone());
                }
            }
        })
    }

    fn add_mfa_method(
        &self,
        tenant: &TenantId,
        id: &UserId,
        method: &str,
    ) -> Result<(), PortError> {
        self.update(tenant, id, |row| {
            if !row.user.mfa_methods.iter().any(|known| known == method) {
                row.user.mfa_methods.push(method.to_owned());
            }
        })
    }

    fn totp_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Option<TotpCredential>, PortError> {
        Ok(lock(&self.users)
            .by_id
            .get(&(tenant.clone(), id.clone()))
            .and_then(|row| row.totp.clone()))
    }

    fn set_totp_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
        credential: &TotpCredential,
    ) -> Result<(), PortError> {
        self.update(tenant, id, |row| {
            row.totp = Some(credential.clone());
        })
    }

    fn accept_totp_step(
        &self,
        tenant: &TenantId,
        id: &UserId,
        step: u64,
    ) -> Result<bool, PortError> {
        let mut users = lock(&self.users);
        let Some(credential) = users
            .by_id
            .get_mut(&(tenant.clone(), id.clone()))
            .and_then(|row| row.totp.as_mut())
        else {
            return Ok(false);
        };
        if credential.last_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        credential.last_step = Some(step);
        Ok(true)
    }
}

/// One-time codes in a map, checked atomically under its lock.
#[derive(Debug, Default)]
pub struct MemoryCodeStore {
    codes: Mutex<HashMap<(TenantId, String), StoredCode>>,
}

impl MemoryCodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl CodeStore for MemoryCodeStore {
    fn put(&self, tenant: &TenantId, key: &str, code: StoredCode) -> Result<(), PortError> {
        lock(&self.codes).insert((tenant.clone(), key.to_owned()), code);
        Ok(())
    }

    fn verify(
        &self,
        tenant: &TenantId,
        key: &str,
        now_secs: i64,
        matches: &dyn Fn(&StoredCode) -> bool,
    ) -> Result<CodeCheck, PortError> {
        let mut codes = lock(&self.codes);
        let map_key = (tenant.clone(), key.to_owned());
        let Some(stored) = codes.get_mut(&map_key) else {
            return Ok(CodeCheck::Missing);
        };
        if stored.expires_at <= now_secs {
            codes.remove(&map_key);
            return Ok(CodeCheck::Expired);
        }
        if matches(stored) {
            codes.remove(&map_key);
            return Ok(CodeCheck::Valid);
        }
        stored.attempts_left = stored.attempts_left.saturating_sub(1);
        let attempts_left = stored.attempts_left;
        if attempts_left == 0 {
            codes.remove(&map_key);
        }
        Ok(CodeCheck::Invalid { attempts_left })
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        let mut codes = lock(&self.codes);
        let before = codes.len();
        codes.retain(|_, code| code.expires_at > now_secs);
        Ok(before - codes.len())
    }
}

/// Invitations in a map; consuming is checked and done under its lock.
#[derive(Debug, Default)]
pub struct MemoryInvitationStore {
    invitations: Mutex<HashMap<TenantId, Vec<Invitation>>>,
}

impl MemoryInvitationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        change: impl FnOnce(&mut Invitation) -> T,
    ) -> Result<T, PortError> {
        let mut tenants = lock(&self.invitations);
        tenants
            .get_mut(tenant)
            .and_then(|list| list.iter_mut().find(|invitation| &invitation.id == id))
            .map(change)
            .ok_or(PortError::NotFound)
    }
}

impl InvitationStore for MemoryInvitationStore {
    fn insert_invitation(
        &self,
        tenant: &TenantId,
        invitation: &Invitation,
    ) -> Result<(), PortError> {
        let mut tenants = lock(&self.invitations);
        let list = tenants.entry(tenant.clone()).or_default();
        if list.iter().any(|existing| {
            existing.id == invitation.id || existing.code_hash == invitation.code_hash
        }) {
            return Err(PortError::Duplicate);
        }
        list.push(invitation.clone());
        Ok(())
    }

    fn invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, PortError> {
        match self.with(tenant, id, |invitation| invitation.clone()) {
            Ok(invitation) => Ok(Some(invitation)),
            Err(PortError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn invitation_by_code(
        &self,
        tenant: &TenantId,
        code_hash: &str,
    ) -> Result<Option<Invitation>, PortError> {
        Ok(lock(&self.invitations).get(tenant).and_then(|list| {
            list.iter()
                .find(|invitation| invitation.code_hash == code_hash)
                .cloned()
        }))
    }

    fn consume_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<bool, PortError> {
        match self.with(tenant, id, |invitation| {
            let pending = invitation.state(now_secs) == InvitationState::Pending;
            if pending {
                invitation.used_at = Some(now_secs);
            }
            pending
        }) {
            Err(PortError::NotFound) => Ok(false),
            other => other,
        }
    }

    fn release_invitation(&self, tenant: &TenantId, id: &InvitationId) -> Result<(), PortError> {
        self.with(tenant, id, |invitation| invitation.used_at = None)
    }

    fn invitations(&self, tenant: &TenantId) -> Result<Vec<Invitation>, PortError> {
        let mut list = lock(&self.invitations)
            .get(tenant)
            .cloned()
            .unwrap_or_default();
        list.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(list)
    }

    fn revoke_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<(), PortError> {
        self.with(tenant, id, |invitation| {
            if invitation.used_at.is_none() && invitation.revoked_at.is_none() {
                invitation.revoked_at = Some(now_secs);
            }
        })
    }
}

/// The failed sign-ins of one user.
#[derive(Debug, Clone, Copy)]
struct FailureRow {
    count: u32,
    window_ends_at: i64,
    locked_until: Option<i64>,
}

/// Failed sign-ins per user in a map, counted under its lock (per process only: replicas
/// that must share the limit need a shared store).
#[derive(Debug, Default)]
pub struct MemoryLoginAttempts {
    rows: Mutex<HashMap<(TenantId, UserId), FailureRow>>,
}

impl MemoryLoginAttempts {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many users have a record.
    pub fn len(&self) -> usize {
        lock(&self.rows).len()
    }

    /// Whether no user has a record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl LoginAttempts for MemoryLoginAttempts {
    fn record_failure(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
        window_secs: i64,
    ) -> Result<u32, PortError> {
        let mut rows = lock(&self.rows);
        let fresh = FailureRow {
            count: 1,
            window_ends_at: now_secs.saturating_add(window_secs),
            locked_until: None,
        };
        let row = rows
            .entry((tenant.clone(), user.clone()))
            .and_modify(|row| {
                if row.window_ends_at <= now_secs {
                    row.count = 1;
                    row.window_ends_at = fresh.window_ends_at;
                } else {
                    row.count = row.count.saturating_add(1);
                }
            })
            .or_insert(fresh);
        Ok(row.count)
    }

    fn lock(&self, tenant: &TenantId, user: &UserId, until_secs: i64) -> Result<(), PortError> {
        let mut rows = lock(&self.rows);
        let row = rows
            .entry((tenant.clone(), user.clone()))
            .or_insert(FailureRow {
                count: 0,
                window_ends_at: until_secs,
                locked_until: None,
            });
        row.locked_until = Some(until_secs);
        row.window_ends_at = until_secs;
        Ok(())
    }

    fn failed_logins(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
    ) -> Result<Option<FailedLogins>, PortError> {
        Ok(lock(&self.rows)
            .get(&(tenant.clone(), user.clone()))
            .map(|row| FailedLogins {
                count: if row.window_ends_at > now_secs {
                    row.count
                } else {
                    0
                },
                locked_until: row.locked_until.filter(|until| *until > now_secs),
            }))
    }

    fn reset(&self, tenant: &TenantId, user: &UserId) -> Result<(), PortError> {
        lock(&self.rows).remove(&(tenant.clone(), user.clone()));
        Ok(())
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        let mut rows = lock(&self.rows);
        let before = rows.len();
        rows.retain(|_, row| {
            row.window_ends_at > now_secs || row.locked_until.is_some_and(|until| until > now_secs)
        });
        Ok(before - rows.len())
    }
}

/// Signing keys per tenant, in the order they were added (lost on restart: a deployment that
/// signs tokens across restarts or replicas needs a persistent store).
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    keys: Mutex<HashMap<TenantId, Vec<StoredKey>>>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KeyStore for MemoryKeyStore {
    fn keys(&self, tenant: &TenantId) -> Result<Vec<StoredKey>, PortError> {
        Ok(lock(&self.keys).get(tenant).cloned().unwrap_or_default())
    }

    fn add(&self, tenant: &TenantId, key: StoredKey) -> Result<(), PortError> {
        let mut tenants = lock(&self.keys);
        let keys = tenants.entry(tenant.clone()).or_default();
        if keys.iter().any(|existing| existing.kid == key.kid) {
            return Err(PortError::Duplicate);
        }
        keys.push(key);
        Ok(())
    }
}

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

/// A mailer (and SMS sender) that keeps every message in an outbox, for tests and demos.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    sent: Mutex<Vec<OutgoingMessage>>,
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn messages(&self) -> Vec<OutgoingMessage> {
        lock(&self.sent).clone()
    }

    /// The most recent message sent to `to`.
    pub fn last_to(&self, to: &str) -> Option<OutgoingMessage> {
        lock(&self.sent)
            .iter()
            .rev()
            .find(|message| message.to == to)
            .cloned()
    }
}

impl Mailer for MemoryOutbox {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}

impl SmsSender for MemoryOutbox {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `millis` (Unix milliseconds).
    pub fn at_millis(millis: i64) -> Self {
        Self {
            millis: AtomicI64::new(millis),
        }
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.millis
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.millis.load(Ordering::SeqCst)
    }
}

/// The memory ports with typed handles, so tests can look into the outbox or move the clock.
#[derive(Debug, Clone)]
pub struct MemoryPorts {
    /// The execution store.
    pub executions: Arc<MemoryExecutionStore>,
    /// The user directory.
    pub users: Arc<MemoryUserDirectory>,
    /// The code store.
    pub codes: Arc<MemoryCodeStore>,
    /// The invitation store.
    pub invitations: Arc<MemoryInvitationStore>,
    /// The failed sign-ins per user.
    pub login_attempts: Arc<MemoryLoginAttempts>,
    /// The outbox that serves as mailer and SMS sender.
    pub outbox: Arc<MemoryOutbox>,
    /// The flow repository: the [`FlowCatalog`] of [`MemoryPorts::catalog`] manages flows in
    /// it, and the engine finds the programs of executions there.
    pub flows: Arc<MemoryFlowRepository>,
    /// The signing keys (not part of [`Ports`]: protocol adapters sign tokens, the engine
    /// does not).
    pub keys: Arc<MemoryKeyStore>,
    /// The manual clock, when built with [`MemoryPorts::with_manual_clock`].
    pub clock: Option<Arc<ManualClock>>,
}

impl MemoryPorts {
    /// Memory ports with the system clock.
    pub fn new() -> Self {
        Self {
            executions: Arc::new(MemoryExecutionStore::new()),
            users: Arc::new(MemoryUserDirectory::new()),
            codes: Arc::new(MemoryCodeStore::new()),
            invitations: Arc::new(MemoryInvitationStore::new()),
            login_attempts: Arc::new(MemoryLoginAttempts::new()),
            outbox: Arc::new(MemoryOutbox::new()),
            flows: Arc::new(MemoryFlowRepository::new()),
            keys: Arc::new(MemoryKeyStore::new()),
            clock: None,
        }
    }

    /// Memory ports with a [`ManualClock`] standing at `millis`.
    pub fn with_manual_clock(millis: i64) -> Self {
        Self {
            clock: Some(Arc::new(ManualClock::at_millis(millis))),
            ..Self::new()
        }
    }

    /// The clock these ports use: the manual clock if there is one, else the system clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        match &self.clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        }
    }

    /// A [`FlowCatalog`] over [`MemoryPorts::flows`], with this clock and [`OsRandom`].
    pub fn catalog(&self) -> FlowCatalog {
        FlowCatalog::new(self.flows.clone(), self.clock(), Arc::new(OsRandom))
    }

    /// The engine's view of these ports (with [`OsRandom`]).
    pub fn ports(&self) -> Ports {
        let clock = self.clock();
        Ports {
            executions: self.executions.clone(),
            flows: self.flows.clone(),
            users: self.users.clone(),
            codes: self.codes.clone(),
            invitations: self.invitations.clone(),
            login_attempts: self.login_attempts.clone(),
            mailer: self.outbox.clone(),
            sms: Some(self.outbox.clone()),
            clock,
            random: Arc::new(OsRandom),
        }
    }
}

impl Default for MemoryPorts {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn new_user(id: &str, identifier: &str) -> NewUser {
        NewUser {
            id: UserId::new(id),
            identifier: identifier.to_owned(),
            password_hash: None,
            attributes: Map::new(),
            created_at: 0,
        }
    }

    #[test]
    fn identifiers_are_unique_per_tenant_only() {
        let users = MemoryUserDirectory::new();
        let a = TenantId::new("a");
        let b = TenantId::new("b");
        users.create(&a, new_user("1", "x@example.com")).unwrap();
        assert_eq!(
            users.create(&a, new_user("2", "x@example.com")),
            Err(PortError::Duplicate)
        );
        users.create(&b, new_user("2", "x@example.com")).unwrap();
        assert!(
            users
                .find_by_identifier(&a, "x@example.com")
                .unwrap()
                .is_some()
        );
        assert!(users.get(&b, &UserId::new("1")).unwrap().is_none());
    }

    #[test]
    fn attributes_merge_and_null_removes() {
        let users = MemoryUserDirectory::new();
        let t = TenantId::default();
        users.create(&t, new_user("1", "u")).unwrap();
        let mut set = Map::new();
        set.insert("a".into(), Value::from(1));
        set.insert("b".into(), Value::from(2));
        users.set_attributes(&t, &UserId::new("1"), &set).unwrap();
        let mut unset = Map::new();
        unset.insert("a".into(), Value::Null);
        users.set_attributes(&t, &UserId::new("1"), &unset).unwrap();
        let user = users.get(&t, &UserId::new("1")).unwrap().unwrap();
        assert_eq!(user.attributes.get("a"), None);
        assert_eq!(user.attributes.get("b"), Some(&Value::from(2)));
    }

    #[test]
    fn codes_are_consumed_spent_and_expire() {
        let codes = MemoryCodeStore::new();
        let t = TenantId::default();
        let stored = |attempts_left| StoredCode {
            hash: "h".into(),
            expires_at: 100,
            attempts_left,
        };
        codes.put(&t, "k", stored(2)).unwrap();
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| false).unwrap(),
            CodeCheck::Invalid { attempts_left: 1 }
        );
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| false).unwrap(),
            CodeCheck::Invalid { attempts_left: 0 }
        );
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| true).unwrap(),
            CodeCheck::Missing
        );
        codes.put(&t, "k", stored(2)).unwrap();
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| true).unwrap(),
            CodeCheck::Valid
        );
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| true).unwrap(),
            CodeCheck::Missing
        );
        codes.put(&t, "k", stored(2)).unwrap();
        assert_eq!(
            codes.verify(&t, "k", 100, &|_| true).unwrap(),
            CodeCheck::Expired
        );
    }

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

    fn key(kid: &str, created_at: i64) -> StoredKey {
        StoredKey {
            kid: kid.to_owned(),
            algorithm: "EdDSA".to_owned(),
            private_pkcs8_der: vec![0x30, 0x2e, 0x42],
            created_at,
        }
    }

    #[test]
    fn keys_keep_their_order_and_kids_are_unique_per_tenant() {
        let keys = MemoryKeyStore::new();
        let a = TenantId::new("a");
        let b = TenantId::new("b");
        assert!(keys.keys(&a).unwrap().is_empty());
        keys.add(&a, key("k2", 5)).unwrap();
        keys.add(&a, key("k1", 5)).unwrap();
        assert_eq!(keys.add(&a, key("k1", 9)), Err(PortError::Duplicate));
        keys.add(&b, key("k1", 1)).unwrap();
        assert_eq!(keys.keys(&a).unwrap(), [key("k2", 5), key("k1", 5)]);
        assert_eq!(keys.keys(&b).unwrap(), [key("k1", 1)]);
        let shown = format!("{:?}", key("k1", 5));
        assert!(
            shown.contains("k1") && !shown.contains("private"),
            "{shown}"
        );
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_millis(5_000);
        assert_eq!(clock.now_secs(), 5);
        clock.advance_secs(10);
        assert_eq!(clock.now_millis(), 15_000);
    }

    #[test]
    fn login_failures_count_per_window_lock_and_reset() {
        let store = MemoryLoginAttempts::new();
        let (tenant, other) = (TenantId::new("t"), TenantId::new("u"));
        let user = UserId::new("ada");
        assert_eq!(store.failed_logins(&tenant, &user, 0).unwrap(), None);
        assert_eq!(store.record_failure(&tenant, &user, 100, 60).unwrap(), 1);
        assert_eq!(store.record_failure(&tenant, &user, 159, 60).unwrap(), 2);
        assert_eq!(store.record_failure(&other, &user, 159, 60).unwrap(), 1);
        // The window ran from 100 to 160: the next failure starts a new one.
        assert_eq!(store.record_failure(&tenant, &user, 160, 60).unwrap(), 1);
        store.lock(&tenant, &user, 500).unwrap();
        let seen = |now| store.failed_logins(&tenant, &user, now).unwrap().unwrap();
        assert_eq!(seen(499).locked_until, Some(500));
        assert_eq!(seen(499).count, 1);
        assert_eq!(
            seen(500),
            FailedLogins {
                count: 0,
                locked_until: None
            }
        );
        // Counting starts afresh after the lock.
        assert_eq!(store.record_failure(&tenant, &user, 500, 60).unwrap(), 1);
        assert_eq!(store.delete_expired(559).unwrap(), 1);
        assert_eq!(store.delete_expired(560).unwrap(), 1);
        assert!(store.is_empty());
        store.record_failure(&tenant, &user, 0, 60).unwrap();
        store.reset(&tenant, &user).unwrap();
        assert_eq!(store.failed_logins(&tenant, &user, 0).unwrap(), None);
    }
}
