//! Tenant wipe against a raw DELETE on PostgreSQL, in the same run and database.
//!
//! Creates a fresh database, two tenants with the same data (N messages, each with a status
//! event, over a few hundred contacts and conversations), then times (1) a raw
//! `DELETE ... WHERE tenant_id = $1` of one tenant's rows from the same tables, in one
//! transaction as the table owner, and (2) the service's wipe of the other tenant (one
//! transaction under row-level security, key destruction, signed certificate, audit). Prints
//! both times and their ratio.
//!
//! `cargo build --release --bin bench_wipe && target/release/bench_wipe`
//! env: WAVAULT_BENCH_DATABASE_URL (an admin URL, default postgres://postgres@127.0.0.1:5432/test),
//! WAVAULT_BENCH_MESSAGES (default 1000000)
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use uuid::Uuid;
use wavault::clock::SystemClock;
use wavault::config::{Environment, Settings};
use wavault::identity::{self, Actor};

const CONTACTS: i64 = 500;

fn settings(db_url: &str) -> anyhow::Result<Settings> {
    let overrides = [
        ("database.url", db_url),
        (
            "crypto.master_keys",
            "b1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
        ("crypto.active_key", "b1"),
        (
            "crypto.certificate_key",
            "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=",
        ),
        (
            "auth.jwt_secret",
            "bench-jwt-secret-that-is-long-enough-0123456789",
        ),
        ("meta.app_secrets", "bench-app-secret"),
        ("meta.verify_token", "bench-verify"),
        ("telemetry.log_level", "warn"),
    ];
    Ok(Settings::load_from(
        Path::new("config"),
        Environment::Test,
        &overrides,
        false,
    )?)
}

/// Contacts, conversations, messages and one status event per message, generated server-side.
async fn seed(db_url: &str, tenant: Uuid, messages: i64) -> anyhow::Result<()> {
    let db = Database::connect(db_url).await?;
    let t = tenant.to_string();
    let stmts = [
        format!(
            "INSERT INTO contacts (tenant_id, id, wa_id_enc, wa_id_bidx, profile_name_enc, \
             consent_status, restricted, created_at, updated_at) \
             SELECT '{t}', md5('{t}c' || g)::uuid, convert_to(repeat(md5(g::text), 2), 'UTF8'), \
             decode(md5('{t}w' || g), 'hex'), convert_to(md5(g::text), 'UTF8'), 'opted_in', \
             FALSE, 0, 0 FROM generate_series(1, {CONTACTS}) g"
        ),
        format!(
            "INSERT INTO conversations (tenant_id, id, contact_id, phone_number_id, status, \
             last_message_at, created_at, updated_at) \
             SELECT '{t}', md5('{t}v' || g)::uuid, md5('{t}c' || g)::uuid, 'pn', 'open', 0, 0, 0 \
             FROM generate_series(1, {CONTACTS}) g"
        ),
        format!(
            "INSERT INTO messages (tenant_id, id, conversation_id, contact_id, direction, \
             msg_type, wamid_enc, wamid_bidx, content_enc, status, status_rank, sent_at, \
             created_at, updated_at) \
             SELECT '{t}', md5('{t}m' || g)::uuid, md5('{t}v' || (g % {CONTACTS} + 1))::uuid, \
             md5('{t}c' || (g % {CONTACTS} + 1))::uuid, 'inbound', 'text', \
             convert_to(repeat(md5(g::text), 2), 'UTF8'), decode(md5('{t}b' || g), 'hex'), \
             convert_to(repeat(md5(g::text), 4), 'UTF8'), 'delivered', 2, g, g, g \
             FROM generate_series(1, {messages}) g"
        ),
        format!(
            "INSERT INTO message_status_events (tenant_id, id, wamid_bidx, message_id, status, \
             status_rank, occurred_at, created_at) \
             SELECT '{t}', md5('{t}s' || g)::uuid, decode(md5('{t}b' || g), 'hex'), \
             md5('{t}m' || g)::uuid, 'delivered', 2, g, g \
             FROM generate_series(1, {messages}) g"
        ),
    ];
    for s in stmts {
        db.execute_unprepared(&s).await?;
    }
    db.close().await?;
    Ok(())
}

/// The same deletes the wipe does, as the table owner, without row-level security.
async fn raw_delete(db_url: &str, tables: &[String], tenant: Uuid) -> anyhow::Result<u64> {
    let db = Database::connect(db_url).await?;
    let txn = db.begin().await?;
    let mut rows = 0;
    for table in tables {
        let res = txn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("DELETE FROM \"{table}\" WHERE tenant_id = $1"),
                [tenant.into()],
            ))
            .await?;
        rows += res.rows_affected();
    }
    txn.commit().await?;
    db.close().await?;
    Ok(rows)
}

/// Flushes dirty pages, so neither timed phase pays for the other's writes.
async fn checkpoint(db_url: &str) -> anyhow::Result<()> {
    let db = Database::connect(db_url).await?;
    db.execute_unprepared("CHECKPOINT").await?;
    db.close().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let admin_url = std::env::var("WAVAULT_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let messages: i64 = std::env::var("WAVAULT_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let name = format!("wavault_bench_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let (base, _) = admin_url
        .rsplit_once('/')
        .context("the admin URL names no database")?;
    let db_url = format!("{base}/{name}");
    let result = run(&db_url, messages).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await?;
    result
}

async fn run(db_url: &str, messages: i64) -> anyhow::Result<()> {
    let state = wavault::startup::build_state(settings(db_url)?, Arc::new(SystemClock)).await?;
    state.db.migrate().await?;
    let actor = Actor::cli();
    let password = "bench password that is long";
    let wiped = identity::create_tenant(&state, "A", "bench-a", "a@a.example", password, &actor)
        .await?
        .id;
    let raw = identity::create_tenant(&state, "B", "bench-b", "b@b.example", password, &actor)
        .await?
        .id;
    println!("seeding {messages} messages (and as many status events) per tenant ...");
    seed(db_url, wiped, messages).await?;
    seed(db_url, raw, messages).await?;
    let db = Database::connect(db_url).await?;
    db.execute_unprepared("VACUUM ANALYZE").await?;
    db.close().await?;

    let tables: Vec<String> = state
        .db
        .tables_with_tenant_id()
        .await?
        .into_iter()
        .filter(|t| !migration::schema::WIPE_KEEPS.contains(&t.as_str()))
        .collect();
    checkpoint(db_url).await?;
    let started = Instant::now();
    let raw_rows = raw_delete(db_url, &tables, raw).await?;
    let raw_secs = started.elapsed().as_secs_f64();

    wavault::wipe::request(&state, wiped, &actor, "benchmark").await?;
    checkpoint(db_url).await?;
    let started = Instant::now();
    let cert = wavault::wipe::execute(&state, wiped, &actor).await?;
    let wipe_secs = started.elapsed().as_secs_f64();

    println!("raw DELETE: {raw_rows} rows in {raw_secs:.2} s");
    println!(
        "wipe:       {} rows in {wipe_secs:.2} s (key versions destroyed: {:?})",
        cert.total_rows_removed, cert.key_versions_destroyed
    );
    println!("ratio wipe / raw DELETE: {:.2}", wipe_secs / raw_secs);
    state.db.close().await;
    Ok(())
}
