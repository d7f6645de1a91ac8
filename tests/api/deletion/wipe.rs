//! The wipe: two tenants, one wiped. Every tenant table is emptied of it, its billing records
//! stay, the other tenant is unchanged to the byte, its keys are destroyed, and the signed
//! certificate says exactly what was removed.
use migration::schema::{TENANT_TABLES, WIPE_KEEPS};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;
use wavault::clock::Clock;
use wavault::store::sealed::{col, place};

use super::seed::{Seeded, connect, counts, seed_content, snapshot};
use super::{deletion_path, request_deletion};
use crate::helpers::*;

/// Two tenants with data in every tenant table, a support and an operator, a billing record.
pub struct Fixture {
    pub app: TestApp,
    pub support: TestUser,
    pub a: TestTenant,
    pub b: TestTenant,
    pub seeded_a: Seeded,
    pub seeded_b: Seeded,
}

pub async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let support = app.create_staff("sue", "support").await;
    let operator = app.create_staff("oscar", "operator").await;
    let a = app.create_tenant("alpha").await;
    let b = app.create_tenant("bravo").await;
    let now = app.clock.now_ms();
    let mut seeded = Vec::new();
    for (t, tag) in [(&a, "alpha"), (&b, "bravo")] {
        app.create_user(t, "agent", "agent").await;
        let (s, g) = status_json(
            app.post(
                "/v1/support-grants",
                Some(&t.owner_token),
                &json!({"minutes": 60, "reason": "ticket 42"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{g}");
        seeded.push(seed_content(&app, t.id, tag, &[now - 7_200_000, now - 3_600_000]).await);
        let (s, r) = status_json(
            app.post(
                &format!("/v1/tenants/{}/billing-records", t.id),
                Some(&operator.token),
                &json!({"invoice_number": format!("INV-{tag}-1"), "amount_minor": 499900,
                        "currency": "INR", "issued_at": "2026-10-31T12:00:00Z",
                        "gstin": "27AAPFU0939F1ZV"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{r}");
    }
    let seeded_b = seeded.pop().unwrap();
    let seeded_a = seeded.pop().unwrap();
    Fixture {
        app,
        support,
        a,
        b,
        seeded_a,
        seeded_b,
    }
}

/// The tables a wipe must empty, from the live schema.
pub async fn wiped_tables(app: &TestApp) -> Vec<String> {
    let all = app.state.db.tables_with_tenant_id().await.unwrap();
    for t in TENANT_TABLES {
        assert!(
            all.iter().any(|a| a == t),
            "{t} not found in the live schema"
        );
    }
    all.into_iter()
        .filter(|t| !WIPE_KEEPS.contains(&t.as_str()))
        .collect()
}

fn sqlite_path(app: &TestApp) -> Option<std::path::PathBuf> {
    app.db_url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap().into())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn wrapped_keys(app: &TestApp, tenant: Uuid) -> Vec<Option<Vec<u8>>> {
    let db = connect(app).await;
    let backend = db.get_database_backend();
    let p = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT wrapped_dek FROM tenant_keys WHERE tenant_id = {p} ORDER BY version"),
            [tenant.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<Option<Vec<u8>>>("", "wrapped_dek").unwrap())
        .collect()
}

#[tokio::test]
async fn wipe_empties_every_tenant_table_keeps_billing_and_leaves_the_other_tenant_unchanged() {
    let f = fixture().await;
    let app = &f.app;
    // A second key version, so that shredding covers more than one.
    app.state.keys.add_version(f.a.id).await.unwrap();
    request_deletion(app, &f.support.token, &f.a).await;
    let tables = wiped_tables(app).await;
    let before_a = counts(&snapshot(app, f.a.id).await);
    for t in &tables {
        assert!(before_a[t] > 0, "table {t} was not seeded");
    }
    let before_b = snapshot(app, f.b.id).await;
    let wa_place = place(col::CONTACTS, "wa_id_enc", f.seeded_a.contact_id);
    let keys_a = app.state.keys.for_tenant(f.a.id).await.unwrap();
    assert_eq!(
        keys_a
            .open_string(&wa_place, &f.seeded_a.wa_id_enc)
            .unwrap(),
        f.seeded_a.wa_id
    );
    let wrapped_before: Vec<Vec<u8>> = wrapped_keys(app, f.a.id)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(wrapped_before.len(), 2);
    // A copy of the database as it stood before the wipe.
    let copy = sqlite_path(app).map(|p| p.with_file_name("before-wipe.db"));
    if let Some(copy) = &copy {
        let db = connect(app).await;
        db.execute_unprepared(&format!("VACUUM INTO '{}'", copy.display()))
            .await
            .unwrap();
    }

    let exec = format!("{}/execute", deletion_path(&f.a));
    let (s, cert) = status_json(app.post(&exec, Some(&f.support.token), &json!({})).await).await;
    assert_eq!(s, 200, "{cert}");

    // Zero rows of the wiped tenant in every tenant table, and the certificate counts them all.
    let after_a = counts(&snapshot(app, f.a.id).await);
    for t in &tables {
        assert_eq!(after_a[t], 0, "rows of the wiped tenant left in {t}");
        assert_eq!(
            cert["rows_removed"][t],
            json!(before_a[t]),
            "certificate count for {t}"
        );
    }
    let total: usize = tables.iter().map(|t| before_a[t]).sum();
    assert_eq!(cert["total_rows_removed"], json!(total));
    assert_eq!(cert["key_versions_destroyed"], json!([1, 2]));
    assert_eq!(cert["tenant_id"], json!(f.a.id));
    assert_eq!(cert["requested_by"], json!(f.support.id));
    assert_eq!(cert["executed_by"], json!(f.support.id));
    // Billing records kept, and listed in the certificate with their retention.
    assert_eq!(after_a["billing_records"], 1);
    let kept = &cert["billing_records_kept"][0];
    assert_eq!(kept["invoice_number"], "INV-alpha-1");
    assert_eq!(kept["retain_until"], "2033-10-31T12:00:00.000Z");
    let (s, list) = status_json(
        app.get(
            &format!("/v1/tenants/{}/billing-records", f.a.id),
            Some(&f.support.token),
        )
        .await,
    )
    .await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(
        app.state.db.tenant_by_id(f.a.id).await.unwrap().status,
        "deleted"
    );

    // The other tenant: same rows, byte for byte, and its keys still open its values.
    assert_eq!(snapshot(app, f.b.id).await, before_b);
    let keys_b = app.state.keys.for_tenant(f.b.id).await.unwrap();
    let b_place = place(col::CONTACTS, "wa_id_enc", f.seeded_b.contact_id);
    assert_eq!(
        keys_b.open_string(&b_place, &f.seeded_b.wa_id_enc).unwrap(),
        f.seeded_b.wa_id
    );
    let (s, _) = status_json(app.get("/v1/me", Some(&f.b.owner_token)).await).await;
    assert_eq!(s, 200);

    // Crypto-shredding: every key version is gone, for this service and for a restarted one.
    assert!(wrapped_keys(app, f.a.id).await.iter().all(Option::is_none));
    assert!(app.state.keys.for_tenant(f.a.id).await.is_err());
    let restarted = app.other_key_service();
    assert!(restarted.for_tenant(f.a.id).await.is_err());
    // A backup taken before the wipe holds these wrapped keys: with the tenant's shred key gone
    // they no longer open, even with every master key, while the other tenant's still do.
    let shred = wavault::shred::ShredStore::new(&app.state.settings.crypto.tenant_key_dir);
    for k in &wrapped_before {
        assert!(
            shred.open(f.a.id, k).is_err(),
            "a pre-wipe wrapped key still opens"
        );
    }
    if let (Some(copy), Some(live)) = (copy, sqlite_path(app)) {
        // The whole pre-wipe copy, opened as a database with the service's keys.
        let copy_url = format!("sqlite://{}?mode=rwc", copy.display());
        let settings = test_settings(&copy_url, &[]);
        let from_copy =
            wavault::startup::build_state(settings, std::sync::Arc::new(app.clock.clone()))
                .await
                .unwrap();
        assert!(
            from_copy.keys.for_tenant(f.a.id).await.is_err(),
            "the pre-wipe copy still decrypts the wiped tenant"
        );
        assert!(
            from_copy.keys.for_tenant(f.b.id).await.is_ok(),
            "the copy itself is readable"
        );
        // The pre-wipe copy still holds the ciphertext, which nothing can open any more.
        let copy_bytes = std::fs::read(&copy).unwrap();
        assert!(contains(&copy_bytes, &f.seeded_a.wa_id_enc));
        assert!(restarted.for_tenant(f.a.id).await.is_err());
        // The live file keeps neither the wrapped keys nor the ciphertext in its free pages.
        let mut live_bytes = std::fs::read(&live).unwrap();
        live_bytes.extend(std::fs::read(live.with_extension("db-wal")).unwrap_or_default());
        for k in &wrapped_before {
            assert!(
                !contains(&live_bytes, k),
                "a wrapped key survives in the database file"
            );
        }
        assert!(
            !contains(&live_bytes, &f.seeded_a.wa_id_enc),
            "ciphertext survives in the file"
        );
    }
}

#[tokio::test]
async fn certificate_verifies_and_fails_after_any_change() {
    let f = fixture().await;
    let app = &f.app;
    request_deletion(app, &f.support.token, &f.a).await;
    let exec = format!("{}/execute", deletion_path(&f.a));
    let (_, cert) = status_json(app.post(&exec, Some(&f.support.token), &json!({})).await).await;
    assert_eq!(cert["algorithm"], "Ed25519");
    assert_eq!(cert["key_id"], app.state.signer.key_id());
    assert_eq!(cert["public_key"], app.state.signer.public_key_b64());
    wavault::wipe::certificate::verify(&cert).unwrap();
    wavault::wipe::certificate::verify_with(&app.state.signer, &cert).unwrap();

    let Value::Object(fields) = &cert else {
        panic!("not an object")
    };
    for key in fields.keys().filter(|k| *k != "signature") {
        let mut changed = cert.clone();
        changed[key] = match &cert[key] {
            Value::String(s) => json!(format!("{s}x")),
            Value::Number(n) => json!(n.as_u64().unwrap() + 1),
            Value::Null => json!("00000000-0000-0000-0000-000000000000"),
            Value::Array(_) => json!([]),
            _ => json!({"messages": 0}),
        };
        assert!(
            wavault::wipe::certificate::verify(&changed).is_err(),
            "change of {key} went unnoticed"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("certificate.json");
    let verify = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wavault"))
            .args(["certificate", "verify"])
            .arg(file)
            .env("WAVAULT_ENV", "test")
            .env("WAVAULT__DATABASE__URL", "sqlite://unused.db?mode=rwc")
            .env("WAVAULT__CRYPTO__MASTER_KEYS", MASTER_KEYS)
            .env("WAVAULT__CRYPTO__ACTIVE_KEY", "k1")
            .env("WAVAULT__CRYPTO__CERTIFICATE_KEY", CERT_KEY)
            .env("WAVAULT__AUTH__JWT_SECRET", JWT_SECRET)
            .env("WAVAULT__META__APP_SECRETS", APP_SECRET)
            .env("WAVAULT__META__VERIFY_TOKEN", VERIFY_TOKEN)
            .output()
            .unwrap()
    };
    std::fs::write(&file, serde_json::to_string_pretty(&cert).unwrap()).unwrap();
    let out = verify(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok"));
    let mut tampered = cert.clone();
    tampered["rows_removed"]["messages"] = json!(0);
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = verify(&file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));
}
