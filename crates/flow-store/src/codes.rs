//! [`CodeStore`] on SQL: `one_time_codes`, checked atomically in one transaction.

use diesel::prelude::*;
use flow_engine::{CodeCheck, CodeStore, PortError, StoredCode, TenantId};

use crate::Database;
use crate::db::{AnyConnection, Fail};
use crate::schema::one_time_codes;

/// A row of `one_time_codes`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_codes)]
struct CodeRow {
    tenant_id: String,
    code_key: String,
    code_hash: String,
    expires_at: i64,
    attempts_left: i32,
}

impl CodeRow {
    fn stored(&self) -> StoredCode {
        StoredCode {
            hash: self.code_hash.clone(),
            expires_at: self.expires_at,
            attempts_left: u32::try_from(self.attempts_left).unwrap_or(0),
        }
    }
}

impl CodeStore for Database {
    fn put(&self, tenant: &TenantId, key: &str, code: StoredCode) -> Result<(), PortError> {
        let row = CodeRow {
            tenant_id: tenant.as_str().to_owned(),
            code_key: key.to_owned(),
            code_hash: code.hash,
            expires_at: code.expires_at,
            attempts_left: i32::try_from(code.attempts_left).unwrap_or(i32::MAX),
        };
        let replace = |conn: &mut AnyConnection| -> Result<(), Fail> {
            diesel::delete(one_time_codes::table.find((tenant.as_str(), key))).execute(conn)?;
            diesel::insert_into(one_time_codes::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        };
        // Delete + insert is portable (no backend-specific upsert). Two concurrent puts of one
        // key can still collide on PostgreSQL; the loser simply replaces again.
        match self.transaction(replace) {
            Err(PortError::Duplicate) => self.transaction(replace),
            other => other,
        }
    }

    fn verify(
        &self,
        tenant: &TenantId,
        key: &str,
        now_secs: i64,
        matches: &dyn Fn(&StoredCode) -> bool,
    ) -> Result<CodeCheck, PortError> {
        self.transaction(|conn| {
            let target = one_time_codes::table.find((tenant.as_str(), key));
            // A no-op update first: it locks the row (PostgreSQL) or takes the write lock
            // (SQLite), so that two concurrent guesses cannot both spend the same attempt or
            // both consume the code.
            let locked = diesel::update(target)
                .set(one_time_codes::attempts_left.eq(one_time_codes::attempts_left))
                .execute(conn)?;
            if locked == 0 {
                return Ok(CodeCheck::Missing);
            }
            let row: CodeRow = target.select(CodeRow::as_select()).get_result(conn)?;
            if row.expires_at <= now_secs {
                diesel::delete(target).execute(conn)?;
                return Ok(CodeCheck::Expired);
            }
            let stored = row.stored();
            if matches(&stored) {
                diesel::delete(target).execute(conn)?;
                return Ok(CodeCheck::Valid);
            }
            let attempts_left = stored.attempts_left.saturating_sub(1);
            if attempts_left == 0 {
                diesel::delete(target).execute(conn)?;
            } else {
                diesel::update(target)
                    .set(
                        one_time_codes::attempts_left.eq(i32::try_from(attempts_left).unwrap_or(0)),
                    )
                    .execute(conn)?;
            }
            Ok(CodeCheck::Invalid { attempts_left })
        })
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        self.write(|conn| {
            Ok(diesel::delete(
                one_time_codes::table.filter(one_time_codes::expires_at.le(now_secs)),
            )
            .execute(conn)?)
        })
    }
}
