//! Opening databases: URLs, persistence across reopen, idempotent migrations, tenancy columns,
//! and concurrent writers on one SQLite file.

use std::sync::Arc;

use flow_engine::{ExecutionStore, PortError, TenantId, UserDirectory};
use flow_store::{Backend, Database, DatabaseOptions, StoreError};

use crate::support::{execution, postgres_schema};

#[test]
fn sqlite_file_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/flowd.db");
    let tenant = TenantId::default();
    let stored = execution(&tenant, 1_000);
    {
        let database = Database::open(path.to_str().unwrap()).unwrap();
        assert_eq!(database.backend(), Backend::Sqlite);
        database.insert(&stored, &[]).unwrap();
    }
    // Reopening applies no migration twice and sees the data, by any URL spelling.
    let database = Database::open(&format!("sqlite://{}", path.display())).unwrap();
    assert_eq!(
        database.load(&stored.tenant, &stored.id).unwrap(),
        Some(stored)
    );
    assert!(path.exists());
    assert!(
        dir.path().join("nested/dir/flowd.db-wal").exists(),
        "WAL mode"
    );
}

#[test]
fn in_memory_databases_are_private() {
    let one = Database::open("sqlite::memory:").unwrap();
    let two = Database::open("sqlite::memory:").unwrap();
    assert_eq!(one.backend(), Backend::SqliteMemory);
    let stored = execution(&TenantId::default(), 1_000);
    one.insert(&stored, &[]).unwrap();
    assert!(one.load(&stored.tenant, &stored.id).unwrap().is_some());
    assert_eq!(two.load(&stored.tenant, &stored.id).unwrap(), None);
}

#[test]
fn unsupported_urls_are_refused() {
    assert!(matches!(
        Database::open("mysql://root:secret@localhost/flowd"),
        Err(StoreError::UnsupportedUrl { scheme }) if scheme == "mysql"
    ));
}

#[test]
fn unreachable_postgres_fails_fast_without_the_password() {
    let started = std::time::Instant::now();
    let error = Database::open("postgres://flowd:hunter2@127.0.0.1:1/flowd").unwrap_err();
    assert!(matches!(error, StoreError::Connect(_)), "{error:?}");
    assert!(!error.to_string().contains("hunter2"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Writers on four threads share one SQLite file: every write lands, none fails as "locked".
#[test]
fn sqlite_file_takes_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let options = DatabaseOptions {
        pool_size: 4,
        ..DatabaseOptions::default()
    };
    let database =
        Arc::new(Database::open_with(dir.path().join("c.db").to_str().unwrap(), &options).unwrap());
    let tenant = TenantId::default();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..25 {
                    let mut item = execution(&tenant, 1_000);
                    database.insert(&item, &[]).unwrap();
                    item.revision = 1;
                    database.save(&item, 0, &[]).unwrap();
                    assert_eq!(
                        database
                            .load(&item.tenant, &item.id)
                            .unwrap()
                            .unwrap()
                            .revision,
                        1
                    );
                }
            });
        }
    });
    assert_eq!(database.delete_expired(1_000).unwrap(), 100);
}

/// On PostgreSQL: reopening migrates nothing twice, and unknown users are `NotFound`.
#[test]
fn postgres_reopens() {
    let Some((url, _guard)) = postgres_schema() else {
        return;
    };
    let first = Database::open(&url).unwrap();
    assert_eq!(first.backend(), Backend::Postgres);
    drop(first);
    let second = Database::open(&url).unwrap();
    assert_eq!(
        second.set_password_hash(
            &TenantId::default(),
            &flow_engine::UserId::new("ghost"),
            "x"
        ),
        Err(PortError::NotFound)
    );
}

