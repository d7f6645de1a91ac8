//! `PATCH /v1/users/{id}`: role changes, disabling, who may change whom and the last-owner rule.
use serde_json::{Value, json};

use crate::helpers::*;

async fn patch_user(
    app: &TestApp,
    token: &str,
    id: impl std::fmt::Display,
    body: Value,
) -> (u16, Value) {
    status_json(
        app.patch(&format!("/v1/users/{id}"), Some(token), &body)
            .await,
    )
    .await
}

/// Actions of the tenant's audit log, newest first.
async fn audit_actions(app: &TestApp, token: &str) -> Vec<(String, String, Value)> {
    let (s, body) = status_json(app.get("/v1/audit?limit=200", Some(token)).await).await;
    assert_eq!(s, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target_id"].as_str().unwrap_or_default().to_owned(),
                e["detail"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request_and_is_audited() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let agent = app.create_user(&t, "agent", "agent").await;
    assert_eq!(app.get("/v1/users", Some(&agent.token)).await.status(), 403);

    let (s, b) = patch_user(&app, &t.owner_token, agent.id, json!({"role": "admin"})).await;
    assert_eq!((s, b["role"].as_str()), (200, Some("admin")));
    assert_eq!(app.get("/v1/users", Some(&agent.token)).await.status(), 200);
    let (_, me) = status_json(app.get("/v1/me", Some(&agent.token)).await).await;
    assert_eq!(me["role"], "admin");

    let (s, _) = patch_user(&app, &t.owner_token, agent.id, json!({"role": "agent"})).await;
    assert_eq!(s, 200);
    assert_eq!(app.get("/v1/users", Some(&agent.token)).await.status(), 403);

    let changes: Vec<Value> = audit_actions(&app, &t.owner_token)
        .await
        .into_iter()
        .filter(|(a, target, _)| a == "user.role_change" && *target == agent.id.to_string())
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(
        changes,
        vec![
            json!({"from": "admin", "to": "agent"}),
            json!({"from": "agent", "to": "admin"})
        ]
    );

    // A no-op change is not an event.
    let (s, _) = patch_user(
        &app,
        &t.owner_token,
        agent.id,
        json!({"role": "agent", "disabled": false}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        audit_actions(&app, &t.owner_token)
            .await
            .iter()
            .filter(|(a, ..)| a == "user.role_change")
            .count(),
        2
    );
}

#[tokio::test]
async fn disabling_revokes_every_session_at_once_and_enabling_restores_sign_in() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let agent = app.create_user(&t, "agent", "agent").await;
    let (_, second) = status_json(app.login(Some(&t.slug), &agent.email, PASSWORD).await).await;
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();

    let (s, b) = patch_user(&app, &t.owner_token, agent.id, json!({"disabled": true})).await;
    assert_eq!((s, b["disabled"].as_bool()), (200, Some(true)));
    assert_eq!(app.get("/v1/me", Some(&agent.token)).await.status(), 401);
    let refreshed = app
        .post(
            "/v1/auth/refresh",
            None,
            &json!({"refresh_token": second_refresh}),
        )
        .await;
    assert_eq!(refreshed.status(), 401);
    let (s, b) = status_json(app.login(Some(&t.slug), &agent.email, PASSWORD).await).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_credentials")));

    let (s, _) = patch_user(&app, &t.owner_token, agent.id, json!({"disabled": false})).await;
    assert_eq!(s, 200);
    // Old sessions stay dead; a new sign-in works.
    assert_eq!(app.get("/v1/me", Some(&agent.token)).await.status(), 401);
    app.token_for(Some(&t.slug), &agent.email).await;

    let actions = audit_actions(&app, &t.owner_token).await;
    let disable = actions.iter().find(|(a, ..)| a == "user.disable").unwrap();
    assert_eq!(disable.1, agent.id.to_string());
    assert_eq!(disable.2["sessions_revoked"], 2);
    assert!(
        actions
            .iter()
            .any(|(a, target, _)| a == "user.enable" && *target == agent.id.to_string())
    );
}

#[tokio::test]
async fn admins_cannot_change_owners_or_admins_or_promote() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let admin = app.create_user(&t, "admin", "admin").await;
    let other_admin = app.create_user(&t, "admin2", "admin").await;
    let agent = app.create_user(&t, "agent", "agent").await;
    let cases = [
        (t.owner_id, json!({"disabled": true})),
        (t.owner_id, json!({"role": "agent"})),
        (other_admin.id, json!({"disabled": true})),
        (admin.id, json!({"role": "agent"})),
        (agent.id, json!({"role": "admin"})),
        (agent.id, json!({"role": "owner"})),
    ];
    for (id, body) in cases {
        let (s, b) = patch_user(&app, &admin.token, id, body.clone()).await;
        assert_eq!(s, 403, "{body} {b}");
    }
    let (s, b) = patch_user(&app, &admin.token, agent.id, json!({"disabled": true})).await;
    assert_eq!((s, b["disabled"].as_bool()), (200, Some(true)));
    let (s, b) = patch_user(&app, &admin.token, agent.id, json!({"role": "boss"})).await;
    assert_eq!((s, b["error"].as_str()), (422, Some("invalid_role")));
}

#[tokio::test]
async fn the_last_active_owner_cannot_be_demoted_or_disabled() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    for body in [
        json!({"role": "admin"}),
        json!({"disabled": true}),
        json!({"role": "agent", "disabled": true}),
    ] {
        let (s, b) = patch_user(&app, &t.owner_token, t.owner_id, body).await;
        assert_eq!((s, b["error"].as_str()), (409, Some("last_owner")));
    }
    let second = app.create_user(&t, "owner2", "owner").await;
    // A disabled owner does not count as someone in charge.
    let (s, _) = patch_user(&app, &t.owner_token, second.id, json!({"disabled": true})).await;
    assert_eq!(s, 200);
    let (s, _) = patch_user(&app, &t.owner_token, t.owner_id, json!({"role": "admin"})).await;
    assert_eq!(s, 409);
    let (s, _) = patch_user(&app, &t.owner_token, second.id, json!({"disabled": false})).await;
    assert_eq!(s, 200);

    let (s, b) = patch_user(&app, &t.owner_token, t.owner_id, json!({"role": "admin"})).await;
    assert_eq!((s, b["role"].as_str()), (200, Some("admin")));
    let second_token = app.token_for(Some(&t.slug), &second.email).await;
    let (s, b) = patch_user(&app, &second_token, second.id, json!({"role": "agent"})).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("last_owner")));
}

