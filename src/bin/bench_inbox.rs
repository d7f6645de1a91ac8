//! Inbox read latency on PostgreSQL: conversation lists and message pages over HTTP.
//!
//! Seeds one tenant with N contacts (one conversation each, ten inbound text messages per
//! conversation) and 50 agents given the conversations round robin, all sealed as the service
//! seals them; runs `wavault serve` as a child process; then, with 8 clients for a fixed time
//! per case, pages the conversation list as an admin and as an agent, and reads a message page
//! as an admin and as the assigned agent. Requests/s and latency percentiles of each case are
//! printed next to the same SELECTs issued straight through sea-orm in the same run (no HTTP, no
//! tenant transaction, no decryption), with the server's peak RSS.
//!
//! `cargo build --release --bin wavault --bin bench_inbox && WAVAULT_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test target/release/bench_inbox`
//! (`WAVAULT_BENCH_CONTACTS=2000` for a smaller tenant, `WAVAULT_BENCH_SECS=15` per case.)
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use entity::{conversations, messages};
use sea_orm::{
    ColumnTrait, Condition, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use serde_json::{Value as Json, json};
use uuid::Uuid;
use wavault::auth::Role;
use wavault::clock::SystemClock;
use wavault::config::{Environment, Settings};
use wavault::crypto::{Purpose, TenantKeys};
use wavault::identity::{Actor, create_tenant, create_user};
use wavault::startup::build_state;
use wavault::store::sealed::{col, place};

const MASTER_KEYS: &str = "b1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const CERT_KEY: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
const JWT: &str = "bench-jwt-secret-that-is-long-enough-0123456789";
const PASSWORD: &str = "bench password that is long";
const SLUG: &str = "bench-inbox";
const PNID: &str = "100000000000001";
const AGENTS: usize = 50;
const PER_CONVERSATION: usize = 10;
const CLIENTS: usize = 8;
/// Pages of the conversation list each client walks before starting over.
const PAGES: usize = 4;
/// Contacts per seeding batch: 5,000 message rows of 7 parameters stay under PostgreSQL's 65,535.
const CHUNK: usize = 500;

/// Settings of both the seeding process and the server, as `section.key` overrides.
fn overrides(db_url: &str) -> Vec<(&'static str, String)> {
    [
        ("database.url", db_url),
        ("crypto.master_keys", MASTER_KEYS),
        ("crypto.active_key", "b1"),
        ("crypto.certificate_key", CERT_KEY),
        ("auth.jwt_secret", JWT),
        ("meta.app_secrets", "bench-app-secret"),
        ("meta.verify_token", "bench-verify"),
        ("telemetry.log_level", "warn"),
        ("server.host", "127.0.0.1"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn settings(db_url: &str) -> anyhow::Result<Settings> {
    let pairs = overrides(db_url);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(Settings::load_from(
        std::path::Path::new("config"),
        Environment::Production,
        &refs,
        false,
    )?)
}

fn peak_rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(0, |kib: u64| kib / 1024)
}

/// One multi-row INSERT: bound values first in each row, then literal constants.
struct Batch {
    sql: String,
    values: Vec<Value>,
}

impl Batch {
    fn new(head: &str) -> Self {
        Self {
            sql: format!("{head} VALUES "),
            values: Vec::new(),
        }
    }
    fn row(&mut self, bound: impl IntoIterator<Item = Value>, literals: &str) {
        self.sql
            .push_str(if self.values.is_empty() { "(" } else { ",(" });
        for (k, v) in bound.into_iter().enumerate() {
            self.values.push(v);
            self.sql.push_str(&format!(
                "{}${}",
                if k == 0 { "" } else { "," },
                self.values.len()
            ));
        }
        self.sql.push_str(literals);
        self.sql.push(')');
    }
    async fn run(self, db: &DatabaseConnection) -> anyhow::Result<()> {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            &self.sql,
            self.values,
        ))
        .await?;
        Ok(())
    }
}

/// Contacts `from..to`: contact, conversation and messages rows, written as the webhook ingest
/// writes them (inbound, no status, `last_message_at` and `last_inbound_at` at the last message).
async fn seed_chunk(
    db: DatabaseConnection,
    keys: Arc<TenantKeys>,
    tenant: Uuid,
    agents: Arc<Vec<Uuid>>,
    from: usize,
    to: usize,
    base_ms: i64,
) -> anyhow::Result<Vec<(Uuid, usize)>> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut contacts = Batch::new(
        "INSERT INTO contacts (tenant_id, id, wa_id_enc, wa_id_bidx, profile_name_enc, consent_status, restricted, created_at, updated_at, last_inbound_at)",
    );
    let mut convs = Batch::new(
        "INSERT INTO conversations (tenant_id, id, contact_id, assignee_id, phone_number_id, status, last_message_at, created_at, updated_at)",
    );
    let mut msgs = Batch::new(
        "INSERT INTO messages (tenant_id, id, conversation_id, contact_id, wamid_enc, wamid_bidx, content_enc, direction, msg_type, status, status_rank, sent_at, created_at, updated_at)",
    );
    let mut threads = Vec::with_capacity(to - from);
    for i in from..to {
        let (contact, conv) = (Uuid::now_v7(), Uuid::now_v7());
        let wa = format!("4479{i:08}");
        let agent = i % agents.len().max(1);
        let first = base_ms + i64::try_from(i * PER_CONVERSATION)? * 1000;
        let last = first + i64::try_from(PER_CONVERSATION - 1)? * 1000;
        let p = |c: &'static str| place(col::CONTACTS, c, contact);
        contacts.row(
            [
                tenant.into(),
                contact.into(),
                keys.seal_str(&p("wa_id_enc"), &wa)?.into(),
                keys.blind_index(Purpose::Phone, &wa)?.into(),
                keys.seal_str(&p("profile_name_enc"), &format!("Customer {i}"))?
                    .into(),
            ],
            &format!(",'unknown',false,{now},{now},{last}"),
        );
        convs.row(
            [
                tenant.into(),
                conv.into(),
                contact.into(),
                agents.get(agent).copied().into(),
            ],
            &format!(",'{PNID}','open',{last},{now},{now}"),
        );
        for j in 0..PER_CONVERSATION {
            let (id, sent) = (Uuid::now_v7(), first + i64::try_from(j)? * 1000);
            let wamid = format!("wamid.HBgM{i:012}{j:02}FQIAEhggQkVOQ0g=");
            let content = json!({"from": wa, "id": wamid, "timestamp": (sent / 1000).to_string(), "type": "text",
                "text": {"body": format!("Hello, this is message {j} from customer {i}: has my order shipped yet?")}});
            let p = |c: &'static str| place(col::MESSAGES, c, id);
            msgs.row(
                [
                    tenant.into(),
                    id.into(),
                    conv.into(),
                    contact.into(),
                    keys.seal_str(&p("wamid_enc"), &wamid)?.into(),
                    keys.blind_index(Purpose::Wamid, &wamid)?.into(),
                    keys.seal_json(&p("content_enc"), &content)?.into(),
                ],
                &format!(",'inbound','text',NULL,0,{sent},{now},{now}"),
            );
        }
        threads.push((conv, agent));
    }
    contacts.run(&db).await?;
    convs.run(&db).await?;
    msgs.run(&db).await?;
    Ok(threads)
}

