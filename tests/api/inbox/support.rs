//! Platform support staff: content only under an active support grant of the tenant they name,
//! every read recorded as `support.read`, and never any write.
use reqwest::Method;

use super::*;

fn reads(w: &World) -> Vec<String> {
    vec![
        "/v1/conversations".to_owned(),
        format!("/v1/conversations/{}", w.conv),
        format!("/v1/conversations/{}/messages", w.conv),
        "/v1/contacts".to_owned(),
        format!("/v1/contacts/{}", w.contact),
    ]
}

/// A support grant by tenant A's owner, through the API.
async fn grant(w: &World, minutes: i64) -> Uuid {
    let body = json!({"minutes": minutes, "reason": "ticket 1234"});
    let (s, g) = status_json(
        w.app
            .post("/v1/support-grants", Some(&w.a.owner_token), &body)
            .await,
    )
    .await;
    assert_eq!(s, 201, "{g}");
    g["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn support_reads_content_only_under_an_active_grant() {
    let w = world().await;
    let app = &w.app;
    let support = app.create_staff("support", "support").await;
    let operator = app.create_staff("operator", "operator").await;

    // No grant: nothing, whichever tenant is named, or none.
    for path in reads(&w) {
        for tenant in [None, Some(w.a.id), Some(w.b.id), Some(Uuid::new_v4())] {
            let (s, _) = call(app, Method::GET, &path, &support.token, None, tenant).await;
            assert_eq!(s, 404, "{path} naming {tenant:?}");
        }
        let (s, _) = call(app, Method::GET, &path, &operator.token, None, Some(w.a.id)).await;
        assert_eq!(s, 403, "operator {path}");
    }

    // Under tenant A's grant: reads of A answer, each one audited in A's chain.
    grant(&w, 60).await;
    for path in reads(&w) {
        let (s, body) = call(app, Method::GET, &path, &support.token, None, Some(w.a.id)).await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    let (_, msgs) = call(
        app,
        Method::GET,
        &reads(&w)[2],
        &support.token,
        None,
        Some(w.a.id),
    )
    .await;
    assert_eq!(msgs["items"][0]["content"]["text"]["body"], TEXT_A);
    let events = audit_events(app, w.a.id).await;
    let support_reads: Vec<_> = events
        .iter()
        .filter(|(a, by, _, _)| a == "support.read" && *by == Some(support.id))
        .collect();
    let seen: Vec<&str> = support_reads
        .iter()
        .filter_map(|e| e.3["read"].as_str())
        .collect();
    for read in [
        "conversation.list",
        "conversation.read",
        "conversation.messages.read",
        "contact.list",
        "contact.read",
    ] {
        assert!(seen.contains(&read), "{read} not audited: {seen:?}");
    }
    assert!(
        support_reads
            .iter()
            .any(|e| e.2.as_deref() == Some(&w.conv.to_string()))
    );

    // A's grant opens nothing of B, and no write for anyone on the platform side.
    let b_conv = format!("/v1/conversations/{}", w.conv_b);
    assert_eq!(
        call(
            app,
            Method::GET,
            &b_conv,
            &support.token,
            None,
            Some(w.b.id)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            app,
            Method::GET,
            &b_conv,
            &support.token,
            None,
            Some(w.a.id)
        )
        .await
        .0,
        404
    );
    for (method, path, body) in routes(w.conv, w.contact) {
        if method == Method::GET {
            continue;
        }
        let (s, _) = call(
            app,
            method.clone(),
            &path,
            &support.token,
            body.as_ref(),
            Some(w.a.id),
        )
        .await;
        assert_eq!(s, 403, "{method} {path}");
    }
    let assign_path = format!("/v1/conversations/{}/assign", w.conv);
    let body = json!({"assignee_id": null});
    assert_eq!(
        call(
            app,
            Method::POST,
            &assign_path,
            &support.token,
            Some(&body),
            Some(w.a.id)
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn an_expired_or_revoked_grant_closes_access_at_once() {
    let w = world().await;
    let app = &w.app;
    let support = app.create_staff("support", "support").await;
    let path = format!("/v1/conversations/{}", w.conv);
    let id = grant(&w, 10).await;
    assert_eq!(
        call(app, Method::GET, &path, &support.token, None, Some(w.a.id))
            .await
            .0,
        200
    );

    let revoke = format!("/v1/support-grants/{id}");
    let s = app
        .delete(&revoke, Some(&w.a.owner_token))
        .await
        .status()
        .as_u16();
    assert!(s == 200 || s == 204, "revoke: {s}");
    assert_eq!(
        call(app, Method::GET, &path, &support.token, None, Some(w.a.id))
            .await
            .0,
        404
    );

    grant(&w, 10).await;
    assert_eq!(
        call(app, Method::GET, &path, &support.token, None, Some(w.a.id))
            .await
            .0,
        200
    );
    app.clock.advance_secs(11 * 60);
    let token = app.token_for(None, &support.email).await;
    assert_eq!(
        call(app, Method::GET, &path, &token, None, Some(w.a.id))
            .await
            .0,
        404
    );
}
