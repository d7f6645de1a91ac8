//! `/v1/whatsapp/numbers`: registration by owners and admins, one tenant per number, the token
//! sealed and never shown, the registration audited.
use serde_json::json;
use wavault::store::sealed::{col, number_row_id, place};

use crate::helpers::*;
use crate::webhook_support::*;

fn body(display: &str, token: &str) -> serde_json::Value {
    json!({"display_phone_number": display, "waba_id": "102290129340398", "access_token": token})
}

#[tokio::test]
async fn owner_registers_updates_and_lists_numbers_without_tokens() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let token = "EAAG-secret-token-123";
    let resp = app
        .put(
            "/v1/whatsapp/numbers/106540352242922",
            Some(&t.owner_token),
            &body("15550783881", token),
        )
        .await;
    let (s, created) = status_json(resp).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["phone_number_id"], "106540352242922");
    assert_eq!(created["display_phone_number"], "15550783881");
    assert_eq!(created["waba_id"], "102290129340398");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(!created.to_string().contains(token));

    let resp = app
        .put(
            "/v1/whatsapp/numbers/106540352242922",
            Some(&t.owner_token),
            &body("15550783882", "EAAG-rotated"),
        )
        .await;
    let (s, updated) = status_json(resp).await;
    assert_eq!(
        (s, &updated["display_phone_number"]),
        (200, &json!("15550783882"))
    );
    assert_eq!(updated["created_at"], created["created_at"]);

    register_number(&app, &t, "200300400").await;
    let (s, list) = status_json(
        app.get("/v1/whatsapp/numbers?limit=1", Some(&t.owner_token))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["phone_number_id"], "106540352242922");
    let cursor = list["next_cursor"].as_str().unwrap().to_owned();
    let (_, page2) = status_json(
        app.get(
            &format!("/v1/whatsapp/numbers?limit=1&cursor={cursor}"),
            Some(&t.owner_token),
        )
        .await,
    )
    .await;
    assert_eq!(page2["items"][0]["phone_number_id"], "200300400");
    assert!(page2["next_cursor"].is_null());
    for item in list["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
    {
        assert!(item.get("access_token").is_none());
        assert!(!item.to_string().contains("EAAG"));
    }

    // The token is sealed at rest and opens for the sender.
    let keys = app.state.keys.for_tenant(t.id).await.unwrap();
    let tx = app.state.db.tenant(t.id).await.unwrap();
    let secret = tx
        .number_access_token(&keys, "106540352242922")
        .await
        .unwrap()
        .unwrap();
    let row = tx.number("106540352242922").await.unwrap().unwrap();
    let audit = tx.audit_page(None, 10).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&secret),
        "EAAG-rotated"
    );
    assert!(!String::from_utf8_lossy(&row.access_token_enc).contains("EAAG"));
    let sealed_at = place(
        col::NUMBERS,
        "access_token_enc",
        number_row_id("106540352242922"),
    );
    assert_eq!(
        keys.open_string(&sealed_at, &row.access_token_enc).unwrap(),
        "EAAG-rotated"
    );
    let actions: Vec<_> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"number.register") && actions.contains(&"number.update"),
        "{actions:?}"
    );
    assert!(audit.iter().all(|e| !e.detail.contains("EAAG")));
}

#[tokio::test]
async fn a_number_belongs_to_one_tenant() {
    let app = spawn_app().await;
    let a = app.create_tenant("alpha").await;
    let b = app.create_tenant("bravo").await;
    register_number(&app, &a, "106540352242922").await;
    let resp = app
        .put(
            "/v1/whatsapp/numbers/106540352242922",
            Some(&b.owner_token),
            &body("15550783881", "EAAG-b"),
        )
        .await;
    let (s, err) = status_json(resp).await;
    assert_eq!((s, err["error"].as_str()), (409, Some("number_taken")));

    let (_, list) = status_json(app.get("/v1/whatsapp/numbers", Some(&b.owner_token)).await).await;
    assert_eq!(list["items"], json!([]));
    let keys = app.state.keys.for_tenant(a.id).await.unwrap();
    let tx = app.state.db.tenant(a.id).await.unwrap();
    let token = tx
        .number_access_token(&keys, "106540352242922")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&token).to_owned();
    assert_eq!(token, access_token_for("106540352242922"));
    // Tenant B cannot read tenant A's token either.
    let keys_b = app.state.keys.for_tenant(b.id).await.unwrap();
    let tx = app.state.db.tenant(b.id).await.unwrap();
    assert!(
        tx.number_access_token(&keys_b, "106540352242922")
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn only_owners_and_admins_manage_numbers_and_input_is_checked() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    let admin = app.create_user(&t, "admin", "admin").await;
    let agent = app.create_user(&t, "agent", "agent").await;
    let path = "/v1/whatsapp/numbers/106540352242922";

    let (s, _) = status_json(
        app.put(path, Some(&admin.token), &body("15550783881", "EAAG-a"))
            .await,
    )
    .await;
    assert_eq!(s, 201);
    let (s, e) = status_json(
        app.put(path, Some(&agent.token), &body("15550783881", "EAAG-a"))
            .await,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        app.get("/v1/whatsapp/numbers", Some(&agent.token))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.put(path, None, &body("15550783881", "EAAG-a"))
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        app.get("/v1/whatsapp/numbers", None)
            .await
            .status()
            .as_u16(),
        401
    );

    for bad in [
        body("", "EAAG-a"),
        body("15550783881", ""),
        body("15550783881", "has space"),
        json!({"display_phone_number": "1", "waba_id": " ", "access_token": "t"}),
        json!({"display_phone_number": "1", "access_token": "t"}),
        json!({"display_phone_number": 1, "waba_id": "w", "access_token": "t"}),
    ] {
        let (s, e) = status_json(app.put(path, Some(&t.owner_token), &bad).await).await;
        assert_eq!(s, 422, "{bad}: {e}");
    }
    let long = "9".repeat(65);
    let (s, _) = status_json(
        app.put(
            &format!("/v1/whatsapp/numbers/{long}"),
            Some(&t.owner_token),
            &body("1", "t"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422);
    let (s, e) = status_json(
        app.get("/v1/whatsapp/numbers?cursor=%%%", Some(&t.owner_token))
            .await,
    )
    .await;
    assert_eq!(s, 400, "{e}");
}
