//! Webhook ingestion load test on PostgreSQL, against a bare baseline in the same run.
//!
//! Starts `wavault serve` (child process), registers one number for each of several tenants, and
//! posts signed, distinct, realistic webhooks (text, media, location, interactive, reactions,
//! statuses, ~5% redeliveries) from N concurrent senders for a fixed time. The same load goes
//! to a bare baseline (a separate process running one actix handler that checks the signature
//! and inserts the raw body into one PostgreSQL table). The two take turns in several rounds
//! (wavault first in odd rounds, the baseline first in even ones) so that a change in the
//! machine's load during the run falls on both. Before the rounds each target takes an uncounted
//! warm-up turn (new contacts, conversations, connection pools), then the database is analysed as
//! autovacuum would do on a database in service, so the rounds measure steady state. Prints
//! events/s, latency percentiles, errors and peak RSS of each server per round and over all
//! rounds, and the ratios, with the machine's idle and stolen CPU time (`/proc/stat`) over each
//! turn: a hypervisor taking CPU away weighs more on the target that needs more of it.
//!
//! `cargo build --release --bins && target/release/bench_ingest`
//! env: WAVAULT_BENCH_DATABASE_URL, WAVAULT_BENCH_SECS (per target per round, default 10),
//! WAVAULT_BENCH_ROUNDS (default 4), WAVAULT_BENCH_CONCURRENCY (default 64),
//! WAVAULT_BENCH_WARMUP_SECS (per target, default 10, 0 for none)
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

const APP_SECRET: &str = "bench-app-secret";
const PASSWORD: &str = "bench password that is long";
const TENANTS: usize = 4;

fn server_env(db_url: &str, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("WAVAULT_ENV", "production".into()),
        ("WAVAULT__DATABASE__URL", db_url.into()),
        (
            "WAVAULT__CRYPTO__MASTER_KEYS",
            "b1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        ),
        ("WAVAULT__CRYPTO__ACTIVE_KEY", "b1".into()),
        (
            "WAVAULT__CRYPTO__CERTIFICATE_KEY",
            "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=".into(),
        ),
        (
            "WAVAULT__AUTH__JWT_SECRET",
            "bench-jwt-secret-that-is-long-enough-0123456789".into(),
        ),
        ("WAVAULT__META__APP_SECRETS", APP_SECRET.into()),
        ("WAVAULT__META__VERIFY_TOKEN", "bench-verify".into()),
        ("WAVAULT__TELEMETRY__LOG_LEVEL", "warn".into()),
        ("WAVAULT__SERVER__HOST", "127.0.0.1".into()),
        ("WAVAULT__SERVER__PORT", port.to_string()),
        ("WAVAULT__DATABASE__MAX_CONNECTIONS", "32".into()),
        // The warm-up ends with ANALYZE; the measured rounds run with what it enables.
        ("WAVAULT__DATABASE__STATISTICS_CHECK_SECS", "1".into()),
    ]
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn peak_rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

fn sibling(name: &str) -> anyhow::Result<std::path::PathBuf> {
    Ok(std::env::current_exe()?.with_file_name(name))
}

/// A realistic body: one of several message types, or a status for an earlier message.
fn body(pnid: &str, i: usize) -> Value {
    let wa = format!("4479{:08}", i % 5000);
    let wamid = format!("wamid.HBgM{wa}FQIAEhgg{i:012}");
    let ts = (1_793_610_000 + i).to_string();
    let message = match i % 6 {
        0 | 1 => {
            json!({"type": "text", "text": {"body": format!("Hello, I need help with order {i}")}})
        }
        2 => {
            json!({"type": "image", "image": {"id": format!("{i}"), "mime_type": "image/jpeg", "sha256": "abc", "caption": "receipt"}})
        }
        3 => {
            json!({"type": "location", "location": {"latitude": 51.5, "longitude": -0.12, "name": "Shop"}})
        }
        4 => {
            json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}})
        }
        _ => {
            // A status for this tenant's previous message (same number, same sender slot).
            let prev = i.saturating_sub(TENANTS);
            return json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
                "statuses": [{"id": format!("wamid.HBgM4479{:08}FQIAEhgg{:012}", prev % 5000, prev), "status": "read", "timestamp": ts, "recipient_id": wa}]
            }}]}]});
        }
    };
    let mut m = json!({"from": wa, "id": wamid, "timestamp": ts});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), message.as_object()) {
        m.extend(extra.clone());
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
        "contacts": [{"profile": {"name": format!("Customer {}", i % 5000)}, "wa_id": wa}], "messages": [m]
    }}]}]})
}

