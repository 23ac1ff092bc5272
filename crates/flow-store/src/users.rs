//! [`UserDirectory`] on SQL: `users` (identifier unique per tenant, attributes as versioned
//! JSON), `credentials` (the password hash as kind `password`) and `totp_credentials` (one
//! authenticator app per user, its last accepted time step moved by one conditional `UPDATE`).
//! Each user keeps the confusable skeleton of its identifier; a new user whose skeleton is taken
//! is refused like a duplicate, and [`Database::open`] fills in the skeletons of older rows.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use flow_engine::{
    CredentialKind, NewUser, PortError, StoredPasskey, TenantId, TotpCredential, TotpSecret, User,
    UserDirectory, UserId, UserQuery, canonical_identifier, identifier_skeleton,
};
use serde_json::{Map, Value};

use crate::db::{AnyConnection, Fail};
use crate::schema::{credentials, totp_credentials, users};
use crate::{Database, now_secs};

/// The format of `users.attributes` (a JSON object) and `users.mfa_methods` (a JSON array).
const USER_DATA_FORMAT: i32 = 1;
/// The format of a password credential: an argon2 PHC string.
const PASSWORD_FORMAT: i32 = 1;
/// `credentials.kind` of the password.
const KIND_PASSWORD: &str = "password";
/// `credentials.kind` of passkeys.
const KIND_PASSKEY: &str = "passkey";
/// Format of a passkey's `secret`: the JSON of [`PasskeySecret`].
const PASSKEY_FORMAT: i32 = 1;

/// What `credentials.secret` holds for a passkey: all of it but the id and the times of the
/// row.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct PasskeySecret {
    name: String,
    data: String,
    sign_count: u32,
    backup_eligible: bool,
    backup_state: bool,
    last_used_at: Option<i64>,
}

impl PasskeySecret {
    fn of(passkey: &StoredPasskey) -> Self {
        Self {
            name: passkey.name.clone(),
            data: passkey.data.clone(),
            sign_count: passkey.sign_count,
            backup_eligible: passkey.backup_eligible,
            backup_state: passkey.backup_state,
            last_used_at: passkey.last_used_at,
        }
    }
}

/// The passkey of a `credentials` row.
fn passkey_of(row: CredentialRow) -> Result<StoredPasskey, Fail> {
    if row.secret_format != PASSKEY_FORMAT {
        return Err(Fail::corrupt(
            "unsupported passkey format",
            row.secret_format,
        ));
    }
    let secret: PasskeySecret = serde_json::from_str(&row.secret)
        .map_err(|error| Fail::corrupt("cannot decode passkey", error))?;
    Ok(StoredPasskey {
        credential_id: row.credential_id,
        name: secret.name,
        data: secret.data,
        sign_count: secret.sign_count,
        backup_eligible: secret.backup_eligible,
        backup_state: secret.backup_state,
        created_at: row.created_at,
        last_used_at: secret.last_used_at,
    })
}
/// The format of `totp_credentials.secret`: the key bytes in base32 (RFC 4648, no padding).
const TOTP_SECRET_FORMAT: i32 = 1;
/// The first key of the PostgreSQL advisory lock taken per (tenant, skeleton) while a user is
/// created (the second is `hashtext` of both), so two look-alike sign-ups cannot both pass.
const SKELETON_LOCK_KEY: i32 = 0x666c_6f77; // "flow" in ASCII

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    tenant_id: String,
    id: String,
    identifier: String,
    data_format: i32,
    attributes: String,
    mfa_methods: String,
    created_at: i64,
    updated_at: i64,
    identifier_skeleton: Option<String>,
    disabled_at: Option<i64>,
    password_changed_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = Fail;

    fn try_from(row: UserRow) -> Result<Self, Fail> {
        if row.data_format != USER_DATA_FORMAT {
            return Err(Fail::corrupt("unsupported user format", row.data_format));
        }
        Ok(Self {
            id: UserId::new(row.id),
            tenant: TenantId::new(row.tenant_id),
            identifier: row.identifier,
            attributes: decode_attributes(&row.attributes)?,
            mfa_methods: serde_json::from_str(&row.mfa_methods)
                .map_err(|error| Fail::corrupt("cannot decode mfa methods", error))?,
            created_at: row.created_at,
            disabled_at: row.disabled_at,
            password_changed_at: row.password_changed_at,
        })
    }
}

