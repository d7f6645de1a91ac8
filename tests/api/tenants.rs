//! `/v1/tenants` (platform) and `/v1/tenant/settings` (a tenant's own settings).
use serde_json::{Value, json};

use crate::helpers::*;

fn new_tenant(slug: &str) -> Value {
    json!({"name": "New Co", "slug": slug, "owner_email": format!("boss@{slug}.example"),
        "owner_password": PASSWORD})
}

#[tokio::test]
async fn an_operator_creates_a_tenant_whose_owner_can_sign_in() {
    let app = spawn_app().await;
    let operator = app.create_staff("op", "operator").await;
    let (s, b) = status_json(
        app.post("/v1/tenants", Some(&operator.token), &new_tenant("newco"))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["slug"], "newco");
    assert_eq!(b["status"], "active");
    let id = b["id"].as_str().unwrap().to_owned();

    let owner = app.token_for(Some("newco"), "boss@newco.example").await;
    let (_, me) = status_json(app.get("/v1/me", Some(&owner)).await).await;
    assert_eq!(
        (me["role"].as_str(), me["tenant_id"].as_str()),
        (Some("owner"), Some(id.as_str()))
    );

    let (s, b) = status_json(
        app.post("/v1/tenants", Some(&operator.token), &new_tenant("newco"))
            .await,
    )
    .await;
    assert_eq!(s, 409, "{b}");
    let bad = [
        (json!({"slug": "No Spaces"}), "invalid_slug"),
        (json!({"slug": "ab"}), "invalid_slug"),
        (json!({"slug": "-edge"}), "invalid_slug"),
        (json!({"name": "  "}), "invalid_name"),
        (json!({"owner_email": "nobody"}), "invalid_email"),
        (json!({"owner_password": "short"}), "password_too_short"),
        (
            json!({"owner_password": "qwerty123456"}),
            "password_too_weak",
        ),
    ];
    for (change, code) in bad {
        let mut body = new_tenant("other-co");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, b) = status_json(app.post("/v1/tenants", Some(&operator.token), &body).await).await;
        assert_eq!((s, b["error"].as_str()), (422, Some(code)), "{change}");
    }
    let (s, _) = status_json(
        app.post("/v1/tenants", Some(&operator.token), &json!({"name": "x"}))
            .await,
    )
    .await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn the_tenant_list_is_metadata_only_and_pages_by_cursor() {
    let app = spawn_app().await;
    let a = app.create_tenant("acme").await;
    app.create_tenant("bolt").await;
    app.create_tenant("cask").await;
    let support = app.create_staff("sup", "support").await;

    let (s, b) = status_json(app.get("/v1/tenants", Some(&support.token)).await).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["next_cursor"].is_null());
    let items = b["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let first = items.iter().find(|t| t["slug"] == "acme").unwrap();
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "contact_count",
            "created_at",
            "id",
            "message_count",
            "name",
            "slug",
            "status"
        ]
    );
    assert_eq!(first["id"], a.id.to_string());
    assert_eq!(first["name"], "acme Ltd");
    assert_eq!(first["status"], "active");
    assert_eq!(first["contact_count"], 0);
    assert_eq!(first["message_count"], 0);
    assert_eq!(first["created_at"], "2026-11-02T09:00:00.000Z");

    let (_, p1) = status_json(app.get("/v1/tenants?limit=2", Some(&support.token)).await).await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = status_json(
        app.get(
            &format!("/v1/tenants?limit=2&cursor={cursor}"),
            Some(&support.token),
        )
        .await,
    )
    .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert!(p2["next_cursor"].is_null());
    let mut slugs: Vec<&str> = [&p1, &p2]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["slug"].as_str().unwrap())
        })
        .collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["acme", "bolt", "cask"]);

    for bad in [
        "limit=0",
        "limit=500",
        "limit=x",
        "cursor=!!",
        "cursor=AAAAAAAA",
    ] {
        let (s, b) = status_json(
            app.get(&format!("/v1/tenants?{bad}"), Some(&support.token))
                .await,
        )
        .await;
        assert_eq!(s, 400, "{bad}: {b}");
    }
    assert_eq!(
        app.get("/v1/tenants", Some(&a.owner_token)).await.status(),
        403
    );
}

