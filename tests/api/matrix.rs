//! The authorization matrix: every route × every kind of caller, with own and foreign ids, and
//! the status each cell must answer. A new route gets a row in `ROUTES`; nothing else changes.
//!
//! Placeholders in paths, bodies and the named tenant: `{tenant_a}` `{tenant_b}` (the two
//! tenants), `{tenant_c}` (deletion scheduled, to cancel), `{tenant_d}` (deletion scheduled, to
//! execute), `{slug_a}`, `{owner_a}`, `{agent_a}`, `{agent_b}` (user ids), `{contact_a}` and
//! `{conv_a}` (assigned to agent A), `{contact_a2}` and `{conv_a2}` (not assigned),
//! `{contact_b}`, `{conv_b}`, `{pnid_a}` (A's number), `{grant_b2}` (a spare grant of B),
//! `{missing}` (an id nobody has), `{n}` (unique per cell), `{fresh_contact_a}` and
//! `{fresh_contact_b}` (a contact made for this cell alone, for erasure), and in an undo,
//! `{created_id}` (the `id` the cell's answer carried).
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

mod world;

/// Columns of `expect`, in this order.
const CALLERS: [&str; 7] = [
    "anonymous",
    "agent A",
    "admin A",
    "owner A",
    "owner B",
    "support",
    "operator",
];

