//! The users' links to accounts at identity providers (social login), as administrators see
//! and remove them; and the event of an administrator's change to the providers themselves.

use crate::federation::IdentityLink;
use crate::{EventKind, PortError, TenantId, UserId};

use super::{AccountError, Accounts};

impl Accounts {
    /// The user's links to provider accounts, by provider.
    pub fn identity_links(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Vec<IdentityLink>, AccountError> {
        self.get(tenant, id)?;
        Ok(self.engine.ports().identity_links.links(tenant, id)?)
    }

    /// Removes the user's link to `provider`: a sign-in with that provider account no longer
    /// finds the user (a later one links again only as a first sign-in would).
    /// [`AccountError::IdentityLinkNotFound`] if the user has none.
    pub fn remove_identity_link(
        &self,
        tenant: &TenantId,
        id: &UserId,
        provider: &str,
    ) -> Result<(), AccountError> {
        let user = self.get(tenant, id)?;
        match self
            .engine
            .ports()
            .identity_links
            .unlink(tenant, id, provider)
        {
            Err(PortError::NotFound) => return Err(AccountError::IdentityLinkNotFound),
            other => other?,
        }
        self.log(
            tenant,
            EventKind::Admin,
            "identity_link_removed",
            Some(&user),
        );
        Ok(())
    }

    /// Logs an administrator's change to the tenant's identity providers: `action` is
    /// `identity_provider_created`, `identity_provider_replaced` or
    /// `identity_provider_deleted`.
    pub fn log_identity_provider_change(&self, tenant: &TenantId, action: &str) {
        self.log(tenant, EventKind::Admin, action, None);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use serde_json::Map;

    use super::*;
    use crate::memory::MemoryPorts;
    use crate::{Engine, EngineConfig, EventQuery, HashParams, NewAccount};

    fn accounts() -> (Accounts, Arc<Engine>) {
        let ports = MemoryPorts::new();
        let config = EngineConfig {
            hash: HashParams {
                m_cost: 8,
                t_cost: 1,
                p_cost: 1,
            },
            ..EngineConfig::recommended()
        };
        let engine = Arc::new(Engine::new(config, ports.ports()).unwrap());
        (Accounts::new(engine.clone()), engine)
    }

    fn link(provider: &str, subject: &str) -> IdentityLink {
        IdentityLink {
            provider: provider.to_owned(),
            subject: subject.to_owned(),
            email: Some("ann@example.com".to_owned()),
            linked_at: 1_700_000_000,
        }
    }

    #[test]
    fn links_are_listed_and_removed_one_provider_at_a_time() {
        let (accounts, engine) = accounts();
        let tenant = TenantId::default();
        let ann = accounts
            .create(
                &tenant,
                NewAccount {
                    identifier: "ann@example.com".to_owned(),
                    password: None,
                    attributes: Map::new(),
                },
            )
            .unwrap();
        assert_eq!(accounts.identity_links(&tenant, &ann.id).unwrap(), vec![]);
        let links = &engine.ports().identity_links;
        links
            .link(&tenant, &ann.id, &link("google", "g-1"))
            .unwrap();
        links.link(&tenant, &ann.id, &link("github", "42")).unwrap();

        let listed = accounts.identity_links(&tenant, &ann.id).unwrap();
        let providers: Vec<_> = listed.iter().map(|l| l.provider.as_str()).collect();
        assert_eq!(providers, ["github", "google"]);
        assert_eq!(listed[1], link("google", "g-1"));

        accounts
            .remove_identity_link(&tenant, &ann.id, "google")
            .unwrap();
        assert_eq!(
            accounts.identity_links(&tenant, &ann.id).unwrap(),
            vec![link("github", "42")]
        );
        // The provider account is free again: it no longer finds Ann.
        assert_eq!(links.linked_user(&tenant, "google", "g-1").unwrap(), None);
        assert_eq!(
            accounts.remove_identity_link(&tenant, &ann.id, "google"),
            Err(AccountError::IdentityLinkNotFound)
        );
        assert_eq!(
            AccountError::IdentityLinkNotFound.code(),
            "identity_link_not_found"
        );

        let nobody = UserId::new("nobody");
        assert_eq!(
            accounts.identity_links(&tenant, &nobody),
            Err(AccountError::NotFound)
        );
        assert_eq!(
            accounts.remove_identity_link(&tenant, &nobody, "github"),
            Err(AccountError::NotFound)
        );

        accounts.log_identity_provider_change(&tenant, "identity_provider_created");
        let query = EventQuery {
            limit: 10,
            ..EventQuery::default()
        };
        let (events, _) = accounts.events(&tenant, query).unwrap();
        let reasons: Vec<_> = events.iter().filter_map(|e| e.reason.as_deref()).collect();
        assert!(reasons.contains(&"identity_link_removed"), "{reasons:?}");
        assert!(
            reasons.contains(&"identity_provider_created"),
            "{reasons:?}"
        );
    }
}
