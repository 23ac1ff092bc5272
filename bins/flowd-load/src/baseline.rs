//! The baseline: the least a flow step can cost here, one `SELECT` and one revision-checked
//! `UPDATE` of a row on a SQLite file behind actix-web, with diesel and r2d2 as flowd uses
//! them. The tool runs it as a child process (`--serve-baseline`) and drives it with the same
//! concurrency as flowd, so the two figures come from one run on the same cores.

use std::io::Write as _;
use std::path::Path;

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::{BigInt, Text};

/// How many rows the baseline keeps: one per client, more than any concurrency used.
pub(crate) const ROWS: i64 = 1024;

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    revision: i64,
    #[diesel(sql_type = Text)]
    body: String,
}

/// Serves the baseline on an ephemeral loopback port with a database at `path`, and prints
/// the port on standard output once it listens.
pub(crate) fn serve(path: &Path) -> std::io::Result<()> {
    let url = path.to_string_lossy().into_owned();
    let pool = Pool::builder()
        .max_size(4)
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::<SqliteConnection>::new(url))
        .map_err(std::io::Error::other)?;
    prepare(&pool).map_err(std::io::Error::other)?;
    actix_web::rt::System::new().block_on(async move {
        let pool = web::Data::new(pool);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(pool.clone())
                .route("/step/{row}", web::post().to(step))
        })
        .workers(2)
        .bind(("127.0.0.1", 0))?;
        let port = server.addrs().first().map_or(0, |address| address.port());
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{port}")?;
        stdout.flush()?;
        server.run().await
    })
}

/// WAL and a busy timeout, as flowd's own SQLite connections.
#[derive(Debug)]
struct Pragmas;

impl diesel::r2d2::CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection as _;
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA journal_mode = WAL;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Creates the table and its rows.
fn prepare(pool: &SqlitePool) -> Result<(), String> {
    let mut conn = pool.get().map_err(|error| error.to_string())?;
    diesel::sql_query(
        "CREATE TABLE IF NOT EXISTS steps (id INTEGER PRIMARY KEY, revision INTEGER NOT NULL, body TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .map_err(|error| error.to_string())?;
    diesel::sql_query(format!(
        "INSERT OR IGNORE INTO steps (id, revision, body) \
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
         SELECT i, 0, '{{}}' FROM n",
        ROWS - 1
    ))
    .execute(&mut conn)
    .map_err(|error| error.to_string())?;
    Ok(())
}

/// One step: read the row, write it back if its revision did not move (409 if it did). Like
/// flowd's store, an attempt refused at once with "database is locked" (a WAL race that skips
/// the busy handler, about once in 70,000 requests) is tried again, up to four times; one
/// that came after a wait is answered as it is.
async fn step(pool: web::Data<SqlitePool>, row: web::Path<i64>) -> HttpResponse {
    let id = row.into_inner();
    let result = web::block(move || -> Result<bool, String> {
        let mut tries = 0;
        loop {
            let started = std::time::Instant::now();
            match swap_once(&pool, id) {
                Err(error)
                    if tries < 4
                        && error.contains("database is locked")
                        && started.elapsed() < std::time::Duration::from_millis(50) =>
                {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(tries));
                }
                other => return other,
            }
        }
    })
    .await;
    match result {
        Ok(Ok(true)) => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Ok(Ok(false)) => HttpResponse::Conflict().finish(),
        _ => HttpResponse::ServiceUnavailable().finish(),
    }
}

/// The `SELECT` and the revision-checked `UPDATE` of one step; whether the swap won.
fn swap_once(pool: &SqlitePool, id: i64) -> Result<bool, String> {
    let mut conn = pool.get().map_err(|error| error.to_string())?;
    let found: Row = diesel::sql_query("SELECT revision, body FROM steps WHERE id = ?")
        .bind::<BigInt, _>(id)
        .get_result(&mut conn)
        .map_err(|error| error.to_string())?;
    let body = format!(
        "{{\"step\":{},\"previous\":{}}}",
        found.revision + 1,
        found.body.len()
    );
    let updated = diesel::sql_query(
        "UPDATE steps SET revision = revision + 1, body = ? WHERE id = ? AND revision = ?",
    )
    .bind::<Text, _>(body)
    .bind::<BigInt, _>(id)
    .bind::<BigInt, _>(found.revision)
    .execute(&mut conn)
    .map_err(|error| error.to_string())?;
    Ok(updated == 1)
}