/// A PostgreSQL connection cut under the pool (server restart, idle kill) costs one failed
/// call, `Unavailable`; the pool then drops it and the next call works on a fresh connection.
#[test]
fn postgres_replaces_a_dead_connection() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};

    let Some((url, guard)) = postgres_schema() else {
        return;
    };
    let application = format!("{}_app", guard.schema());
    let url = format!("{url}&application_name={application}");
    let options = DatabaseOptions {
        pool_size: 1,
        ..DatabaseOptions::default()
    };
    let database = Database::open_with(&url, &options).unwrap();
    let tenant = TenantId::default();
    let stored = execution(&tenant, 1_000);
    database.insert(&stored, &[]).unwrap();

    let mut admin =
        PgConnection::establish(&std::env::var(crate::support::PG_ENV).unwrap()).unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = '{application}'"
        ))
        .unwrap();

    assert!(matches!(
        database.load(&stored.tenant, &stored.id),
        Err(PortError::Unavailable(_))
    ));
    assert_eq!(
        database.load(&stored.tenant, &stored.id).unwrap(),
        Some(stored)
    );
}

/// Settings are per tenant and set once: the second insert of a name reports `false` and keeps
/// the first value. The readiness probe answers.
fn settings_are_set_once_per_tenant(database: &Database) {
    let (tenant, other) = (TenantId::new("settings-a"), TenantId::new("settings-b"));
    database.ping().unwrap();
    assert_eq!(
        database.setting(&tenant, "admin_token_sha256").unwrap(),
        None
    );
    assert!(
        database
            .insert_setting(&tenant, "admin_token_sha256", "first")
            .unwrap()
    );
    assert!(
        !database
            .insert_setting(&tenant, "admin_token_sha256", "second")
            .unwrap()
    );
    assert_eq!(
        database
            .setting(&tenant, "admin_token_sha256")
            .unwrap()
            .as_deref(),
        Some("first")
    );
    assert_eq!(
        database.setting(&other, "admin_token_sha256").unwrap(),
        None
    );
}

#[test]
fn settings_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = Database::open(dir.path().join("flowd.db").to_str().unwrap()).unwrap();
    settings_are_set_once_per_tenant(&database);
    settings_are_set_once_per_tenant(&Database::open("sqlite::memory:").unwrap());
}

#[test]
fn settings_on_postgres() {
    let Some((url, _guard)) = postgres_schema() else {
        return;
    };
    settings_are_set_once_per_tenant(&Database::open(&url).unwrap());
}

/// Signing keys are shared and persistent: a second `Database` on the same URL (another
/// replica, or the same server after a restart) sees the same keys in the same order. The
/// row holds the PKCS#8 DER as hex with `key_format` 1, `status` active and an empty
/// `public_jwk`; a row in an unknown format is refused, not misread. `sql` runs a statement on
/// a raw connection and returns the rows it changed.
fn signing_keys_are_shared_and_persistent(url: &str, sql: &mut dyn FnMut(&str) -> usize) {
    use flow_engine::{KeyStore, StoredKey};

    let tenant = TenantId::default();
    let key = |kid: &str, der: Vec<u8>| StoredKey {
        kid: kid.to_owned(),
        algorithm: "EdDSA".to_owned(),
        private_pkcs8_der: der,
        created_at: 1_700_000_000,
    };
    let first = key("kid-1", vec![0x30, 0x2e, 0x00, 0xff, 0x7f]);
    let second = key("kid-0", vec![0x01, 0xab]);
    {
        let replica = Database::open(url).unwrap();
        replica.add(&tenant, first.clone()).unwrap();
    }
    let database = Database::open(url).unwrap();
    let replica = Database::open(url).unwrap();
    assert_eq!(
        database.keys(&tenant).unwrap(),
        std::slice::from_ref(&first)
    );
    replica.add(&tenant, second.clone()).unwrap();
    assert_eq!(database.keys(&tenant).unwrap(), [first, second]);
    assert_eq!(
        sql(
            "UPDATE signing_keys SET status = status WHERE kid = 'kid-1' AND key_format = 1 \
             AND private_key = '302e00ff7f' AND public_jwk = '' AND status = 'active' \
             AND not_after IS NULL"
        ),
        1
    );
    assert_eq!(
        sql("UPDATE signing_keys SET key_format = 9 WHERE kid = 'kid-0'"),
        1
    );
    let refused = database.keys(&tenant);
    assert!(
        matches!(&refused, Err(PortError::Corrupt(text)) if text.contains("kid-0")),
        "{refused:?}"
    );
}

#[test]
fn signing_keys_on_sqlite_file() {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flowd.db");
    let path = path.to_str().unwrap();
    signing_keys_are_shared_and_persistent(path, &mut |statement| {
        let mut conn = SqliteConnection::establish(path).unwrap();
        diesel::sql_query(statement).execute(&mut conn).unwrap()
    });
}

