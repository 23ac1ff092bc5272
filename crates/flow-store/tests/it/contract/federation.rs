//! The [`IdentityProviderStore`] and [`IdentityLinks`] contracts: providers per tenant,
//! created then replaced, listed by id, deleted; links of users to provider accounts, one user
//! per account (also under concurrency), listed by provider and subject, removed per provider
//! and with their user; a corrupt stored record is an error.

use flow_engine::{
    IdentityLink, IdentityLinks, IdentityProvider, IdentityProviderStore, NewUser, PortError,
    ProviderProtocol, TenantId, UserDirectory, UserId,
};
use serde_json::Map;

use crate::support::Backend;

fn new_user(id: &str) -> NewUser {
    NewUser {
        id: UserId::new(id),
        identifier: format!("{id}@example.com"),
        password_hash: None,
        attributes: Map::new(),
        created_at: 1_700_000_000,
        disabled_at: None,
        password_changed_at: None,
    }
}

fn link(provider: &str, subject: &str, at: i64) -> IdentityLink {
    IdentityLink {
        provider: provider.to_owned(),
        subject: subject.to_owned(),
        email: Some(format!("{subject}@{provider}.example")),
        linked_at: at,
    }
}

fn ids(providers: &[IdentityProvider]) -> Vec<&str> {
    providers
        .iter()
        .map(|provider| provider.id.as_str())
        .collect()
}

/// `put` creates (`true`) then replaces (`false`); `get` and `list` see a tenant's own
/// providers only, listed by id; `delete` removes one and refuses an unknown id.
pub(crate) fn providers_put_get_list_delete<S: IdentityProviderStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
    other: &TenantId,
) {
    assert_eq!(store.list(tenant).unwrap(), Vec::new());
    assert_eq!(store.get(tenant, "google").unwrap(), None);

    let mut google = IdentityProvider::preset("google").unwrap();
    google.client_id = "client-g".to_owned();
    google.client_secret = Some("secret-g".to_owned());
    google
        .claims
        .attributes
        .insert("given".into(), "given_name".into());
    assert!(store.put(tenant, &google).unwrap());
    assert_eq!(store.get(tenant, "google").unwrap(), Some(google.clone()));

    google.display_name = "Google Workspace".to_owned();
    google.client_secret = None;
    google.promoted = true;
    assert!(!store.put(tenant, &google).unwrap());
    assert_eq!(store.get(tenant, "google").unwrap(), Some(google.clone()));
    assert_eq!(store.list(tenant).unwrap(), [google.clone()]);

    // Listed by id (byte order: `-` before `:` and letters, so `a-b` after `a`, before `ab`).
    let github = IdentityProvider::preset("github").unwrap();
    let plain = |id: &str| IdentityProvider::new(id, ProviderProtocol::Oauth2, "c");
    for provider in [&plain("ab"), &github, &plain("a-b"), &plain("a")] {
        assert!(store.put(tenant, provider).unwrap());
    }
    assert_eq!(
        ids(&store.list(tenant).unwrap()),
        ["a", "a-b", "ab", "github", "google"]
    );

    // Another tenant sees none of them, and has its own with the same id.
    assert_eq!(store.list(other).unwrap(), Vec::new());
    assert_eq!(store.get(other, "google").unwrap(), None);
    assert_eq!(store.delete(other, "google"), Err(PortError::NotFound));
    let theirs = plain("google");
    assert!(store.put(other, &theirs).unwrap());
    assert_eq!(store.list(other).unwrap(), std::slice::from_ref(&theirs));
    assert_eq!(store.get(tenant, "google").unwrap(), Some(google));

    store.delete(tenant, "google").unwrap();
    assert_eq!(store.get(tenant, "google").unwrap(), None);
    assert_eq!(store.delete(tenant, "google"), Err(PortError::NotFound));
    assert_eq!(
        ids(&store.list(tenant).unwrap()),
        ["a", "a-b", "ab", "github"]
    );
    assert_eq!(store.get(other, "google").unwrap(), Some(theirs));
}

