//! Server settings per tenant (`settings` table), and the readiness probe.

use diesel::prelude::*;
use flow_engine::{PortError, TenantId};

use crate::Database;
use crate::db::Fail;
use crate::schema::settings;

impl Database {
    /// The value of setting `name` in `tenant`, if set.
    pub fn setting(&self, tenant: &TenantId, name: &str) -> Result<Option<String>, PortError> {
        self.read(|conn| {
            settings::table
                .find((tenant.as_str(), name))
                .select(settings::value)
                .get_result::<String>(conn)
                .optional()
                .map_err(Fail::from)
        })
    }

    /// Sets `name` to `value` unless it is already set; `true` when this call set it. Of two
    /// replicas racing to set it, exactly one gets `true`.
    pub fn insert_setting(
        &self,
        tenant: &TenantId,
        name: &str,
        value: &str,
    ) -> Result<bool, PortError> {
        let inserted = self.write(|conn| {
            diesel::insert_into(settings::table)
                .values((
                    settings::tenant_id.eq(tenant.as_str()),
                    settings::name.eq(name),
                    settings::value.eq(value),
                    settings::updated_at.eq(crate::now_secs()),
                ))
                .execute(conn)
                .map_err(Fail::from)
        });
        match inserted {
            Ok(_) => Ok(true),
            Err(PortError::Duplicate) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub fn ping(&self) -> Result<(), PortError> {
        self.read(|conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map(drop)
                .map_err(Fail::from)
        })
    }
}
