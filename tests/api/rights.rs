//! Data-subject rights: tenant export (CSV, NDJSON), access bundle, erasure, restriction.
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value as DbValue,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

pub const PNID_A: &str = "100000000000001";
pub const PNID_B: &str = "100000000000002";

/// Tricky names: separators, quotes, line breaks and non-Latin scripts.
const NAMES: [&str; 4] = [
    "Zoë, \"the\" boss",
    "名前 テスト",
    "Line one\nline two",
    "Ольга; O'Brien",
];

pub async fn register(app: &TestApp, t: &TestTenant, pnid: &str) {
    let body = json!({"display_phone_number": "+1 555 000 0000", "waba_id": "200000000000001", "access_token": "EAAG-test-token"});
    let (s, b) = status_json(
        app.put(
            &format!("/v1/whatsapp/numbers/{pnid}"),
            Some(&t.owner_token),
            &body,
        )
        .await,
    )
    .await;
    assert!(s == 200 || s == 201, "register number: {s} {b}");
}

pub fn inbound(pnid: &str, wa_id: &str, name: &str, wamid: &str, text: &str, ts: i64) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": ts.to_string(), "type": "text", "text": {"body": text}}]
    }}]}]})
}

pub async fn deliver(app: &TestApp, body: &Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let resp = app
        .client
        .post(app.url("/webhooks/whatsapp"))
        .header(
            "X-Hub-Signature-256",
            wavault::webhook::sign(APP_SECRET, &bytes),
        )
        .header("Content-Type", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

async fn contact_id(app: &TestApp, token: &str, wa_id: &str) -> Uuid {
    let (s, b) = status_json(
        app.get(&format!("/v1/contacts?wa_id={wa_id}"), Some(token))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["items"][0]["id"].as_str().unwrap().parse().unwrap()
}

/// Tenant A with four contacts (one message each), tenant B with one.
async fn seeded() -> (TestApp, TestTenant, TestTenant) {
    let app = spawn_app().await;
    let a = app.create_tenant("alpha").await;
    let b = app.create_tenant("bravo").await;
    register(&app, &a, PNID_A).await;
    register(&app, &b, PNID_B).await;
    let ts = START_MS / 1000;
    for (i, name) in NAMES.iter().enumerate() {
        let wa = format!("4479000000{i:02}");
        deliver(
            &app,
            &inbound(
                PNID_A,
                &wa,
                name,
                &format!("wamid.A{i}"),
                &format!("hello, \"{i}\"\nbye"),
                ts,
            ),
        )
        .await;
    }
    deliver(
        &app,
        &inbound(
            PNID_B,
            "447900009999",
            "Bravo Person",
            "wamid.B0",
            "other tenant",
            ts,
        ),
    )
    .await;
    (app, a, b)
}

#[tokio::test]
async fn csv_export_round_trips_every_field_and_only_this_tenant() {
    let (app, a, _b) = seeded().await;
    let resp = app
        .get("/v1/contacts/export?format=csv", Some(&a.owner_token))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, wavault::rights::export::CSV_HEADER.to_vec());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), NAMES.len());
    let mut names: Vec<String> = rows.iter().map(|r| r[2].to_owned()).collect();
    names.sort();
    let mut expected: Vec<String> = NAMES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);
    for r in &rows {
        assert!(r[4].starts_with("+44790000000"), "E.164 phone: {}", &r[4]);
        assert_eq!(&r[7], "unknown");
        assert!(serde_json::from_str::<Value>(&r[6]).unwrap().is_object());
        assert!(!r[9].is_empty(), "last contact time");
    }
    assert!(
        !text.contains("Bravo Person"),
        "another tenant's contact leaked"
    );
}

#[tokio::test]
async fn ndjson_export_lines_parse_and_carry_messages_and_consent() {
    let (app, a, _b) = seeded().await;
    let text = app
        .get(
            "/v1/contacts/export?format=ndjson&include=messages",
            Some(&a.owner_token),
        )
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), NAMES.len());
    for l in &lines {
        assert!(l["consent_history"].is_array());
        let msgs = &l["conversations"][0]["messages"];
        assert_eq!(msgs.as_array().unwrap().len(), 1);
        assert!(
            msgs[0]["content"]["text"]["body"]
                .as_str()
                .unwrap()
                .starts_with("hello, \"")
        );
    }
    let (s, b) = status_json(
        app.get("/v1/contacts/export?format=xml", Some(&a.owner_token))
            .await,
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_query")));
    // The export is audited with its row count.
    let audit = app
        .get("/v1/audit?limit=200", Some(&a.owner_token))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let done = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "contacts.export_completed")
        .expect("completion audited");
    assert_eq!(done["detail"]["rows"], NAMES.len());
}