/// Links find their user per tenant; an account is linked to one user at most; a missing
/// user cannot be linked; the same subject at two providers is two links; `links` is by
/// provider then subject; `unlink` removes all the user's links to a provider.
pub(crate) fn links_find_list_and_unlink<U, L>(
    users: &U,
    links: &L,
    tenant: &TenantId,
    other: &TenantId,
) where
    U: UserDirectory + ?Sized,
    L: IdentityLinks + ?Sized,
{
    let (ada, bob) = (UserId::new("u_ada"), UserId::new("u_bob"));
    users.create(tenant, new_user("u_ada")).unwrap();
    users.create(tenant, new_user("u_bob")).unwrap();
    assert_eq!(links.linked_user(tenant, "google", "42").unwrap(), None);
    assert_eq!(links.links(tenant, &ada).unwrap(), Vec::new());

    links
        .link(tenant, &ada, &link("google", "42", 100))
        .unwrap();
    assert_eq!(
        links.linked_user(tenant, "google", "42").unwrap(),
        Some(ada.clone())
    );
    // Taken, whoever asks.
    assert_eq!(
        links.link(tenant, &bob, &link("google", "42", 101)),
        Err(PortError::Duplicate)
    );
    assert_eq!(
        links.link(tenant, &ada, &link("google", "42", 101)),
        Err(PortError::Duplicate)
    );
    assert_eq!(
        links.link(tenant, &UserId::new("u_none"), &link("google", "7", 101)),
        Err(PortError::NotFound)
    );
    assert_eq!(links.linked_user(tenant, "google", "7").unwrap(), None);

    // The same subject at another provider is another account.
    links
        .link(tenant, &bob, &link("github", "42", 102))
        .unwrap();
    assert_eq!(
        links.linked_user(tenant, "github", "42").unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        links.linked_user(tenant, "google", "42").unwrap(),
        Some(ada.clone())
    );
    // Subjects may hold `:` (provider ids never do).
    links.link(tenant, &ada, &link("a", "b:c", 103)).unwrap();
    assert_eq!(links.linked_user(tenant, "a", "b").unwrap(), None);
    assert_eq!(
        links.linked_user(tenant, "a", "b:c").unwrap(),
        Some(ada.clone())
    );
    links.link(tenant, &ada, &link("a-b", "1", 104)).unwrap();
    links.link(tenant, &ada, &link("google", "0", 105)).unwrap();
    assert_eq!(
        links.links(tenant, &ada).unwrap(),
        [
            link("a", "b:c", 103),
            link("a-b", "1", 104),
            link("google", "0", 105),
            link("google", "42", 100),
        ]
    );
    assert_eq!(
        links.links(tenant, &bob).unwrap(),
        [link("github", "42", 102)]
    );

    // Another tenant sees none of it, and links the same account to its own user.
    assert_eq!(links.linked_user(other, "google", "42").unwrap(), None);
    assert_eq!(links.links(other, &ada).unwrap(), Vec::new());
    assert_eq!(
        links.unlink(other, &ada, "google"),
        Err(PortError::NotFound)
    );
    assert_eq!(
        links.link(other, &ada, &link("google", "42", 106)),
        Err(PortError::NotFound)
    );
    users.create(other, new_user("u_ada")).unwrap();
    links.link(other, &ada, &link("google", "42", 106)).unwrap();
    assert_eq!(
        links.links(other, &ada).unwrap(),
        [link("google", "42", 106)]
    );

    // Unlinking removes every link of the user to that provider, and only those.
    links.unlink(tenant, &ada, "google").unwrap();
    assert_eq!(links.linked_user(tenant, "google", "42").unwrap(), None);
    assert_eq!(links.linked_user(tenant, "google", "0").unwrap(), None);
    assert_eq!(
        links.links(tenant, &ada).unwrap(),
        [link("a", "b:c", 103), link("a-b", "1", 104)]
    );
    assert_eq!(
        links.unlink(tenant, &ada, "google"),
        Err(PortError::NotFound)
    );
    assert_eq!(
        links.unlink(tenant, &bob, "google"),
        Err(PortError::NotFound)
    );
    assert_eq!(
        links.unlink(tenant, &UserId::new("u_none"), "github"),
        Err(PortError::NotFound)
    );
    links.unlink(tenant, &ada, "a").unwrap();
    assert_eq!(links.links(tenant, &ada).unwrap(), [link("a-b", "1", 104)]);
    assert_eq!(
        links.linked_user(other, "google", "42").unwrap(),
        Some(ada.clone())
    );
    // A freed account can be linked again, to anyone.
    links
        .link(tenant, &bob, &link("google", "42", 107))
        .unwrap();
    assert_eq!(
        links.linked_user(tenant, "google", "42").unwrap(),
        Some(bob)
    );
}

