//! The [`UserDirectory`] contract: creation, per-tenant uniqueness, lookups, password hashes,
//! attribute merging, second factors, TOTP credentials and their once-only time steps.

use flow_engine::{
    CredentialKind, NewUser, PortError, TenantId, TotpCredential, TotpSecret, UserDirectory,
    UserId, UserQuery,
};
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
        disabled_at: None,
        password_changed_at: None,
    }
}

/// Listing: ordered by identifier, per tenant, by prefix (whose `_` and `%` match only
/// themselves), after a cursor, bounded.
pub(crate) fn list_pages_by_identifier<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
    other: &TenantId,
) {
    for (id, identifier) in [
        ("u3", "carol@example.com"),
        ("u1", "ann_b@example.com"),
        ("u2", "annxb@example.com"),
        ("u4", "bob"),
    ] {
        users
            .create(tenant, new_user(id, identifier, None))
            .unwrap();
    }
    users
        .create(other, new_user("o1", "ann_other@example.com", None))
        .unwrap();
    let identifiers = |query: UserQuery| -> Vec<String> {
        users
            .list(tenant, &query)
            .unwrap()
            .into_iter()
            .map(|user| user.identifier)
            .collect()
    };
    let all = UserQuery {
        limit: 10,
        ..UserQuery::default()
    };
    assert_eq!(
        identifiers(all.clone()),
        [
            "ann_b@example.com",
            "annxb@example.com",
            "bob",
            "carol@example.com"
        ]
    );
    let first_two = UserQuery {
        limit: 2,
        ..all.clone()
    };
    assert_eq!(
        identifiers(first_two.clone()),
        ["ann_b@example.com", "annxb@example.com"]
    );
    let next = UserQuery {
        after: Some("annxb@example.com".to_owned()),
        ..first_two
    };
    assert_eq!(identifiers(next), ["bob", "carol@example.com"]);
    let prefix = |text: &str| UserQuery {
        identifier_prefix: Some(text.to_owned()),
        ..all.clone()
    };
    assert_eq!(
        identifiers(prefix("ann")),
        ["ann_b@example.com", "annxb@example.com"]
    );
    assert_eq!(identifiers(prefix("ann_")), ["ann_b@example.com"]);
    assert_eq!(identifiers(prefix("%")), Vec::<String>::new());
    assert_eq!(identifiers(prefix("zed")), Vec::<String>::new());

    // By status and creation time (every user here was created at 1_700_000_000).
    users
        .set_disabled(tenant, &UserId::new("u4"), Some(1_700_000_500))
        .unwrap();
    let status = |disabled| UserQuery {
        disabled: Some(disabled),
        ..all.clone()
    };
    assert_eq!(identifiers(status(true)), ["bob"]);
    assert_eq!(
        identifiers(status(false)),
        [
            "ann_b@example.com",
            "annxb@example.com",
            "carol@example.com"
        ]
    );
    let created = |from, before| UserQuery {
        created_from: from,
        created_before: before,
        ..all.clone()
    };
    assert_eq!(identifiers(created(Some(1_700_000_000), None)).len(), 4);
    assert_eq!(identifiers(created(Some(1_700_000_001), None)).len(), 0);
    assert_eq!(identifiers(created(None, Some(1_700_000_000))).len(), 0);
    assert_eq!(identifiers(created(None, Some(1_700_000_001))).len(), 4);
}

/// Deleting a user removes it with its password and frees its identifier; another tenant's
/// user of the same id stays; a second delete is `NotFound`.
pub(crate) fn delete_removes_the_user<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
    other: &TenantId,
) {
    users
        .create(
            tenant,
            new_user("u1", "ada@example.com", Some("$argon2id$hash")),
        )
        .unwrap();
    users
        .create(other, new_user("u1", "ada@example.com", None))
        .unwrap();
    users.delete(tenant, &UserId::new("u1")).unwrap();
    assert_eq!(users.get(tenant, &UserId::new("u1")).unwrap(), None);
    assert_eq!(
        users.password_hash(tenant, &UserId::new("u1")).unwrap(),
        None
    );
    assert_eq!(
        users.find_by_identifier(tenant, "ada@example.com").unwrap(),
        None
    );
    assert!(users.get(other, &UserId::new("u1")).unwrap().is_some());
    assert_eq!(
        users.delete(tenant, &UserId::new("u1")),
        Err(PortError::NotFound)
    );
    // The identifier (and its look-alikes) can be taken again.
    users
        .create(tenant, new_user("u2", "ada@example.com", None))
        .unwrap();
}

