//! Contacts: lookup by phone number, the contact view, corrections and consent with history.
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;
use crate::inbox::{PNID_A, WA_A, World, assign, audit_events, inbound, world};

fn contact_path(w: &World) -> String {
    format!("/v1/contacts/{}", w.contact)
}

async fn get_contact(w: &World, token: &str) -> (u16, Value) {
    status_json(w.app.get(&contact_path(w), Some(token)).await).await
}

#[tokio::test]
async fn contacts_are_found_by_any_format_of_their_number() {
    let w = world().await;
    let owner = &w.a.owner_token;
    for query in ["%2B1%20(555)%20123-0001", "1.555.123.0001", WA_A] {
        let (s, body) = status_json(
            w.app
                .get(&format!("/v1/contacts?wa_id={query}"), Some(owner))
                .await,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "{query}");
        assert_eq!(body["items"][0]["id"], w.contact.to_string());
    }
    for query in ["15550000000", "not-a-number"] {
        let (s, body) = status_json(
            w.app
                .get(&format!("/v1/contacts?wa_id={query}"), Some(owner))
                .await,
        )
        .await;
        assert_eq!(
            (s, body["items"].as_array().unwrap().len()),
            (200, 0),
            "{query}"
        );
    }

    let (s, c) = get_contact(&w, owner).await;
    assert_eq!(s, 200);
    assert_eq!(c["id"], w.contact.to_string());
    assert_eq!(c["wa_id"], WA_A);
    assert_eq!(c["profile_name"], "Test Contact");
    assert!(c["display_name"].is_null());
    assert_eq!(c["attributes"], json!({}));
    assert_eq!(c["consent"], json!({"status": "unknown", "history": []}));
    assert!(c["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(c["last_inbound_at"].as_str().unwrap().ends_with('Z'));

    inbound(&w.app, PNID_A, "15551230009", "wamid.C2", "hi").await;
    let (_, first) = status_json(w.app.get("/v1/contacts?limit=1", Some(owner)).await).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = status_json(
        w.app
            .get(
                &format!("/v1/contacts?limit=1&cursor={cursor}"),
                Some(owner),
            )
            .await,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    assert!(second["next_cursor"].is_null());
    let missing = format!("/v1/contacts/{}", Uuid::new_v4());
    assert_eq!(
        w.app.get(&missing, Some(owner)).await.status().as_u16(),
        404
    );
}

#[tokio::test]
async fn corrections_change_display_name_and_attributes() {
    let w = world().await;
    let path = contact_path(&w);
    let agent = &w.agent_a.token;
    let fix = json!({"display_name": "Jane D.", "attributes": {"tier": "gold", "city": "Pune"}});
    assert_eq!(
        w.app
            .patch(&path, Some(agent), &fix)
            .await
            .status()
            .as_u16(),
        404,
        "not assigned"
    );
    assign(&w.app, &w.a.owner_token, w.conv, Some(w.agent_a.id)).await;
    let (s, c) = status_json(w.app.patch(&path, Some(agent), &fix).await).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        (c["display_name"].as_str(), c["attributes"]["tier"].as_str()),
        (Some("Jane D."), Some("gold"))
    );
    assert_eq!(
        c["profile_name"], "Test Contact",
        "Meta's profile name is kept apart"
    );

    let (s, c) = status_json(
        w.app
            .patch(&path, Some(agent), &json!({"display_name": null}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert!(c["display_name"].is_null());
    assert_eq!(c["attributes"]["city"], "Pune", "untouched");

    for (body, code) in [
        (json!({}), "nothing_to_change"),
        (json!({"attributes": [1, 2]}), "invalid_attributes"),
        (json!({"attributes": "gold"}), "invalid_attributes"),
        (json!({"display_name": "  "}), "invalid_display_name"),
        (
            json!({"display_name": "x".repeat(257)}),
            "invalid_display_name",
        ),
    ] {
        let (s, b) = status_json(w.app.patch(&path, Some(agent), &body).await).await;
        assert_eq!((s, b["error"].as_str()), (422, Some(code)), "{body}");
    }
    let events = audit_events(&w.app, w.a.id).await;
    let fixes: Vec<_> = events.iter().filter(|e| e.0 == "contact.correct").collect();
    assert_eq!(fixes.len(), 2);
    assert_eq!(
        fixes[0].3,
        json!({"fields": ["display_name", "attributes"]})
    );
    assert!(
        !serde_json::to_string(&events.iter().map(|e| &e.3).collect::<Vec<_>>())
            .unwrap()
            .contains("Jane")
    );
}

#[tokio::test]
async fn consent_changes_keep_their_history() {
    let w = world().await;
    let path = format!("{}/consent", contact_path(&w));
    assign(&w.app, &w.a.owner_token, w.conv, Some(w.agent_a.id)).await;
    let out = json!({"status": "opted_out", "source": "customer asked by phone"});
    let (s, c) = status_json(w.app.post(&path, Some(&w.agent_a.token), &out).await).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["consent"]["status"], "opted_out");
    w.app.clock.advance_secs(60);
    let back_in = json!({"status": "opted_in", "source": "web form"});
    let (_, c) = status_json(w.app.post(&path, Some(&w.a.owner_token), &back_in).await).await;
    let history = c["consent"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "opted_out");
    assert_eq!(history[0]["source"], "customer asked by phone");
    assert_eq!(history[0]["actor_kind"], "user");
    assert_eq!(history[0]["actor_id"], w.agent_a.id.to_string());
    assert_eq!(history[1]["actor_id"], w.a.owner_id.to_string());
    assert!(history[0]["at"].as_str().unwrap() < history[1]["at"].as_str().unwrap());

    for (body, code) in [
        (json!({"status": "maybe", "source": "x"}), "invalid_status"),
        (
            json!({"status": "opted_in", "source": " "}),
            "invalid_source",
        ),
    ] {
        let (s, b) = status_json(w.app.post(&path, Some(&w.a.owner_token), &body).await).await;
        assert_eq!((s, b["error"].as_str()), (422, Some(code)));
    }
    let (s, _) = status_json(w.app.post(&path, Some(&w.agent_b.token), &out).await).await;
    assert_eq!(s, 404, "another agent");

    // STOP by the contact lands in the same history.
    inbound(&w.app, PNID_A, WA_A, "wamid.STOP", "STOP").await;
    let (_, c) = get_contact(&w, &w.a.owner_token).await;
    assert_eq!(c["consent"]["status"], "opted_out");
    assert_eq!(c["consent"]["history"].as_array().unwrap().len(), 3);
    let consents = audit_events(&w.app, w.a.id)
        .await
        .into_iter()
        .filter(|e| e.0 == "contact.consent")
        .count();
    assert_eq!(consents, 2);
}
