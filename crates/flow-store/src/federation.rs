//! [`IdentityProviderStore`] and [`IdentityLinks`] on SQL: `identity_providers` (each
//! provider as versioned JSON, per tenant) and the `credentials` rows of kind `federated`, one
//! per link, with `credential_id` `{provider}:{subject}`. A partial unique index on
//! `(tenant_id, kind, credential_id)` keeps a provider account linked to one user at most,
//! also against two concurrent links; a user's deletion cascades to its links.

use diesel::prelude::*;
use flow_engine::{
    IdentityLink, IdentityLinks, IdentityProvider, IdentityProviderStore, PortError, TenantId,
    UserId,
};

use crate::db::Fail;
use crate::schema::{credentials, identity_providers, users};
use crate::{Database, now_secs};

/// The format of `identity_providers.settings`: the JSON of [`IdentityProvider`].
const PROVIDER_FORMAT: i32 = 1;
/// `credentials.kind` of links to provider accounts.
const KIND_FEDERATED: &str = "federated";
/// The format of a link's `credentials.secret`: the JSON of [`IdentityLink`].
const LINK_FORMAT: i32 = 1;

/// A row of `identity_providers`. No `Debug`: the settings hold the client secret.
#[derive(Queryable, Selectable)]
#[diesel(table_name = identity_providers)]
struct ProviderRow {
    id: String,
    settings_format: i32,
    settings: String,
}

impl TryFrom<ProviderRow> for IdentityProvider {
    type Error = Fail;

    fn try_from(row: ProviderRow) -> Result<Self, Fail> {
        if row.settings_format != PROVIDER_FORMAT {
            return Err(Fail::corrupt(
                &format!("unsupported format of identity provider {:?}", row.id),
                row.settings_format,
            ));
        }
        let provider: Self = serde_json::from_str(&row.settings).map_err(|error| {
            Fail::corrupt(
                &format!("cannot decode identity provider {:?}", row.id),
                error,
            )
        })?;
        if provider.id != row.id {
            return Err(Fail::corrupt(
                &format!("identity provider {:?}", row.id),
                format_args!("its settings name {:?}", provider.id),
            ));
        }
        Ok(provider)
    }
}

/// The columns of a link's `credentials` row that [`IdentityLinks`] reads.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = credentials)]
struct LinkRow {
    credential_id: String,
    secret_format: i32,
    secret: String,
}

impl TryFrom<LinkRow> for IdentityLink {
    type Error = Fail;

    fn try_from(row: LinkRow) -> Result<Self, Fail> {
        if row.secret_format != LINK_FORMAT {
            return Err(Fail::corrupt(
                &format!(
                    "unsupported format of identity link {:?}",
                    row.credential_id
                ),
                row.secret_format,
            ));
        }
        serde_json::from_str(&row.secret).map_err(|error| {
            Fail::corrupt(
                &format!("cannot decode identity link {:?}", row.credential_id),
                error,
            )
        })
    }
}

/// The `credential_id` of the link to `subject` at `provider` (provider ids never contain
/// `:`, so the first `:` ends the provider).
fn link_id(provider: &str, subject: &str) -> String {
    format!("{provider}:{subject}")
}

/// The provider of a link's `credential_id`.
fn provider_of(credential_id: &str) -> &str {
    credential_id
        .split_once(':')
        .map_or(credential_id, |(provider, _)| provider)
}

impl IdentityProviderStore for Database {
    fn list(&self, tenant: &TenantId) -> Result<Vec<IdentityProvider>, PortError> {
        let mut providers = self.read(|conn| {
            identity_providers::table
                .filter(identity_providers::tenant_id.eq(tenant.as_str()))
                .select(ProviderRow::as_select())
                .load(conn)?
                .into_iter()
                .map(IdentityProvider::try_from)
                .collect::<Result<Vec<_>, Fail>>()
        })?;
        // By id in byte order, whatever the database's collation.
        providers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(providers)
    }

    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<IdentityProvider>, PortError> {
        self.read(|conn| {
            identity_providers::table
                .find((tenant.as_str(), id))
                .select(ProviderRow::as_select())
                .get_result(conn)
                .optional()?
                .map(IdentityProvider::try_from)
                .transpose()
        })
    }