struct Outcome {
    events: usize,
    errors: usize,
    latencies_us: Vec<u64>,
    secs: f64,
    /// The machine's CPU time over the turn (all processes, the hypervisor's steal included).
    cpu: CpuShare,
}

/// Shares of the machine's CPU time over an interval, from `/proc/stat` (Linux; zero elsewhere).
#[derive(Clone, Copy, Default)]
struct CpuShare {
    busy: u64,
    idle: u64,
    steal: u64,
}

impl CpuShare {
    /// Jiffies since boot: (busy, idle + iowait, steal).
    fn now() -> Self {
        let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = text
            .lines()
            .find(|l| l.starts_with("cpu "))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|f| f.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal (guest time is within user).
        Self {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            idle: at(3) + at(4),
            steal: at(7),
        }
    }

    fn since(self, start: Self) -> Self {
        Self {
            busy: self.busy.saturating_sub(start.busy),
            idle: self.idle.saturating_sub(start.idle),
            steal: self.steal.saturating_sub(start.steal),
        }
    }

    fn add(self, other: Self) -> Self {
        Self {
            busy: self.busy + other.busy,
            idle: self.idle + other.idle,
            steal: self.steal + other.steal,
        }
    }

    /// "idle % / steal %" of the interval.
    fn describe(self) -> String {
        let total = (self.busy + self.idle + self.steal).max(1) as f64;
        format!(
            "{:.0} / {:.0}",
            100.0 * self.idle as f64 / total,
            100.0 * self.steal as f64 / total
        )
    }
}

/// One target under load: its URL, and the next body to send, which carries over between
/// rounds so every round posts new bodies.
struct Target {
    name: &'static str,
    url: String,
    next: Arc<AtomicUsize>,
    rounds: Vec<Outcome>,
}

impl Target {
    fn new(name: &'static str, port: u16) -> Self {
        Self {
            name,
            url: format!("http://127.0.0.1:{port}/webhooks/whatsapp"),
            next: Arc::new(AtomicUsize::new(0)),
            rounds: Vec::new(),
        }
    }

    async fn run(&mut self, bodies: Arc<Vec<Vec<u8>>>, concurrency: usize, secs: u64) {
        let outcome = load(self, bodies, concurrency, secs).await;
        self.rounds.push(outcome);
    }

    fn last_rate(&self) -> f64 {
        self.rounds.last().map_or(0.0, |o| o.events as f64 / o.secs)
    }
}

async fn load(
    target: &Target,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
    secs: u64,
) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap_or_default();
    let (url, next) = (target.url.clone(), target.next.clone());
    let errors = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let cpu_start = CpuShare::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, bodies, next, errors) = (
            client.clone(),
            url.clone(),
            bodies.clone(),
            next.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                // About one in twenty posts is a redelivery of an earlier body.
                let idx = if i % 20 == 19 { i / 2 } else { i } % bodies.len();
                let Some(b) = bodies.get(idx) else { break };
                let sig = wavault::webhook::sign(APP_SECRET, b);
                let t = Instant::now();
                let ok = client
                    .post(&url)
                    .header("X-Hub-Signature-256", sig)
                    .header("Content-Type", "application/json")
                    .body(b.clone())
                    .send()
                    .await
                    .map(|r| r.status().as_u16() == 200)
                    .unwrap_or(false);
                lat.push(t.elapsed().as_micros() as u64);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap_or_default());
    }
    let cpu = CpuShare::now().since(cpu_start);
    latencies_us.sort_unstable();
    Outcome {
        events: latencies_us.len(),
        errors: errors.load(Ordering::Relaxed),
        latencies_us,
        secs: started.elapsed().as_secs_f64(),
        cpu,
    }
}

