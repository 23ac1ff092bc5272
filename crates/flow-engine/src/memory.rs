//! In-memory implementations of every port (`Mutex<HashMap>`), for embedders, tests and
//! single-process deployments that can lose their state on restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::ports::{
    Clock, CodeCheck, CodeStore, ExecutionStore, Mailer, OsRandom, OutgoingMessage, Ports,
    SmsSender, StoredCode, SystemClock, UserDirectory,
};
use crate::{Execution, ExecutionId, NewUser, PortError, TenantId, User, UserId, lock};

/// Executions in a map; compare-and-swap under the map's lock.
#[derive(Debug, Default)]
pub struct MemoryExecutionStore {
    executions: Mutex<HashMap<ExecutionId, Execution>>,
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
    fn insert(&self, execution: &Execution) -> Result<(), PortError> {
        let mut executions = lock(&self.executions);
        if executions.contains_key(&execution.id) {
            return Err(PortError::Duplicate);
        }
        executions.insert(execution.id, execution.clone());
        Ok(())
    }

    fn load(&self, id: &ExecutionId) -> Result<Option<Execution>, PortError> {
        Ok(lock(&self.executions).get(id).cloned())
    }

    fn save(&self, execution: &Execution, expected_revision: u64) -> Result<(), PortError> {
        let mut executions = lock(&self.executions);
        let stored = executions
            .get_mut(&execution.id)
            .ok_or(PortError::NotFound)?;
        if stored.revision != expected_revision {
            return Err(PortError::Conflict);
        }
        *stored = execution.clone();
        Ok(())
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        let mut executions = lock(&self.executions);
        let before = executions.len();
        executions.retain(|_, execution| execution.expires_at > now_secs);
        Ok(before - executions.len())
    }
}

#[derive(Debug, Clone)]
struct UserRow {
    user: User,
    password_hash: Option<String>,
}

#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<(TenantId, UserId), UserRow>,
    by_identifier: HashMap<(TenantId, String), UserId>,
}

/// Users per tenant, with a unique identifier index.
#[derive(Debug, Default)]
pub struct MemoryUserDirectory {
    users: Mutex<Users>,
}

impl MemoryUserDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces a user's enrolled second factors (for tests and seeding, until MFA setup
    /// flows can do it).
    pub fn set_mfa_methods(
        &self,
        tenant: &TenantId,
        id: &UserId,
        methods: Vec<String>,
    ) -> Result<(), PortError> {
        let mut users = lock(&self.users);
        let row = users
            .by_id
            .get_mut(&(tenant.clone(), id.clone()))
            .ok_or(PortError::NotFound)?;
        row.user.mfa_methods = methods;
        Ok(())
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
        if users.by_identifier.contains_key(&identifier_key) || users.by_id.contains_key(&id_key) {
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
        users.by_identifier.insert(identifier_key, new.id);
        users.by_id.insert(
            id_key,
            UserRow {
                user: user.clone(),
                password_hash: new.password_hash,
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
        let mut users = lock(&self.users);
        let row = users
            .by_id
            .get_mut(&(tenant.clone(), id.clone()))
            .ok_or(PortError::NotFound)?;
        row.password_hash = Some(hash.to_owned());
        Ok(())
    }

    fn set_attributes(
        &self,
        tenant: &TenantId,
        id: &UserId,
        attributes: &Map<String, Value>,
    ) -> Result<(), PortError> {
        let mut users = lock(&self.users);
        let row = users
            .by_id
            .get_mut(&(tenant.clone(), id.clone()))
            .ok_or(PortError::NotFound)?;
        for (key, value) in attributes {
            if value.is_null() {
                row.user.attributes.shift_remove(key);
            } else {
                row.user.attributes.insert(key.clone(), value.clone());
            }
        }
        Ok(())
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
    /// The outbox that serves as mailer and SMS sender.
    pub outbox: Arc<MemoryOutbox>,
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
            outbox: Arc::new(MemoryOutbox::new()),
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

    /// The engine's view of these ports (with [`OsRandom`]).
    pub fn ports(&self) -> Ports {
        let clock: Arc<dyn Clock> = match &self.clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        Ports {
            executions: self.executions.clone(),
            users: self.users.clone(),
            codes: self.codes.clone(),
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

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_millis(5_000);
        assert_eq!(clock.now_secs(), 5);
        clock.advance_secs(10);
        assert_eq!(clock.now_millis(), 15_000);
    }
}
