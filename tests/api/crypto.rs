//! Encryption at rest, end to end: nothing readable in the raw database, and rotation keeps
//! every value readable.
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;
use crate::rights::{PNID_A, deliver, inbound, register};

const CANARY_NAME: &str = "Canaryname Xyzzyplover";
const CANARY_PHONE: &str = "447912345678";
const CANARY_TEXT: &str = "canary-text-plugh-42";
const CANARY_WAMID: &str = "wamid.HBgMNDQ3OTEyMzQ1Njc4FQIAEhgUM0FDNkNBUllfV0FNSUQA";

fn needles() -> Vec<Vec<u8>> {
    [
        CANARY_NAME,
        CANARY_PHONE,
        CANARY_TEXT,
        CANARY_WAMID,
        "Xyzzyplover",
        "plugh-42",
    ]
    .iter()
    .flat_map(|s| {
        [
            s.as_bytes().to_vec(),
            hex::encode(s.as_bytes()).into_bytes(),
        ]
    })
    .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_canary_is_readable_in_the_raw_database() {
    let app = spawn_app().await;
    let t = app.create_tenant("canary").await;
    register(&app, &t, PNID_A).await;
    deliver(
        &app,
        &inbound(
            PNID_A,
            CANARY_PHONE,
            CANARY_NAME,
            CANARY_WAMID,
            CANARY_TEXT,
            START_MS / 1000,
        ),
    )
    .await;
    // The API reads it back, so it was stored.
    let (_, list) = status_json(
        app.get(
            &format!("/v1/contacts?wa_id={CANARY_PHONE}"),
            Some(&t.owner_token),
        )
        .await,
    )
    .await;
    assert_eq!(list["items"][0]["profile_name"], CANARY_NAME);

    let db = Database::connect(&app.db_url).await.unwrap();
    let mut dump: Vec<u8> = Vec::new();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let tables = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'public'",
                ))
                .await
                .unwrap();
            for r in tables {
                let table: String = r.try_get("", "t").unwrap();
                for row in db
                    .query_all_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("SELECT x::text AS v FROM {table} x"),
                    ))
                    .await
                    .unwrap()
                {
                    dump.extend(row.try_get::<String>("", "v").unwrap().into_bytes());
                }
            }
        }
        _ => {
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .ok();
            let path = app
                .db_url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    dump.extend(bytes);
                }
            }
        }
    }
    assert!(dump.len() > 1000, "the dump holds the database");
    for n in needles() {
        assert!(
            !contains(&dump, &n),
            "found {:?} in the raw database",
            String::from_utf8_lossy(&n)
        );
    }
}

async fn stored_versions(app: &TestApp, tenant: Uuid) -> Vec<u32> {
    let db = Database::connect(&app.db_url).await.unwrap();
    let backend = db.get_database_backend();
    let ph = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let mut out = Vec::new();
    for sql in [
        format!("SELECT wa_id_enc AS v FROM contacts WHERE tenant_id = {ph}"),
        format!("SELECT content_enc AS v FROM messages WHERE tenant_id = {ph}"),
    ] {
        for r in db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                &sql,
                [tenant.into()],
            ))
            .await
            .unwrap()
        {
            let v: Vec<u8> = r.try_get("", "v").unwrap();
            out.push(u32::from_be_bytes([v[1], v[2], v[3], v[4]]));
        }
    }
    out
}

async fn readable(app: &TestApp, t: &TestTenant, count: usize) {
    let text = app
        .get(
            "/v1/contacts/export?format=ndjson&include=messages",
            Some(&t.owner_token),
        )
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), count);
    for l in lines {
        assert!(l["profile_name"].as_str().unwrap().starts_with("Person "));
        let body = l["conversations"][0]["messages"][0]["content"]["text"]["body"]
            .as_str()
            .unwrap();
        assert!(body.starts_with("message "));
        // The blind index still finds the contact.
        let wa = l["wa_id"].as_str().unwrap();
        let (_, found) = status_json(
            app.get(&format!("/v1/contacts?wa_id={wa}"), Some(&t.owner_token))
                .await,
        )
        .await;
        assert_eq!(
            found["items"].as_array().unwrap().len(),
            1,
            "lookup of {wa}"
        );
    }
}