/// Every conversation with the index of its agent.
async fn seed(
    state: &wavault::state::AppState,
    db: &DatabaseConnection,
    tenant: Uuid,
    agents: Arc<Vec<Uuid>>,
    n: usize,
) -> anyhow::Result<Vec<(Uuid, usize)>> {
    let keys = state.keys.for_tenant(tenant).await?;
    let base_ms =
        chrono::Utc::now().timestamp_millis() - i64::try_from((n + 1) * PER_CONVERSATION)? * 1000;
    let mut set = tokio::task::JoinSet::new();
    let mut parts = Vec::new();
    for from in (0..n).step_by(CHUNK) {
        // Sealing is CPU-bound and the INSERT is I/O: a few chunks in flight keep both busy.
        if set.len() >= 3 {
            parts.push(set.join_next().await.context("seed task")???);
        }
        set.spawn(seed_chunk(
            db.clone(),
            keys.clone(),
            tenant,
            agents.clone(),
            from,
            (from + CHUNK).min(n),
            base_ms,
        ));
    }
    while let Some(done) = set.join_next().await {
        parts.push(done??);
    }
    Ok(parts.concat())
}

/// Latencies of one case, sorted, and its wall time.
struct Run {
    lat: Vec<Duration>,
    secs: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.lat.len() as f64 / self.secs
    }
    fn pct_ms(&self, q: f64) -> f64 {
        let i = ((self.lat.len() as f64 * q).ceil() as usize).saturating_sub(1);
        self.lat.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }
}

