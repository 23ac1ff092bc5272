//! The [`InvitationStore`] contract: invitations per tenant, found by id and by code hash,
//! consumed exactly once and only while pending, released, listed newest first, revoked.

use flow_engine::{
    Invitation, InvitationId, InvitationState, InvitationStore, PortError, TenantId,
};

fn invitation(id: &str, email: &str, hash: &str, created_at: i64) -> Invitation {
    Invitation {
        id: InvitationId::new(id),
        email: email.to_owned(),
        code_hash: hash.to_owned(),
        created_at,
        expires_at: created_at + 1000,
        used_at: None,
        revoked_at: None,
    }
}

/// Stored invitations come back by id and by code hash, in their tenant only; ids and code
/// hashes are unique per tenant.
pub(crate) fn insert_and_find<S: InvitationStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
    other: &TenantId,
) {
    let ada = invitation("inv_a", "ada@example.com", "hash-a", 100);
    store.insert_invitation(tenant, &ada).unwrap();
    assert_eq!(
        store.invitation(tenant, &ada.id).unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        store.invitation_by_code(tenant, "hash-a").unwrap(),
        Some(ada.clone())
    );
    assert_eq!(store.invitation_by_code(tenant, "hash-x").unwrap(), None);
    assert_eq!(store.invitation(other, &ada.id).unwrap(), None);
    assert_eq!(store.invitation_by_code(other, "hash-a").unwrap(), None);
    assert_eq!(
        store.insert_invitation(tenant, &invitation("inv_a", "b@example.com", "hash-b", 1)),
        Err(PortError::Duplicate)
    );
    assert_eq!(
        store.insert_invitation(tenant, &invitation("inv_b", "b@example.com", "hash-a", 1)),
        Err(PortError::Duplicate)
    );
    // The same id and hash in another tenant are another invitation.
    store.insert_invitation(other, &ada).unwrap();
    assert_eq!(store.invitations(other).unwrap(), [ada]);
}

/// Consuming succeeds once, only before the expiry and never after a revocation; a release
/// makes the invitation pending again.
pub(crate) fn consume_once_while_pending<S: InvitationStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
) {
    let first = invitation("inv_1", "a@example.com", "h1", 100);
    store.insert_invitation(tenant, &first).unwrap();
    assert!(store.consume_invitation(tenant, &first.id, 150).unwrap());
    assert!(!store.consume_invitation(tenant, &first.id, 151).unwrap());
    let used = store.invitation(tenant, &first.id).unwrap().unwrap();
    assert_eq!(used.used_at, Some(150));
    assert_eq!(used.state(151), InvitationState::Used);
    store.release_invitation(tenant, &first.id).unwrap();
    assert_eq!(
        store
            .invitation(tenant, &first.id)
            .unwrap()
            .unwrap()
            .state(152),
        InvitationState::Pending
    );
    assert!(store.consume_invitation(tenant, &first.id, 152).unwrap());

    let expiring = invitation("inv_2", "b@example.com", "h2", 100);
    store.insert_invitation(tenant, &expiring).unwrap();
    assert!(
        !store
            .consume_invitation(tenant, &expiring.id, expiring.expires_at)
            .unwrap()
    );
    assert_eq!(
        store
            .invitation(tenant, &expiring.id)
            .unwrap()
            .unwrap()
            .used_at,
        None
    );
    assert!(
        !store
            .consume_invitation(tenant, &InvitationId::new("inv_none"), 100)
            .unwrap()
    );
    assert_eq!(
        store.release_invitation(tenant, &InvitationId::new("inv_none")),
        Err(PortError::NotFound)
    );
}

/// Revoking marks a pending invitation once, leaves a used one as it is, and refuses an
/// unknown id; listing is newest first.
pub(crate) fn revoke_and_list<S: InvitationStore + ?Sized>(store: &S, tenant: &TenantId) {
    assert_eq!(store.invitations(tenant).unwrap(), Vec::new());
    let old = invitation("inv_old", "old@example.com", "ho", 100);
    let new = invitation("inv_new", "new@example.com", "hn", 200);
    let tied = invitation("inv_tied", "tied@example.com", "ht", 200);
    for each in [&old, &new, &tied] {
        store.insert_invitation(tenant, each).unwrap();
    }
    let ids: Vec<String> = store
        .invitations(tenant)
        .unwrap()
        .into_iter()
        .map(|each| each.id.to_string())
        .collect();
    assert_eq!(ids, ["inv_tied", "inv_new", "inv_old"]);

    store.revoke_invitation(tenant, &old.id, 300).unwrap();
    store.revoke_invitation(tenant, &old.id, 400).unwrap();
    let revoked = store.invitation(tenant, &old.id).unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(300));
    assert!(!store.consume_invitation(tenant, &old.id, 301).unwrap());

    assert!(store.consume_invitation(tenant, &new.id, 250).unwrap());
    store.revoke_invitation(tenant, &new.id, 260).unwrap();
    let used = store.invitation(tenant, &new.id).unwrap().unwrap();
    assert_eq!((used.used_at, used.revoked_at), (Some(250), None));

    assert_eq!(
        store.revoke_invitation(tenant, &InvitationId::new("inv_none"), 1),
        Err(PortError::NotFound)
    );
}

/// Of many threads consuming one invitation at once, exactly one succeeds.
pub(crate) fn concurrent_consumers_one_wins<S: InvitationStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
) {
    let contested = invitation("inv_race", "race@example.com", "hr", 100);
    store.insert_invitation(tenant, &contested).unwrap();
    let wins = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| store.consume_invitation(tenant, &contested.id, 150)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap().unwrap())
            .filter(|won| *won)
            .count()
    });
    assert_eq!(wins, 1);
}