#[tokio::test]
async fn agents_do_not_see_rights_routes_and_staff_are_refused() {
    let (app, a, b) = seeded().await;
    let agent = app.create_user(&a, "agent", "agent").await;
    let support = app.create_staff("support", "support").await;
    let id = contact_id(&app, &a.owner_token, "447900000000").await;
    for path in [
        "/v1/contacts/export".to_owned(),
        format!("/v1/contacts/{id}/export"),
    ] {
        assert_eq!(
            app.get(&path, Some(&agent.token)).await.status().as_u16(),
            404,
            "{path}"
        );
        assert_eq!(
            app.get(&path, Some(&support.token)).await.status().as_u16(),
            403,
            "{path}"
        );
        assert_eq!(app.get(&path, None).await.status().as_u16(), 401, "{path}");
    }
    assert_eq!(
        app.delete(&format!("/v1/contacts/{id}"), Some(&agent.token))
            .await
            .status()
            .as_u16(),
        404
    );
    // Another tenant's owner: the contact does not exist for them.
    assert_eq!(
        app.get(&format!("/v1/contacts/{id}/export"), Some(&b.owner_token))
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        app.delete(&format!("/v1/contacts/{id}"), Some(&b.owner_token))
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn access_bundle_holds_profile_messages_consent_and_who_accessed() {
    let (app, a, _b) = seeded().await;
    let id = contact_id(&app, &a.owner_token, "447900000001").await;
    let (s, _) = status_json(
        app.post(
            &format!("/v1/contacts/{id}/consent"),
            Some(&a.owner_token),
            &json!({"status": "opted_in", "source": "web_form"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    app.get(&format!("/v1/contacts/{id}"), Some(&a.owner_token))
        .await;
    let (s, bundle) = status_json(
        app.get(&format!("/v1/contacts/{id}/export"), Some(&a.owner_token))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{bundle}");
    assert_eq!(bundle["schema"], "wavault.access_bundle.v1");
    assert_eq!(bundle["contact"]["profile_name"], NAMES[1]);
    assert_eq!(bundle["identities"]["wa_id"], "447900000001");
    assert_eq!(bundle["consent_history"][0]["source"], "web_form");
    assert_eq!(
        bundle["conversations"][0]["messages"][0]["content"]["text"]["body"],
        "hello, \"1\"\nbye"
    );
    let actions: Vec<&str> = bundle["access_log"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.iter().any(|a| a.starts_with("contact.")),
        "reads of this contact are listed: {actions:?}"
    );
}

async fn raw(app: &TestApp) -> DatabaseConnection {
    Database::connect(&app.db_url).await.unwrap()
}

/// (table, column) pairs of every uuid or binary column of every table with a tenant_id.
async fn id_columns(db: &DatabaseConnection) -> Vec<(String, String, String)> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d FROM information_schema.columns \
            WHERE table_schema = 'public' AND data_type IN ('uuid', 'bytea') \
              AND table_name IN (SELECT table_name FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema = 'public')"
        }
        _ => {
            "SELECT m.name AS t, p.name AS c, 'blob' AS d FROM sqlite_master m JOIN pragma_table_info(m.name) p \
            WHERE m.type = 'table' AND p.type = 'BLOB' \
              AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) q WHERE q.name = 'tenant_id')"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "t").unwrap(),
                r.try_get::<String>("", "c").unwrap(),
                r.try_get::<String>("", "d").unwrap(),
            )
        })
        .collect()
}

async fn occurrences(
    db: &DatabaseConnection,
    cols: &[(String, String, String)],
    needle: DbValue,
) -> Vec<String> {
    let backend = db.get_database_backend();
    let ph = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let mut found = Vec::new();
    for (t, c, d) in cols {
        let is_uuid = matches!(needle, DbValue::Uuid(_));
        // On PostgreSQL a uuid never sits in a bytea column and vice versa.
        if backend == DbBackend::Postgres && is_uuid != (d == "uuid") {
            continue;
        }
        let sql = format!("SELECT count(*) AS n FROM {t} WHERE {c} = {ph}");
        let n: i64 = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                &sql,
                [needle.clone()],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "n")
            .unwrap();
        if n > 0 {
            found.push(format!("{t}.{c}"));
        }
    }
    found
}

#[tokio::test]
async fn erasure_leaves_no_row_of_the_contact_anywhere_and_others_untouched() {
    let (app, a, _b) = seeded().await;
    let id = contact_id(&app, &a.owner_token, "447900000002").await;
    let db = raw(&app).await;
    let backend = db.get_database_backend();
    let ph = |n: usize| {
        if backend == DbBackend::Postgres {
            format!("${n}")
        } else {
            "?".into()
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT wa_id_bidx FROM contacts WHERE id = {}", ph(1)),
            [id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let bidx: Vec<u8> = row.try_get("", "wa_id_bidx").unwrap();
    let conv_ids: Vec<Uuid> = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT id FROM conversations WHERE contact_id = {}", ph(1)),
            [id.into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("", "id").unwrap())
        .collect();
    let msg_rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT id, wamid_bidx FROM messages WHERE contact_id = {}",
                ph(1)
            ),
            [id.into()],
        ))
        .await
        .unwrap();
    assert!(!conv_ids.is_empty() && !msg_rows.is_empty());

    let resp = app
        .delete(&format!("/v1/contacts/{id}"), Some(&a.owner_token))
        .await;
    assert_eq!(resp.status().as_u16(), 204);

    let cols = id_columns(&db).await;
    let mut needles: Vec<DbValue> = vec![id.into(), bidx.into()];
    needles.extend(conv_ids.iter().map(|c| DbValue::from(*c)));
    for r in &msg_rows {
        needles.push(r.try_get::<Uuid>("", "id").unwrap().into());
        needles.push(r.try_get::<Vec<u8>>("", "wamid_bidx").unwrap().into());
    }
    for needle in needles {
        let found = occurrences(&db, &cols, needle.clone()).await;
        // The audit log keeps the erasure's own record, which names the id as text, not a row.
        assert!(found.is_empty(), "{needle:?} still in {found:?}");
    }
    assert_eq!(
        app.get(&format!("/v1/contacts/{id}"), Some(&a.owner_token))
            .await
            .status()
            .as_u16(),
        404
    );
    let (_, list) = status_json(app.get("/v1/contacts", Some(&a.owner_token)).await).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        NAMES.len() - 1,
        "other contacts untouched"
    );

    // The same person writing again is a new contact.
    deliver(
        &app,
        &inbound(
            PNID_A,
            "447900000002",
            "Back again",
            "wamid.A2-new",
            "hi",
            START_MS / 1000 + 60,
        ),
    )
    .await;
    let again = contact_id(&app, &a.owner_token, "447900000002").await;
    assert_ne!(again, id);
    let audit = app
        .get("/v1/audit?limit=200", Some(&a.owner_token))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let erase = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "contact.erase")
        .expect("erasure audited");
    assert_eq!(erase["target_id"], id.to_string());
    assert!(
        !erase.to_string().contains("hello"),
        "no content in the audit record"
    );
}

#[tokio::test]
async fn restricted_contacts_are_left_out_of_exports_but_not_their_own_bundle() {
    let (app, a, _b) = seeded().await;
    let id = contact_id(&app, &a.owner_token, "447900000003").await;
    let (s, view) = status_json(
        app.patch(
            &format!("/v1/contacts/{id}"),
            Some(&a.owner_token),
            &json!({"restricted": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{view}");
    let text = app
        .get("/v1/contacts/export?format=ndjson", Some(&a.owner_token))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text.lines().count(), NAMES.len() - 1);
    assert!(!text.contains(&id.to_string()));
    let (s, bundle) = status_json(
        app.get(&format!("/v1/contacts/{id}/export"), Some(&a.owner_token))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(bundle["contact"]["restricted"], true);
}