/// A row of `credentials`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
struct CredentialRow {
    tenant_id: String,
    user_id: String,
    kind: String,
    credential_id: String,
    secret_format: i32,
    secret: String,
    created_at: i64,
    updated_at: i64,
}

impl CredentialRow {
    fn password(tenant: &TenantId, user: &UserId, hash: &str, now: i64) -> Self {
        Self {
            tenant_id: tenant.as_str().to_owned(),
            user_id: user.as_str().to_owned(),
            kind: KIND_PASSWORD.to_owned(),
            credential_id: String::new(),
            secret_format: PASSWORD_FORMAT,
            secret: hash.to_owned(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// A row of `totp_credentials`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_credentials)]
struct TotpRow {
    tenant_id: String,
    user_id: String,
    secret_format: i32,
    secret: String,
    digits: i32,
    period: i32,
    last_step: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TotpRow {
    fn new(tenant: &TenantId, user: &UserId, credential: &TotpCredential) -> Result<Self, Fail> {
        let number = |what: &str, value: u32| {
            i32::try_from(value).map_err(|error| Fail::corrupt(what, error))
        };
        Ok(Self {
            tenant_id: tenant.as_str().to_owned(),
            user_id: user.as_str().to_owned(),
            secret_format: TOTP_SECRET_FORMAT,
            secret: credential.secret.to_base32(),
            digits: number("totp digits", credential.digits)?,
            period: number("totp period", credential.period)?,
            last_step: credential.last_step.map(step_to_sql).transpose()?,
            created_at: credential.created_at,
            updated_at: now_secs(),
        })
    }
}

impl TryFrom<TotpRow> for TotpCredential {
    type Error = Fail;

    fn try_from(row: TotpRow) -> Result<Self, Fail> {
        if row.secret_format != TOTP_SECRET_FORMAT {
            return Err(Fail::corrupt(
                "unsupported totp secret format",
                row.secret_format,
            ));
        }
        let number = |what: &str, value: i32| {
            u32::try_from(value).map_err(|error| Fail::corrupt(what, error))
        };
        Ok(Self {
            secret: TotpSecret::from_base32(&row.secret)
                .ok_or_else(|| Fail::corrupt("cannot decode totp secret", "invalid base32"))?,
            digits: number("totp digits", row.digits)?,
            period: number("totp period", row.period)?,
            last_step: row
                .last_step
                .map(|step| u64::try_from(step).map_err(|error| Fail::corrupt("totp step", error)))
                .transpose()?,
            created_at: row.created_at,
        })
    }
}

/// A time step as a `BIGINT` (steps are Unix time / period, far below `i64::MAX`).
fn step_to_sql(step: u64) -> Result<i64, Fail> {
    i64::try_from(step).map_err(|error| Fail::corrupt("totp step", error))
}

fn decode_attributes(text: &str) -> Result<Map<String, Value>, Fail> {
    serde_json::from_str(text).map_err(|error| Fail::corrupt("cannot decode attributes", error))
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String, Fail> {
    serde_json::to_string(value).map_err(|error| Fail::corrupt(what, error))
}

/// Touches the user's row: it proves the user exists and, inside a transaction, locks the row
/// (PostgreSQL) or takes the write lock (SQLite) before a read-modify-write.
fn touch_user(conn: &mut AnyConnection, tenant: &TenantId, id: &UserId) -> Result<(), Fail> {
    let changed = diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.as_str()))
            .filter(users::id.eq(id.as_str())),
    )
    .set(users::updated_at.eq(now_secs()))
    .execute(conn)?;
    if changed == 0 {
        return Err(PortError::NotFound.into());
    }
    Ok(())
}

/// Changes the user's second factors inside the caller's transaction: `change` edits the
/// list and says whether to write it back. The row is locked first (`touch_user`, which
/// also answers `NotFound`), so two concurrent changes never lose one.
fn change_mfa_methods(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    id: &UserId,
    change: impl FnOnce(&mut Vec<String>) -> bool,
) -> Result<(), Fail> {
    touch_user(conn, tenant, id)?;
    let key = users::table.find((tenant.as_str(), id.as_str()));
    let text: String = key.select(users::mfa_methods).get_result(conn)?;
    let mut methods: Vec<String> = serde_json::from_str(&text)
        .map_err(|error| Fail::corrupt("cannot decode mfa methods", error))?;
    if change(&mut methods) {
        diesel::update(key)
            .set(users::mfa_methods.eq(encode("cannot encode mfa methods", &methods)?))
            .execute(conn)?;
    }
    Ok(())
}

/// A `LIKE` pattern matching the identifiers that start with `prefix`: its `%`, `_` and `\`
/// are escaped (with `\`), so they match only themselves.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether a user of `tenant` has this identifier skeleton.
fn skeleton_taken(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    skeleton: &str,
) -> Result<bool, Fail> {
    let found: Option<String> = users::table
        .filter(users::tenant_id.eq(tenant.as_str()))
        .filter(users::identifier_skeleton.eq(skeleton))
        .select(users::id)
        .get_result(conn)
        .optional()?;
    Ok(found.is_some())
}

/// What [`Database::open`] did to users stored before identifier skeletons existed (see
/// [`Database::identifier_backfill`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifierBackfill {
    /// Users whose skeleton was computed.
    pub skeletons: usize,
    /// Identifiers rewritten to the current normalization (NFKC, case folding).
    pub renormalized: usize,
    /// Users left with their old identifier: its normalization is another user's identifier,
    /// or it holds characters now refused. Their accounts are kept as they are.
    pub kept: Vec<(TenantId, UserId)>,
    /// Users whose identifier looks like another user's (one skeleton): both accounts are
    /// kept; only new look-alikes are refused.
    pub look_alikes: Vec<(TenantId, UserId)>,
    /// Why the backfill stopped, if it did (the database opens all the same, and the next
    /// start tries again).
    pub error: Option<String>,
}

impl IdentifierBackfill {
    /// Whether an operator should hear about it (a warning at start).
    pub fn needs_attention(&self) -> bool {
        !self.kept.is_empty() || !self.look_alikes.is_empty() || self.error.is_some()
    }
}

/// Computes the skeleton of every user that has none, re-normalizing its identifier first
/// when the current normalization differs (and no other user has the result), in one
/// transaction. Never fails the caller: a failure lands in [`IdentifierBackfill::error`].
pub(crate) fn backfill_identifiers(database: &Database) -> IdentifierBackfill {
    let mut report = IdentifierBackfill::default();
    let result = database.transaction(|conn| {
        let pending: Vec<(String, String, String)> = users::table
            .filter(users::identifier_skeleton.is_null())
            .select((users::tenant_id, users::id, users::identifier))
            .load(conn)?;
        if pending.is_empty() {
            return Ok(IdentifierBackfill::default());
        }
        let mut report = IdentifierBackfill::default();
        for (tenant_id, id, identifier) in pending {
            let key = users::table.find((tenant_id.as_str(), id.as_str()));
            let mut current = identifier.clone();
            match canonical_identifier(&identifier) {
                Some(canonical) if canonical != identifier => {
                    let other: Option<String> = users::table
                        .filter(users::tenant_id.eq(&tenant_id))
                        .filter(users::identifier.eq(&canonical))
                        .select(users::id)
                        .get_result(conn)
                        .optional()?;
                    if other.is_none() {
                        diesel::update(key)
                            .set(users::identifier.eq(&canonical))
                            .execute(conn)?;
                        report.renormalized += 1;
                        current = canonical;
                    } else {
                        report
                            .kept
                            .push((TenantId::new(tenant_id.clone()), UserId::new(id.clone())));
                    }
                }
                Some(_) => {}
                None => report
                    .kept
                    .push((TenantId::new(tenant_id.clone()), UserId::new(id.clone()))),
            }
            diesel::update(key)
                .set(users::identifier_skeleton.eq(identifier_skeleton(&current)))
                .execute(conn)?;
            report.skeletons += 1;
        }
        let mut all: Vec<(String, String, Option<String>)> = users::table
            .select((users::tenant_id, users::id, users::identifier_skeleton))
            .load(conn)?;
        all.sort_by(|a, b| (&a.0, &a.2, &a.1).cmp(&(&b.0, &b.2, &b.1)));
        for (index, (tenant_id, id, skeleton)) in all.iter().enumerate() {
            let same = |other: Option<&(String, String, Option<String>)>| {
                other.is_some_and(|(t, _, s)| t == tenant_id && s == skeleton)
            };
            let before = index.checked_sub(1).and_then(|i| all.get(i));
            if skeleton.is_some() && (same(before) || same(all.get(index + 1))) {
                report
                    .look_alikes
                    .push((TenantId::new(tenant_id.clone()), UserId::new(id.clone())));
            }
        }
        Ok(report)
    });
    match result {
        Ok(done) => report = done,
        Err(error) => report.error = Some(error.to_string()),
    }
    report
}

/// The rows of a new user and its password, and how to write them.
struct NewUserRows {
    row: UserRow,
    credential: Option<CredentialRow>,
    owner: TenantId,
}

impl NewUserRows {
    fn of(tenant: &TenantId, user: &NewUser) -> Result<Self, PortError> {
        let row = UserRow {
            tenant_id: tenant.as_str().to_owned(),
            id: user.id.as_str().to_owned(),
            identifier: user.identifier.clone(),
            data_format: USER_DATA_FORMAT,
            attributes: encode("cannot encode attributes", &user.attributes)
                .map_err(Fail::into_port)?,
            mfa_methods: "[]".to_owned(),
            created_at: user.created_at,
            updated_at: user.created_at,
            identifier_skeleton: Some(identifier_skeleton(&user.identifier)),
            disabled_at: user.disabled_at,
            password_changed_at: user.password_changed_at,
        };
        let credential = user
            .password_hash
            .as_deref()
            .map(|hash| CredentialRow::password(tenant, &user.id, hash, user.created_at));
        Ok(Self {
            row,
            credential,
            owner: tenant.clone(),
        })
    }

    /// Inserts the rows, refusing a taken skeleton (under an advisory lock on PostgreSQL, so
    /// that two replicas cannot both take it).
    fn write(&self, conn: &mut AnyConnection) -> Result<(), Fail> {
        let skeleton = self.row.identifier_skeleton.as_deref().unwrap_or_default();
        if let AnyConnection::Postgres(pg) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind::<Integer, _>(SKELETON_LOCK_KEY)
                .bind::<Text, _>(format!("{}\n{skeleton}", self.owner.as_str()))
                .execute(pg)?;
        }
        if skeleton_taken(conn, &self.owner, skeleton)? {
            return Err(PortError::Duplicate.into());
        }
        diesel::insert_into(users::table)
            .values(&self.row)
            .execute(conn)?;
        if let Some(credential) = &self.credential {
            diesel::insert_into(credentials::table)
                .values(credential)
                .execute(conn)?;
        }
        Ok(())
    }
}

/// The user that [`NewUserRows`] of `user` wrote.
fn created(tenant: &TenantId, user: NewUser) -> User {
    User {
        id: user.id,
        tenant: tenant.clone(),
        identifier: user.identifier,
        attributes: user.attributes,
        mfa_methods: Vec::new(),
        created_at: user.created_at,
        disabled_at: user.disabled_at,
        password_changed_at: user.password_changed_at,
    }
}

impl Database {
    /// Replaces a user's enrolled second factors (for seeding and tests; flows add them with
    /// [`UserDirectory::add_mfa_method`]); [`PortError::NotFound`] if there is no such user.
    pub fn set_mfa_methods(
        &self,
        tenant: &TenantId,
        id: &UserId,
        methods: &[String],
    ) -> Result<(), PortError> {
        let text = encode("cannot encode mfa methods", &methods).map_err(Fail::into_port)?;
        self.write(|conn| {
            let changed = diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.as_str()))
                    .filter(users::id.eq(id.as_str())),
            )
            .set((
                users::mfa_methods.eq(&text),
                users::updated_at.eq(now_secs()),
            ))
            .execute(conn)?;
            if changed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }
}

