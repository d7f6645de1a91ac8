//! Start-up refuses bad configuration with a message naming the key, never echoing a secret.
use std::process::Command;

use crate::helpers::*;

fn wavault(envs: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wavault"));
    cmd.arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env(
        "WAVAULT_CONFIG_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
    );
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn full_env(db: &str) -> Vec<(&'static str, String)> {
    vec![
        ("WAVAULT_ENV", "production".into()),
        ("WAVAULT__DATABASE__URL", db.into()),
        ("WAVAULT__CRYPTO__MASTER_KEYS", MASTER_KEYS.into()),
        ("WAVAULT__CRYPTO__ACTIVE_KEY", "k1".into()),
        ("WAVAULT__CRYPTO__CERTIFICATE_KEY", CERT_KEY.into()),
        ("WAVAULT__AUTH__JWT_SECRET", JWT_SECRET.into()),
        ("WAVAULT__META__APP_SECRETS", APP_SECRET.into()),
        ("WAVAULT__META__VERIFY_TOKEN", VERIFY_TOKEN.into()),
    ]
}

fn run_with(db: &str, change: &[(&'static str, Option<&str>)]) -> (bool, String) {
    let mut env = full_env(db);
    for (k, v) in change {
        env.retain(|(key, _)| key != k);
        if let Some(v) = v {
            env.push((k, (*v).to_owned()));
        }
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    wavault(&pairs)
}

#[tokio::test]
async fn production_starts_only_with_every_secret_and_names_the_missing_one() {
    let (db, _dir) = fresh_database().await;
    let (ok, out) = run_with(&db, &[]);
    assert!(ok, "a complete production configuration migrates: {out}");
    for key in [
        "WAVAULT__CRYPTO__MASTER_KEYS",
        "WAVAULT__CRYPTO__CERTIFICATE_KEY",
        "WAVAULT__AUTH__JWT_SECRET",
        "WAVAULT__META__APP_SECRETS",
        "WAVAULT__META__VERIFY_TOKEN",
        "WAVAULT__CRYPTO__ACTIVE_KEY",
    ] {
        let (ok, out) = run_with(&db, &[(key, None)]);
        assert!(!ok, "starts without {key}");
        assert!(
            out.contains(key),
            "message for {key} does not name it: {out}"
        );
        assert_eq!(out.trim().lines().count(), 1, "one line: {out}");
    }
}

#[tokio::test]
async fn bad_values_are_named_and_secrets_never_echoed() {
    let (db, _dir) = fresh_database().await;
    let short = "short-jwt-secret-value";
    let (ok, out) = run_with(&db, &[("WAVAULT__AUTH__JWT_SECRET", Some(short))]);
    assert!(!ok);
    assert!(
        out.contains("WAVAULT__AUTH__JWT_SECRET") && !out.contains(short),
        "{out}"
    );

    let bad_key = "k1:bm90LTMyLWJ5dGVz";
    let (ok, out) = run_with(&db, &[("WAVAULT__CRYPTO__MASTER_KEYS", Some(bad_key))]);
    assert!(!ok);
    assert!(
        out.contains("WAVAULT__CRYPTO__MASTER_KEYS") && !out.contains("bm90LTMyLWJ5dGVz"),
        "{out}"
    );

    let (ok, out) = run_with(&db, &[("WAVAULT__CRYPTO__ACTIVE_KEY", Some("k9"))]);
    assert!(!ok);
    assert!(out.contains("WAVAULT__CRYPTO__ACTIVE_KEY"), "{out}");

    let (ok, out) = run_with(
        &db,
        &[("WAVAULT__RETENTION__DELETION_BUSINESS_DAYS", Some("9"))],
    );
    assert!(!ok);
    assert!(out.contains("deletion_business_days"), "{out}");

    let (ok, out) = run_with(&db, &[("WAVAULT__SERVER__PORT", Some("not-a-port"))]);
    assert!(!ok);
    assert!(out.to_lowercase().contains("port"), "{out}");
}

#[tokio::test]
async fn a_wrong_master_key_cannot_open_existing_tenant_keys() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let (ok, out) = run_with(
        &app.db_url,
        &[
            (
                "WAVAULT__CRYPTO__MASTER_KEYS",
                Some("k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="),
            ),
            ("WAVAULT__CRYPTO__ACTIVE_KEY", Some("k1")),
        ],
    );
    assert!(ok, "{out}");
    // The same id with different key bytes must not unwrap the data key.
    let settings = test_settings(
        &app.db_url,
        &[(
            "crypto.master_keys",
            "k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
        )],
    );
    let state =
        wavault::startup::build_state(settings, std::sync::Arc::new(wavault::clock::SystemClock))
            .await
            .unwrap();
    assert!(state.keys.for_tenant(t.id).await.is_err());
}