/// Removing credentials: the password, the authenticator app (and `totp` from the second
/// factors, the others kept); a credential the user does not hold is `NotFound`.
pub(crate) fn remove_credentials<D: UserDirectory + ?Sized>(users: &D, tenant: &TenantId) {
    users
        .create(
            tenant,
            new_user("u1", "ada@example.com", Some("$argon2id$hash")),
        )
        .unwrap();
    let id = UserId::new("u1");
    users
        .set_totp_credential(tenant, &id, &credential(1, None))
        .unwrap();
    users.add_mfa_method(tenant, &id, "totp").unwrap();
    users.add_mfa_method(tenant, &id, "email_otp").unwrap();

    users
        .remove_credential(tenant, &id, CredentialKind::Password)
        .unwrap();
    assert_eq!(users.password_hash(tenant, &id).unwrap(), None);
    assert!(users.totp_credential(tenant, &id).unwrap().is_some());
    assert_eq!(
        users.remove_credential(tenant, &id, CredentialKind::Password),
        Err(PortError::NotFound)
    );

    users
        .remove_credential(tenant, &id, CredentialKind::Totp)
        .unwrap();
    assert_eq!(users.totp_credential(tenant, &id).unwrap(), None);
    assert_eq!(
        users.get(tenant, &id).unwrap().unwrap().mfa_methods,
        ["email_otp"]
    );
    assert_eq!(
        users.remove_credential(tenant, &id, CredentialKind::Totp),
        Err(PortError::NotFound)
    );
    assert_eq!(
        users.remove_credential(tenant, &UserId::new("ghost"), CredentialKind::Password),
        Err(PortError::NotFound)
    );
}

/// Disabling keeps the user (and its identifier) with the time it was disabled; enabling
/// clears it; an unknown user is `NotFound`.
pub(crate) fn disable_and_enable<D: UserDirectory + ?Sized>(users: &D, tenant: &TenantId) {
    users
        .create(
            tenant,
            new_user("u1", "ada@example.com", Some("$argon2id$hash")),
        )
        .unwrap();
    let id = UserId::new("u1");
    assert_eq!(users.get(tenant, &id).unwrap().unwrap().disabled_at, None);
    users
        .set_disabled(tenant, &id, Some(1_700_000_123))
        .unwrap();
    assert_eq!(
        users.get(tenant, &id).unwrap().unwrap().disabled_at,
        Some(1_700_000_123)
    );
    let found = users.find_by_identifier(tenant, "ada@example.com").unwrap();
    assert_eq!(found.unwrap().disabled_at, Some(1_700_000_123));
    assert_eq!(
        users.password_hash(tenant, &id).unwrap().as_deref(),
        Some("$argon2id$hash")
    );
    users.set_disabled(tenant, &id, None).unwrap();
    assert_eq!(users.get(tenant, &id).unwrap().unwrap().disabled_at, None);
    assert_eq!(
        users.set_disabled(tenant, &UserId::new("nobody"), Some(1)),
        Err(PortError::NotFound)
    );
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

/// Adding second factors: once each, in order, and only for an existing user.
pub(crate) fn mfa_methods_add<D: UserDirectory + ?Sized>(users: &D, tenant: &TenantId) {
    users
        .create(tenant, new_user("m1", "m1@example.com", None))
        .unwrap();
    let id = UserId::new("m1");
    users.add_mfa_method(tenant, &id, "totp").unwrap();
    users.add_mfa_method(tenant, &id, "webauthn").unwrap();
    users.add_mfa_method(tenant, &id, "totp").unwrap();
    assert_eq!(
        users.get(tenant, &id).unwrap().unwrap().mfa_methods,
        ["totp", "webauthn"]
    );
    assert_eq!(
        users.add_mfa_method(tenant, &UserId::new("ghost"), "totp"),
        Err(PortError::NotFound)
    );
}

fn credential(fill: u8, last_step: Option<u64>) -> TotpCredential {
    TotpCredential {
        secret: TotpSecret::from_bytes(vec![fill; 20]),
        digits: 6,
        period: 30,
        last_step,
        created_at: 1_700_000_000,
    }
}

/// TOTP credentials: stored as given, replaced (with their step), per user and tenant.
pub(crate) fn totp_credential_set_and_replace<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
    other: &TenantId,
) {
    users
        .create(tenant, new_user("t1", "t1@example.com", None))
        .unwrap();
    users
        .create(other, new_user("t1", "t1@example.com", None))
        .unwrap();
    let id = UserId::new("t1");
    assert_eq!(users.totp_credential(tenant, &id).unwrap(), None);
    let first = credential(1, None);
    users.set_totp_credential(tenant, &id, &first).unwrap();
    assert_eq!(users.totp_credential(tenant, &id).unwrap(), Some(first));
    assert_eq!(users.totp_credential(other, &id).unwrap(), None);

    let mut second = credential(2, Some(56_666_666));
    second.digits = 8;
    second.period = 60;
    users.set_totp_credential(tenant, &id, &second).unwrap();
    assert_eq!(users.totp_credential(tenant, &id).unwrap(), Some(second));

    assert_eq!(
        users.set_totp_credential(tenant, &UserId::new("ghost"), &credential(3, None)),
        Err(PortError::NotFound)
    );
    assert_eq!(
        users
            .totp_credential(tenant, &UserId::new("ghost"))
            .unwrap(),
        None
    );
}

