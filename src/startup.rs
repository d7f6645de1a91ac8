//! `Application`: builds the state, binds the listener, and holds the one route table.
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};
use anyhow::Context;
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::api;
use crate::auth::{JwtKeys, PasswordParams, throttle::LoginThrottle};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::crypto::{CertSigner, MasterKeyRing};
use crate::keys::KeyService;
use crate::state::AppState;
use crate::store::Db;

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// Request id, set by the middleware and echoed in `X-Request-Id`.
#[derive(Clone, Copy, Debug)]
pub struct RequestId(pub Uuid);

fn metrics_handle() -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    // One recorder per process, installed exactly once even when several applications start at
    // the same moment (the test suite does).
    static HANDLE: OnceLock<Result<metrics_exporter_prometheus::PrometheusHandle, String>> =
        OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .map_err(|e| format!("metrics buckets: {e}"))?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)
                .map_err(|_| "another metrics recorder is installed".to_owned())?;
            Ok(handle)
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

impl Application {
    /// Builds the service; applies pending migrations first when `migrate` is set.
    pub async fn build(settings: Settings, migrate: bool) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock), migrate).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: SharedClock,
        migrate: bool,
    ) -> anyhow::Result<Self> {
        let state = build_state(settings, clock).await?;
        if migrate {
            state.db.migrate().await.context("migrations failed")?;
        }
        let s = &state.settings.server;
        let listener = TcpListener::bind((s.host.as_str(), s.port))
            .with_context(|| format!("cannot listen on {}:{}", s.host, s.port))?;
        let port = listener.local_addr()?.port();
        let server = run(listener, state.clone())?;
        tracing::info!(address = %format!("{}:{}", state.settings.server.host, port), "listening");
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM/SIGINT: stops accepting, finishes in-flight requests, then returns.
    /// Background jobs run on their interval meanwhile, and stop with the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let jobs = crate::jobs::spawn_loop(self.state.clone());
        let result = self.server.await;
        jobs.stop().await;
        result
    }
}

/// Everything the handlers share; also used by the CLI.
pub async fn build_state(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    let ring = MasterKeyRing::parse(
        settings.crypto.master_keys.expose_secret(),
        &settings.crypto.active_key,
    )?;
    let signer = CertSigner::from_seed_b64(settings.crypto.certificate_key.expose_secret())
        .map_err(|_| {
            anyhow::anyhow!("WAVAULT__CRYPTO__CERTIFICATE_KEY must be base64 of 32 bytes")
        })?;
    let jwt = JwtKeys::new(
        settings.auth.jwt_secret.expose_secret().as_bytes(),
        &settings.auth.issuer,
        &settings.auth.audience,
        settings.auth.access_ttl_secs,
        settings.auth.leeway_secs,
    )?;
    let password_params = PasswordParams {
        m_cost_kib: settings.auth.argon2_m_cost_kib,
        t_cost: settings.auth.argon2_t_cost,
        p_cost: settings.auth.argon2_p_cost,
    };
    password_params.validate()?;
    let db = Db::connect(&settings.database).await?;
    let keys = KeyService::new(
        ring,
        crate::shred::ShredStore::new(&settings.crypto.tenant_key_dir),
        settings.crypto.key_cache_capacity,
        db.clone(),
        clock.clone(),
    )
    .with_max_age(settings.crypto.key_cache_ttl_secs);
    let throttle = LoginThrottle::new(
        db.clone(),
        &settings.auth.jwt_secret,
        settings.auth.max_failed_logins,
        settings.auth.failed_login_window_secs,
    );
    let graph = crate::messaging::GraphClient::new(&settings.meta)?;
    let ingestor = crate::webhook::ingest::Ingestor::start(
        db.clone(),
        keys.clone(),
        &settings.meta.opt_out_words,
        clock.clone(),
        crate::webhook::ingest::IngestOptions {
            workers: settings.server.ingest_workers,
            batch_max: settings.server.ingest_batch_max,
            route_cache: std::time::Duration::from_millis(settings.server.ingest_route_cache_ms),
        },
    );
    Ok(AppState {
        ingestor,
        graph,
        hasher: crate::auth::hashpool::HashPool::new(settings.auth.max_concurrent_hashes)?,
        settings: Arc::new(settings),
        db,
        keys,
        clock,
        jwt: Arc::new(jwt),
        password_params,
        throttle: Arc::new(throttle),
        signer: Arc::new(signer),
        metrics: metrics_handle()?,
    })
}

fn run(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let shutdown = state.settings.server.shutdown_timeout_secs;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(api::extract::json_config(&data.settings))
            .app_data(api::extract::query_config())
            .app_data(api::extract::path_config())
            .wrap(from_fn(observe))
            .configure(routes)
            .default_service(web::to(api::not_found))
    })
    .workers(workers)
    .shutdown_timeout(shutdown)
    .listen(listener)?
    .run();
    Ok(server)
}

/// The one route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(api::health::healthz)
        .service(api::health::readyz)
        .service(api::health::metrics);
    api::configure(cfg);
}

/// Request id, access log line (ids and route only) and HTTP metrics.
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = Uuid::new_v4();
    req.extensions_mut().insert(RequestId(request_id));
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let mut res = next.call(req).await?;
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&request_id.to_string()) {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            v,
        );
    }
    let labels = [
        ("method", method.clone()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    if status >= 500 {
        tracing::error!(%request_id, %method, route = %route, status, "request failed");
    } else {
        tracing::debug!(%request_id, %method, route = %route, status, ms = elapsed.as_millis() as u64, "request");
    }
    Ok(res)
}
