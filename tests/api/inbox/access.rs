//! Who reaches a conversation and its contact: agents A and B before and after reassignment,
//! another tenant, admins and owners (audited).
use reqwest::Method;

use super::*;

async fn expect_all(w: &World, token: &str, allowed: bool, label: &str) {
    for (method, path, body) in routes(w.conv, w.contact) {
        let (s, b) = call(&w.app, method.clone(), &path, token, body.as_ref(), None).await;
        if allowed {
            assert!(s == 200 || s == 202, "{label}: {method} {path} -> {s} {b}");
        } else {
            assert_eq!(s, 404, "{label}: {method} {path} -> {b}");
            assert_eq!(b["error"], "not_found", "{label}: {path}");
        }
    }
}

async fn listed(w: &World, token: &str) -> (usize, usize) {
    let (s1, convs) = status_json(w.app.get("/v1/conversations", Some(token)).await).await;
    let (s2, contacts) = status_json(w.app.get("/v1/contacts", Some(token)).await).await;
    assert_eq!((s1, s2), (200, 200));
    let lookup = format!("/v1/contacts?wa_id={WA_A}");
    let (s3, found) = status_json(w.app.get(&lookup, Some(token)).await).await;
    assert_eq!(s3, 200);
    let n = |v: &Value| v["items"].as_array().unwrap().len();
    assert_eq!(n(&contacts), n(&found), "lookup and list agree");
    (n(&convs), n(&contacts))
}

#[tokio::test]
async fn agent_reach_follows_assignment() {
    let w = world().await;
    let (owner, a, b) = (&w.a.owner_token, &w.agent_a, &w.agent_b);

    // Unassigned: neither agent sees anything.
    expect_all(&w, &a.token, false, "A, unassigned").await;
    expect_all(&w, &b.token, false, "B, unassigned").await;
    assert_eq!(listed(&w, &a.token).await, (0, 0));

    // Assigned to A: A reaches everything, B nothing.
    assert_eq!(assign(&w.app, owner, w.conv, Some(a.id)).await.0, 200);
    expect_all(&w, &a.token, true, "A, assigned").await;
    expect_all(&w, &b.token, false, "B, not assigned").await;
    assert_eq!(listed(&w, &a.token).await, (1, 1));
    assert_eq!(listed(&w, &b.token).await, (0, 0));
    let path = format!("/v1/conversations/{}/messages", w.conv);
    let (_, msgs) = status_json(w.app.get(&path, Some(&a.token)).await).await;
    assert_eq!(msgs["items"][0]["content"]["text"]["body"], TEXT_A);
    assert_eq!(msgs["items"][0]["direction"], "inbound");

    // Reassigned to B: A's very next request is a 404.
    let (s, conv) = assign(&w.app, owner, w.conv, Some(b.id)).await;
    assert_eq!(
        (s, conv["assignee_id"].as_str()),
        (200, Some(b.id.to_string().as_str()))
    );
    expect_all(&w, &a.token, false, "A, after reassignment").await;
    expect_all(&w, &b.token, true, "B, assigned").await;
    assert_eq!(listed(&w, &a.token).await, (0, 0));

    // Unassigned again: nobody but admins.
    assert_eq!(assign(&w.app, owner, w.conv, None).await.0, 200);
    expect_all(&w, &b.token, false, "B, after unassignment").await;
    expect_all(&w, &w.admin.token, true, "admin").await;
}

#[tokio::test]
async fn another_tenants_ids_are_404() {
    let w = world().await;
    let foreign = [&w.b.owner_token];
    for token in foreign {
        for (method, path, body) in routes(w.conv, w.contact) {
            let (s, _) = call(&w.app, method.clone(), &path, token, body.as_ref(), None).await;
            assert_eq!(s, 404, "{method} {path}");
        }
        assert_eq!(assign(&w.app, token, w.conv, None).await.0, 404);
    }
    for (method, path, body) in routes(w.conv_b, w.contact_b) {
        for token in [&w.a.owner_token, &w.admin.token, &w.agent_a.token] {
            let (s, _) = call(&w.app, method.clone(), &path, token, body.as_ref(), None).await;
            assert_eq!(s, 404, "{method} {path}");
        }
    }
    // The other tenant's lists do not mention A's objects; a tenant user's header changes nothing.
    let (_, list) = call(
        &w.app,
        Method::GET,
        "/v1/conversations",
        &w.b.owner_token,
        None,
        Some(w.a.id),
    )
    .await;
    assert!(!list.to_string().contains(&w.conv.to_string()));
    let lookup = format!("/v1/contacts?wa_id={WA_A}");
    let (_, found) = call(
        &w.app,
        Method::GET,
        &lookup,
        &w.b.owner_token,
        None,
        Some(w.a.id),
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn admins_and_owners_see_all_and_are_audited_but_the_assigned_agent_is_not() {
    let w = world().await;
    let app = &w.app;
    for reader in [
        (&w.admin.token, w.admin.id),
        (&w.a.owner_token, w.a.owner_id),
    ] {
        for path in [
            format!("/v1/conversations/{}", w.conv),
            format!("/v1/conversations/{}/messages", w.conv),
            format!("/v1/contacts/{}", w.contact),
        ] {
            assert_eq!(
                app.get(&path, Some(reader.0)).await.status().as_u16(),
                200,
                "{path}"
            );
        }
        assert_eq!(
            audited(app, w.a.id, "conversation.read", reader.1, w.conv).await,
            1
        );
        assert_eq!(
            audited(app, w.a.id, "conversation.messages.read", reader.1, w.conv).await,
            1
        );
        assert_eq!(
            audited(app, w.a.id, "contact.read", reader.1, w.contact).await,
            1
        );
    }
    app.get("/v1/contacts", Some(&w.admin.token)).await;
    let events = audit_events(app, w.a.id).await;
    assert!(events.iter().any(|(a, by, _, d)| a == "contact.list"
        && *by == Some(w.admin.id)
        && d["ids"][0] == w.contact.to_string()));

    // The assigned agent's own reads leave no trace.
    assign(app, &w.a.owner_token, w.conv, Some(w.agent_a.id)).await;
    for path in [
        format!("/v1/conversations/{}", w.conv),
        format!("/v1/conversations/{}/messages", w.conv),
        format!("/v1/contacts/{}", w.contact),
        "/v1/contacts".to_owned(),
    ] {
        assert_eq!(
            app.get(&path, Some(&w.agent_a.token))
                .await
                .status()
                .as_u16(),
            200
        );
    }
    let events = audit_events(app, w.a.id).await;
    assert!(
        !events
            .iter()
            .any(|(a, by, _, _)| *by == Some(w.agent_a.id) && a.contains("read"))
    );
    assert!(events.iter().any(|(a, by, t, d)| a == "conversation.assign"
        && *by == Some(w.a.owner_id)
        && t.as_deref() == Some(&w.conv.to_string())
        && d["assignee_id"] == w.agent_a.id.to_string()));

    // Ids only: no phone number or message text in any event.
    let all = serde_json::to_string(&events.iter().map(|e| &e.3).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains(WA_A) && !all.contains(TEXT_A));
    let (s, verify) = status_json(app.get("/v1/audit/verify", Some(&w.a.owner_token)).await).await;
    assert_eq!((s, verify["ok"].as_bool()), (200, Some(true)), "{verify}");
}
