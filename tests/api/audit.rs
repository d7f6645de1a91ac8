//! The tenant audit log: listing, and tamper detection by `GET /v1/audit/verify` when rows are
//! changed, deleted or reordered behind the service's back.
use entity::audit_events::{Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// A tenant with a few events: tenant and owner creation, sign-ins, a role change.
async fn tenant_with_events(app: &TestApp) -> TestTenant {
    let t = app.create_tenant("acme").await;
    let agent = app.create_user(&t, "agent", "agent").await;
    let resp = app
        .patch(
            &format!("/v1/users/{}", agent.id),
            Some(&t.owner_token),
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    t
}

async fn verify(app: &TestApp, token: &str) -> Value {
    let (s, body) = status_json(app.get("/v1/audit/verify", Some(token)).await).await;
    assert_eq!(s, 200, "{body}");
    body
}

/// A second connection straight to the database (the superuser on PostgreSQL, so RLS does not
/// stand in the way of the tampering).
async fn raw(app: &TestApp) -> DatabaseConnection {
    sea_orm::Database::connect(&app.db_url).await.unwrap()
}

async fn set_column(
    db: &DatabaseConnection,
    tenant: Uuid,
    seq: i64,
    col: Column,
    value: sea_orm::Value,
) {
    let res = Entity::update_many()
        .col_expr(col, Expr::value(value))
        .filter(Column::TenantId.eq(tenant))
        .filter(Column::Seq.eq(seq))
        .exec(db)
        .await
        .unwrap();
    assert_eq!(res.rows_affected, 1);
}

#[tokio::test]
async fn events_are_listed_newest_first_and_page_by_cursor() {
    let app = spawn_app().await;
    let t = tenant_with_events(&app).await;
    let b = app.create_tenant("bolt").await;

    let (s, all) = status_json(app.get("/v1/audit?limit=200", Some(&t.owner_token)).await).await;
    assert_eq!(s, 200, "{all}");
    let items = all["items"].as_array().unwrap();
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (1..=seqs.len() as i64).rev().collect();
    assert_eq!(seqs, expected);
    let newest = &items[0];
    assert_eq!(newest["action"], "user.role_change");
    assert_eq!(newest["actor_kind"], "user");
    assert_eq!(newest["actor_id"], t.owner_id.to_string());
    assert_eq!(newest["target_type"], "user");
    assert_eq!(newest["ip"], "127.0.0.1");
    assert_eq!(newest["detail"], json!({"from": "agent", "to": "admin"}));
    assert_eq!(newest["created_at"], "2026-11-02T09:00:00.000Z");
    for field in ["id", "user_agent", "target_id"] {
        assert!(newest.get(field).is_some(), "{field}");
    }
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["user.create", "auth.login"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }

    let mut paged = Vec::new();
    let mut path = "/v1/audit?limit=2".to_owned();
    loop {
        let (_, page) = status_json(app.get(&path, Some(&t.owner_token)).await).await;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/audit?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, seqs);

    // Tenant B sees its own chain only.
    let (_, theirs) = status_json(app.get("/v1/audit?limit=200", Some(&b.owner_token)).await).await;
    let ours: Vec<&Value> = items.iter().map(|e| &e["id"]).collect();
    for e in theirs["items"].as_array().unwrap() {
        assert!(!ours.contains(&&e["id"]));
        assert_ne!(e["action"], "user.role_change");
    }
    let (s, _) = status_json(app.get("/v1/audit?cursor=zz", Some(&t.owner_token)).await).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn changing_any_field_of_an_event_is_reported_at_its_seq() {
    let app = spawn_app().await;
    let t = tenant_with_events(&app).await;
    let clean = verify(&app, &t.owner_token).await;
    assert_eq!(clean["ok"], true, "{clean}");
    assert!(clean.get("first_bad_seq").is_none());
    let total = clean["events_checked"].as_i64().unwrap();
    assert!(total >= 4, "{clean}");

    let db = raw(&app).await;
    let original = Entity::find()
        .filter(Column::TenantId.eq(t.id))
        .filter(Column::Seq.eq(2))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let edits: Vec<(Column, sea_orm::Value, sea_orm::Value)> = vec![
        (
            Column::Action,
            "auth.logout".into(),
            original.action.clone().into(),
        ),
        (
            Column::ActorId,
            Some(Uuid::new_v4()).into(),
            original.actor_id.into(),
        ),
        (
            Column::TargetId,
            Some("someone-else".to_owned()).into(),
            original.target_id.clone().into(),
        ),
        (
            Column::Ip,
            Some("10.0.0.1".to_owned()).into(),
            original.ip.clone().into(),
        ),
        (Column::Detail, "{}".into(), original.detail.clone().into()),
        (
            Column::CreatedAt,
            (original.created_at + 1).into(),
            original.created_at.into(),
        ),
        (
            Column::Hash,
            vec![0u8; 32].into(),
            original.hash.clone().into(),
        ),
    ];
    for (col, tampered, restore) in edits {
        set_column(&db, t.id, 2, col, tampered).await;
        let v = verify(&app, &t.owner_token).await;
        assert_eq!(
            (v["ok"].as_bool(), v["first_bad_seq"].as_i64()),
            (Some(false), Some(2)),
            "{col:?}: {v}"
        );
        assert_eq!(v["events_checked"], 1);
        set_column(&db, t.id, 2, col, restore).await;
        assert_eq!(
            verify(&app, &t.owner_token).await["ok"],
            true,
            "{col:?} restored"
        );
    }
}

#[tokio::test]
async fn deleting_an_event_is_reported_at_the_gap() {
    let app = spawn_app().await;
    let t = tenant_with_events(&app).await;
    let db = raw(&app).await;
    Entity::delete_many()
        .filter(Column::TenantId.eq(t.id))
        .filter(Column::Seq.eq(3))
        .exec(&db)
        .await
        .unwrap();
    let v = verify(&app, &t.owner_token).await;
    assert_eq!(
        v,
        json!({"ok": false, "events_checked": 2, "first_bad_seq": 3})
    );

    // Renumbering the rest to close the gap does not hide it: the hashes still disagree.
    let (_, page) = status_json(app.get("/v1/audit?limit=200", Some(&t.owner_token)).await).await;
    let mut seqs: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    seqs.sort_unstable();
    for seq in seqs.into_iter().filter(|s| *s > 3) {
        set_column(&db, t.id, seq, Column::Seq, (seq - 1).into()).await;
    }
    let v = verify(&app, &t.owner_token).await;
    assert_eq!(
        (v["ok"].as_bool(), v["first_bad_seq"].as_i64()),
        (Some(false), Some(3)),
        "{v}"
    );
}

#[tokio::test]
async fn swapping_two_events_is_reported_at_the_first_of_them() {
    let app = spawn_app().await;
    let t = tenant_with_events(&app).await;
    let db = raw(&app).await;
    set_column(&db, t.id, 2, Column::Seq, 1_000_000_i64.into()).await;
    set_column(&db, t.id, 3, Column::Seq, 2_i64.into()).await;
    set_column(&db, t.id, 1_000_000, Column::Seq, 3_i64.into()).await;
    let v = verify(&app, &t.owner_token).await;
    assert_eq!(
        v,
        json!({"ok": false, "events_checked": 1, "first_bad_seq": 2})
    );

    // Another tenant's chain is untouched and still verifies.
    let b = app.create_tenant("bolt").await;
    assert_eq!(verify(&app, &b.owner_token).await["ok"], true);
}
