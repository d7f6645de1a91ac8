//! Sign-in cost: p50/p99 latency and throughput of `POST /v1/auth/login` under 16 concurrent
//! clients for a fixed time, the process's peak memory, and, in the same run, the same number
//! of bare Argon2id verifications on 16 threads as the floor the service is measured against.
//!
//! `cargo run --release --bin bench_login [-- SECONDS]` (default 20) on a temporary SQLite file;
//! with `WAVAULT_BENCH_DATABASE_URL=postgres://user@host/db` a fresh database is created there.
//! Figures are printed, never asserted.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sea_orm::{ConnectionTrait, Database};
use wavault::auth::{PasswordParams, Role};
use wavault::clock::SystemClock;
use wavault::config::{Environment, Settings};
use wavault::identity::{self, Actor};
use wavault::startup::Application;

const CLIENTS: usize = 16;
const PASSWORD: &str = "correct horse battery staple";

fn random_b64() -> anyhow::Result<String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|_| anyhow::anyhow!("no randomness"))?;
    Ok(STANDARD.encode(key))
}

/// Where the benchmark's database lives, and how to remove it afterwards.
enum Store {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

async fn fresh_store() -> anyhow::Result<(String, Store)> {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    match std::env::var("WAVAULT_BENCH_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("wavault_bench_{tag}");
            let admin = Database::connect(&admin_url)
                .await
                .context("cannot reach WAVAULT_BENCH_DATABASE_URL")?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            admin.close().await?;
            let (base, _) = admin_url
                .rsplit_once('/')
                .context("the database URL has no path")?;
            Ok((
                format!("{base}/{name}"),
                Store::Postgres { admin_url, name },
            ))
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("wavault-bench-{tag}"));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            Ok((url, Store::Sqlite(dir)))
        }
    }
}

async fn remove_store(store: Store) {
    match store {
        Store::Sqlite(dir) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Store::Postgres { admin_url, name } => {
            if let Ok(admin) = Database::connect(&admin_url).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
            }
        }
    }
}