/// The rounds of one target as one outcome: all events over all the time under load.
fn merge(outcomes: Vec<Outcome>) -> Outcome {
    let mut all = Outcome {
        events: 0,
        errors: 0,
        latencies_us: Vec::new(),
        secs: 0.0,
        cpu: CpuShare::default(),
    };
    for o in outcomes {
        all.cpu = all.cpu.add(o.cpu);
        all.events += o.events;
        all.errors += o.errors;
        all.secs += o.secs;
        all.latencies_us.extend(o.latencies_us);
    }
    all.latencies_us.sort_unstable();
    all
}

fn pct(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0) as f64 / 1000.0
}

async fn baseline_insert(
    db: web::Data<DatabaseConnection>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let header = req
        .headers()
        .get("X-Hub-Signature-256")
        .and_then(|v| v.to_str().ok());
    if wavault::webhook::verify_signature(&[SecretString::from(APP_SECRET)], header, &body).is_err()
    {
        return HttpResponse::Unauthorized().finish();
    }
    let stmt = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO bench_raw (body) VALUES ($1)",
        [body.to_vec().into()],
    );
    match db.execute_raw(stmt).await {
        Ok(_) => HttpResponse::Ok().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

async fn run_baseline_server(port: u16, db_url: String) -> anyhow::Result<()> {
    let mut opts = sea_orm::ConnectOptions::new(db_url);
    opts.max_connections(32).sqlx_logging(false);
    let db = Database::connect(opts).await?;
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS bench_raw (id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL)",
    )
    .await?;
    let data = web::Data::new(db);
    HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(8 * 1024 * 1024))
            .route("/webhooks/whatsapp", web::post().to(baseline_insert))
            .route("/healthz", web::get().to(HttpResponse::Ok))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}

async fn wait_up(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn spawn_wavault(db_url: &str, port: u16, args: &[&str]) -> anyhow::Result<Child> {
    let mut cmd = Command::new(sibling("wavault")?);
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .stdin(Stdio::piped());
    for (k, v) in server_env(db_url, port) {
        cmd.env(k, v);
    }
    cmd.env("WAVAULT_PASSWORD", PASSWORD);
    cmd.spawn()
        .context("start wavault (build the wavault binary too)")
}

async fn setup_tenants(db_url: &str, port: u16) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut pnids = Vec::new();
    for i in 0..TENANTS {
        let slug = format!("bench-{i}");
        let email = format!("owner@{slug}.example");
        let status = spawn_wavault(
            db_url,
            0,
            &[
                "tenant",
                "create",
                "--name",
                "Bench",
                "--slug",
                &slug,
                "--owner-email",
                &email,
            ],
        )?
        .wait()?;
        anyhow::ensure!(status.success(), "tenant create failed");
        let login: Value = client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"tenant": slug, "email": email, "password": PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        let token = login
            .get("access_token")
            .and_then(Value::as_str)
            .context("login")?;
        let pnid = format!("10000000000{i:04}");
        let r = client
            .put(format!("{base}/v1/whatsapp/numbers/{pnid}"))
            .bearer_auth(token)
            .json(&json!({"display_phone_number": "+1 555 000 0000", "waba_id": "1", "access_token": "EAAG-bench"}))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "register number: {}", r.status());
        pnids.push(pnid);
    }
    Ok(pnids)
}

/// Mean of the server's `webhook_ingest_batch_size` histogram.
async fn mean_group_size(port: u16) -> Option<f64> {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
    };
    let (sum, count) = (
        value("webhook_ingest_batch_size_sum")?,
        value("webhook_ingest_batch_size_count")?,
    );
    (count > 0.0).then(|| sum / count)
}