#[tokio::test]
async fn users_of_another_tenant_do_not_exist_here() {
    let app = spawn_app().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bolt").await;
    let b_agent = app.create_user(&b, "agent", "agent").await;
    for id in [
        b_agent.id.to_string(),
        b.owner_id.to_string(),
        uuid::Uuid::new_v4().to_string(),
        "not-a-uuid".into(),
    ] {
        let (s, body) = patch_user(&app, &a.owner_token, &id, json!({"disabled": true})).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (404, Some("not_found")),
            "{id}"
        );
    }
    // Nothing happened to B's agent, and A's list is A's alone.
    assert_eq!(app.get("/v1/me", Some(&b_agent.token)).await.status(), 200);
    let (_, list) = status_json(app.get("/v1/users", Some(&a.owner_token)).await).await;
    let emails: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["owner@acme.example"]);
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let second = app.create_user(&t, "owner2", "owner").await;
    let demote_second = patch_user(&app, &t.owner_token, second.id, json!({"role": "admin"}));
    let demote_first = patch_user(&app, &second.token, t.owner_id, json!({"role": "admin"}));
    let ((s1, _), (s2, _)) = tokio::join!(demote_second, demote_first);
    // The loser is refused either by the last-owner rule (409) or, when it was already demoted
    // by the time its request was authorised, as an admin changing an owner (403).
    let mut statuses = [s1, s2];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 403] || statuses == [200, 409],
        "{statuses:?}"
    );
    let (_, list) = status_json(app.get("/v1/users", Some(&t.owner_token)).await).await;
    let (_, list2) = status_json(app.get("/v1/users", Some(&second.token)).await).await;
    let owners = [list, list2]
        .iter()
        .filter_map(|l| l["items"].as_array())
        .flatten()
        .filter(|u| u["role"] == "owner")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(owners.len(), 1, "{owners:?}");
}