#[test]
fn signing_keys_on_postgres() {
    use diesel::{Connection, PgConnection, RunQueryDsl};

    let Some((url, _guard)) = postgres_schema() else {
        return;
    };
    signing_keys_are_shared_and_persistent(&url, &mut |statement| {
        let mut conn = PgConnection::establish(&url).unwrap();
        diesel::sql_query(statement).execute(&mut conn).unwrap()
    });
}

/// Users stored before identifier skeletons existed (inserted here without one, with
/// identifiers an older version kept: full-width letters, a look-alike pair, a pair that
/// collides once normalized) get their skeleton when the database is opened again, identifiers
/// are re-normalized where nothing collides, every account is kept, and a new look-alike is
/// refused. `sql` runs a statement on a raw connection and returns the rows it changed.
fn identifiers_are_backfilled(url: &str, sql: &mut dyn FnMut(&str) -> usize) {
    drop(Database::open(url).unwrap());
    for (id, identifier) in [
        ("u1", "\u{ff41}da@example.com"),
        ("u2", "\u{ff42}ob@example.com"),
        ("u3", "bob@example.com"),
        ("u4", "\u{430}lice@example.com"),
        ("u5", "alice@example.com"),
    ] {
        let inserted = sql(&format!(
            "INSERT INTO users (tenant_id, id, identifier, data_format, attributes, \
             mfa_methods, created_at, updated_at) \
             VALUES ('default', '{id}', '{identifier}', 1, '{{}}', '[]', 1, 1)"
        ));
        assert_eq!(inserted, 1);
    }
    let database = Database::open(url).unwrap();
    let report = database.identifier_backfill();
    assert_eq!(report.error, None);
    assert_eq!(report.skeletons, 5);
    assert_eq!(report.renormalized, 1);
    let tenant = TenantId::default();
    let ids = |pairs: &[(TenantId, flow_engine::UserId)]| {
        let mut ids: Vec<String> = pairs.iter().map(|(_, id)| id.as_str().to_owned()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&report.kept), ["u2"]);
    assert_eq!(ids(&report.look_alikes), ["u2", "u3", "u4", "u5"]);
    assert!(report.needs_attention());
    assert_eq!(
        sql("UPDATE users SET updated_at = 1 WHERE identifier_skeleton IS NULL"),
        0
    );
    let ada = database
        .find_by_identifier(&tenant, "ada@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(ada.id.as_str(), "u1");
    let skeleton = flow_engine::identifier_skeleton("alice@example.com");
    assert!(database.skeleton_taken(&tenant, &skeleton).unwrap());
    let look_alike = flow_engine::NewUser {
        id: flow_engine::UserId::new("u6"),
        identifier: "alic\u{435}@example.com".to_owned(),
        password_hash: None,
        attributes: serde_json::Map::new(),
        created_at: 1,
        disabled_at: None,
        password_changed_at: None,
    };
    assert_eq!(
        database.create(&tenant, look_alike),
        Err(PortError::Duplicate)
    );
    drop(database);
    let again = Database::open(url).unwrap();
    assert_eq!(again.identifier_backfill().skeletons, 0);
    assert!(!again.identifier_backfill().needs_attention());
}

#[test]
fn identifiers_are_backfilled_on_sqlite() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flowd.db");
    let path = path.to_str().unwrap();
    identifiers_are_backfilled(path, &mut |statement| {
        let mut conn = SqliteConnection::establish(path).unwrap();
        // The open database's pools may still be connecting (each one sets its pragmas):
        // wait for their locks rather than fail at once with "database is locked".
        conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
        diesel::sql_query(statement).execute(&mut conn).unwrap()
    });
}

#[test]
fn identifiers_are_backfilled_on_postgres() {
    use diesel::{Connection, PgConnection, RunQueryDsl};

    let Some((url, _guard)) = postgres_schema() else {
        return;
    };
    identifiers_are_backfilled(&url, &mut |statement| {
        let mut conn = PgConnection::establish(&url).unwrap();
        diesel::sql_query(statement).execute(&mut conn).unwrap()
    });
}
