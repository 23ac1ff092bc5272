//! The [`UserDirectory`] contract: creation, per-tenant uniqueness, lookups, password hashes,
//! attribute merging.

use flow_engine::{NewUser, PortError, TenantId, UserDirectory, UserId};
use serde_json::{Map, Value, json};

fn new_user(id: &str, identifier: &str, password: Option<&str>) -> NewUser {
    let mut attributes = Map::new();
    attributes.insert("email".to_owned(), json!(identifier));
    attributes.insert("given_name".to_owned(), json!("Ada"));
    NewUser {
        id: UserId::new(id),
        identifier: identifier.to_owned(),
        password_hash: password.map(str::to_owned),
        attributes,
        created_at: 1_700_000_000,
    }
}

/// Create and find; identifiers (and ids) are unique per tenant, not globally.
pub(crate) fn create_and_find<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
    other: &TenantId,
) {
    let created = users
        .create(
            tenant,
            new_user("u1", "ada@example.com", Some("$argon2id$hash")),
        )
        .unwrap();
    assert_eq!(created.id, UserId::new("u1"));
    assert_eq!(&created.tenant, tenant);
    assert!(created.mfa_methods.is_empty());

    let found = users
        .find_by_identifier(tenant, "ada@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(found, created);
    assert_eq!(
        users.get(tenant, &UserId::new("u1")).unwrap(),
        Some(created)
    );

    // The same identifier, or the same id, again in the tenant: duplicate.
    assert_eq!(
        users.create(tenant, new_user("u2", "ada@example.com", None)),
        Err(PortError::Duplicate)
    );
    assert_eq!(
        users.create(tenant, new_user("u1", "other@example.com", None)),
        Err(PortError::Duplicate)
    );
    // The failed create left nothing behind.
    assert_eq!(
        users
            .find_by_identifier(tenant, "other@example.com")
            .unwrap(),
        None
    );

    // Another tenant may hold the same identifier and id.
    let twin = users
        .create(other, new_user("u1", "ada@example.com", None))
        .unwrap();
    assert_eq!(&twin.tenant, other);
    assert_eq!(
        users.password_hash(other, &UserId::new("u1")).unwrap(),
        None
    );
    assert_eq!(
        users.password_hash(tenant, &UserId::new("u1")).unwrap(),
        Some("$argon2id$hash".to_owned())
    );

    // Lookups never cross tenants or miss by case.
    assert_eq!(
        users
            .find_by_identifier(tenant, "nobody@example.com")
            .unwrap(),
        None
    );
    assert_eq!(users.get(tenant, &UserId::new("u9")).unwrap(), None);
    assert_eq!(
        users
            .find_by_identifier(&TenantId::new(format!("{tenant}-none")), "ada@example.com")
            .unwrap(),
        None
    );
}

/// Setting a password hash, with and without an earlier one.
pub(crate) fn password_hash<D: UserDirectory + ?Sized>(users: &D, tenant: &TenantId) {
    users
        .create(tenant, new_user("p1", "p1@example.com", None))
        .unwrap();
    let id = UserId::new("p1");
    assert_eq!(users.password_hash(tenant, &id).unwrap(), None);
    users
        .set_password_hash(tenant, &id, "$argon2id$first")
        .unwrap();
    assert_eq!(
        users.password_hash(tenant, &id).unwrap(),
        Some("$argon2id$first".to_owned())
    );
    users
        .set_password_hash(tenant, &id, "$argon2id$second")
        .unwrap();
    assert_eq!(
        users.password_hash(tenant, &id).unwrap(),
        Some("$argon2id$second".to_owned())
    );
    assert_eq!(
        users.set_password_hash(tenant, &UserId::new("ghost"), "$argon2id$x"),
        Err(PortError::NotFound)
    );
    assert_eq!(
        users.password_hash(tenant, &UserId::new("ghost")).unwrap(),
        None
    );
}

/// Attributes merge: new keys added, existing replaced, `null` removes, others kept.
pub(crate) fn attributes_merge<D: UserDirectory + ?Sized>(users: &D, tenant: &TenantId) {
    users
        .create(tenant, new_user("a1", "a1@example.com", None))
        .unwrap();
    let id = UserId::new("a1");
    let mut change = Map::new();
    change.insert("given_name".to_owned(), json!("Grace"));
    change.insert("email".to_owned(), Value::Null);
    change.insert("prefs".to_owned(), json!({ "theme": "dark", "n": [1, 2] }));
    users.set_attributes(tenant, &id, &change).unwrap();
    let user = users.get(tenant, &id).unwrap().unwrap();
    let mut expected = Map::new();
    expected.insert("given_name".to_owned(), json!("Grace"));
    expected.insert("prefs".to_owned(), json!({ "theme": "dark", "n": [1, 2] }));
    assert_eq!(user.attributes, expected);
    assert_eq!(
        users.set_attributes(tenant, &UserId::new("ghost"), &change),
        Err(PortError::NotFound)
    );
}