#[tokio::test]
async fn one_tenant_is_visible_to_staff_and_to_its_own_owner_and_admins_only() {
    let app = spawn_app().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bolt").await;
    let admin = app.create_user(&a, "admin", "admin").await;
    let agent = app.create_user(&a, "agent", "agent").await;
    let support = app.create_staff("sup", "support").await;
    let operator = app.create_staff("op", "operator").await;
    let path = format!("/v1/tenants/{}", a.id);
    let cases = [
        (&a.owner_token, 200),
        (&admin.token, 200),
        (&agent.token, 403),
        (&b.owner_token, 404),
        (&support.token, 200),
        (&operator.token, 200),
    ];
    for (token, expected) in cases {
        let (s, body) = status_json(app.get(&path, Some(token)).await).await;
        assert_eq!(s, expected, "{body}");
        if s == 200 {
            assert_eq!(body["slug"], "acme");
        }
    }
    for missing in [uuid::Uuid::new_v4().to_string(), "acme".to_owned()] {
        let (s, _) = status_json(
            app.get(&format!("/v1/tenants/{missing}"), Some(&support.token))
                .await,
        )
        .await;
        assert_eq!(s, 404);
    }
}

async fn settings(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    status_json(app.patch("/v1/tenant/settings", Some(token), &body).await).await
}

#[tokio::test]
async fn settings_are_validated_changed_and_audited() {
    let app = spawn_app().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bolt").await;
    let admin = app.create_user(&a, "admin", "admin").await;

    let (s, body) = settings(
        &app,
        &admin.token,
        json!({"message_retention_days": 30, "auto_assign": true}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        json!({"require_totp": false, "message_retention_days": 30, "auto_assign": true})
    );
    // Absent fields stay as they are; null clears the retention period.
    let (_, body) = settings(&app, &a.owner_token, json!({})).await;
    assert_eq!(body["message_retention_days"], 30);
    let (_, body) = settings(
        &app,
        &a.owner_token,
        json!({"message_retention_days": null}),
    )
    .await;
    assert_eq!(
        body,
        json!({"require_totp": false, "message_retention_days": null, "auto_assign": true})
    );
    let (_, body) = settings(
        &app,
        &a.owner_token,
        json!({"message_retention_days": 3650}),
    )
    .await;
    assert_eq!(body["message_retention_days"], 3650);

    for bad in [0, -1, 3651, 10_000_000_000_i64] {
        let (s, body) =
            settings(&app, &a.owner_token, json!({"message_retention_days": bad})).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (422, Some("invalid_retention")),
            "{bad}"
        );
    }
    for bad in [
        json!({"require_totp": "yes"}),
        json!({"message_retention_days": "30"}),
        json!({"auto_assign": 1}),
    ] {
        let (s, _) = settings(&app, &a.owner_token, bad.clone()).await;
        assert_eq!(s, 422, "{bad}");
    }
    let (_, body) = settings(&app, &a.owner_token, json!({})).await;
    assert_eq!(body["message_retention_days"], 3650);

    // Tenant B's settings are its own.
    let (_, body) = settings(&app, &b.owner_token, json!({})).await;
    assert_eq!(
        body,
        json!({"require_totp": false, "message_retention_days": null, "auto_assign": false})
    );

    let (_, audit) = status_json(app.get("/v1/audit", Some(&a.owner_token)).await).await;
    let updates: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "tenant.settings_update")
        .collect();
    assert_eq!(updates.len(), 3, "empty and refused changes are not events");
    assert_eq!(
        updates[2]["detail"],
        json!({"message_retention_days": 30, "auto_assign": true})
    );
    assert_eq!(updates[2]["actor_id"], admin.id.to_string());
    assert_eq!(updates[2]["target_id"], a.id.to_string());
}