impl UserDirectory for Database {
    fn find_by_identifier(
        &self,
        tenant: &TenantId,
        identifier: &str,
    ) -> Result<Option<User>, PortError> {
        self.read(|conn| {
            users::table
                .filter(users::tenant_id.eq(tenant.as_str()))
                .filter(users::identifier.eq(identifier))
                .select(UserRow::as_select())
                .get_result(conn)
                .optional()?
                .map(User::try_from)
                .transpose()
        })
    }

    fn skeleton_taken(&self, tenant: &TenantId, skeleton: &str) -> Result<bool, PortError> {
        self.read(|conn| skeleton_taken(conn, tenant, skeleton))
    }

    fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError> {
        self.read(|conn| {
            users::table
                .find((tenant.as_str(), id.as_str()))
                .select(UserRow::as_select())
                .get_result(conn)
                .optional()?
                .map(User::try_from)
                .transpose()
        })
    }

    fn list(&self, tenant: &TenantId, query: &UserQuery) -> Result<Vec<User>, PortError> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut select = users::table
                .filter(users::tenant_id.eq(tenant.as_str()))
                .select(UserRow::as_select())
                .order(users::identifier.asc())
                .limit(limit)
                .into_boxed();
            if let Some(prefix) = &query.identifier_prefix {
                select = select.filter(users::identifier.like(like_prefix(prefix)).escape('\\'));
            }
            if let Some(after) = &query.after {
                select = select.filter(users::identifier.gt(after.clone()));
            }
            match query.disabled {
                Some(true) => select = select.filter(users::disabled_at.is_not_null()),
                Some(false) => select = select.filter(users::disabled_at.is_null()),
                None => {}
            }
            if let Some(from) = query.created_from {
                select = select.filter(users::created_at.ge(from));
            }
            if let Some(before) = query.created_before {
                select = select.filter(users::created_at.lt(before));
            }
            select.load(conn)?.into_iter().map(User::try_from).collect()
        })
    }

    fn delete(&self, tenant: &TenantId, id: &UserId) -> Result<(), PortError> {
        let (owner, user) = (tenant.clone(), id.clone());
        // Credentials and authenticator apps go with the row (ON DELETE CASCADE).
        self.grouped_write(move |conn| {
            let deleted =
                diesel::delete(users::table.find((owner.as_str(), user.as_str()))).execute(conn)?;
            if deleted == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }

    fn create(&self, tenant: &TenantId, user: NewUser) -> Result<User, PortError> {
        let insert = NewUserRows::of(tenant, &user)?;
        self.grouped_write(move |conn| insert.write(conn))?;
        Ok(created(tenant, user))
    }

    fn create_many(
        &self,
        tenant: &TenantId,
        users: Vec<NewUser>,
    ) -> Result<Vec<Result<User, PortError>>, PortError> {
        let inserts = users
            .iter()
            .map(|user| NewUserRows::of(tenant, user))
            .collect::<Result<Vec<_>, _>>()?;
        let outcomes = self.in_savepoints(&inserts, NewUserRows::write)?;
        Ok(outcomes
            .into_iter()
            .zip(users)
            .map(|(outcome, user)| outcome.map(|()| created(tenant, user)))
            .collect())
    }

    fn remove_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
        kind: CredentialKind,
    ) -> Result<(), PortError> {
        let (owner, user) = (tenant.clone(), id.clone());
        self.grouped_write(move |conn| {
            let removed = match kind {
                CredentialKind::Password => diesel::delete(
                    credentials::table
                        .filter(credentials::tenant_id.eq(owner.as_str()))
                        .filter(credentials::user_id.eq(user.as_str()))
                        .filter(credentials::kind.eq(KIND_PASSWORD)),
                )
                .execute(conn)?,
                CredentialKind::Passkey => diesel::delete(
                    credentials::table
                        .filter(credentials::tenant_id.eq(owner.as_str()))
                        .filter(credentials::user_id.eq(user.as_str()))
                        .filter(credentials::kind.eq(KIND_PASSKEY)),
                )
                .execute(conn)?,
                CredentialKind::Totp => {
                    let removed = diesel::delete(
                        totp_credentials::table.find((owner.as_str(), user.as_str())),
                    )
                    .execute(conn)?;
                    if removed > 0 {
                        change_mfa_methods(conn, &owner, &user, |methods| {
                            methods.retain(|method| method != kind.as_str());
                            true
                        })?;
                    }
                    removed
                }
            };
            if removed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }

    fn set_disabled(
        &self,
        tenant: &TenantId,
        id: &UserId,
        disabled_at: Option<i64>,
    ) -> Result<(), PortError> {
        let (owner, user) = (tenant.clone(), id.clone());
        let now = crate::now_secs();
        self.grouped_write(move |conn| {
            let changed = diesel::update(users::table.find((owner.as_str(), user.as_str())))
                .set((
                    users::disabled_at.eq(disabled_at),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?;
            if changed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }

    fn add_passkey(
        &self,
        tenant: &TenantId,
        id: &UserId,
        passkey: &StoredPasskey,
    ) -> Result<(), PortError> {
        let secret = encode("cannot encode passkey", &PasskeySecret::of(passkey))
            .map_err(Fail::into_port)?;
        let row = CredentialRow {
            tenant_id: tenant.as_str().to_owned(),
            user_id: id.as_str().to_owned(),
            kind: KIND_PASSKEY.to_owned(),
            credential_id: passkey.credential_id.clone(),
            secret_format: PASSKEY_FORMAT,
            secret,
            created_at: passkey.created_at,
            updated_at: passkey.created_at,
        };
        let (owner, user) = (tenant.clone(), id.clone());
        self.grouped_write(move |conn| {
            let exists: Option<String> = users::table
                .find((owner.as_str(), user.as_str()))
                .select(users::id)
                .get_result(conn)
                .optional()?;
            if exists.is_none() {
                return Err(PortError::NotFound.into());
            }
            diesel::insert_into(credentials::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn passkeys(&self, tenant: &TenantId, id: &UserId) -> Result<Vec<StoredPasskey>, PortError> {
        self.read(|conn| {
            credentials::table
                .filter(credentials::tenant_id.eq(tenant.as_str()))
                .filter(credentials::user_id.eq(id.as_str()))
                .filter(credentials::kind.eq(KIND_PASSKEY))
                .order((credentials::created_at, credentials::credential_id))
                .select(CredentialRow::as_select())
                .load(conn)?
                .into_iter()
                .map(passkey_of)
                .collect()
        })
    }

    fn passkey_by_credential(
        &self,
        tenant: &TenantId,
        credential_id: &str,
    ) -> Result<Option<(UserId, StoredPasskey)>, PortError> {
        self.read(|conn| {
            credentials::table
                .filter(credentials::tenant_id.eq(tenant.as_str()))
                .filter(credentials::kind.eq(KIND_PASSKEY))
                .filter(credentials::credential_id.eq(credential_id))
                .select(CredentialRow::as_select())
                .get_result(conn)
                .optional()?
                .map(|row| {
                    let user = UserId::new(row.user_id.clone());
                    passkey_of(row).map(|passkey| (user, passkey))
                })
                .transpose()
        })
    }

    fn record_passkey_use(
        &self,
        tenant: &TenantId,
        id: &UserId,
        used: &StoredPasskey,
    ) -> Result<(), PortError> {
        let (owner, user, credential) = (tenant.clone(), id.clone(), used.credential_id.clone());
        let used = used.clone();
        self.grouped_write(move |conn| {
            let key = credentials::table.find((
                owner.as_str(),
                user.as_str(),
                KIND_PASSKEY,
                credential.as_str(),
            ));
            let row: Option<CredentialRow> = key
                .select(CredentialRow::as_select())
                .get_result(conn)
                .optional()?;
            let Some(row) = row else {
                return Err(PortError::NotFound.into());
            };
            let mut passkey = passkey_of(row)?;
            passkey.record_use(&used);
            let text = encode("cannot encode passkey", &PasskeySecret::of(&passkey))?;
            diesel::update(key)
                .set((
                    credentials::secret.eq(text),
                    credentials::updated_at.eq(used.last_used_at.unwrap_or_else(now_secs)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    fn remove_passkey(
        &self,
        tenant: &TenantId,
        id: &UserId,
        credential_id: &str,
    ) -> Result<(), PortError> {
        let (owner, user, credential) = (tenant.clone(), id.clone(), credential_id.to_owned());
        self.grouped_write(move |conn| {
            let removed = diesel::delete(credentials::table.find((
                owner.as_str(),
                user.as_str(),
                KIND_PASSKEY,
                credential.as_str(),
            )))
            .execute(conn)?;
            if removed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }

    fn mark_password_changed(
        &self,
        tenant: &TenantId,
        id: &UserId,
        at: i64,
    ) -> Result<(), PortError> {
        let (owner, user) = (tenant.clone(), id.clone());
        self.grouped_write(move |conn| {
            let changed = diesel::update(users::table.find((owner.as_str(), user.as_str())))
                .set((
                    users::password_changed_at.eq(Some(at)),
                    users::updated_at.eq(at),
                ))
                .execute(conn)?;
            if changed == 0 {
                return Err(PortError::NotFound.into());
            }
            Ok(())
        })
    }

    fn password_hash(&self, tenant: &TenantId, id: &UserId) -> Result<Option<String>, PortError> {
        self.read(|conn| {
            Ok(credentials::table
                .find((tenant.as_str(), id.as_str(), KIND_PASSWORD, ""))
                .select(credentials::secret)
                .get_result::<String>(conn)
                .optional()?)
        })
    }

    fn set_password_hash(
        &self,
        tenant: &TenantId,
        id: &UserId,
        hash: &str,
    ) -> Result<(), PortError> {
        let now = now_secs();
        self.transaction(|conn| {
            touch_user(conn, tenant, id)?;
            let changed = diesel::update(credentials::table.find((
                tenant.as_str(),
                id.as_str(),
                KIND_PASSWORD,
                "",
            )))
            .set((
                credentials::secret.eq(hash),
                credentials::secret_format.eq(PASSWORD_FORMAT),
                credentials::updated_at.eq(now),
            ))
            .execute(conn)?;
            if changed == 0 {
                diesel::insert_into(credentials::table)
                    .values(CredentialRow::password(tenant, id, hash, now))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn set_attributes(
        &self,
        tenant: &TenantId,
        id: &UserId,
        attributes: &Map<String, Value>,
    ) -> Result<(), PortError> {
        self.transaction(|conn| {
            touch_user(conn, tenant, id)?;
            let key = users::table.find((tenant.as_str(), id.as_str()));
            let text: String = key.select(users::attributes).get_result(conn)?;
            let mut merged = decode_attributes(&text)?;
            for (name, value) in attributes {
                if value.is_null() {
                    merged.shift_remove(name);
                } else {
                    merged.insert(name.clone(), value.clone());
                }
            }
            diesel::update(key)
                .set(users::attributes.eq(encode("cannot encode attributes", &merged)?))
                .execute(conn)?;
            Ok(())
        })
    }

    fn add_mfa_method(
        &self,
        tenant: &TenantId,
        id: &UserId,
        method: &str,
    ) -> Result<(), PortError> {
        self.transaction(|conn| {
            change_mfa_methods(conn, tenant, id, |methods| {
                let known = methods.iter().any(|known| known == method);
                if !known {
                    methods.push(method.to_owned());
                }
                !known
            })
        })
    }

    fn totp_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Option<TotpCredential>, PortError> {
        self.read(|conn| {
            totp_credentials::table
                .find((tenant.as_str(), id.as_str()))
                .select(TotpRow::as_select())
                .get_result(conn)
                .optional()?
                .map(TotpCredential::try_from)
                .transpose()
        })
    }

    fn set_totp_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
        credential: &TotpCredential,
    ) -> Result<(), PortError> {
        let row = TotpRow::new(tenant, id, credential).map_err(Fail::into_port)?;
        self.transaction(|conn| {
            touch_user(conn, tenant, id)?;
            diesel::delete(totp_credentials::table.find((tenant.as_str(), id.as_str())))
                .execute(conn)?;
            diesel::insert_into(totp_credentials::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn accept_totp_step(
        &self,
        tenant: &TenantId,
        id: &UserId,
        step: u64,
    ) -> Result<bool, PortError> {
        let step = step_to_sql(step).map_err(Fail::into_port)?;
        self.write(|conn| {
            // One statement decides and records: of two concurrent calls with one step, the
            // database lets the second see the first one's step, so it changes nothing.
            let changed = diesel::update(
                totp_credentials::table
                    .find((tenant.as_str(), id.as_str()))
                    .filter(
                        totp_credentials::last_step
                            .is_null()
                            .or(totp_credentials::last_step.lt(step)),
                    ),
            )
            .set((
                totp_credentials::last_step.eq(Some(step)),
                totp_credentials::updated_at.eq(now_secs()),
            ))
            .execute(conn)?;
            Ok(changed > 0)
        })
    }
}
