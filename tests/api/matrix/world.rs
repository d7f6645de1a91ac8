//! The fixture the matrix runs against: two tenants with users, numbers, contacts and
//! conversations, platform staff, a support grant for tenant B only, and two spare tenants whose
//! deletion is scheduled (C to be cancelled, D to be executed).
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::helpers::*;
use crate::inbox::{accept_all, assign, contact_id, conversation_of, inbound};
use crate::webhook_support::register_number;

pub const PNID_A: &str = "301000000000001";
pub const PNID_B: &str = "302000000000002";

/// Who calls: the token column of each caller (none for anonymous) and how to sign in again.
pub struct World {
    pub app: TestApp,
    pub tokens: [Option<String>; 7],
    pub logins: [Option<(Option<String>, String)>; 7],
    vars: Vec<(String, String)>,
    _graph: MockServer,
}

impl World {
    /// Replaces every placeholder in `template`; `extra` holds the cell's own values.
    pub fn fill(&self, template: &str, extra: &[(&str, String)]) -> String {
        let mut out = template.to_owned();
        for (name, value) in extra {
            out = out.replace(name, value);
        }
        for (name, value) in &self.vars {
            out = out.replace(name.as_str(), value);
        }
        out
    }

    /// A contact that exists only for this cell (for erasure): a new inbound message to
    /// tenant `which` ("a" or "b"), looked up by that tenant's owner.
    pub async fn fresh_contact(&self, which: &str, n: usize) -> String {
        // Owner A and owner B are columns 3 and 4; their current tokens, as logout renews them.
        let (pnid, owner) = match which {
            "a" => (PNID_A, 3),
            _ => (PNID_B, 4),
        };
        let token = self.tokens[owner].as_deref().unwrap();
        let wa_id = format!("1555{:07}", n);
        inbound(&self.app, pnid, &wa_id, &format!("wamid.FRESH{n}"), "hello").await;
        contact_id(&self.app, token, &wa_id).await.to_string()
    }
}

async fn ok(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Value) -> Value {
    let (s, b) = status_json(app.send_json(method, path, Some(token), &body).await).await;
    assert!((200..300).contains(&s), "{path}: {s} {b}");
    b
}

pub async fn build() -> World {
    let graph = MockServer::start().await;
    accept_all(&graph).await;
    let uri = graph.uri();
    let app = spawn_app_with(&[
        ("meta.graph_base_url", uri.as_str()),
        ("meta.retry_base_delay_ms", "1"),
        ("meta.request_timeout_secs", "2"),
    ])
    .await;
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    let c = app.create_tenant("tenant-c").await;
    let d = app.create_tenant("tenant-d").await;
    let agent_a = app.create_user(&a, "agent", "agent").await;
    let admin_a = app.create_user(&a, "admin", "admin").await;
    let agent_b = app.create_user(&b, "agent", "agent").await;
    let support = app.create_staff("support", "support").await;
    let operator = app.create_staff("operator", "operator").await;

    register_number(&app, &a, PNID_A).await;
    register_number(&app, &b, PNID_B).await;
    inbound(&app, PNID_A, "15551110001", "wamid.MA1", "hi").await;
    inbound(&app, PNID_A, "15551110002", "wamid.MA2", "hi").await;
    inbound(&app, PNID_B, "15552220001", "wamid.MB1", "hi").await;
    let contact_a = contact_id(&app, &a.owner_token, "15551110001").await;
    let contact_a2 = contact_id(&app, &a.owner_token, "15551110002").await;
    let contact_b = contact_id(&app, &b.owner_token, "15552220001").await;
    let conv_a = conversation_of(&app, &a.owner_token, contact_a).await;
    let conv_a2 = conversation_of(&app, &a.owner_token, contact_a2).await;
    let conv_b = conversation_of(&app, &b.owner_token, contact_b).await;
    assert_eq!(
        assign(&app, &a.owner_token, conv_a, Some(agent_a.id))
            .await
            .0,
        200
    );

    let post = reqwest::Method::POST;
    let grant = json!({"minutes": 600, "reason": "matrix"});
    ok(
        &app,
        post.clone(),
        "/v1/support-grants",
        &b.owner_token,
        grant.clone(),
    )
    .await;
    let spare = ok(
        &app,
        post.clone(),
        "/v1/support-grants",
        &b.owner_token,
        grant,
    )
    .await;
    let reason = json!({"reason": "matrix"});
    for t in [&a, &c, &d] {
        let path = format!("/v1/tenants/{}/deletion", t.id);
        ok(&app, post.clone(), &path, &support.token, reason.clone()).await;
        if t.id == a.id {
            // Tenant A keeps a cancelled request, so reading it has something to show.
            ok(
                &app,
                reqwest::Method::DELETE,
                &path,
                &support.token,
                json!({}),
            )
            .await;
        }
    }

    let vars = [
        ("{tenant_a}", a.id.to_string()),
        ("{tenant_b}", b.id.to_string()),
        ("{tenant_c}", c.id.to_string()),
        ("{tenant_d}", d.id.to_string()),
        ("{slug_a}", a.slug.clone()),
        ("{owner_a}", a.owner_id.to_string()),
        ("{agent_a}", agent_a.id.to_string()),
        ("{agent_b}", agent_b.id.to_string()),
        ("{contact_a}", contact_a.to_string()),
        ("{contact_a2}", contact_a2.to_string()),
        ("{contact_b}", contact_b.to_string()),
        ("{conv_a}", conv_a.to_string()),
        ("{conv_a2}", conv_a2.to_string()),
        ("{conv_b}", conv_b.to_string()),
        ("{pnid_a}", PNID_A.to_owned()),
        ("{grant_b2}", spare["id"].as_str().unwrap().to_owned()),
        ("{missing}", uuid::Uuid::new_v4().to_string()),
    ];
    let in_a = |email: &str| Some((Some(a.slug.clone()), email.to_owned()));
    World {
        tokens: [
            None,
            Some(agent_a.token),
            Some(admin_a.token),
            Some(a.owner_token),
            Some(b.owner_token),
            Some(support.token),
            Some(operator.token),
        ],
        logins: [
            None,
            in_a(&agent_a.email),
            in_a(&admin_a.email),
            in_a("owner@tenant-a.example"),
            Some((Some(b.slug.clone()), "owner@tenant-b.example".to_owned())),
            Some((None, support.email)),
            Some((None, operator.email)),
        ],
        vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        app,
        _graph: graph,
    }
}
