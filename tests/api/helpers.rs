//! spawn_app: a running wavault on a fresh database, with a manual clock and test secrets.
#![allow(dead_code)]
use std::path::Path;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use wavault::clock::ManualClock;
use wavault::config::{Environment, Settings};
use wavault::startup::Application;
use wavault::state::AppState;

pub const MASTER_KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
pub const CERT_KEY: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
pub const JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-0123456789";
pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const PASSWORD: &str = "correct horse battery staple";

/// 2026-11-02T09:00:00Z, a Monday.
pub const START_MS: i64 = 1_793_610_000_000;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub state: AppState,
    pub db_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh database URL: a new PostgreSQL database, or a SQLite file in a temporary directory.
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("WAVAULT_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("PostgreSQL at WAVAULT_TEST_DATABASE_URL is unreachable: {e}")
            });
            let name = format!("wavault_t_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b)
                .expect("database url has a path");
            (format!("{base}/{name}"), None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("wavault.db").display()
            );
            (url, Some(dir))
        }
    }
}

pub fn test_settings(db_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut overrides: Vec<(&str, &str)> = vec![
        ("database.url", db_url),
        ("crypto.master_keys", MASTER_KEYS),
        ("crypto.active_key", "k1"),
        ("crypto.certificate_key", CERT_KEY),
        ("auth.jwt_secret", JWT_SECRET),
        ("meta.app_secrets", APP_SECRET),
        ("meta.verify_token", VERIFY_TOKEN),
        ("server.port", "0"),
        ("database.max_connections", "8"),
    ];
    overrides.extend_from_slice(extra);
    Settings::load_from(Path::new("config"), Environment::Test, &overrides, false)
        .expect("test settings")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let (db_url, dir) = fresh_database().await;
    spawn_on(db_url, dir, ManualClock::new(START_MS), extra).await
}

impl TestApp {
    /// Another instance of the service on this one's database, sharing its clock.
    pub async fn second_instance(&self) -> TestApp {
        spawn_on(self.db_url.clone(), None, self.clock.clone(), &[]).await
    }
}

async fn spawn_on(
    db_url: String,
    dir: Option<tempfile::TempDir>,
    clock: ManualClock,
    extra: &[(&str, &str)],
) -> TestApp {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = test_settings(&db_url, extra);
    let app = Application::build_with_clock(settings, Arc::new(clock.clone()), true)
        .await
        .expect("application builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        state,
        db_url,
        _dir: dir,
    }
}

impl TestApp {
    /// The key service of another instance (or a restart): same database, shred keys, master
    /// keys and clock, its own cache.
    pub fn other_key_service(&self) -> wavault::keys::KeyService {
        wavault::keys::KeyService::new(
            wavault::crypto::MasterKeyRing::parse(MASTER_KEYS, "k1").expect("master keys"),
            wavault::shred::ShredStore::new(&self.state.settings.crypto.tenant_key_dir),
            10,
            self.state.db.clone(),
            std::sync::Arc::new(self.clock.clone()),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut r = self.client.request(method, self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }
}

/// Status and JSON body of a response.
pub async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(json!({"raw": text})),
    )
}

/// A tenant with its owner signed in.
pub struct TestTenant {
    pub id: uuid::Uuid,
    pub slug: String,
    pub owner_id: uuid::Uuid,
    pub owner_token: String,
}

/// A signed-in user or staff member.
pub struct TestUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub token: String,
}

impl TestApp {
    pub async fn login(
        &self,
        tenant: Option<&str>,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let mut body = json!({"email": email, "password": password});
        if let Some(t) = tenant {
            body["tenant"] = json!(t);
        }
        self.post("/v1/auth/login", None, &body).await
    }

    pub async fn token_for(&self, tenant: Option<&str>, email: &str) -> String {
        let (s, body) = status_json(self.login(tenant, email, PASSWORD).await).await;
        assert_eq!(s, 200, "login failed: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a tenant (with its key and owner) the way `wavault tenant create` does.
    pub async fn create_tenant(&self, slug: &str) -> TestTenant {
        let email = format!("owner@{slug}.example");
        let t = wavault::identity::create_tenant(
            &self.state,
            &format!("{slug} Ltd"),
            slug,
            &email,
            PASSWORD,
            &wavault::identity::Actor::cli(),
        )
        .await
        .expect("tenant created");
        let owner_token = self.token_for(Some(slug), &email).await;
        let (_, me) = status_json(self.get("/v1/me", Some(&owner_token)).await).await;
        TestTenant {
            id: t.id,
            slug: slug.to_owned(),
            owner_id: me["user_id"].as_str().unwrap().parse().unwrap(),
            owner_token,
        }
    }

    /// Creates a tenant user with `role` ("owner", "admin", "agent") and signs it in.
    pub async fn create_user(&self, tenant: &TestTenant, name: &str, role: &str) -> TestUser {
        let email = format!("{name}@{}.example", tenant.slug);
        let id = wavault::identity::create_user(
            &self.state,
            tenant.id,
            &email,
            PASSWORD,
            role.parse().unwrap(),
            &wavault::identity::Actor::cli(),
        )
        .await
        .expect("user created");
        let token = self.token_for(Some(&tenant.slug), &email).await;
        TestUser { id, email, token }
    }

    /// Creates platform staff with `role` ("support" or "operator") and signs it in.
    pub async fn create_staff(&self, name: &str, role: &str) -> TestUser {
        let email = format!("{name}@bsp.example");
        let id = wavault::identity::create_staff(
            &self.state,
            &email,
            PASSWORD,
            role.parse().unwrap(),
            &wavault::identity::Actor::cli(),
        )
        .await
        .expect("staff created");
        let token = self.token_for(None, &email).await;
        TestUser { id, email, token }
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PATCH, path, token, body)
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PUT, path, token, body)
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.client.delete(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }
}
