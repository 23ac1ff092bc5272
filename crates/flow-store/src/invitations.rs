//! [`InvitationStore`] on SQL: `invitations`, consumed with one conditional `UPDATE` so that
//! two executions redeeming the same code cannot both consume it.

use diesel::prelude::*;
use flow_engine::{Invitation, InvitationId, InvitationStore, PortError, TenantId};

use crate::Database;
use crate::schema::invitations;

/// A row of `invitations`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
struct InvitationRow {
    tenant_id: String,
    id: String,
    email: String,
    code_hash: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl InvitationRow {
    fn new(tenant: &TenantId, invitation: &Invitation) -> Self {
        Self {
            tenant_id: tenant.as_str().to_owned(),
            id: invitation.id.as_str().to_owned(),
            email: invitation.email.clone(),
            code_hash: invitation.code_hash.clone(),
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
            used_at: invitation.used_at,
            revoked_at: invitation.revoked_at,
        }
    }
}

impl From<InvitationRow> for Invitation {
    fn from(row: InvitationRow) -> Self {
        Self {
            id: InvitationId::new(row.id),
            email: row.email,
            code_hash: row.code_hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        }
    }
}

impl InvitationStore for Database {
    fn insert_invitation(
        &self,
        tenant: &TenantId,
        invitation: &Invitation,
    ) -> Result<(), PortError> {
        let row = InvitationRow::new(tenant, invitation);
        self.write(|conn| {
            diesel::insert_into(invitations::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, PortError> {
        self.read(|conn| {
            Ok(invitations::table
                .find((tenant.as_str(), id.as_str()))
                .select(InvitationRow::as_select())
                .get_result(conn)
                .optional()?
                .map(Invitation::from))
        })
    }

    fn invitation_by_code(
        &self,
        tenant: &TenantId,
        code_hash: &str,
    ) -> Result<Option<Invitation>, PortError> {
        self.read(|conn| {
            Ok(invitations::table
                .filter(invitations::tenant_id.eq(tenant.as_str()))
                .filter(invitations::code_hash.eq(code_hash))
                .select(InvitationRow::as_select())
                .get_result(conn)
                .optional()?
                .map(Invitation::from))
        })
    }

    fn consume_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<bool, PortError> {
        // One statement that checks and marks: the database serializes two of them on the row,
        // and the second finds `used_at` set.
        self.write(|conn| {
            let changed = diesel::update(
                invitations::table
                    .find((tenant.as_str(), id.as_str()))
                    .filter(invitations::used_at.is_null())
                    .filter(invitations::revoked_at.is_null())
                    .filter(invitations::expires_at.gt(now_secs)),
            )
            .set(invitations::used_at.eq(Some(now_secs)))
            .execute(conn)?;
            Ok(changed == 1)
        })
    }

    fn release_invitation(&self, tenant: &TenantId, id: &InvitationId) -> Result<(), PortError> {
        self.write(|conn| {
            let changed = diesel::update(invitations::table.find((tenant.as_str(), id.as_str())))
                .set(invitations::used_at.eq(None::<i64>))
                .execute(conn)?;
            if changed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }

    fn invitations(&self, tenant: &TenantId) -> Result<Vec<Invitation>, PortError> {
        self.read(|conn| {
            Ok(invitations::table
                .filter(invitations::tenant_id.eq(tenant.as_str()))
                .order((invitations::created_at.desc(), invitations::id.desc()))
                .select(InvitationRow::as_select())
                .load(conn)?
                .into_iter()
                .map(Invitation::from)
                .collect())
        })
    }

    fn revoke_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<(), PortError> {
        self.transaction(|conn| {
            let target = invitations::table.find((tenant.as_str(), id.as_str()));
            let exists = target
                .select(invitations::id)
                .get_result::<String>(conn)
                .optional()?
                .is_some();
            if !exists {
                return Err(PortError::NotFound.into());
            }
            diesel::update(
                target
                    .filter(invitations::used_at.is_null())
                    .filter(invitations::revoked_at.is_null()),
            )
            .set(invitations::revoked_at.eq(Some(now_secs)))
            .execute(conn)?;
            Ok(())
        })
    }
}
