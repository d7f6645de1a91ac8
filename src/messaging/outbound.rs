//! What an outbound message is (text or template), who it goes to, and the JSON Meta expects
//! for it. `Debug` never shows the text or the recipient.
use serde_json::{Map, Value, json};

/// Who a message goes to: a phone number (`to`) or a business-scoped user id (`recipient`).
#[derive(Clone, PartialEq, Eq)]
pub enum Recipient {
    Phone(String),
    UserId(String),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Recipient::Phone(_) => "Recipient::Phone(..)",
            Recipient::UserId(_) => "Recipient::UserId(..)",
        })
    }
}

/// What is sent. `Debug` shows only the kind: the text is content.
#[derive(Clone, PartialEq)]
pub enum Outbound {
    Text {
        body: String,
    },
    Template {
        name: String,
        language: String,
        components: Option<Value>,
    },
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbound::{}(..)", self.kind())
    }
}

impl Outbound {
    /// The `type` Meta and the message list know it by.
    pub fn kind(&self) -> &'static str {
        match self {
            Outbound::Text { .. } => "text",
            Outbound::Template { .. } => "template",
        }
    }
}

/// The message as Meta knows it (`type` and the object of that type), without addressing:
/// what is sent, and what is stored.
pub fn content_of(msg: &Outbound) -> Value {
    match msg {
        Outbound::Text { body } => json!({
            "type": "text",
            "text": {"body": body, "preview_url": false},
        }),
        Outbound::Template {
            name,
            language,
            components,
        } => {
            let mut t = Map::new();
            t.insert("name".into(), json!(name));
            t.insert("language".into(), json!({"code": language}));
            if let Some(c) = components {
                t.insert("components".into(), c.clone());
            }
            json!({"type": "template", "template": t})
        }
    }
}

/// The JSON body of a send request.
pub fn request_body(to: &Recipient, msg: &Outbound) -> Value {
    let mut body = Map::new();
    body.insert("messaging_product".into(), json!("whatsapp"));
    body.insert("recipient_type".into(), json!("individual"));
    match to {
        Recipient::Phone(p) => body.insert("to".into(), json!(p)),
        Recipient::UserId(u) => body.insert("recipient".into(), json!(u)),
    };
    if let Value::Object(content) = content_of(msg) {
        body.extend(content);
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_body_addresses_a_phone_with_to() {
        let b = request_body(
            &Recipient::Phone("15550001111".into()),
            &Outbound::Text { body: "hi".into() },
        );
        assert_eq!(
            b,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": "15550001111", "type": "text",
                   "text": {"body": "hi", "preview_url": false}})
        );
    }

    #[test]
    fn template_body_addresses_a_user_id_with_recipient() {
        let b = request_body(
            &Recipient::UserId("US.123".into()),
            &Outbound::Template {
                name: "hello_world".into(),
                language: "en_US".into(),
                components: None,
            },
        );
        assert_eq!(b["recipient"], "US.123");
        assert!(b.get("to").is_none());
        assert_eq!(
            b["template"],
            json!({"name": "hello_world", "language": {"code": "en_US"}})
        );
    }
}
