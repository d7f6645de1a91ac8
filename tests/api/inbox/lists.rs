//! Conversation list filters and cursors, message pages, assignment rules and status changes.
use super::*;

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(w: &World, token: &str, query: &str) -> (u16, Value) {
    status_json(
        w.app
            .get(&format!("/v1/conversations{query}"), Some(token))
            .await,
    )
    .await
}

#[tokio::test]
async fn conversations_filter_and_page_newest_activity_first() {
    let w = world().await;
    let owner = &w.a.owner_token;
    for (i, wa) in ["15551230002", "15551230003"].iter().enumerate() {
        w.app.clock.advance_secs(5);
        inbound(&w.app, PNID_A, wa, &format!("wamid.F{i}"), "hi").await;
    }
    let (_, all) = list(&w, owner, "").await;
    let all = ids(&all);
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], w.conv.to_string(), "oldest activity last");
    let newest: Uuid = all[0].parse().unwrap();
    let middle: Uuid = all[1].parse().unwrap();

    assign(&w.app, owner, newest, Some(w.agent_a.id)).await;
    let close = format!("/v1/conversations/{middle}/status");
    let (s, closed) = status_json(
        w.app
            .post(&close, Some(owner), &json!({"status": "closed"}))
            .await,
    )
    .await;
    assert_eq!((s, closed["status"].as_str()), (200, Some("closed")));

    let count = |b: &Value| b["items"].as_array().unwrap().len();
    for (query, expected) in [
        ("?status=open", 2),
        ("?status=closed", 1),
        ("?assignee=none", 2),
        ("?assignee=me", 0),
        (&format!("?assignee={}", w.agent_a.id), 1),
        (&format!("?assignee={}&status=closed", w.agent_a.id), 0),
    ] {
        let (s, body) = list(&w, owner, query).await;
        assert_eq!((s, count(&body)), (200, expected), "{query}");
    }
    let agent = &w.agent_a.token;
    for (query, expected) in [
        ("", 1),
        ("?assignee=me", 1),
        ("?assignee=none", 0),
        (&format!("?assignee={}", w.agent_b.id), 0),
    ] {
        let (s, body) = list(&w, agent, query).await;
        assert_eq!((s, count(&body)), (200, expected), "agent {query}");
    }

    // One per page, following the cursor, gives the same order and then stops.
    let mut seen = Vec::new();
    let mut query = "?limit=1".to_owned();
    loop {
        let (s, page) = list(&w, owner, &query).await;
        assert_eq!(s, 200);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, all);

    for (query, code) in [
        ("?cursor=not-a-cursor", "invalid_cursor"),
        ("?limit=0", "invalid_limit"),
        ("?limit=201", "invalid_limit"),
        ("?status=pending", "invalid_status"),
        ("?assignee=someone", "invalid_assignee"),
    ] {
        let (s, body) = list(&w, owner, query).await;
        assert_eq!((s, body["error"].as_str()), (400, Some(code)), "{query}");
    }
}

