//! The served OpenAPI 3.1 document (`GET /openapi.json`) and the interactive docs at `/docs`.
//!
//! A handler appears in the document by naming it once in `paths(...)` below; its schemas are
//! collected from its `#[utoipa::path]` annotation. The contract test (tests/api/openapi.rs)
//! fails when a served route of API.md is missing here, so an omission does not go unnoticed.
use std::sync::LazyLock;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, web};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::api;
use crate::error::{ApiError, ErrorBody};

/// Name of the security scheme that `security(("bearer" = []))` annotations refer to.
pub const BEARER: &str = "bearer";

/// `/v1` routes the contract leaves unauthenticated; every other `/v1` route takes a bearer token.
const PUBLIC_V1: &[&str] = &["/v1/auth/login", "/v1/auth/refresh"];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wavault",
        description = "Encrypted, tenant-isolated store of WhatsApp Business data. \
            Errors are `{\"error\": \"<code>\", \"detail\": \"<text>\"}`; \
            lists are `{\"items\": [...], \"next_cursor\": \"<opaque or null>\"}`."
    ),
    paths(
        api::health::healthz,
        api::health::readyz,
        api::health::metrics,
        openapi_json,
        api::auth::login,
        api::auth::refresh,
        api::auth::logout,
        api::auth::totp_enroll,
        api::auth::totp_confirm,
        api::auth::me,
        api::tenants::create_tenant,
        api::tenants::list_tenants,
        api::tenants::get_tenant,
        api::deletion::request_deletion,
        api::deletion::cancel_deletion,
        api::deletion::execute_deletion,
        api::deletion::get_deletion,
        api::billing::create_billing_record,
        api::billing::list_billing_records,
        api::numbers::register_number,
        api::numbers::list_numbers,
        api::users::create_user,
        api::users::list_users,
        api::users::update_user,
        api::settings::update_settings,
        api::grants::create_grant,
        api::grants::revoke_grant,
        api::audit::list_audit,
        api::audit::verify_audit,
        api::contacts::list_contacts,
        api::contacts::get_contact,
        api::contacts::correct_contact,
        api::contacts::set_consent,
        api::rights::contact_bundle,
        api::rights::erase_contact,
        api::rights::export_contacts,
        api::conversations::list_conversations,
        api::conversations::get_conversation,
        api::conversations::list_messages,
        api::conversations::assign,
        api::conversations::set_status,
        api::conversations::send_message,
        api::webhooks::verify,
        api::webhooks::receive,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Contract),
    tags(
        (name = "auth", description = "Sign-in, tokens, two-factor authentication"),
        (name = "platform", description = "Tenants, deletion and billing records (platform staff)"),
        (name = "administration", description = "WhatsApp numbers and support grants"),
        (name = "tenant", description = "Tenant settings"),
        (name = "users", description = "Tenant users and roles"),
        (name = "audit", description = "The tenant's tamper-evident audit log"),
        (name = "contacts", description = "Data subjects: profile, consent, export, erasure"),
        (name = "conversations", description = "Conversations and messages"),
        (name = "webhooks", description = "Meta WhatsApp Cloud API webhook"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// Applies the contract's rules that hold for every route, so that a handler annotation cannot
/// forget them: the bearer scheme; on `/v1` routes bearer auth and the error answers every such
/// route can give (API.md "Conventions"); and a declaration for every `{parameter}` of a path
/// (a UUID unless the name says otherwise).
struct Contract;

impl Modify for Contract {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from POST /v1/auth/login"))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let v1 = path.starts_with("/v1/");
            let bearer = v1 && !PUBLIC_V1.contains(&path.as_str());
            let shared = declared(item.parameters.as_deref(), ParameterIn::Path);
            let params = template_params(path);
            for op in operations(item) {
                let mine = declared(op.parameters.as_deref(), ParameterIn::Path);
                for name in &params {
                    if !shared.contains(name) && !mine.contains(name) {
                        op.parameters
                            .get_or_insert_with(Vec::new)
                            .push(RefOr::T(path_param(name)));
                    }
                }
                if v1 {
                    v1_errors(op, bearer, !params.is_empty());
                }
                describe_responses(op);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Statuses any `/v1` route may answer besides its own, added where the handler did not.
fn v1_errors(op: &mut Operation, bearer: bool, has_path_params: bool) {
    if bearer {
        if op.security.is_none() {
            op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
        }
        error(op, "401", "missing, expired or revoked access token");
        error(op, "403", "signed in, but the role does not allow this");
    }
    let json_body = matches!(&op.request_body, Some(RefOr::T(body))
        if body.content.keys().any(|ct| ct.starts_with("application/json")));
    if json_body {
        error(op, "400", "malformed JSON, or not application/json");
        error(op, "413", "body larger than the configured limit");
        error(
            op,
            "422",
            "valid JSON, but a field is missing or unacceptable",
        );
    }
    if !declared(op.parameters.as_deref(), ParameterIn::Query).is_empty() {
        error(op, "400", "a query parameter is malformed");
    }
    if has_path_params {
        error(op, "404", "no such resource, or not yours");
    }
    error(op, "503", "storage unavailable; retry later");
}

/// OpenAPI 3.1 requires a description on every response; an annotation without one gets the
/// status's reason phrase.
fn describe_responses(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = response
            && r.description.is_empty()
        {
            r.description = status
                .parse::<u16>()
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("response")
                .to_owned();
        }
    }
}

fn error(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error_response(description).into());
}

/// Names of the parameters of one kind that a list declares.
fn declared(params: Option<&[RefOr<Parameter>]>, kind: ParameterIn) -> Vec<String> {
    params
        .unwrap_or_default()
        .iter()
        .filter_map(|p| match p {
            RefOr::T(p) if p.parameter_in == kind => Some(p.name.clone()),
            _ => None,
        })
        .collect()
}

fn template_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn path_param(name: &str) -> Parameter {
    // The contract's ids are UUIDs; Meta's phone number ids are digits.
    let format = (name == "id").then_some(SchemaFormat::KnownFormat(KnownFormat::Uuid));
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(format),
        ))
        .build()
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// Built once: the document depends only on the code.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| ApiDoc::openapi().to_json().map_err(|e| e.to_string()));

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json() -> Result<HttpResponse, ApiError> {
    match DOCUMENT.as_ref() {
        Ok(json) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(json.clone())),
        Err(cause) => Err(ApiError::internal(cause)),
    }
}

/// Swagger UI's pages load their assets relative to the page, which needs the trailing slash.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The assets are compiled in (`vendored`); "none" turns off Swagger UI's badge, which would
    // otherwise send the document to validator.swagger.io.
    let ui_config = Config::new(["/openapi.json"])
        .validator_url("none")
        .persist_authorization(true);
    cfg.service(openapi_json)
        .route("/docs", web::get().to(docs_redirect))
        .service(SwaggerUi::new("/docs/{_:.*}").config(ui_config));
}
