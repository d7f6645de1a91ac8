//! The served OpenAPI document matches the HTTP contract (tests/fixtures/API.md) route for route,
//! and the interactive docs are served from compiled-in assets.
use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::*;

/// A copy of the contract, so the suite does not depend on files outside the repository.
const CONTRACT: &str = include_str!("../fixtures/API.md");
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

type Route = (String, String);

/// `(METHOD, path)` of every row of the contract's route tables.
fn contract_routes() -> BTreeSet<Route> {
    CONTRACT
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim);
            let (_, method, path) = (cells.next()?, cells.next()?, cells.next()?);
            (METHODS.contains(&method) && path.starts_with('/'))
                .then(|| (method.to_owned(), path.to_owned()))
        })
        .collect()
}

/// Path parameters compare by position, not name: `{phone_number_id}` and `{id}` are the same.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{id}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

fn shapes(routes: &BTreeSet<Route>) -> BTreeSet<Route> {
    routes.iter().map(|(m, p)| (m.clone(), shape(p))).collect()
}

/// A request path that parses: a digits-only id for numbers, a UUID elsewhere.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{phone_number_id}" => "106540352242922".to_owned(),
            s if s.starts_with('{') => "0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the application routes `method path` to a handler: the default service answers an
/// unrouted request with 404 `not_found`; any other answer (401, 405, 400, ...) means it exists.
async fn served(app: &TestApp, method: &str, path: &str) -> bool {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method.clone(), app.url(&concrete(path)));
    if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
        req = req.json(&serde_json::json!({}));
    }
    let (status, body) = status_json(req.send().await.expect("request")).await;
    !(status == 404 && body["error"] == "not_found")
}

/// `(METHOD, path)` of every operation of the document.
fn document_routes(doc: &Value) -> BTreeSet<Route> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths object") {
        for key in item.as_object().expect("path item").keys() {
            let method = key.to_uppercase();
            assert!(
                METHODS.contains(&method.as_str()),
                "{path}: unexpected key {key}"
            );
            out.insert((method, path.clone()));
        }
    }
    out
}

async fn fetch_document(app: &TestApp) -> Value {
    let resp = app.get("/openapi.json", None).await;
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    resp.json().await.expect("the document is JSON")
}

fn list(routes: &BTreeSet<Route>) -> String {
    routes
        .iter()
        .map(|(m, p)| format!("  {m} {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_contract_fixture_parses_into_its_route_tables() {
    let routes = contract_routes();
    assert!(routes.len() >= 40, "only {} routes parsed", routes.len());
    assert!(routes.contains(&("GET".into(), "/openapi.json".into())));
    assert!(routes.contains(&(
        "PUT".into(),
        "/v1/whatsapp/numbers/{phone_number_id}".into()
    )));
    assert_eq!(
        shape("/v1/tenants/{id}/deletion"),
        "/v1/tenants/{id}/deletion"
    );
    assert_eq!(
        shape("/v1/whatsapp/numbers/{pnid}"),
        "/v1/whatsapp/numbers/{id}"
    );
}

#[tokio::test]
async fn every_served_contract_route_is_documented_and_nothing_else_is() {
    let app = spawn_app().await;
    let doc = fetch_document(&app).await;
    let contract = contract_routes();
    let documented = document_routes(&doc);

    let mut served_routes = BTreeSet::new();
    for (method, path) in &contract {
        if served(&app, method, path).await {
            served_routes.insert((method.clone(), shape(path)));
        }
    }
    let undocumented: BTreeSet<Route> = served_routes
        .difference(&shapes(&documented))
        .cloned()
        .collect();
    assert!(
        undocumented.is_empty(),
        "served but missing from /openapi.json: add each handler to paths(...) in src/api/openapi.rs \
         (its generated `__path_<fn>` struct must be reachable from there):\n{}",
        list(&undocumented)
    );

    let contract_shapes = shapes(&contract);
    let extra: BTreeSet<Route> = documented
        .iter()
        .filter(|(m, p)| !contract_shapes.contains(&(m.clone(), shape(p))))
        .cloned()
        .collect();
    assert!(
        extra.is_empty(),
        "documented but not in API.md:\n{}",
        list(&extra)
    );

    let mut unserved = BTreeSet::new();
    for (method, path) in &documented {
        if !served(&app, method, path).await {
            unserved.insert((method.clone(), path.clone()));
        }
    }
    assert!(
        unserved.is_empty(),
        "documented but not routed (register the handler in its configure):\n{}",
        list(&unserved)
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_bearer_auth_on_v1_and_resolvable_refs() {
    let app = spawn_app().await;
    let doc = fetch_document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "wavault");
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{at}: no responses");
            for (status, r) in responses {
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{at} {status}: OpenAPI 3.1 requires a description"
                );
            }
            let op_tags = op["tags"].as_array().cloned().unwrap_or_default();
            assert!(
                !op_tags.is_empty()
                    && op_tags
                        .iter()
                        .all(|t| t.as_str().is_some_and(|t| tags.contains(t))),
                "{at}: tags {op_tags:?} must be declared in tags(...) in src/api/openapi.rs: {tags:?}"
            );
            let public =
                !path.starts_with("/v1/") || path == "/v1/auth/login" || path == "/v1/auth/refresh";
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert_eq!(secured, !public, "{at}: bearer security");
            if !public {
                assert!(op["responses"].get("401").is_some(), "{at}: no 401");
            }
            let template = path_params(path);
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    p["in"] != "path" || template.iter().any(|t| p["name"] == t.as_str()),
                    "{at}: {} is declared in path but the path has no such segment \
                     (a query struct needs #[into_params(parameter_in = Query)])",
                    p["name"]
                );
            }
            for name in template {
                let declared = op["parameters"]
                    .as_array()
                    .into_iter()
                    .chain(item["parameters"].as_array())
                    .flatten()
                    .any(|p| p["in"] == "path" && p["name"] == name.as_str());
                assert!(
                    declared,
                    "{at}: path parameter {{{name}}} is not declared (add params(...))"
                );
            }
        }
    }

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            schemas.contains_key(name),
            "$ref {r} does not resolve: add the type to components(schemas(...))"
        );
    }
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn interactive_docs_are_served_from_compiled_in_assets() {
    let app = spawn_app().await;
    let resp = app.get("/docs", None).await;
    assert_eq!(resp.status().as_u16(), 308);
    assert_eq!(resp.headers()["location"], "/docs/");

    let resp = app.get("/docs/", None).await;
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!html.contains(external), "the page loads {external}...");
    }

    let init = app.get("/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status().as_u16(), 200);
    let init = init.text().await.unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");

    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        let resp = app.get(&format!("/docs/{asset}"), None).await;
        assert_eq!(resp.status().as_u16(), 200, "{asset}");
        assert!(!resp.bytes().await.unwrap().is_empty(), "{asset}");
    }
}
