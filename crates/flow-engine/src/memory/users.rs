//! The in-memory user directory, with unique identifier and skeleton indexes per tenant.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::federation::{IdentityLink, IdentityLinks};
use crate::ports::UserDirectory;
use crate::{
    NewUser, PortError, TenantId, TotpCredential, User, UserId, UserQuery, identifier_skeleton,
    lock,
};

#[derive(Debug, Clone)]
struct UserRow {
    user: User,
    password_hash: Option<String>,
    totp: Option<TotpCredential>,
    passkeys: Vec<crate::StoredPasskey>,
    links: Vec<IdentityLink>,
}

#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<(TenantId, UserId), UserRow>,
    by_identifier: HashMap<(TenantId, String), UserId>,
    /// Confusable skeletons ([`identifier_skeleton`]) of the identifiers, per tenant.
    by_skeleton: HashMap<(TenantId, String), UserId>,
    /// Identity-provider links: (tenant, provider, subject) to the user.
    by_link: HashMap<(TenantId, String, String), UserId>,
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

    fn list(&self, tenant: &TenantId, query: &UserQuery) -> Result<Vec<User>, PortError> {
        let users = lock(&self.users);
        let mut found: Vec<User> = users
            .by_id
            .iter()
            .filter(|((owner, _), _)| owner == tenant)
            .map(|(_, row)| &row.user)
            .filter(|user| {
                query
                    .identifier_prefix
                    .as_deref()
                    .is_none_or(|prefix| user.identifier.starts_with(prefix))
                    && query
                        .after
                        .as_deref()
                        .is_none_or(|after| user.identifier.as_str() > after)
                    && query
                        .disabled
                        .is_none_or(|disabled| user.disabled_at.is_some() == disabled)
                    && query
                        .created_from
                        .is_none_or(|from| user.created_at >= from)
                    && query
                        .created_before
                        .is_none_or(|before| user.created_at < before)
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        found.truncate(query.limit);
        Ok(found)
    }

    fn remove_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
        kind: crate::CredentialKind,
    ) -> Result<(), PortError> {
        let mut removed = false;
        self.update(tenant, id, |row| match kind {
            crate::CredentialKind::Password => removed = row.password_hash.take().is_some(),
            crate::CredentialKind::Passkey => {
                removed = !row.passkeys.is_empty();
                row.passkeys.clear();
            }
            crate::CredentialKind::Totp => {
                removed = row.totp.take().is_some();
                row.user
                    .mfa_methods
                    .retain(|method| method != kind.as_str());
            }
        })?;
        if removed {
            Ok(())
        } else {
            Err(PortError::NotFound)
        }
    }

    fn set_disabled(
        &self,
        tenant: &TenantId,
        id: &UserId,
        disabled_at: Option<i64>,
    ) -> Result<(), PortError> {
        self.update(tenant, id, |row| row.user.disabled_at = disabled_at)
    }

    fn add_passkey(
        &self,
        tenant: &TenantId,
        id: &UserId,
        passkey: &crate::StoredPasskey,
    ) -> Result<(), PortError> {
        let mut users = lock(&self.users);
        let taken = users.by_id.iter().any(|((owner, _), row)| {
            owner == tenant
                && row
                    .passkeys
                    .iter()
                    .any(|held| held.credential_id == passkey.credential_id)
        });
        if taken {
            return Err(PortError::Duplicate);
        }
        let row = users
            .by_id
            .get_mut(&(tenant.clone(), id.clone()))
            .ok_or(PortError::NotFound)?;
        row.passkeys.push(passkey.clone());
        Ok(())
    }

    fn passkeys(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Vec<crate::StoredPasskey>, PortError> {
        Ok(lock(&self.users)
            .by_id
            .get(&(tenant.clone(), id.clone()))
            .map(|row| {
                let mut held = row.passkeys.clone();
                held.sort_by(|a, b| {
                    (a.created_at, &a.credential_id).cmp(&(b.created_at, &b.credential_id))
                });
                held
            })
            .unwrap_or_default())
    }

    fn passkey_by_credential(
        &self,
        tenant: &TenantId,
        credential_id: &str,
    ) -> Result<Option<(UserId, crate::StoredPasskey)>, PortError> {
        Ok(lock(&self.users)
            .by_id
            .iter()
            .filter(|((owner, _), _)| owner == tenant)
            .find_map(|((_, user), row)| {
                row.passkeys
                    .iter()
                    .find(|held| held.credential_id == credential_id)
                    .map(|held| (user.clone(), held.clone()))
            }))
    }

    fn record_passkey_use(
        &self,
        tenant: &TenantId,
        id: &UserId,
        used: &crate::StoredPasskey,
    ) -> Result<(), PortError> {
        let mut found = false;
        self.update(tenant, id, |row| {
            if let Some(held) = row
                .passkeys
                .iter_mut()
                .find(|held| held.credential_id == used.credential_id)
            {
                held.record_use(used);
                found = true;
            }
        })?;
        if found {
            Ok(())
        } else {
            Err(PortError::NotFound)
        }
    }

    fn remove_passkey(
        &self,
        tenant: &TenantId,
        id: &UserId,
        credential_id: &str,
    ) -> Result<(), PortError> {
        let mut removed = false;
        self.update(tenant, id, |row| {
            let before = row.passkeys.len();
            row.passkeys
                .retain(|held| held.credential_id != credential_id);
            removed = row.passkeys.len() < before;
        })?;
        if removed {
            Ok(())
        } else {
            Err(PortError::NotFound)
        }
    }

    fn mark_password_changed(
        &self,
        tenant: &TenantId,
        id: &UserId,
        at: i64,
    ) -> Result<(), PortError> {
        self.update(tenant, id, |row| row.user.password_changed_at = Some(at))
    }

    fn delete(&self, tenant: &TenantId, id: &UserId) -> Result<(), PortError> {
        let mut users = lock(&self.users);
        let row = users
            .by_id
            .remove(&(tenant.clone(), id.clone()))
            .ok_or(PortError::NotFound)?;
        for link in row.links {
            users
                .by_link
                .remove(&(tenant.clone(), link.provider, link.subject));
        }
        let identifier = row.user.identifier;
        users
            .by_skeleton
            .remove(&(tenant.clone(), identifier_skeleton(&identifier)));
        users.by_identifier.remove(&(tenant.clone(), identifier));
        Ok(())
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
            disabled_at: new.disabled_at,
            password_changed_at: new.password_changed_at,
        };
        users.by_skeleton.insert(skeleton_key, new.id.clone());
        users.by_identifier.insert(identifier_key, new.id);
        users.by_id.insert(
            id_key,
            UserRow {
                user: user.clone(),
                password_hash: new.password_hash,
                totp: None,
                passkeys: Vec::new(),
                links: Vec::new(),
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

impl IdentityLinks for MemoryUserDirectory {
    fn linked_user(
        &self,
        tenant: &TenantId,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserId>, PortError> {
        Ok(lock(&self.users)
            .by_link
            .get(&(tenant.clone(), provider.to_owned(), subject.to_owned()))
            .cloned())
    }

    fn link(&self, tenant: &TenantId, user: &UserId, link: &IdentityLink) -> Result<(), PortError> {
        let mut users = lock(&self.users);
        let key = (tenant.clone(), link.provider.clone(), link.subject.clone());
        if users.by_link.contains_key(&key) {
            return Err(PortError::Duplicate);
        }
        let row = users
            .by_id
            .get_mut(&(tenant.clone(), user.clone()))
            .ok_or(PortError::NotFound)?;
        row.links.push(link.clone());
        users.by_link.insert(key, user.clone());
        Ok(())
    }

    fn links(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<IdentityLink>, PortError> {
        let users = lock(&self.users);
        let mut links = users
            .by_id
            .get(&(tenant.clone(), user.clone()))
            .map(|row| row.links.clone())
            .unwrap_or_default();
        links.sort_by(|a, b| a.provider.cmp(&b.provider).then(a.subject.cmp(&b.subject)));
        Ok(links)
    }

    fn unlink(&self, tenant: &TenantId, user: &UserId, provider: &str) -> Result<(), PortError> {
        let mut users = lock(&self.users);
        let row = users
            .by_id
            .get_mut(&(tenant.clone(), user.clone()))
            .ok_or(PortError::NotFound)?;
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut row.links)
            .into_iter()
            .partition(|link| link.provider == provider);
        row.links = kept;
        if gone.is_empty() {
            return Err(PortError::NotFound);
        }
        for link in gone {
            users
                .by_link
                .remove(&(tenant.clone(), link.provider, link.subject));
        }
        Ok(())
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
            disabled_at: None,
            password_changed_at: None,
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
}
