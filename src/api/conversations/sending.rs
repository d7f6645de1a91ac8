//! `POST /v1/conversations/{id}/messages`: a text or template reply, checked at the edge.
use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::{Authorized, perm};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::messaging::rules::MAX_TEXT_CHARS;
use crate::messaging::{Outbound, send};
use crate::state::AppState;

/// `{type:"text", text}` or `{type:"template", template:{name, language, components?}}`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SendRequest {
    Text {
        /// The message body, or `{body}`.
        text: TextInput,
    },
    Template {
        template: TemplateInput,
    },
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TextInput {
    Plain(String),
    Object { body: String },
}

#[derive(Deserialize, ToSchema)]
pub struct TemplateInput {
    /// Name of an approved template.
    pub name: String,
    /// Language code (`en_US`), or `{code}`.
    pub language: LanguageInput,
    /// Meta's template components (header, body and button parameters).
    #[schema(value_type = Option<Vec<Object>>)]
    pub components: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LanguageInput {
    Code(String),
    Object { code: String },
}

#[derive(Serialize, ToSchema)]
pub struct SendResponse {
    pub id: Uuid,
    /// `accepted` (Meta took it) or `sent`.
    pub status: &'static str,
    pub wamid: Option<String>,
}

fn invalid(code: &'static str, detail: &str) -> ApiError {
    ApiError::unprocessable(code, detail.to_owned())
}

impl SendRequest {
    /// The message to send, once its fields are acceptable.
    pub fn into_outbound(self) -> ApiResult<Outbound> {
        match self {
            SendRequest::Text { text } => {
                let body = match text {
                    TextInput::Plain(b) | TextInput::Object { body: b } => b,
                };
                let chars = body.chars().count();
                if body.trim().is_empty() || chars > MAX_TEXT_CHARS {
                    return Err(ApiError::unprocessable(
                        "invalid_text",
                        format!("text must be 1 to {MAX_TEXT_CHARS} characters"),
                    ));
                }
                Ok(Outbound::Text { body })
            }
            SendRequest::Template { template } => {
                let name = template.name.trim().to_owned();
                let name_ok = (1..=512).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !name_ok {
                    return Err(invalid(
                        "invalid_template",
                        "template.name must be 1 to 512 lower-case letters, digits or underscores",
                    ));
                }
                let language = match template.language {
                    LanguageInput::Code(c) | LanguageInput::Object { code: c } => {
                        c.trim().to_owned()
                    }
                };
                let language_ok = (2..=15).contains(&language.len())
                    && language
                        .bytes()
                        .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-');
                if !language_ok {
                    return Err(invalid(
                        "invalid_template",
                        "template.language must be a language code such as en_US",
                    ));
                }
                let components = match template.components {
                    None | Some(Value::Null) => None,
                    Some(c @ Value::Array(_)) => Some(c),
                    Some(_) => {
                        return Err(invalid(
                            "invalid_template",
                            "template.components must be an array",
                        ));
                    }
                };
                Ok(Outbound::Template {
                    name,
                    language,
                    components,
                })
            }
        }
    }
}

#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "conversations", request_body = SendRequest,
    responses((status = 202, body = SendResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the business number is no longer registered", body = ErrorBody),
        (status = 422, description = "outside_service_window, contact_opted_out or an invalid message", body = ErrorBody),
        (status = 429, description = "Meta kept rate limiting the send", body = ErrorBody),
        (status = 502, description = "graph_error or graph_unreachable: the message is stored as failed", body = ErrorBody),
        (status = 504, description = "graph_timeout: the message is stored with status unknown", body = ErrorBody)))]
#[post("/v1/conversations/{id}/messages")]
pub async fn send_message(
    state: web::Data<AppState>,
    auth: Authorized<perm::SendMessages>,
    id: web::Path<Uuid>,
    body: web::Json<SendRequest>,
) -> ApiResult<HttpResponse> {
    let msg = body.into_inner().into_outbound()?;
    let sent = send::send(&state, &auth, id.into_inner(), msg).await?;
    Ok(HttpResponse::Accepted().json(SendResponse {
        id: sent.id,
        status: sent.status,
        wamid: Some(sent.wamid),
    }))
}
