//! Development convenience: secrets that are missing are created once in a local file.
//!
//! Only `WAVAULT_ENV=development` uses this, so `cargo run` works on a fresh machine with no
//! setup; test and production refuse to start without real secrets.
use std::path::Path;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Settings};

#[derive(Serialize, Deserialize)]
struct DevSecrets {
    master_keys: String,
    active_key: String,
    certificate_key: String,
    jwt_secret: String,
    app_secrets: String,
    verify_token: String,
}

fn random_b64(n: usize) -> Result<String, ConfigError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)
        .map_err(|_| ConfigError::Invalid("no system randomness for development secrets".into()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

fn generate() -> Result<DevSecrets, ConfigError> {
    Ok(DevSecrets {
        master_keys: format!("dev1:{}", random_b64(32)?),
        active_key: "dev1".into(),
        certificate_key: random_b64(32)?,
        jwt_secret: random_b64(48)?,
        app_secrets: random_b64(24)?,
        verify_token: random_b64(18)?,
    })
}

pub fn fill_missing(settings: &mut Settings) -> Result<(), ConfigError> {
    let file = settings.telemetry.dev_secrets_file.clone();
    if file.trim().is_empty() {
        return Ok(());
    }
    let path = Path::new(&file);
    let secrets: DevSecrets = if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Invalid(format!("{file}: {}", e.kind())))?;
        serde_json::from_str(&text).map_err(|_| {
            ConfigError::Invalid(format!("{file} is not a development secrets file"))
        })?
    } else {
        let s = generate()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ConfigError::Invalid(format!("{}: {}", dir.display(), e.kind())))?;
        }
        let text = serde_json::to_string_pretty(&s)
            .map_err(|_| ConfigError::Invalid("cannot encode development secrets".into()))?;
        write_private(path, &text)
            .map_err(|e| ConfigError::Invalid(format!("{file}: {}", e.kind())))?;
        s
    };
    let mut filled = false;
    let mut fill = |slot: &mut SecretString, value: &str| {
        if slot.expose_secret().trim().is_empty() {
            *slot = SecretString::from(value.to_owned());
            filled = true;
        }
    };
    fill(&mut settings.crypto.master_keys, &secrets.master_keys);
    fill(
        &mut settings.crypto.certificate_key,
        &secrets.certificate_key,
    );
    fill(&mut settings.auth.jwt_secret, &secrets.jwt_secret);
    fill(&mut settings.meta.app_secrets, &secrets.app_secrets);
    fill(&mut settings.meta.verify_token, &secrets.verify_token);
    if settings.crypto.active_key.trim().is_empty() {
        settings.crypto.active_key = secrets.active_key;
    }
    if filled {
        // Logging is not set up yet at this point; standard error always is.
        eprintln!(
            "WARNING: using DEVELOPMENT secrets from {file} (master key, JWT key, Meta secrets). \
             They are for local development only: never store real customer data under them."
        );
    }
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