/// A time step is accepted only when it is newer than the last accepted one; a user without
/// a credential accepts none; replacing the credential starts afresh.
pub(crate) fn totp_steps_move_forward<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
    other: &TenantId,
) {
    users
        .create(tenant, new_user("s1", "s1@example.com", None))
        .unwrap();
    let id = UserId::new("s1");
    assert!(!users.accept_totp_step(tenant, &id, 10).unwrap());
    users
        .set_totp_credential(tenant, &id, &credential(1, None))
        .unwrap();
    assert!(users.accept_totp_step(tenant, &id, 10).unwrap());
    assert!(!users.accept_totp_step(tenant, &id, 10).unwrap());
    assert!(!users.accept_totp_step(tenant, &id, 9).unwrap());
    assert!(users.accept_totp_step(tenant, &id, 11).unwrap());
    assert_eq!(
        users
            .totp_credential(tenant, &id)
            .unwrap()
            .unwrap()
            .last_step,
        Some(11)
    );
    // Another tenant's user of the same id has no credential.
    assert!(!users.accept_totp_step(other, &id, 12).unwrap());
    assert!(
        !users
            .accept_totp_step(tenant, &UserId::new("ghost"), 12)
            .unwrap()
    );
    // A credential stored with a used step refuses that step.
    users
        .set_totp_credential(tenant, &id, &credential(2, Some(20)))
        .unwrap();
    assert!(!users.accept_totp_step(tenant, &id, 20).unwrap());
    assert!(users.accept_totp_step(tenant, &id, 21).unwrap());
}

/// Of many threads accepting one time step at once, exactly one succeeds.
pub(crate) fn concurrent_totp_step_one_wins<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
) {
    users
        .create(tenant, new_user("c1", "c1@example.com", None))
        .unwrap();
    let id = UserId::new("c1");
    users
        .set_totp_credential(tenant, &id, &credential(1, Some(99)))
        .unwrap();
    let wins = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| users.accept_totp_step(tenant, &id, 100)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap().unwrap())
            .filter(|won| *won)
            .count()
    });
    assert_eq!(wins, 1);
}

/// An identifier whose confusable skeleton is another user's (a Cyrillic `а` for a Latin `a`,
/// in the local part or the domain) is refused like a duplicate, per tenant only; the
/// look-alike does not find the original.
pub(crate) fn look_alikes_are_taken<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
    other: &TenantId,
) {
    users
        .create(tenant, new_user("u1", "alice@example.com", None))
        .unwrap();
    let skeleton = flow_engine::identifier_skeleton("alice@example.com");
    assert!(users.skeleton_taken(tenant, &skeleton).unwrap());
    assert!(!users.skeleton_taken(other, &skeleton).unwrap());
    for (id, look_alike) in [
        ("u2", "\u{430}lice@example.com"),
        ("u3", "alice@ex\u{430}mple.com"),
    ] {
        assert_eq!(
            users.create(tenant, new_user(id, look_alike, None)),
            Err(PortError::Duplicate)
        );
        assert_eq!(users.find_by_identifier(tenant, look_alike).unwrap(), None);
    }
    users
        .create(other, new_user("u2", "\u{430}lice@example.com", None))
        .unwrap();
    users
        .create(tenant, new_user("u4", "bob@example.com", None))
        .unwrap();
}

