//! Tenant export throughput and memory on PostgreSQL.
//!
//! Seeds tenants of 10k, 100k and 1M contacts (sealed exactly as the service seals them), runs
//! `wavault serve` as a child process, streams `GET /v1/contacts/export` for each, and prints
//! rows/s and the server's peak RSS after each size, next to a raw
//! `COPY (SELECT ...) TO STDOUT` of the same rows measured in the same run.
//!
//! `WAVAULT_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --release --bin bench_export`
//! (`WAVAULT_BENCH_SIZES=10000,100000` to run smaller sizes.)
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, Value};
use secrecy::ExposeSecret;
use serde_json::Value as Json;
use uuid::Uuid;
use wavault::clock::SystemClock;
use wavault::config::{Environment, Settings};
use wavault::crypto::Purpose;
use wavault::identity::{Actor, create_tenant};
use wavault::startup::build_state;
use wavault::store::sealed::{col, place};

const MASTER_KEYS: &str = "b1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const CERT_KEY: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
const JWT: &str = "bench-jwt-secret-that-is-long-enough-0123456789";
const PASSWORD: &str = "bench password that is long";

fn env_pairs(db_url: &str, port: u16) -> Vec<(String, String)> {
    [
        ("WAVAULT_ENV", "production"),
        ("WAVAULT__DATABASE__URL", db_url),
        ("WAVAULT__CRYPTO__MASTER_KEYS", MASTER_KEYS),
        ("WAVAULT__CRYPTO__ACTIVE_KEY", "b1"),
        ("WAVAULT__CRYPTO__CERTIFICATE_KEY", CERT_KEY),
        ("WAVAULT__AUTH__JWT_SECRET", JWT),
        ("WAVAULT__META__APP_SECRETS", "bench-app-secret"),
        ("WAVAULT__META__VERIFY_TOKEN", "bench-verify"),
        ("WAVAULT__TELEMETRY__LOG_LEVEL", "warn"),
        ("WAVAULT__SERVER__HOST", "127.0.0.1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .chain([("WAVAULT__SERVER__PORT".to_owned(), port.to_string())])
    .collect()
}

fn settings(db_url: &str) -> anyhow::Result<Settings> {
    let pairs = env_pairs(db_url, 0);
    let keyed: Vec<(String, String)> = pairs
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("WAVAULT__")
                .map(|k| (k.to_lowercase().replacen("__", ".", 1), v.clone()))
        })
        .collect();
    let refs: Vec<(&str, &str)> = keyed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Ok(Settings::load_from(
        std::path::Path::new("config"),
        Environment::Production,
        &refs,
        false,
    )?)
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn seed(state: &wavault::state::AppState, tenant: Uuid, n: usize) -> anyhow::Result<()> {
    let keys = state.keys.for_tenant(tenant).await?;
    let db = Database::connect(state.settings.database.url.expose_secret()).await?;
    let now = chrono::Utc::now().timestamp_millis();
    for chunk_start in (0..n).step_by(1000) {
        let mut sql = String::from(
            "INSERT INTO contacts (tenant_id, id, wa_id_enc, wa_id_bidx, profile_name_enc, attributes_enc, consent_status, restricted, created_at, updated_at, last_inbound_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::new();
        for i in chunk_start..(chunk_start + 1000).min(n) {
            let id = Uuid::now_v7();
            let phone = format!("4479{:08}", i);
            let p = |c: &'static str| place(col::CONTACTS, c, id);
            let base = values.len();
            if base > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},'opted_in',false,{now},{now},{now})",
                base + 1,
                base + 2,
                base + 3,
                base + 4,
                base + 5,
                base + 6
            ));
            values.extend([
                tenant.into(),
                id.into(),
                keys.seal_str(&p("wa_id_enc"), &phone)?.into(),
                keys.blind_index(Purpose::Phone, &phone)?.into(),
                keys.seal_str(&p("profile_name_enc"), &format!("Customer {i}, \"VIP\""))?
                    .into(),
                keys.seal_json(
                    &p("attributes_enc"),
                    &serde_json::json!({"tier": i % 3, "city": "Zürich"}),
                )?
                .into(),
            ]);
        }
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            &sql,
            values,
        ))
        .await?;
    }
    Ok(())
}

fn spawn_server(db_url: &str, port: u16) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?.with_file_name("wavault");
    let mut cmd = Command::new(exe);
    cmd.arg("serve")
        .arg("--no-migrate")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env_pairs(db_url, port) {
        cmd.env(k, v);
    }
    cmd.spawn()
        .context("start wavault serve (build it with --bin wavault first)")
}

fn copy_baseline(db_url: &str, tenant: Uuid) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let out = Command::new("psql")
        .arg(db_url)
        .arg("-qAtc")
        .arg(format!(
            "COPY (SELECT * FROM contacts WHERE tenant_id = '{tenant}') TO STDOUT"
        ))
        .output()?;
    if !out.status.success() {
        bail!("psql COPY failed");
    }
    Ok((
        started.elapsed().as_secs_f64(),
        out.stdout.iter().filter(|b| **b == b'\n').count() as u64,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let admin = std::env::var("WAVAULT_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let sizes: Vec<usize> = std::env::var("WAVAULT_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let name = format!("wavault_bench_{}", Uuid::new_v4().simple());
    let admin_db = Database::connect(&admin).await?;
    admin_db
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let db_url = format!(
        "{}/{name}",
        admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin)
    );
    let state = build_state(settings(&db_url)?, Arc::new(SystemClock)).await?;
    state.db.migrate().await?;
    let mut tenants = Vec::new();
    for (i, n) in sizes.iter().enumerate() {
        let slug = format!("bench-{i}");
        let t = create_tenant(
            &state,
            "Bench",
            &slug,
            &format!("owner@{slug}.example"),
            PASSWORD,
            &Actor::cli(),
        )
        .await?;
        let started = Instant::now();
        seed(&state, t.id, *n).await?;
        eprintln!(
            "seeded {n} contacts in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        tenants.push((slug, t.id, *n));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = spawn_server(&db_url, port)?;
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "| contacts | export rows/s | export MB/s | server peak RSS (MiB) | COPY rows/s | ratio export/COPY |"
    );
    println!("|---|---|---|---|---|---|");
    for (slug, tenant, n) in tenants {
        let login: serde_json::Value = client
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({"tenant": slug, "email": format!("owner@{slug}.example"), "password": PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        let token = login
            .get("access_token")
            .and_then(Json::as_str)
            .context("login")?
            .to_owned();
        let started = Instant::now();
        let mut resp = client
            .get(format!("{base}/v1/contacts/export?format=csv"))
            .bearer_auth(&token)
            .send()
            .await?;
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(chunk) = resp.chunk().await? {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let secs = started.elapsed().as_secs_f64();
        let rss = peak_rss_kib(server.id()) / 1024;
        let (copy_secs, copy_rows) = copy_baseline(&db_url, tenant)?;
        let rows = lines.saturating_sub(1);
        if rows != n as u64 || copy_rows != n as u64 {
            eprintln!("row counts differ: export {rows}, COPY {copy_rows}, seeded {n}");
        }
        let (rate, copy_rate) = (rows as f64 / secs, copy_rows as f64 / copy_secs);
        println!(
            "| {n} | {rate:.0} | {:.1} | {rss} | {copy_rate:.0} | {:.2} |",
            bytes as f64 / secs / 1e6,
            rate / copy_rate
        );
    }
    let _ = server.kill();
    let _ = server.wait();
    state.db.close().await;
    admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
    Ok(())
}
