//! [`LoginAttempts`] on SQL: `login_failures`, counted with one conditional `UPDATE` so that
//! concurrent failures (from any number of processes or replicas) are never lost.

use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use flow_engine::{FailedLogins, LoginAttempts, PortError, TenantId, UserId};

use crate::Database;
use crate::schema::login_failures;

/// How often a write that lost a race with a concurrent first insert (or a reset) is tried
/// again before giving up.
const RETRIES: usize = 3;

/// A row of `login_failures`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = login_failures)]
struct FailureRow {
    tenant_id: String,
    user_id: String,
    failures: i32,
    window_ends_at: i64,
    locked_until: Option<i64>,
}

impl FailureRow {
    /// What the row means at `now_secs`.
    fn seen_at(&self, now_secs: i64) -> FailedLogins {
        FailedLogins {
            count: if self.window_ends_at > now_secs {
                u32::try_from(self.failures).unwrap_or(0)
            } else {
                0
            },
            locked_until: self.locked_until.filter(|until| *until > now_secs),
        }
    }
}

impl LoginAttempts for Database {
    fn record_failure(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
        window_secs: i64,
    ) -> Result<u32, PortError> {
        let new_window_end = now_secs.saturating_add(window_secs);
        for _ in 0..RETRIES {
            // One statement decides and counts: a window that is over starts again at 1,
            // otherwise the count goes up by one. The database serializes two of them on the
            // row (PostgreSQL re-evaluates the second on the row the first wrote).
            let counted = self.write(|conn| {
                let over = login_failures::window_ends_at.le(now_secs);
                Ok(
                    diesel::update(login_failures::table.find((tenant.as_str(), user.as_str())))
                        .set((
                            login_failures::failures.eq(case_when::<_, _, Integer>(over, 1)
                                .otherwise(login_failures::failures + 1)),
                            login_failures::window_ends_at.eq(case_when::<_, _, BigInt>(
                                over,
                                new_window_end,
                            )
                            .otherwise(login_failures::window_ends_at)),
                        ))
                        .returning(login_failures::failures)
                        .get_result::<i32>(conn)
                        .optional()?,
                )
            })?;
            if let Some(count) = counted {
                return Ok(u32::try_from(count).unwrap_or(0));
            }
            // The user's first failure: insert. A concurrent first failure may insert first
            // (a duplicate); then the row exists and the update above counts this one.
            let row = FailureRow {
                tenant_id: tenant.as_str().to_owned(),
                user_id: user.as_str().to_owned(),
                failures: 1,
                window_ends_at: new_window_end,
                locked_until: None,
            };
            match self.write(|conn| {
                diesel::insert_into(login_failures::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(())
            }) {
                Ok(()) => return Ok(1),
                Err(PortError::Duplicate) => {}
                Err(error) => return Err(error),
            }
        }
        Err(PortError::Unavailable(
            "login_failures: the row kept changing under concurrent writes".to_owned(),
        ))
    }

    fn lock(&self, tenant: &TenantId, user: &UserId, until_secs: i64) -> Result<(), PortError> {
        for _ in 0..RETRIES {
            let changed = self.write(|conn| {
                Ok(
                    diesel::update(login_failures::table.find((tenant.as_str(), user.as_str())))
                        .set((
                            login_failures::locked_until.eq(Some(until_secs)),
                            login_failures::window_ends_at.eq(until_secs),
                        ))
                        .execute(conn)?,
                )
            })?;
            if changed > 0 {
                return Ok(());
            }
            let row = FailureRow {
                tenant_id: tenant.as_str().to_owned(),
                user_id: user.as_str().to_owned(),
                failures: 0,
                window_ends_at: until_secs,
                locked_until: Some(until_secs),
            };
            match self.write(|conn| {
                diesel::insert_into(login_failures::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(())
            }) {
                Ok(()) => return Ok(()),
                Err(PortError::Duplicate) => {}
                Err(error) => return Err(error),
            }
        }
        Err(PortError::Unavailable(
            "login_failures: the row kept changing under concurrent writes".to_owned(),
        ))
    }

    fn failed_logins(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
    ) -> Result<Option<FailedLogins>, PortError> {
        self.read(|conn| {
            Ok(login_failures::table
                .find((tenant.as_str(), user.as_str()))
                .select(FailureRow::as_select())
                .get_result(conn)
                .optional()?
                .map(|row| row.seen_at(now_secs)))
        })
    }

    fn reset(&self, tenant: &TenantId, user: &UserId) -> Result<(), PortError> {
        self.write(|conn| {
            diesel::delete(login_failures::table.find((tenant.as_str(), user.as_str())))
                .execute(conn)?;
            Ok(())
        })
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        self.write(|conn| {
            Ok(diesel::delete(
                login_failures::table
                    .filter(login_failures::window_ends_at.le(now_secs))
                    .filter(
                        login_failures::locked_until
                            .is_null()
                            .or(login_failures::locked_until.le(now_secs)),
                    ),
            )
            .execute(conn)?)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn row(failures: i32, window_ends_at: i64, locked_until: Option<i64>) -> FailureRow {
        FailureRow {
            tenant_id: "t".to_owned(),
            user_id: "u".to_owned(),
            failures,
            window_ends_at,
            locked_until,
        }
    }

    #[test]
    fn a_row_counts_inside_its_window_and_locks_until_its_end() {
        let seen = |row: FailureRow, now| row.seen_at(now);
        assert_eq!(
            seen(row(3, 100, None), 99),
            FailedLogins {
                count: 3,
                locked_until: None
            }
        );
        assert_eq!(seen(row(3, 100, None), 100).count, 0);
        assert_eq!(seen(row(3, 200, Some(200)), 199).locked_until, Some(200));
        assert_eq!(seen(row(3, 200, Some(200)), 200).locked_until, None);
        // A negative count (never written by this crate) reads as none.
        assert_eq!(seen(row(-1, 100, None), 0).count, 0);
    }
}
