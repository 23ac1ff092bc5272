//! Import and export of users as JSON lines, for migrations: one user per line, with its
//! existing password hash (re-made with argon2id at its first sign-in). An import is
//! idempotent per identifier (a user that exists is reported, not changed), reports each bad
//! line with a coded error, and never half-applies a line: a user and its password are written
//! together or not at all.

use std::io::BufRead;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AccountError, Accounts};
use crate::identifier::normalize;
use crate::imported_hash::{HashImportError, canonical_hash, keycloak_hash};
use flow_model::IdentifierType;

use crate::{NewUser, PortError, TenantId, User, UserId};

/// The longest line an import reads, in bytes: far more than any user, small enough that a
/// file without newlines cannot exhaust memory.
pub const MAX_IMPORT_LINE_BYTES: usize = 64 * 1024;
/// How many users are written per transaction.
const IMPORT_BATCH: usize = 500;
/// How many line errors a report lists (it counts them all).
pub const MAX_REPORTED_ERRORS: usize = 1000;
/// The longest user id an import accepts.
const MAX_USER_ID_LEN: usize = 64;
/// How far in the future a `created_at` may lie (clock skew between systems), in seconds.
const CREATED_AT_SKEW_SECS: i64 = 86_400;

/// One line of an import or export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    /// The user's id: kept when given (a user moved between flowd servers keeps its id), made
    /// anew when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identifier; normalized like a flow's.
    pub identifier: String,
    /// The password hash, in one of the accepted encodings (export: only when asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<ImportedHash>,
    /// Profile attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Whether the user is disabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Creation time (Unix seconds); the time of the import when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

/// A password hash as an import takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ImportedHash {
    /// A PHC string, a bcrypt string or a Django encoding.
    Text(String),
    /// A Keycloak password credential, as its export writes it.
    Keycloak {
        /// `{"value", "salt"}`, or that object as JSON text.
        #[serde(rename = "secretData")]
        secret_data: Value,
        /// `{"algorithm", "hashIterations", "additionalParameters"}`, or its JSON text.
        #[serde(rename = "credentialData")]
        credential_data: Value,
    },
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Users created.
    pub created: usize,
    /// Lines whose identifier already belonged to a user (left as it was).
    pub existing: usize,
    /// Lines refused.
    pub failed: usize,
    /// The first [`MAX_REPORTED_ERRORS`] refused lines.
    pub errors: Vec<LineError>,
}

/// A refused import line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The line number, from 1.
    pub line: usize,
    /// The stable code (`invalid_json`, `invalid_identifier`, `identifier_taken`,
    /// `password_hash_unsupported`, ...).
    pub code: &'static str,
    /// What is wrong, for the operator.
    pub message: String,
}

impl LineError {
    fn new(line: usize, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            line,
            code,
            message: message.into(),
        }
    }
}

impl From<HashImportError> for (&'static str, String) {
    fn from(error: HashImportError) -> Self {
        (error.code(), error.to_string())
    }
}

impl ImportReport {
    fn refuse(&mut self, error: LineError) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
        }
    }
}

/// A line read and checked, waiting for its batch to be written.
struct Pending {
    line: usize,
    user: NewUser,
}