    fn put(&self, tenant: &TenantId, provider: &IdentityProvider) -> Result<bool, PortError> {
        let settings = serde_json::to_string(provider)
            .map_err(|error| Fail::corrupt("cannot encode identity provider", error))
            .map_err(Fail::into_port)?;
        let now = now_secs();
        // Portable (no backend-specific upsert): update, else insert; an insert that loses the
        // race against a concurrent put of the same id replaces what that one wrote.
        let replace = || {
            self.write(|conn| {
                let changed = diesel::update(
                    identity_providers::table.find((tenant.as_str(), provider.id.as_str())),
                )
                .set((
                    identity_providers::settings_format.eq(PROVIDER_FORMAT),
                    identity_providers::settings.eq(&settings),
                    identity_providers::updated_at.eq(now),
                ))
                .execute(conn)?;
                Ok(changed > 0)
            })
        };
        if replace()? {
            return Ok(false);
        }
        let inserted = self.write(|conn| {
            diesel::insert_into(identity_providers::table)
                .values((
                    identity_providers::tenant_id.eq(tenant.as_str()),
                    identity_providers::id.eq(provider.id.as_str()),
                    identity_providers::settings_format.eq(PROVIDER_FORMAT),
                    identity_providers::settings.eq(&settings),
                    identity_providers::created_at.eq(now),
                    identity_providers::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        });
        match inserted {
            Ok(()) => Ok(true),
            Err(PortError::Duplicate) => replace().map(|_| false),
            Err(error) => Err(error),
        }
    }

    fn delete(&self, tenant: &TenantId, id: &str) -> Result<(), PortError> {
        self.write(|conn| {
            let removed = diesel::delete(identity_providers::table.find((tenant.as_str(), id)))
                .execute(conn)?;
            if removed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }
}

impl IdentityLinks for Database {
    fn linked_user(
        &self,
        tenant: &TenantId,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserId>, PortError> {
        let id = link_id(provider, subject);
        self.read(|conn| {
            Ok(credentials::table
                .filter(credentials::tenant_id.eq(tenant.as_str()))
                .filter(credentials::kind.eq(KIND_FEDERATED))
                .filter(credentials::credential_id.eq(id.as_str()))
                .select(credentials::user_id)
                .get_result::<String>(conn)
                .optional()?
                .map(UserId::new))
        })
    }

    fn link(&self, tenant: &TenantId, user: &UserId, link: &IdentityLink) -> Result<(), PortError> {
        let secret = serde_json::to_string(link)
            .map_err(|error| Fail::corrupt("cannot encode identity link", error))
            .map_err(Fail::into_port)?;
        let (owner, user) = (tenant.clone(), user.clone());
        let (id, linked_at) = (link_id(&link.provider, &link.subject), link.linked_at);
        self.grouped_write(move |conn| {
            // Checked in this order (a link taken by anyone first), like the memory adapter.
            // The unique index decides between two concurrent links of one account, and the
            // foreign key a user deleted meanwhile.
            let taken: Option<String> = credentials::table
                .filter(credentials::tenant_id.eq(owner.as_str()))
                .filter(credentials::kind.eq(KIND_FEDERATED))
                .filter(credentials::credential_id.eq(id.as_str()))
                .select(credentials::user_id)
                .get_result(conn)
                .optional()?;
            if taken.is_some() {
                return Err(PortError::Duplicate.into());
            }
            let exists: Option<String> = users::table
                .find((owner.as_str(), user.as_str()))
                .select(users::id)
                .get_result(conn)
                .optional()?;
            if exists.is_none() {
                return Err(PortError::NotFound.into());
            }
            diesel::insert_into(credentials::table)
                .values((
                    credentials::tenant_id.eq(owner.as_str()),
                    credentials::user_id.eq(user.as_str()),
                    credentials::kind.eq(KIND_FEDERATED),
                    credentials::credential_id.eq(id.as_str()),
                    credentials::secret_format.eq(LINK_FORMAT),
                    credentials::secret.eq(secret.as_str()),
                    credentials::created_at.eq(linked_at),
                    credentials::updated_at.eq(linked_at),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    fn links(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<IdentityLink>, PortError> {
        let mut links = self.read(|conn| {
            credentials::table
                .filter(credentials::tenant_id.eq(tenant.as_str()))
                .filter(credentials::user_id.eq(user.as_str()))
                .filter(credentials::kind.eq(KIND_FEDERATED))
                .select(LinkRow::as_select())
                .load(conn)?
                .into_iter()
                .map(IdentityLink::try_from)
                .collect::<Result<Vec<_>, Fail>>()
        })?;
        // By provider, then subject, in byte order (`credential_id` order is not that: `-`
        // sorts before `:`).
        links.sort_by(|a, b| {
            a.provider
                .cmp(&b.provider)
                .then_with(|| a.subject.cmp(&b.subject))
        });
        Ok(links)
    }

    fn unlink(&self, tenant: &TenantId, user: &UserId, provider: &str) -> Result<(), PortError> {
        let (owner, user, provider) = (tenant.clone(), user.clone(), provider.to_owned());
        self.grouped_write(move |conn| {
            let ids: Vec<String> = credentials::table
                .filter(credentials::tenant_id.eq(owner.as_str()))
                .filter(credentials::user_id.eq(user.as_str()))
                .filter(credentials::kind.eq(KIND_FEDERATED))
                .select(credentials::credential_id)
                .load(conn)?;
            let mut removed = 0;
            for id in ids.iter().filter(|id| provider_of(id) == provider) {
                removed += diesel::delete(credentials::table.find((
                    owner.as_str(),
                    user.as_str(),
                    KIND_FEDERATED,
                    id.as_str(),
                )))
                .execute(conn)?;
            }
            if removed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_what_comes_before_the_first_colon() {
        assert_eq!(link_id("github", "42"), "github:42");
        assert_eq!(provider_of(&link_id("oidc", "urn:x:1")), "oidc");
        assert_eq!(provider_of("plain"), "plain");
    }
}