/// A user's deletion removes its links (the account is free again); a provider's deletion
/// leaves the links to it.
pub(crate) fn links_go_with_their_user(backend: &Backend) {
    let (users, links, tenant) = (&*backend.users, &*backend.identity_links, &backend.tenant);
    let ada = UserId::new("u_ada");
    users.create(tenant, new_user("u_ada")).unwrap();
    users.create(tenant, new_user("u_bob")).unwrap();
    let github = IdentityProvider::preset("github").unwrap();
    backend.identity_providers.put(tenant, &github).unwrap();
    links.link(tenant, &ada, &link("github", "1", 100)).unwrap();
    links.link(tenant, &ada, &link("google", "1", 100)).unwrap();

    backend.identity_providers.delete(tenant, "github").unwrap();
    assert_eq!(
        links.linked_user(tenant, "github", "1").unwrap(),
        Some(ada.clone())
    );

    users.delete(tenant, &ada).unwrap();
    assert_eq!(links.linked_user(tenant, "github", "1").unwrap(), None);
    assert_eq!(links.linked_user(tenant, "google", "1").unwrap(), None);
    assert_eq!(links.links(tenant, &ada).unwrap(), Vec::new());
    let bob = UserId::new("u_bob");
    links.link(tenant, &bob, &link("github", "1", 101)).unwrap();
    assert_eq!(links.linked_user(tenant, "github", "1").unwrap(), Some(bob));
    // A new user with the deleted one's id starts without links.
    users.create(tenant, new_user("u_ada")).unwrap();
    assert_eq!(links.links(tenant, &ada).unwrap(), Vec::new());
}

/// Of many users linking one provider account at once, exactly one gets it; the others get
/// [`PortError::Duplicate`].
pub(crate) fn concurrent_links_one_wins<U, L>(users: &U, links: &L, tenant: &TenantId)
where
    U: UserDirectory + ?Sized,
    L: IdentityLinks + ?Sized,
{
    let ids: Vec<UserId> = (0..8).map(|n| UserId::new(format!("u_{n}"))).collect();
    for id in &ids {
        users.create(tenant, new_user(id.as_str())).unwrap();
    }
    let results: Vec<Result<(), PortError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| scope.spawn(move || links.link(tenant, id, &link("google", "race", 100))))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let winners: Vec<&UserId> = ids
        .iter()
        .zip(&results)
        .filter(|(_, result)| result.is_ok())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|result| matches!(result, Ok(()) | Err(PortError::Duplicate))),
        "{results:?}"
    );
    assert_eq!(
        links
            .linked_user(tenant, "google", "race")
            .unwrap()
            .as_ref(),
        Some(winners[0])
    );
}

/// A stored provider or link in a format this version does not know, or that does not
/// decode, is [`PortError::Corrupt`], not a panic and not a wrong answer. Only on SQL backends
/// a raw connection reaches (the memory adapters store no records to spoil).
pub(crate) fn corrupt_records_are_errors(backend: &Backend) {
    let tenant = &backend.tenant;
    let ada = UserId::new("u_ada");
    let providers = &*backend.identity_providers;
    providers
        .put(tenant, &IdentityProvider::preset("google").unwrap())
        .unwrap();
    providers
        .put(tenant, &IdentityProvider::preset("github").unwrap())
        .unwrap();
    backend.users.create(tenant, new_user("u_ada")).unwrap();
    backend
        .identity_links
        .link(tenant, &ada, &link("google", "1", 100))
        .unwrap();
    let t = tenant.as_str();
    let Some(changed) = backend.raw_sql(&format!(
        "UPDATE identity_providers SET settings_format = 9 \
         WHERE tenant_id = '{t}' AND id = 'google'"
    )) else {
        return;
    };
    assert_eq!(changed, 1);
    let got = providers.get(tenant, "google");
    assert!(corrupt_naming(&got, "google"), "{got:?}");
    let listed = providers.list(tenant);
    assert!(corrupt_naming(&listed, "google"), "{listed:?}");
    // The sound record still reads; a spoiled one can be replaced.
    assert!(providers.get(tenant, "github").unwrap().is_some());
    let replacement = IdentityProvider::preset("google").unwrap();
    assert!(!providers.put(tenant, &replacement).unwrap());
    assert_eq!(providers.get(tenant, "google").unwrap(), Some(replacement));

    let spoil = |statement: &str| backend.raw_sql(statement).unwrap();
    assert_eq!(
        spoil(&format!(
            "UPDATE identity_providers SET settings = '{{\"id\": 1' \
             WHERE tenant_id = '{t}' AND id = 'github'"
        )),
        1
    );
    let got = providers.get(tenant, "github");
    assert!(corrupt_naming(&got, "github"), "{got:?}");

    assert_eq!(
        spoil(&format!(
            "UPDATE credentials SET secret_format = 9 \
             WHERE tenant_id = '{t}' AND kind = 'federated'"
        )),
        1
    );
    let listed = backend.identity_links.links(tenant, &ada);
    assert!(corrupt_naming(&listed, "google:1"), "{listed:?}");
    // Finding the user reads no secret.
    assert_eq!(
        backend
            .identity_links
            .linked_user(tenant, "google", "1")
            .unwrap(),
        Some(ada)
    );
}

/// Whether `result` is [`PortError::Corrupt`] and names `record`.
fn corrupt_naming<T>(result: &Result<T, PortError>, record: &str) -> bool {
    matches!(result, Err(PortError::Corrupt(text)) if text.contains(record))
}