/// What one client does in a loop: over HTTP, or the same SELECT straight through sea-orm.
#[derive(Clone, Copy)]
enum Case {
    List { agent: bool },
    Messages { agent: bool },
    SqlList { agent: bool },
    SqlMessages,
}

/// What the measured cases share.
struct Bench {
    client: reqwest::Client,
    base: String,
    db: DatabaseConnection,
    tenant: Uuid,
    agents: Vec<Uuid>,
    /// Every conversation, with the index of its agent.
    threads: Vec<(Uuid, usize)>,
    admin: String,
    /// Tokens of the first `CLIENTS` agents, and the conversations of each: an agent reads only
    /// conversations assigned to it, anyone else's would be a 404.
    agent_tokens: Vec<String>,
    agent_threads: Vec<Vec<Uuid>>,
}

impl Bench {
    /// One iteration of `case` by client `c`; returns the latency of each request made.
    async fn op(&self, case: Case, c: usize, i: usize) -> anyhow::Result<Vec<Duration>> {
        let a = c % self.agent_tokens.len().max(1);
        // A different conversation on each call, so no single thread stays in a cache.
        let pick = |len: usize| (i.wrapping_mul(7919) + c.wrapping_mul(104_729)) % len.max(1);
        let (token, conv) = match case {
            Case::List { agent: true } | Case::Messages { agent: true } => {
                let mine = self.agent_threads.get(a);
                (
                    self.agent_tokens.get(a).context("agent token")?,
                    mine.and_then(|v| v.get(pick(v.len()))).copied(),
                )
            }
            _ => (
                &self.admin,
                self.threads.get(pick(self.threads.len())).map(|t| t.0),
            ),
        };
        let conv = conv.context("no conversation")?;
        match case {
            Case::List { .. } => self.list_pages(token).await,
            Case::Messages { .. } => Ok(vec![
                self.get(
                    &format!("/v1/conversations/{conv}/messages?limit=50"),
                    token,
                )
                .await?
                .0,
            ]),
            Case::SqlList { agent } => {
                sql_pages(
                    &self.db,
                    self.tenant,
                    self.agents.get(a).copied().filter(|_| agent),
                )
                .await
            }
            Case::SqlMessages => sql_messages(&self.db, self.tenant, conv).await,
        }
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<(Duration, Json)> {
        let started = Instant::now();
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        let body: Json = resp.json().await?;
        // An error or an empty page would be measured as a fast success.
        if !status.is_success()
            || body
                .get("items")
                .and_then(Json::as_array)
                .is_none_or(Vec::is_empty)
        {
            bail!("GET {path}: {status} {body}");
        }
        Ok((started.elapsed(), body))
    }

    /// `PAGES` pages of the conversation list, following `next_cursor`.
    async fn list_pages(&self, token: &str) -> anyhow::Result<Vec<Duration>> {
        let (mut lat, mut cursor) = (Vec::new(), String::new());
        for _ in 0..PAGES {
            let (d, body) = self
                .get(&format!("/v1/conversations?limit=50{cursor}"), token)
                .await?;
            lat.push(d);
            match body.get("next_cursor").and_then(Json::as_str) {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        Ok(lat)
    }

    async fn login(&self, email: &str) -> anyhow::Result<String> {
        let body = json!({"tenant": SLUG, "email": email, "password": PASSWORD});
        let resp: Json = self
            .client
            .post(format!("{}/v1/auth/login", self.base))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        Ok(resp
            .get("access_token")
            .and_then(Json::as_str)
            .with_context(|| format!("login {email}: {resp}"))?
            .to_owned())
    }
}

/// Runs `case` from `CLIENTS` tasks until `dur` has passed.
async fn drive(bench: &Arc<Bench>, case: Case, dur: Duration) -> anyhow::Result<Run> {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let bench = bench.clone();
        set.spawn(async move {
            let (mut lat, mut i) = (Vec::new(), 0);
            while started.elapsed() < dur {
                lat.extend(bench.op(case, c, i).await?);
                i += 1;
            }
            anyhow::Ok(lat)
        });
    }
    let mut lat = Vec::new();
    while let Some(done) = set.join_next().await {
        lat.extend(done??);
    }
    lat.sort();
    Ok(Run {
        lat,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// The service's conversation-list SELECT (limit + 1, keyset cursor), page after page.
async fn sql_pages(
    db: &DatabaseConnection,
    tenant: Uuid,
    agent: Option<Uuid>,
) -> anyhow::Result<Vec<Duration>> {
    use conversations::Column as C;
    let (mut lat, mut before) = (Vec::new(), None);
    for _ in 0..PAGES {
        let started = Instant::now();
        let mut q = conversations::Entity::find()
            .filter(C::TenantId.eq(tenant))
            .order_by_desc(C::LastMessageAt)
            .order_by_desc(C::Id)
            .limit(51);
        if let Some(a) = agent {
            q = q.filter(C::AssigneeId.eq(a));
        }
        if let Some((at, id)) = before {
            q = q.filter(
                Condition::any().add(C::LastMessageAt.lt(at)).add(
                    Condition::all()
                        .add(C::LastMessageAt.eq(at))
                        .add(C::Id.lt(id)),
                ),
            );
        }
        let rows = q.all(db).await?;
        lat.push(started.elapsed());
        match rows.get(49) {
            Some(last) if rows.len() > 50 => before = Some((last.last_message_at, last.id)),
            _ => break,
        }
    }
    Ok(lat)
}

/// The service's message-page SELECT.
async fn sql_messages(
    db: &DatabaseConnection,
    tenant: Uuid,
    conv: Uuid,
) -> anyhow::Result<Vec<Duration>> {
    use messages::Column as M;
    let started = Instant::now();
    let q = messages::Entity::find()
        .filter(M::TenantId.eq(tenant))
        .filter(M::ConversationId.eq(conv));
    let rows = q
        .order_by_asc(M::SentAt)
        .order_by_asc(M::Id)
        .limit(51)
        .all(db)
        .await?;
    if rows.is_empty() {
        bail!("no messages in {conv}");
    }
    Ok(vec![started.elapsed()])
}

fn spawn_server(db_url: &str, port: u16) -> anyhow::Result<Child> {
    let mut cmd = Command::new(std::env::current_exe()?.with_file_name("wavault"));
    cmd.arg("serve")
        .arg("--no-migrate")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    cmd.env("WAVAULT_ENV", "production")
        .env("WAVAULT__SERVER__PORT", port.to_string());
    for (k, v) in overrides(db_url) {
        cmd.env(
            format!("WAVAULT__{}", k.to_uppercase().replace('.', "__")),
            v,
        );
    }
    cmd.spawn()
        .context("start wavault serve (build it with --bin wavault first)")
}

async fn measure(mut bench: Bench, dur: Duration, pid: u32) -> anyhow::Result<()> {
    bench.admin = bench.login(&format!("admin@{SLUG}.example")).await?;
    for a in 0..CLIENTS.min(bench.agents.len()) {
        let token = bench.login(&format!("agent{a}@{SLUG}.example")).await?;
        bench.agent_tokens.push(token);
        bench.agent_threads.push(
            bench
                .threads
                .iter()
                .filter(|t| t.1 == a)
                .map(|t| t.0)
                .collect(),
        );
    }
    let bench = Arc::new(bench);
    let ms = |r: &Run| {
        format!(
            "{:.2} | {:.2} | {:.2}",
            r.pct_ms(0.50),
            r.pct_ms(0.95),
            r.pct_ms(0.99)
        )
    };
    println!(
        "| case ({CLIENTS} clients, {:.0}s each) | HTTP req/s | p50 ms | p95 ms | p99 ms | SQL req/s | p50 ms | p95 ms | p99 ms | req/s HTTP/SQL | p50 HTTP/SQL | server peak RSS MiB |",
        dur.as_secs_f64()
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let cases = [
        (
            "admin: conversation list, 50 per page",
            Case::List { agent: false },
            Case::SqlList { agent: false },
        ),
        (
            "agent: own conversation list, 50 per page",
            Case::List { agent: true },
            Case::SqlList { agent: true },
        ),
        (
            "admin: messages of a conversation, limit 50",
            Case::Messages { agent: false },
            Case::SqlMessages,
        ),
        (
            "agent: messages of an assigned conversation, limit 50",
            Case::Messages { agent: true },
            Case::SqlMessages,
        ),
    ];
    for (name, http, sql) in cases {
        let (http, sql) = (
            drive(&bench, http, dur).await?,
            drive(&bench, sql, dur).await?,
        );
        let ratio = (http.rate() / sql.rate(), http.pct_ms(0.5) / sql.pct_ms(0.5));
        println!(
            "| {name} | {:.0} | {} | {:.0} | {} | {:.2} | {:.1} | {} |",
            http.rate(),
            ms(&http),
            sql.rate(),
            ms(&sql),
            ratio.0,
            ratio.1,
            peak_rss_mib(pid)
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let admin_url = var(
        "WAVAULT_BENCH_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let n: usize = var("WAVAULT_BENCH_CONTACTS", "100000")
        .parse()
        .context("WAVAULT_BENCH_CONTACTS")?;
    let dur = Duration::from_secs_f64(
        var("WAVAULT_BENCH_SECS", "15")
            .parse()
            .context("WAVAULT_BENCH_SECS")?,
    );
    let name = format!("wavault_bench_{}", Uuid::new_v4().simple());
    let admin_db = Database::connect(&admin_url).await?;
    admin_db
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let db_url = format!(
        "{}/{name}",
        admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b)
    );
    let state = build_state(settings(&db_url)?, Arc::new(SystemClock)).await?;
    state.db.migrate().await?;
    // Connected as the owner of the tables, so row-level security does not apply: a bare baseline.
    let db = Database::connect(
        ConnectOptions::new(db_url.clone())
            .max_connections(16)
            .sqlx_logging(false)
            .to_owned(),
    )
    .await?;

    let started = Instant::now();
    let tenant = create_tenant(
        &state,
        "Bench Inbox",
        SLUG,
        &format!("owner@{SLUG}.example"),
        PASSWORD,
        &Actor::cli(),
    )
    .await?
    .id;
    create_user(
        &state,
        tenant,
        &format!("admin@{SLUG}.example"),
        PASSWORD,
        Role::Admin,
        &Actor::cli(),
    )
    .await?;
    let mut agents = Vec::with_capacity(AGENTS);
    for a in 0..AGENTS {
        agents.push(
            create_user(
                &state,
                tenant,
                &format!("agent{a}@{SLUG}.example"),
                PASSWORD,
                Role::Agent,
                &Actor::cli(),
            )
            .await?,
        );
    }
    eprintln!(
        "created the tenant and {} users in {:.1}s",
        AGENTS + 2,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let threads = seed(&state, &db, tenant, Arc::new(agents.clone()), n).await?;
    // Fresh statistics, as autovacuum would have gathered them on a live database.
    db.execute_unprepared("ANALYZE").await?;
    let secs = started.elapsed().as_secs_f64();
    let rows = n * (PER_CONVERSATION + 2);
    eprintln!(
        "seeded {n} contacts, {n} conversations, {} messages in {secs:.1}s ({:.0} rows/s)",
        n * PER_CONVERSATION,
        rows as f64 / secs
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = spawn_server(&db_url, port)?;
    let (client, base) = (reqwest::Client::new(), format!("http://127.0.0.1:{port}"));
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (admin, agent_tokens, agent_threads) = (String::new(), Vec::new(), Vec::new());
    let bench = Bench {
        client,
        base,
        db: db.clone(),
        tenant,
        agents,
        threads,
        admin,
        agent_tokens,
        agent_threads,
    };
    let result = measure(bench, dur, server.id()).await;
    let _ = server.kill();
    let _ = server.wait();
    db.close().await.ok();
    state.db.close().await;
    admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
    result
}
