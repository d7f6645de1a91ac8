//! Typed settings: config/base.toml, then config/<env>.toml, then `WAVAULT__*` variables.
//!
//! Settings are loaded once and passed down as a value; nothing reads a global. Secrets are
//! resolved from the variable or from the matching `*_file` path, wrapped in `SecretString`, and
//! never printed.
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        match s {
            "development" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            other => Err(invalid(format!(
                "WAVAULT_ENV '{other}' must be development, test or production"
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub webhook_body_limit_bytes: usize,
    pub json_body_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
    pub ingest_workers: usize,
    pub ingest_batch_max: usize,
    pub ingest_route_cache_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    pub rls_role: String,
    pub statistics_check_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CryptoSettings {
    pub master_keys: SecretString,
    pub master_keys_file: String,
    pub active_key: String,
    pub key_cache_capacity: usize,
    pub key_cache_ttl_secs: u64,
    pub tenant_key_dir: String,
    pub certificate_key: SecretString,
    pub certificate_key_file: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub jwt_secret_file: String,
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub leeway_secs: u64,
    pub argon2_m_cost_kib: u32,
    pub argon2_t_cost: u32,
    pub argon2_p_cost: u32,
    pub max_concurrent_hashes: usize,
    pub max_failed_logins: u32,
    pub failed_login_window_secs: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MetaSettings {
    pub app_secrets: SecretString,
    pub app_secrets_file: String,
    pub verify_token: SecretString,
    pub verify_token_file: String,
    pub graph_base_url: String,
    pub request_timeout_secs: u64,
    pub max_send_retries: u32,
    pub retry_base_delay_ms: u64,
    pub opt_out_words: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RetentionSettings {
    pub deletion_business_days: u32,
    pub holidays: Vec<chrono::NaiveDate>,
    pub billing_retention_years: u32,
    pub legal_term_years: u32,
    pub job_interval_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TelemetrySettings {
    pub log_format: String,
    pub log_level: String,
    pub dev_secrets_file: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    #[serde(skip, default = "default_env")]
    pub env: Option<Environment>,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub crypto: CryptoSettings,
    pub auth: AuthSettings,
    pub meta: MetaSettings,
    pub retention: RetentionSettings,
    pub telemetry: TelemetrySettings,
}

fn default_env() -> Option<Environment> {
    None
}

impl Settings {
    /// Loads from `config_dir` for the environment named by `WAVAULT_ENV` (default development),
    /// with `WAVAULT__*` variables on top.
    pub fn load() -> Result<Self, ConfigError> {
        let env = match std::env::var("WAVAULT_ENV") {
            Ok(v) => Environment::parse(&v)?,
            Err(_) => Environment::Development,
        };
        let dir = std::env::var("WAVAULT_CONFIG_DIR").unwrap_or_else(|_| "config".into());
        Self::load_from(Path::new(&dir), env, &[], true)
    }

    /// Loads with explicit overrides (`("database.url", "...")`); used by tests and tools that
    /// must not depend on the process environment.
    pub fn load_from(
        dir: &Path,
        env: Environment,
        overrides: &[(&str, &str)],
        read_process_env: bool,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from(dir.join("base.toml")).required(true))
            .add_source(
                config::File::from(dir.join(format!("{}.toml", env.as_str()))).required(false),
            );
        if read_process_env {
            builder = builder.add_source(
                config::Environment::with_prefix("WAVAULT")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("meta.opt_out_words")
                    .with_list_parse_key("retention.holidays")
                    .try_parsing(true),
            );
        }
        for (key, value) in overrides {
            builder = builder
                .set_override(*key, *value)
                .map_err(|e| invalid(format!("{key}: {e}")))?;
        }
        let cfg = builder
            .build()
            .map_err(|e| invalid(format!("cannot read {}: {e}", dir.display())))?;
        let mut settings: Settings = cfg.try_deserialize().map_err(|e| invalid(e.to_string()))?;
        settings.env = Some(env);
        settings.resolve_secret_files()?;
        if env == Environment::Development {
            crate::devsecrets::fill_missing(&mut settings)?;
        }
        settings.validate()?;
        Ok(settings)
    }

    pub fn environment(&self) -> Environment {
        self.env.unwrap_or(Environment::Development)
    }

    fn resolve_secret_files(&mut self) -> Result<(), ConfigError> {
        resolve(
            &mut self.crypto.master_keys,
            &self.crypto.master_keys_file,
            "crypto.master_keys_file",
        )?;
        resolve(
            &mut self.crypto.certificate_key,
            &self.crypto.certificate_key_file,
            "crypto.certificate_key_file",
        )?;
        resolve(
            &mut self.auth.jwt_secret,
            &self.auth.jwt_secret_file,
            "auth.jwt_secret_file",
        )?;
        resolve(
            &mut self.meta.app_secrets,
            &self.meta.app_secrets_file,
            "meta.app_secrets_file",
        )?;
        resolve(
            &mut self.meta.verify_token,
            &self.meta.verify_token_file,
            "meta.verify_token_file",
        )?;
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let required = [
            (&self.crypto.master_keys, "WAVAULT__CRYPTO__MASTER_KEYS"),
            (
                &self.crypto.certificate_key,
                "WAVAULT__CRYPTO__CERTIFICATE_KEY",
            ),
            (&self.auth.jwt_secret, "WAVAULT__AUTH__JWT_SECRET"),
            (&self.meta.app_secrets, "WAVAULT__META__APP_SECRETS"),
            (&self.meta.verify_token, "WAVAULT__META__VERIFY_TOKEN"),
        ];
        for (secret, name) in required {
            if secret.expose_secret().trim().is_empty() {
                return Err(invalid(format!(
                    "{name} is not set (environment or *_file)"
                )));
            }
        }
        if self.crypto.active_key.trim().is_empty() {
            return Err(invalid("WAVAULT__CRYPTO__ACTIVE_KEY is not set"));
        }
        if self.auth.jwt_secret.expose_secret().len() < 32 {
            return Err(invalid(
                "WAVAULT__AUTH__JWT_SECRET must be at least 32 bytes",
            ));
        }
        let r = &self.retention;
        if r.deletion_business_days == 0 || r.deletion_business_days > 7 {
            return Err(invalid(
                "retention.deletion_business_days must be between 1 and 7",
            ));
        }
        if self.auth.access_ttl_secs <= 0 || self.auth.refresh_ttl_secs <= 0 {
            return Err(invalid(
                "auth.access_ttl_secs and auth.refresh_ttl_secs must be positive",
            ));
        }
        if self.auth.max_concurrent_hashes == 0 {
            return Err(invalid("auth.max_concurrent_hashes must be at least 1"));
        }
        if !(self.meta.graph_base_url.starts_with("https://")
            || self.meta.graph_base_url.starts_with("http://"))
        {
            return Err(invalid("meta.graph_base_url must be an http(s) URL"));
        }
        let url = self.database.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url must start with sqlite: or postgres://",
            ));
        }
        Ok(())
    }

    /// Comma-separated app secrets as a list.
    pub fn app_secrets(&self) -> Vec<SecretString> {
        self.meta
            .app_secrets
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_owned()))
            .collect()
    }
}

fn resolve(secret: &mut SecretString, file: &str, key: &str) -> Result<(), ConfigError> {
    if file.trim().is_empty() {
        return Ok(());
    }
    let path = PathBuf::from(file);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        invalid(format!(
            "{key}: cannot read {}: {}",
            path.display(),
            e.kind()
        ))
    })?;
    *secret = SecretString::from(text.trim().to_owned());
    Ok(())
}