#[tokio::test]
async fn conversation_detail_and_messages_oldest_first() {
    let w = world().await;
    let owner = &w.a.owner_token;
    for i in 2..=3 {
        w.app.clock.advance_secs(60);
        inbound(
            &w.app,
            PNID_A,
            WA_A,
            &format!("wamid.A{i}"),
            &format!("message {i}"),
        )
        .await;
    }
    let (s, conv) = status_json(
        w.app
            .get(&format!("/v1/conversations/{}", w.conv), Some(owner))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(conv["id"], w.conv.to_string());
    assert_eq!(conv["contact_id"], w.contact.to_string());
    assert_eq!(conv["phone_number_id"], PNID_A);
    assert_eq!(conv["status"], "open");
    assert!(conv["assignee_id"].is_null());
    assert!(conv["last_message_at"].as_str().unwrap().ends_with('Z'));

    let path = format!("/v1/conversations/{}/messages?limit=2", w.conv);
    let (s, first) = status_json(w.app.get(&path, Some(owner)).await).await;
    assert_eq!(s, 200);
    let bodies = |b: &Value| -> Vec<String> {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"]["text"]["body"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(bodies(&first), [TEXT_A, "message 2"]);
    let m = &first["items"][0];
    assert_eq!(
        (m["direction"].as_str(), m["type"].as_str()),
        (Some("inbound"), Some("text"))
    );
    assert!(m["sent_at"].as_str().unwrap().ends_with('Z'));
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = status_json(
        w.app
            .get(&format!("{path}&cursor={cursor}"), Some(owner))
            .await,
    )
    .await;
    assert_eq!(bodies(&second), ["message 3"]);
    assert!(second["next_cursor"].is_null());
    let missing = format!("/v1/conversations/{}", Uuid::new_v4());
    assert_eq!(
        w.app.get(&missing, Some(owner)).await.status().as_u16(),
        404
    );
    assert_eq!(
        w.app
            .get("/v1/conversations/not-an-id", Some(owner))
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn assignment_goes_only_to_active_users_of_the_tenant() {
    let w = world().await;
    let owner = &w.a.owner_token;
    let disable = format!("/v1/users/{}", w.agent_b.id);
    let (s, _) = status_json(
        w.app
            .patch(&disable, Some(owner), &json!({"disabled": true}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let other_tenant_user = w.app.create_user(&w.b, "agent-x", "agent").await;
    for target in [w.agent_b.id, other_tenant_user.id, Uuid::new_v4()] {
        let (s, body) = assign(&w.app, owner, w.conv, Some(target)).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (422, Some("invalid_assignee")),
            "{target}"
        );
    }
    let path = format!("/v1/conversations/{}/assign", w.conv);
    let (s, body) = status_json(w.app.post(&path, Some(owner), &json!({})).await).await;
    assert_eq!((s, body["error"].as_str()), (422, Some("invalid_request")));
    let (s, _) = status_json(
        w.app
            .post(&path, Some(owner), &json!({"assignee_id": "x"}))
            .await,
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(
        assign(&w.app, &w.agent_a.token, w.conv, Some(w.agent_a.id))
            .await
            .0,
        403
    );
    assert_eq!(
        assign(&w.app, &w.admin.token, w.conv, Some(w.admin.id))
            .await
            .0,
        200
    );
    assert_eq!(
        assign(&w.app, &w.admin.token, w.conv, Some(w.agent_a.id))
            .await
            .0,
        200
    );
    let events = audit_events(&w.app, w.a.id).await;
    let assigns: Vec<_> = events
        .iter()
        .filter(|e| e.0 == "conversation.assign")
        .collect();
    assert_eq!(
        assigns.len(),
        2,
        "only the accepted assignments are recorded"
    );
    assert_eq!(assigns[1].3["previous_assignee_id"], w.admin.id.to_string());
}

#[tokio::test]
async fn status_is_open_or_closed() {
    let w = world().await;
    let path = format!("/v1/conversations/{}/status", w.conv);
    let agent = &w.agent_a.token;
    assign(&w.app, &w.a.owner_token, w.conv, Some(w.agent_a.id)).await;
    let (s, body) = status_json(
        w.app
            .post(&path, Some(agent), &json!({"status": "closed"}))
            .await,
    )
    .await;
    assert_eq!((s, body["status"].as_str()), (200, Some("closed")));
    let (_, closed) = status_json(
        w.app
            .get("/v1/conversations?status=closed", Some(agent))
            .await,
    )
    .await;
    assert_eq!(closed["items"].as_array().unwrap().len(), 1);
    let (s, body) = status_json(
        w.app
            .post(&path, Some(agent), &json!({"status": "archived"}))
            .await,
    )
    .await;
    assert_eq!((s, body["error"].as_str()), (422, Some("invalid_status")));
    // A new inbound message reopens the conversation.
    inbound(&w.app, PNID_A, WA_A, "wamid.A9", "still there?").await;
    let (_, conv) = status_json(
        w.app
            .get(&format!("/v1/conversations/{}", w.conv), Some(agent))
            .await,
    )
    .await;
    assert_eq!(conv["status"], "open");
    assert!(
        audit_events(&w.app, w.a.id)
            .await
            .iter()
            .any(|e| e.0 == "conversation.status")
    );
}