fn report(name: &str, o: &Outcome, rss: &str) -> f64 {
    let rate = o.events as f64 / o.secs;
    println!(
        "| {name} | {rate:.0} | {:.1} | {:.1} | {:.1} | {} | {rss} | {} |",
        pct(&o.latencies_us, 0.50),
        pct(&o.latencies_us, 0.95),
        pct(&o.latencies_us, 0.99),
        o.errors,
        o.cpu.describe()
    );
    rate
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, port, url] = args.as_slice()
        && mode == "baseline-server"
    {
        return run_baseline_server(port.parse()?, url.clone()).await;
    }
    let admin = std::env::var("WAVAULT_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let secs = env("WAVAULT_BENCH_SECS", 10);
    let rounds = env("WAVAULT_BENCH_ROUNDS", 4).max(1);
    let concurrency = env("WAVAULT_BENCH_CONCURRENCY", 64) as usize;
    let warmup = env("WAVAULT_BENCH_WARMUP_SECS", 10);
    let admin_db = Database::connect(&admin).await?;
    let name = format!("wavault_bench_{}", Uuid::new_v4().simple());
    admin_db
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let base_url = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or_else(|| admin.clone());
    let db_url = format!("{base_url}/{name}");

    let port = free_port()?;
    let mut server = spawn_wavault(&db_url, port, &["serve"])?;
    wait_up(port).await;
    let pnids = setup_tenants(&db_url, port).await?;
    let count = 400_000;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..count)
            .map(|i| {
                serde_json::to_vec(&body(pnids.get(i % TENANTS).map_or("", String::as_str), i))
                    .unwrap_or_default()
            })
            .collect(),
    );
    let bport = free_port()?;
    let mut baseline = Command::new(std::env::current_exe()?)
        .args(["baseline-server", &bport.to_string(), &db_url])
        .stdout(Stdio::null())
        .spawn()?;
    wait_up(bport).await;
    let mut wavault = Target::new("wavault", port);
    let mut bare = Target::new("bare baseline", bport);

    if warmup > 0 {
        for t in [&mut wavault, &mut bare] {
            t.run(bodies.clone(), concurrency, warmup).await;
            t.rounds.clear();
        }
        let db = Database::connect(&db_url).await?;
        db.execute_unprepared("ANALYZE").await?;
        db.close().await.ok();
    }
    println!(
        "concurrency {concurrency}, {rounds} rounds of {secs} s per target after a {warmup} s warm-up each, {TENANTS} tenants, PostgreSQL"
    );
    println!(
        "| round | target | events/s | p50 ms | p95 ms | p99 ms | errors | ratio | CPU idle / steal % |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for round in 1..=rounds {
        let (first, second) = if round % 2 == 1 {
            (&mut wavault, &mut bare)
        } else {
            (&mut bare, &mut wavault)
        };
        first.run(bodies.clone(), concurrency, secs).await;
        second.run(bodies.clone(), concurrency, secs).await;
        let ratio = if first.name == "wavault" {
            first.last_rate() / second.last_rate()
        } else {
            second.last_rate() / first.last_rate()
        };
        for t in [&*first, &*second] {
            let Some(o) = t.rounds.last() else { continue };
            let ratio = if t.name == "wavault" {
                format!("{ratio:.2}")
            } else {
                String::new()
            };
            println!(
                "| {round} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {ratio} | {} |",
                t.name,
                t.last_rate(),
                pct(&o.latencies_us, 0.50),
                pct(&o.latencies_us, 0.95),
                pct(&o.latencies_us, 0.99),
                o.errors,
                o.cpu.describe()
            );
        }
    }
    let rss = (peak_rss_mib(server.id()), peak_rss_mib(baseline.id()));
    let groups = mean_group_size(port).await;
    for child in [&mut server, &mut baseline] {
        let _ = child.kill();
        let _ = child.wait();
    }

    println!("\nall rounds:");
    println!(
        "| target | events/s | p50 ms | p95 ms | p99 ms | errors | server peak RSS MiB | CPU idle / steal % |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let w_rate = report(wavault.name, &merge(wavault.rounds), &rss.0.to_string());
    let b_rate = report(bare.name, &merge(bare.rounds), &rss.1.to_string());
    println!("\nratio wavault / baseline: {:.2}", w_rate / b_rate);
    if let Some(g) = groups {
        println!("wavault stored {g:.1} bodies per group on average");
    }
    admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
    Ok(())
}