pub struct Row {
    method: &'static str,
    path: &'static str,
    /// JSON text, or "" for no body.
    body: &'static str,
    /// anonymous, agent A, admin A, owner A, owner B, support, operator.
    expect: [u16; 7],
    /// `X-Wavault-Tenant`: the tenant platform staff act on (sent by every caller; tenant
    /// users must not be moved by it).
    naming: &'static str,
    /// Run by the same caller after a 2xx, to put the world back (method, path, body).
    undo: Option<(&'static str, &'static str, &'static str)>,
    /// The request ends the caller's session (logout): sign in again after the cell.
    ends_session: bool,
}

const fn row(
    method: &'static str,
    path: &'static str,
    body: &'static str,
    expect: [u16; 7],
) -> Row {
    Row {
        method,
        path,
        body,
        expect,
        naming: "",
        undo: None,
        ends_session: false,
    }
}

impl Row {
    const fn naming(self, tenant: &'static str) -> Self {
        Row {
            naming: tenant,
            ..self
        }
    }
    const fn undo(self, method: &'static str, path: &'static str, body: &'static str) -> Self {
        Row {
            undo: Some((method, path, body)),
            ..self
        }
    }
    const fn ends_session(self) -> Self {
        Row {
            ends_session: true,
            ..self
        }
    }
}

const NEW_USER: &str =
    r#"{"email": "m{n}@x.example", "password": "correct horse battery staple", "role": "agent"}"#;
const NEW_ADMIN: &str =
    r#"{"email": "m{n}@x.example", "password": "correct horse battery staple", "role": "admin"}"#;
const NEW_TENANT: &str = r#"{"name": "M{n}", "slug": "matrix-{n}", "owner_email": "o@m{n}.example", "owner_password": "correct horse battery staple"}"#;
const LOGIN_OWNER_A: &str = r#"{"tenant": "{slug_a}", "email": "owner@tenant-a.example", "password": "correct horse battery staple"}"#;
const NUMBER: &str = r#"{"display_phone_number": "15550001234", "waba_id": "waba-m{n}", "access_token": "EAAG-matrix"}"#;
const INVOICE: &str = r#"{"invoice_number": "INV-{n}", "amount_minor": 1000, "currency": "INR", "issued_at": "2026-11-01T00:00:00Z"}"#;
const REASON: &str = r#"{"reason": "matrix"}"#;
const GRANT: &str = r#"{"minutes": 30, "reason": "matrix"}"#;
const TEXT: &str = r#"{"type": "text", "text": "hello"}"#;
const VERIFY: &str =
    "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=42";

#[rustfmt::skip]
pub const ROUTES: &[Row] = &[
    //  method    path                                          body                 anon agA  adA  owA  owB  sup  op
    // Operations
    row("GET",    "/healthz",                                   "",                  [200, 200, 200, 200, 200, 200, 200]),
    row("GET",    "/readyz",                                    "",                  [200, 200, 200, 200, 200, 200, 200]),
    row("GET",    "/metrics",                                   "",                  [200, 200, 200, 200, 200, 200, 200]),
    row("GET",    "/openapi.json",                              "",                  [200, 200, 200, 200, 200, 200, 200]),
    // Webhook: authenticated by Meta's signature and token, never by a bearer token
    row("GET",    VERIFY,                                       "",                  [200, 200, 200, 200, 200, 200, 200]),
    row("GET",    "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", "", [403, 403, 403, 403, 403, 403, 403]),
    row("POST",   "/webhooks/whatsapp",                         r#"{"object": "whatsapp_business_account", "entry": []}"#, [401, 401, 401, 401, 401, 401, 401]),
    // Auth
    row("POST",   "/v1/auth/login",                             LOGIN_OWNER_A,       [200, 200, 200, 200, 200, 200, 200]),
    row("POST",   "/v1/auth/refresh",                           r#"{"refresh_token": "p.nope"}"#, [401, 401, 401, 401, 401, 401, 401]),
    row("GET",    "/v1/me",                                     "",                  [401, 200, 200, 200, 200, 200, 200]),
    row("POST",   "/v1/auth/totp/enroll",                       "{}",                [401, 200, 200, 200, 200, 200, 200]),
    // After the enrolment above, a code that can never match.
    row("POST",   "/v1/auth/totp/confirm",                      r#"{"code": "abcdef"}"#, [401, 422, 422, 422, 422, 422, 422]),
    row("POST",   "/v1/auth/logout",                            "{}",                [401, 204, 204, 204, 204, 204, 204]).ends_session(),
    // Platform: tenants
    row("POST",   "/v1/tenants",                                NEW_TENANT,          [401, 403, 403, 403, 403, 403, 201]),
    row("GET",    "/v1/tenants",                                "",                  [401, 403, 403, 403, 403, 200, 200]),
    row("GET",    "/v1/tenants/{tenant_a}",                     "",                  [401, 403, 200, 200, 404, 200, 200]),
    row("GET",    "/v1/tenants/{tenant_b}",                     "",                  [401, 403, 404, 404, 200, 200, 200]),
    row("GET",    "/v1/tenants/{missing}",                      "",                  [401, 403, 404, 404, 404, 404, 404]),
    // Platform: deletion. Reading and cancelling also serve an owner whose tenant the request
    // suspended, so another tenant's id is 404 before any role check.
    row("POST",   "/v1/tenants/{tenant_a}/deletion",            REASON,              [401, 403, 403, 202, 404, 202, 403]).undo("DELETE", "/v1/tenants/{tenant_a}/deletion", ""),
    row("POST",   "/v1/tenants/{tenant_b}/deletion",            REASON,              [401, 403, 403, 404, 202, 202, 403]).undo("DELETE", "/v1/tenants/{tenant_b}/deletion", ""),
    row("GET",    "/v1/tenants/{tenant_a}/deletion",            "",                  [401, 403, 403, 200, 404, 200, 200]),
    row("GET",    "/v1/tenants/{tenant_c}/deletion",            "",                  [401, 404, 404, 404, 404, 200, 200]),
    row("DELETE", "/v1/tenants/{tenant_c}/deletion",            "",                  [401, 404, 404, 404, 404, 200, 403]).undo("POST", "/v1/tenants/{tenant_c}/deletion", REASON),
    row("POST",   "/v1/tenants/{tenant_a}/deletion/execute",    "",                  [401, 403, 403, 403, 403, 404, 403]),
    row("POST",   "/v1/tenants/{tenant_d}/deletion/execute",    "",                  [401, 403, 403, 403, 403, 200, 403]),
    // Platform: billing records
    row("POST",   "/v1/tenants/{tenant_a}/billing-records",     INVOICE,             [401, 403, 403, 403, 403, 403, 201]),
    row("POST",   "/v1/tenants/{missing}/billing-records",      INVOICE,             [401, 403, 403, 403, 403, 403, 404]),
    row("GET",    "/v1/tenants/{tenant_a}/billing-records",     "",                  [401, 403, 403, 403, 403, 200, 200]),
    // Tenant administration: numbers
    row("PUT",    "/v1/whatsapp/numbers/9{n}",                  NUMBER,              [401, 403, 201, 201, 201, 403, 403]),
    row("PUT",    "/v1/whatsapp/numbers/{pnid_a}",              NUMBER,              [401, 403, 200, 200, 409, 403, 403]),
    row("GET",    "/v1/whatsapp/numbers",                       "",                  [401, 403, 200, 200, 200, 403, 403]),
    // Tenant administration: users, settings, grants, audit
    row("POST",   "/v1/users",                                  NEW_USER,            [401, 403, 201, 201, 201, 403, 403]),
    row("POST",   "/v1/users",                                  NEW_ADMIN,           [401, 403, 403, 201, 201, 403, 403]),
    row("GET",    "/v1/users",                                  "",                  [401, 403, 200, 200, 200, 403, 403]),
    row("PATCH",  "/v1/users/{agent_a}",                        r#"{"disabled": false}"#, [401, 403, 200, 200, 404, 403, 403]),
    row("PATCH",  "/v1/users/{agent_b}",                        r#"{"disabled": false}"#, [401, 403, 404, 404, 200, 403, 403]),
    row("PATCH",  "/v1/users/{owner_a}",                        r#"{"role": "owner"}"#, [401, 403, 403, 200, 404, 403, 403]),
    row("PATCH",  "/v1/users/{missing}",                        r#"{"disabled": false}"#, [401, 403, 404, 404, 404, 403, 403]),
    row("PATCH",  "/v1/tenant/settings",                        r#"{"auto_assign": false}"#, [401, 403, 200, 200, 200, 403, 403]),
    row("POST",   "/v1/support-grants",                         GRANT,               [401, 403, 403, 201, 201, 403, 403]).undo("DELETE", "/v1/support-grants/{created_id}", ""),
    row("DELETE", "/v1/support-grants/{grant_b2}",              "",                  [401, 403, 403, 404, 204, 403, 403]),
    row("DELETE", "/v1/support-grants/{missing}",               "",                  [401, 403, 403, 404, 404, 403, 403]),
    row("GET",    "/v1/audit",                                  "",                  [401, 403, 200, 200, 200, 403, 403]),
    row("GET",    "/v1/audit/verify",                           "",                  [401, 403, 200, 200, 200, 403, 403]),
    // Contacts. Support reads need the tenant's grant: B has one, A has none.
    row("GET",    "/v1/contacts",                               "",                  [401, 200, 200, 200, 200, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/contacts",                               "",                  [401, 200, 200, 200, 200, 200, 403]).naming("{tenant_b}"),
    row("GET",    "/v1/contacts/{contact_a}",                   "",                  [401, 200, 200, 200, 404, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/contacts/{contact_a2}",                  "",                  [401, 404, 200, 200, 404, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/contacts/{contact_b}",                   "",                  [401, 404, 404, 404, 200, 200, 403]).naming("{tenant_b}"),
    row("PATCH",  "/v1/contacts/{contact_a}",                   r#"{"display_name": "M"}"#, [401, 200, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("PATCH",  "/v1/contacts/{contact_a2}",                  r#"{"display_name": "M"}"#, [401, 404, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("PATCH",  "/v1/contacts/{contact_b}",                   r#"{"display_name": "M"}"#, [401, 404, 404, 404, 200, 403, 403]).naming("{tenant_b}"),
    row("POST",   "/v1/contacts/{contact_a}/consent",           r#"{"status": "opted_in", "source": "matrix"}"#, [401, 200, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("POST",   "/v1/contacts/{contact_b}/consent",           r#"{"status": "opted_in", "source": "matrix"}"#, [401, 404, 404, 404, 200, 403, 403]).naming("{tenant_b}"),
    // Data-subject rights: owners and admins only; to agents these routes do not exist.
    row("GET",    "/v1/contacts/export?format=ndjson",          "",                  [401, 404, 200, 200, 200, 403, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/contacts/{contact_a}/export",            "",                  [401, 404, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/contacts/{contact_b}/export",            "",                  [401, 404, 404, 404, 200, 403, 403]).naming("{tenant_b}"),
    row("PATCH",  "/v1/contacts/{contact_a}",                    r#"{"restricted": false}"#, [401, 404, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("DELETE", "/v1/contacts/{fresh_contact_a}",             "",                  [401, 404, 204, 204, 404, 403, 403]).naming("{tenant_a}"),
    row("DELETE", "/v1/contacts/{fresh_contact_b}",             "",                  [401, 404, 404, 404, 204, 403, 403]).naming("{tenant_b}"),
    // Conversations and messages
    row("GET",    "/v1/conversations",                          "",                  [401, 200, 200, 200, 200, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/conversations",                          "",                  [401, 200, 200, 200, 200, 200, 403]).naming("{tenant_b}"),
    row("GET",    "/v1/conversations/{conv_a}",                 "",                  [401, 200, 200, 200, 404, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/conversations/{conv_a2}",                "",                  [401, 404, 200, 200, 404, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/conversations/{conv_b}",                 "",                  [401, 404, 404, 404, 200, 200, 403]).naming("{tenant_b}"),
    row("GET",    "/v1/conversations/{conv_a}/messages",        "",                  [401, 200, 200, 200, 404, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/conversations/{conv_a2}/messages",       "",                  [401, 404, 200, 200, 404, 404, 403]).naming("{tenant_a}"),
    row("GET",    "/v1/conversations/{conv_b}/messages",        "",                  [401, 404, 404, 404, 200, 200, 403]).naming("{tenant_b}"),
    row("POST",   "/v1/conversations/{conv_a}/assign",          r#"{"assignee_id": "{agent_a}"}"#, [401, 403, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("POST",   "/v1/conversations/{conv_b}/assign",          r#"{"assignee_id": "{agent_b}"}"#, [401, 403, 404, 404, 200, 403, 403]).naming("{tenant_b}"),
    row("POST",   "/v1/conversations/{conv_a}/status",          r#"{"status": "open"}"#, [401, 200, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("POST",   "/v1/conversations/{conv_a2}/status",         r#"{"status": "open"}"#, [401, 404, 200, 200, 404, 403, 403]).naming("{tenant_a}"),
    row("POST",   "/v1/conversations/{conv_b}/status",          r#"{"status": "open"}"#, [401, 404, 404, 404, 200, 403, 403]).naming("{tenant_b}"),
    row("POST",   "/v1/conversations/{conv_a}/messages",        TEXT,                [401, 202, 202, 202, 404, 403, 403]).naming("{tenant_a}"),
    row("POST",   "/v1/conversations/{conv_a2}/messages",       TEXT,                [401, 404, 202, 202, 404, 403, 403]).naming("{tenant_a}"),
    row("POST",   "/v1/conversations/{conv_b}/messages",        TEXT,                [401, 404, 404, 404, 202, 403, 403]).naming("{tenant_b}"),
];

async fn call(
    w: &world::World,
    col: usize,
    method: &str,
    path: &str,
    body: &str,
    naming: &str,
) -> (u16, Value) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = w.app.client.request(method, w.app.url(path));
    if let Some(token) = &w.tokens[col] {
        req = req.bearer_auth(token);
    }
    if !naming.is_empty() {
        req = req.header("X-Wavault-Tenant", naming);
    }
    if !body.is_empty() {
        let json: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        req = req.json(&json);
    }
    status_json(req.send().await.unwrap()).await
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_table_says() {
    let mut w = world::build().await;
    let mut mismatches = Vec::new();
    let mut n = 0;
    for r in ROUTES {
        for (col, expected) in r.expect.iter().enumerate() {
            n += 1;
            let mut extra = vec![("{n}", n.to_string())];
            for (name, which) in [("{fresh_contact_a}", "a"), ("{fresh_contact_b}", "b")] {
                if r.path.contains(name) {
                    extra.push((name, w.fresh_contact(which, n).await));
                }
            }
            let path = w.fill(r.path, &extra);
            let body = w.fill(r.body, &extra);
            let naming = w.fill(r.naming, &extra);
            let (got, answer) = call(&w, col, r.method, &path, &body, &naming).await;
            if got != *expected {
                mismatches.push(format!(
                    "{:<6} {:<45} {:<9} expected {expected} got {got} {}",
                    r.method, r.path, CALLERS[col], answer["error"]
                ));
            }
            if let Some((method, path, body)) = r.undo
                && (200..300).contains(&got)
            {
                extra.push((
                    "{created_id}",
                    answer["id"].as_str().unwrap_or_default().to_owned(),
                ));
                let (path, body) = (w.fill(path, &extra), w.fill(body, &extra));
                let (s, b) = call(&w, col, method, &path, &body, &naming).await;
                assert!(
                    (200..300).contains(&s),
                    "undo of {} {} by {}: {s} {b}",
                    r.method,
                    r.path,
                    CALLERS[col]
                );
            }
            if r.ends_session
                && let Some((tenant, email)) = &w.logins[col]
            {
                w.tokens[col] = Some(w.app.token_for(tenant.as_deref(), email).await);
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cells differ from the table:\n{}",
        mismatches.len(),
        ROUTES.len() * CALLERS.len(),
        mismatches.join("\n")
    );
}

/// `/v1/users/{agent_a}` and `/v1/users/{id}` name the same route.
fn route_key(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| if s.contains('{') { "{}" } else { s })
        .collect();
    format!("{} {}", method.to_uppercase(), segments.join("/"))
}

#[tokio::test]
async fn every_documented_route_has_a_row() {
    let app = spawn_app().await;
    let (s, doc) = status_json(app.get("/openapi.json", None).await).await;
    assert_eq!(s, 200);
    let covered: std::collections::BTreeSet<String> =
        ROUTES.iter().map(|r| route_key(r.method, r.path)).collect();
    let paths = doc["paths"].as_object().unwrap();
    assert!(
        paths.len() > 20,
        "the document lists too few routes to check: {}",
        paths.len()
    );
    let mut missing = Vec::new();
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert(route_key(method, path));
                if !covered.contains(&route_key(method, path)) {
                    missing.push(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
    }
    // A row for a route that is gone would only ever see 404s: flag it instead.
    missing.extend(
        covered
            .difference(&documented)
            .map(|k| format!("{k} (row without a route)")),
    );
    assert!(
        missing.is_empty(),
        "routes without a row in ROUTES: {missing:#?}"
    );
}