fn settings(db_url: &str) -> anyhow::Result<Settings> {
    let master = format!("k1:{}", random_b64()?);
    let cert = random_b64()?;
    let jwt = random_b64()?;
    let overrides = [
        ("database.url", db_url),
        ("crypto.master_keys", master.as_str()),
        ("crypto.active_key", "k1"),
        ("crypto.certificate_key", cert.as_str()),
        ("auth.jwt_secret", jwt.as_str()),
        ("meta.app_secrets", "bench-app-secret"),
        ("meta.verify_token", "bench-verify-token"),
        ("server.host", "127.0.0.1"),
        ("server.port", "0"),
    ];
    // Production defaults (hash cap, workers, pool size), as an operator would run it.
    Ok(Settings::load_from(
        Path::new("config"),
        Environment::Production,
        &overrides,
        false,
    )?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted
        .get(rank.min(sorted.len() - 1))
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Peak resident set size of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn login_clients(
    base: &str,
    emails: Vec<String>,
    seconds: u64,
) -> anyhow::Result<(Vec<Duration>, usize, Duration)> {
    let client = reqwest::Client::builder().build()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for email in emails {
        let client = client.clone();
        let url = format!("{base}/v1/auth/login");
        tasks.push(tokio::spawn(async move {
            let body = serde_json::json!({"tenant": "bench", "email": email, "password": PASSWORD});
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let ok = match client.post(&url).json(&body).send().await {
                    Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t0.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        all.extend(l);
        failures += f;
    }
    Ok((all, failures, started.elapsed()))
}

/// `total` verifications of one Argon2id hash spread over `workers` threads.
fn bare_verifications(total: usize, workers: usize) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let hash = Arc::new(wavault::auth::hash_password(
        PASSWORD,
        &PasswordParams::default(),
    )?);
    let started = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|i| {
            let hash = Arc::clone(&hash);
            let n = total / workers + usize::from(i < total % workers);
            std::thread::spawn(move || {
                (0..n)
                    .map(|_| {
                        let t0 = Instant::now();
                        let ok = wavault::auth::verify_password(PASSWORD, &hash);
                        (t0.elapsed(), matches!(ok, Ok(true)))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for t in threads {
        let results = t
            .join()
            .map_err(|_| anyhow::anyhow!("a verification thread failed"))?;
        for (d, ok) in results {
            if !ok {
                bail!("a bare verification failed");
            }
            latencies.push(d);
        }
    }
    Ok((latencies, started.elapsed()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = match std::env::args().nth(1) {
        Some(s) => s.parse().context("usage: bench_login [SECONDS]")?,
        None => 20,
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (db_url, store) = fresh_store().await?;
    let result = run(&db_url, seconds).await;
    remove_store(store).await;
    result
}

async fn run(db_url: &str, seconds: u64) -> anyhow::Result<()> {
    let settings = settings(db_url)?;
    let backend = if db_url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let hash_cap = settings.auth.max_concurrent_hashes;
    let app = Application::build_with_clock(settings, Arc::new(SystemClock), true).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());

    let cli = Actor::cli();
    let tenant = identity::create_tenant(
        &state,
        "Bench",
        "bench",
        "owner@bench.example",
        PASSWORD,
        &cli,
    )
    .await?;
    let mut emails = Vec::new();
    for i in 0..CLIENTS {
        let email = format!("user{i}@bench.example");
        identity::create_user(&state, tenant.id, &email, PASSWORD, Role::Agent, &cli).await?;
        emails.push(email);
    }
    let setup_peak = peak_rss_mib();
    // Warm-up: connections, the dummy hash, caches.
    login_clients(&base, emails.clone(), 1).await?;

    let (mut lat, failures, wall) = login_clients(&base, emails, seconds).await?;
    let peak = peak_rss_mib();
    lat.sort_unstable();
    let logins = lat.len();
    let login_rate = logins as f64 / wall.as_secs_f64();

    // One thread alone: the cost of a single verification on an otherwise idle core.
    let (mut single, _) = bare_verifications(20, 1)?;
    single.sort_unstable();
    let (mut bare, bare_wall) = bare_verifications(logins.max(CLIENTS), CLIENTS)?;
    bare.sort_unstable();
    let bare_rate = bare.len() as f64 / bare_wall.as_secs_f64();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "login benchmark: {backend}, {CLIENTS} concurrent clients, {seconds} s, {cores} cores, \
         hash cap {hash_cap}, Argon2id m=19456 KiB t=2 p=1"
    );
    println!("| measure | p50 ms | p99 ms | per second | count |");
    println!("|---|---|---|---|---|");
    println!(
        "| POST /v1/auth/login | {:.1} | {:.1} | {:.1} | {logins} ({failures} failed) |",
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 99.0)),
        login_rate
    );
    println!(
        "| bare Argon2id verify, {CLIENTS} threads | {:.1} | {:.1} | {:.1} | {} |",
        ms(percentile(&bare, 50.0)),
        ms(percentile(&bare, 99.0)),
        bare_rate,
        bare.len()
    );
    println!(
        "| bare Argon2id verify, 1 thread | {:.1} | {:.1} | {:.1} | {} |",
        ms(percentile(&single, 50.0)),
        ms(percentile(&single, 99.0)),
        1000.0 / ms(percentile(&single, 50.0)).max(f64::MIN_POSITIVE),
        single.len()
    );
    println!(
        "throughput ratio login/bare: {:.2}; p50 ratio login/bare: {:.2}",
        login_rate / bare_rate,
        ms(percentile(&lat, 50.0)) / ms(percentile(&bare, 50.0)).max(f64::MIN_POSITIVE)
    );
    match (setup_peak, peak) {
        (Some(setup), Some(run)) => println!(
            "peak RSS (VmHWM): {setup:.1} MiB after setup, {run:.1} MiB after the login run"
        ),
        _ => println!("peak RSS: /proc/self/status unavailable"),
    }
    Ok(())
}