/// `create_many` (an import): each user as `create` would, a taken identifier, look-alike or
/// id failing alone and writing nothing, the others written with their password and
/// disabled time.
pub(crate) fn create_many_fails_each_alone<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
) {
    users
        .create(tenant, new_user("m0", "taken@example.com", None))
        .unwrap();
    let mut disabled = new_user("m2", "dora@example.com", Some("$2b$06$hash"));
    disabled.disabled_at = Some(1_700_000_100);
    let outcomes = users
        .create_many(
            tenant,
            vec![
                new_user("m1", "ann@example.com", Some("$pbkdf2-sha256$i=1$x$y")),
                new_user("m9", "taken@example.com", Some("lost")),
                disabled,
                new_user("m0", "other@example.com", None),
                new_user("m3", "ann@example.com", None),
                new_user("m4", "t\u{0430}ken@example.com", None),
            ],
        )
        .unwrap();
    let codes: Vec<Result<&str, &PortError>> = outcomes
        .iter()
        .map(|outcome| outcome.as_ref().map(|user| user.id.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            Ok("m1"),
            Err(&PortError::Duplicate),
            Ok("m2"),
            Err(&PortError::Duplicate),
            Err(&PortError::Duplicate),
            Err(&PortError::Duplicate),
        ]
    );
    let hash = |id: &str| users.password_hash(tenant, &UserId::new(id)).unwrap();
    assert_eq!(hash("m1").as_deref(), Some("$pbkdf2-sha256$i=1$x$y"));
    assert_eq!(hash("m2").as_deref(), Some("$2b$06$hash"));
    assert_eq!(hash("m0"), None, "the refused line wrote no password");
    assert!(users.get(tenant, &UserId::new("m9")).unwrap().is_none());
    let dora = users.get(tenant, &UserId::new("m2")).unwrap().unwrap();
    assert_eq!(dora.disabled_at, Some(1_700_000_100));
    assert!(users.create_many(tenant, Vec::new()).unwrap().is_empty());
}

fn passkey(credential_id: &str, created_at: i64) -> flow_engine::StoredPasskey {
    flow_engine::StoredPasskey {
        credential_id: credential_id.to_owned(),
        name: format!("key {credential_id}"),
        data: format!("{{\"cred\":\"{credential_id}\"}}"),
        sign_count: 0,
        backup_eligible: true,
        backup_state: false,
        created_at,
        last_used_at: None,
    }
}

/// Passkeys: several per user, oldest first; a credential id belongs to one user of the
/// tenant and finds its owner; a use updates data, counter and backup state; removal is one
/// at a time; unknown users and passkeys are `NotFound`.
pub(crate) fn passkeys_are_kept_per_credential<D: UserDirectory + ?Sized>(
    users: &D,
    tenant: &TenantId,
    other: &TenantId,
) {
    let (ann, bob) = (UserId::new("pk-ann"), UserId::new("pk-bob"));
    users
        .create(tenant, new_user("pk-ann", "pk-ann@example.com", None))
        .unwrap();
    users
        .create(tenant, new_user("pk-bob", "pk-bob@example.com", None))
        .unwrap();
    users
        .create(other, new_user("pk-ann", "pk-ann@example.com", None))
        .unwrap();
    users
        .add_passkey(tenant, &ann, &passkey("cred-2", 20))
        .unwrap();
    users
        .add_passkey(tenant, &ann, &passkey("cred-1", 10))
        .unwrap();
    assert_eq!(
        users.add_passkey(tenant, &bob, &passkey("cred-1", 30)),
        Err(PortError::Duplicate)
    );
    // Another tenant may hold the same credential id.
    users
        .add_passkey(other, &ann, &passkey("cred-1", 30))
        .unwrap();
    assert_eq!(
        users.add_passkey(tenant, &UserId::new("nobody"), &passkey("cred-9", 1)),
        Err(PortError::NotFound)
    );
    let held = users.passkeys(tenant, &ann).unwrap();
    assert_eq!(held, vec![passkey("cred-1", 10), passkey("cred-2", 20)]);
    assert!(users.passkeys(tenant, &bob).unwrap().is_empty());
    assert_eq!(
        users.passkey_by_credential(tenant, "cred-2").unwrap(),
        Some((ann.clone(), passkey("cred-2", 20)))
    );
    assert_eq!(users.passkey_by_credential(tenant, "cred-9").unwrap(), None);

    let mut used = passkey("cred-1", 10);
    used.data = "{\"cred\":\"cred-1\",\"counter\":5}".to_owned();
    used.sign_count = 5;
    used.backup_state = true;
    used.last_used_at = Some(40);
    users.record_passkey_use(tenant, &ann, &used).unwrap();
    assert_eq!(users.passkeys(tenant, &ann).unwrap()[0], used);
    assert_eq!(
        users.record_passkey_use(tenant, &bob, &used),
        Err(PortError::NotFound)
    );

    users.remove_passkey(tenant, &ann, "cred-1").unwrap();
    assert_eq!(
        users.remove_passkey(tenant, &ann, "cred-1"),
        Err(PortError::NotFound)
    );
    assert_eq!(
        users.passkeys(tenant, &ann).unwrap(),
        vec![passkey("cred-2", 20)]
    );
    assert_eq!(users.passkeys(other, &ann).unwrap().len(), 1);
}