impl Accounts {
    /// Imports the users of `input`, one JSON object per line ([`UserRecord`]); blank lines
    /// are skipped. The `Err` is a store failure (or an unreadable input): lines before it may
    /// have been written, and since an import is idempotent it can simply run again.
    pub fn import(
        &self,
        tenant: &TenantId,
        input: impl BufRead,
    ) -> Result<ImportReport, AccountError> {
        let mut report = ImportReport::default();
        let mut pending = Vec::with_capacity(IMPORT_BATCH);
        let now = self.engine.ports().clock.now_secs();
        for (index, line) in BoundedLines::new(input).enumerate() {
            let number = index + 1;
            let line = match line {
                Ok(Some(line)) => line,
                Ok(None) => {
                    report.refuse(LineError::new(
                        number,
                        "line_too_long",
                        format!("a line may hold at most {MAX_IMPORT_LINE_BYTES} bytes"),
                    ));
                    continue;
                }
                Err(error) => {
                    return Err(AccountError::Store(PortError::Unavailable(format!(
                        "cannot read the import: {error}"
                    ))));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            match self.checked_line(&line, now) {
                Ok(user) => pending.push(Pending { line: number, user }),
                Err((code, message)) => report.refuse(LineError::new(number, code, message)),
            }
            if pending.len() == IMPORT_BATCH {
                self.write_batch(tenant, std::mem::take(&mut pending), &mut report)?;
            }
        }
        self.write_batch(tenant, pending, &mut report)?;
        if report.created > 0 {
            self.log(tenant, crate::EventKind::Admin, "users_imported", None);
        }
        Ok(report)
    }

    /// The user of one line, or the code and message of what is wrong with it.
    fn checked_line(&self, line: &str, now: i64) -> Result<NewUser, (&'static str, String)> {
        let record: UserRecord = serde_json::from_str(line)
            .map_err(|error| ("invalid_json", format!("not a user record: {error}")))?;
        let identifier = normalize(
            &record.identifier,
            &[
                IdentifierType::Email,
                IdentifierType::Username,
                IdentifierType::Phone,
            ],
        )
        .map_err(|_| {
            let error = AccountError::InvalidIdentifier;
            (error.code(), error.to_string())
        })?;
        let id = match record.id {
            None => self.engine.new_user_id(),
            Some(id) if valid_user_id(&id) => UserId::new(id),
            Some(_) => {
                return Err((
                    "invalid_user_id",
                    format!("an id has 1 to {MAX_USER_ID_LEN} letters, digits, '-', '_' or '.'"),
                ));
            }
        };
        let password_hash = match record.password_hash {
            None => None,
            Some(ImportedHash::Text(text)) => Some(canonical_hash(&text)?),
            Some(ImportedHash::Keycloak {
                secret_data,
                credential_data,
            }) => Some(keycloak_hash(&secret_data, &credential_data)?),
        };
        let created_at = record.created_at.unwrap_or(now);
        if !(0..=now.saturating_add(CREATED_AT_SKEW_SECS)).contains(&created_at) {
            return Err((
                "invalid_created_at",
                "created_at must be a past time in Unix seconds".to_owned(),
            ));
        }
        Ok(NewUser {
            id,
            identifier,
            password_hash,
            attributes: record.attributes,
            created_at,
            disabled_at: record.disabled.then_some(now),
            password_changed_at: Some(now),
        })
    }

    /// Writes a batch in one transaction and reports each line: created, existing (the
    /// identifier is this user's already), or refused (a look-alike of another user's
    /// identifier, or an id another user has).
    fn write_batch(
        &self,
        tenant: &TenantId,
        batch: Vec<Pending>,
        report: &mut ImportReport,
    ) -> Result<(), AccountError> {
        if batch.is_empty() {
            return Ok(());
        }
        let users = &self.engine.ports().users;
        let lines: Vec<(usize, String, UserId)> = batch
            .iter()
            .map(|pending| {
                let user = &pending.user;
                (pending.line, user.identifier.clone(), user.id.clone())
            })
            .collect();
        let outcomes = users.create_many(tenant, batch.into_iter().map(|p| p.user).collect())?;
        for ((line, identifier, id), outcome) in lines.into_iter().zip(outcomes) {
            match outcome {
                Ok(_) => report.created += 1,
                Err(PortError::Duplicate) => {
                    if users.find_by_identifier(tenant, &identifier)?.is_some() {
                        report.existing += 1;
                    } else if users.get(tenant, &id)?.is_some() {
                        report.refuse(LineError::new(
                            line,
                            "user_id_taken",
                            "another user has this id",
                        ));
                    } else {
                        let error = AccountError::IdentifierTaken;
                        report.refuse(LineError::new(line, error.code(), error.to_string()));
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Logs an export of the tenant's users (an `admin` event `users_exported`, or
    /// `users_exported_with_hashes`): call it once per export.
    pub fn log_export(&self, tenant: &TenantId, hashes: bool) {
        let reason = if hashes {
            "users_exported_with_hashes"
        } else {
            "users_exported"
        };
        self.log(tenant, crate::EventKind::Admin, reason, None);
    }

    /// The users of the tenant as import lines, ordered by identifier, `limit` at a time after
    /// the identifier `after`; with `hashes`, each with its password hash. The identifier to
    /// continue after comes with the page when there are more.
    pub fn export_page(
        &self,
        tenant: &TenantId,
        after: Option<String>,
        limit: usize,
        hashes: bool,
    ) -> Result<(Vec<UserRecord>, Option<String>), AccountError> {
        let query = crate::UserQuery {
            after,
            limit,
            ..crate::UserQuery::default()
        };
        let page = self.list(tenant, query)?;
        let users = &self.engine.ports().users;
        let records = page
            .users
            .into_iter()
            .map(|user| {
                let hash = if hashes {
                    users.password_hash(tenant, &user.id)?
                } else {
                    None
                };
                Ok(record_of(user, hash))
            })
            .collect::<Result<Vec<_>, AccountError>>()?;
        Ok((records, page.next))
    }
}

/// The export line of a user.
fn record_of(user: User, password_hash: Option<String>) -> UserRecord {
    UserRecord {
        id: Some(user.id.as_str().to_owned()),
        identifier: user.identifier,
        password_hash: password_hash.map(ImportedHash::Text),
        attributes: user.attributes,
        disabled: user.disabled_at.is_some(),
        created_at: Some(user.created_at),
    }
}

/// Whether `id` can be a user id: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
fn valid_user_id(id: &str) -> bool {
    (1..=MAX_USER_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The lines of a reader, each at most [`MAX_IMPORT_LINE_BYTES`]: a longer one is `None`
/// (and skipped to its end), so that no line is held in memory whole.
struct BoundedLines<R> {
    input: R,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    fn new(input: R) -> Self {
        Self { input, done: false }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = std::io::Result<Option<String>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let buffer = match self.input.fill_buf() {
                Ok(buffer) => buffer,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Some(Err(error)),
            };
            if buffer.is_empty() {
                self.done = true;
                if line.is_empty() && !too_long {
                    return None;
                }
                break;
            }
            let (chunk, found_end) = match buffer.iter().position(|b| *b == b'\n') {
                Some(end) => (buffer.get(..end).unwrap_or_default(), true),
                None => (buffer, false),
            };
            if !too_long && line.len() + chunk.len() <= MAX_IMPORT_LINE_BYTES {
                line.extend_from_slice(chunk);
            } else {
                too_long = true;
                line.clear();
            }
            let used = chunk.len() + usize::from(found_end);
            self.input.consume(used);
            if found_end {
                break;
            }
        }
        if too_long {
            return Some(Ok(None));
        }
        // Invalid UTF-8 becomes U+FFFD, which then fails as JSON or as an identifier.
        Some(Ok(Some(String::from_utf8_lossy(&line).into_owned())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn lines_are_bounded_and_the_last_needs_no_newline() {
        let long = "x".repeat(MAX_IMPORT_LINE_BYTES + 1);
        let input = format!("one\n{long}\n\nlast");
        let lines: Vec<_> =
            BoundedLines::new(std::io::BufReader::with_capacity(7, input.as_bytes()))
                .map(Result::unwrap)
                .collect();
        assert_eq!(
            lines,
            [
                Some("one".to_owned()),
                None,
                Some(String::new()),
                Some("last".to_owned())
            ]
        );
        let exact = "y".repeat(MAX_IMPORT_LINE_BYTES);
        let lines: Vec<_> = BoundedLines::new(exact.as_bytes())
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines, [Some(exact)]);
        assert_eq!(BoundedLines::new(&b""[..]).count(), 0);
    }

    #[test]
    fn user_ids_are_short_and_plain() {
        assert!(valid_user_id("3f2c-9a_b.1"));
        assert!(!valid_user_id(""));
        assert!(!valid_user_id("a/b"));
        assert!(!valid_user_id(&"a".repeat(65)));
    }
}