#[tokio::test]
async fn tenant_rotation_interrupted_and_resumed_keeps_everything_readable() {
    let app = spawn_app().await;
    let t = app.create_tenant("rotor").await;
    register(&app, &t, PNID_A).await;
    for i in 0..5 {
        deliver(
            &app,
            &inbound(
                PNID_A,
                &format!("44790011{i:04}"),
                &format!("Person {i}"),
                &format!("wamid.R{i}"),
                &format!("message {i}"),
                START_MS / 1000,
            ),
        )
        .await;
    }
    assert!(stored_versions(&app, t.id).await.iter().all(|v| *v == 1));

    // Interrupted right after the new version was added: nothing re-encrypted yet.
    app.state.keys.add_version(t.id).await.unwrap();
    readable(&app, &t, 5).await;
    // New writes use the new version while old values still open.
    deliver(
        &app,
        &inbound(
            PNID_A,
            "447900119999",
            "Person new",
            "wamid.Rnew",
            "message new",
            START_MS / 1000,
        ),
    )
    .await;
    let mixed = stored_versions(&app, t.id).await;
    assert!(mixed.contains(&1) && mixed.contains(&2), "{mixed:?}");
    readable(&app, &t, 6).await;

    let report = wavault::rotation::rotate_tenant(&app.state, t.id, true)
        .await
        .unwrap();
    assert_eq!(report.active_version, 2);
    assert!(report.values_reencrypted > 0);
    assert!(stored_versions(&app, t.id).await.iter().all(|v| *v == 2));
    readable(&app, &t, 6).await;

    // A full rotation adds version 3 and moves everything again.
    let report = wavault::rotation::rotate_tenant(&app.state, t.id, false)
        .await
        .unwrap();
    assert_eq!(report.active_version, 3);
    assert!(stored_versions(&app, t.id).await.iter().all(|v| *v == 3));
    readable(&app, &t, 6).await;
    // The number's access token was re-encrypted too and still reads.
    let (s, _) = status_json(app.get("/v1/whatsapp/numbers", Some(&t.owner_token)).await).await;
    assert_eq!(s, 200);
}

async fn active_version(app: &TestApp, t: &TestTenant) -> i32 {
    app.state
        .keys
        .for_tenant(t.id)
        .await
        .unwrap()
        .active_version()
}

#[tokio::test]
async fn a_key_version_added_through_another_instance_is_used_once_the_cache_ages_out() {
    let app = spawn_app().await;
    let t = app.create_tenant("rotor").await;
    register(&app, &t, PNID_A).await;
    let ttl = i64::try_from(app.state.settings.crypto.key_cache_ttl_secs).unwrap();
    assert!(ttl > 0);
    assert_eq!(active_version(&app, &t).await, 1);

    // Another instance: same database and shred keys, its own cache.
    let other = app.other_key_service();
    assert_eq!(other.add_version(t.id).await.unwrap(), 2);

    // Within the cache's lifetime this instance still writes with version 1...
    app.clock.advance_secs(ttl);
    assert_eq!(active_version(&app, &t).await, 1);
    // ...and once it has aged out, with version 2.
    app.clock.advance_secs(1);
    assert_eq!(active_version(&app, &t).await, 2);
    let now_s = wavault::clock::Clock::now_secs(&app.clock);
    deliver(
        &app,
        &inbound(PNID_A, "447900110001", "Person", "wamid.K1", "hi", now_s),
    )
    .await;
    let versions = stored_versions(&app, t.id).await;
    assert!(
        !versions.is_empty() && versions.iter().all(|v| *v == 2),
        "{versions:?}"
    );
}

#[tokio::test]
async fn master_rotation_rewraps_data_keys_without_touching_data() {
    let app = spawn_app().await;
    let t = app.create_tenant("master").await;
    register(&app, &t, PNID_A).await;
    deliver(
        &app,
        &inbound(
            PNID_A,
            "447900220000",
            "Person 0",
            "wamid.M0",
            "message 0",
            START_MS / 1000,
        ),
    )
    .await;
    let before = stored_versions(&app, t.id).await;

    let settings = test_settings(&app.db_url, &[("crypto.active_key", "k2")]);
    let state =
        wavault::startup::build_state(settings, std::sync::Arc::new(wavault::clock::SystemClock))
            .await
            .unwrap();
    let n = state.keys.rotate_master().await.unwrap();
    assert!(n >= 1);
    let db = Database::connect(&app.db_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT kek_id FROM tenant_keys WHERE wrapped_dek IS NOT NULL",
        ))
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| r.try_get::<String>("", "kek_id").unwrap() == "k2")
    );
    assert_eq!(stored_versions(&app, t.id).await, before, "data untouched");
    // A fresh process with only the new master key reads everything.
    let only_k2 = MASTER_KEYS.split(',').nth(1).unwrap();
    let settings = test_settings(
        &app.db_url,
        &[("crypto.master_keys", only_k2), ("crypto.active_key", "k2")],
    );
    let state =
        wavault::startup::build_state(settings, std::sync::Arc::new(wavault::clock::SystemClock))
            .await
            .unwrap();
    let keys = state.keys.for_tenant(t.id).await.unwrap();
    assert_eq!(keys.active_version(), 1);
}
