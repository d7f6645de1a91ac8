//! The inbound message object: typed fields for every known type, lossless for everything else.

use serde_json::Value;

use crate::webhook::content::{
    ApiError, Button, Context, Edit, Identity, Interactive, Location, Media, Order, Reaction,
    Referral, Revoke, System, Text, Unsupported,
};
use crate::webhook::loose::{Lossless, NumOrString, non_empty, wa_object};
use crate::webhook::payload::ContactInfo;

wa_object! {
    /// One entry of `value.messages`.
    ///
    /// `msg_type` keeps the `type` string as sent, including types not modelled here, whose
    /// content stays in `extra`. Build it with [`InboundMessage::from_value`] (or through
    /// [`crate::webhook::parse`]) to accept any JSON object without losing a key.
    pub struct InboundMessage {
        /// wamid.
        pub id: String,
        /// Sender phone number; may be empty or missing when the user is known only by user id.
        pub from: String,
        /// Business-scoped user id, like `US.13491208655302741918`.
        pub from_user_id: String,
        /// Unix seconds, usually as a string.
        pub timestamp: NumOrString,
        #[serde(rename = "type")]
        pub msg_type: String,
        pub context: Context,
        pub referral: Referral,
        pub errors: Vec<ApiError>,
        pub identity: Identity,
        pub text: Text,
        pub image: Media,
        pub audio: Media,
        pub video: Media,
        pub document: Media,
        pub sticker: Media,
        pub location: Location,
        /// Shared contact cards, kept as sent.
        pub contacts: Vec<Value>,
        pub interactive: Interactive,
        pub button: Button,
        pub reaction: Reaction,
        pub order: Order,
        pub system: System,
        pub edit: Edit,
        pub revoke: Revoke,
        pub unsupported: Unsupported,
    }
}

/// Content keys that name a message type when `type` itself is absent.
const CONTENT_KEYS: [&str; 16] = [
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "edit",
    "revoke",
    "unsupported",
];

/// Both identities of a message sender, as far as the payload tells them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderIds<'a> {
    /// Phone number (`wa_id`).
    pub wa_id: Option<&'a str>,
    /// Business-scoped user id.
    pub user_id: Option<&'a str>,
}

impl InboundMessage {
    /// Lossless typed view of a JSON message object; `None` if `value` is not an object.
    pub fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self::from_object(map)),
            _ => None,
        }
    }

    /// The message id (wamid), or `""` when the payload carries none.
    pub fn wamid(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }

    /// Sender phone number, `None` when missing or empty.
    pub fn sender_wa_id(&self) -> Option<&str> {
        non_empty(self.from.as_deref())
    }

    /// Sender business-scoped user id, `None` when missing or empty.
    pub fn sender_user_id(&self) -> Option<&str> {
        non_empty(self.from_user_id.as_deref())
    }

    /// Send time in unix seconds.
    pub fn timestamp_secs(&self) -> Option<i64> {
        self.timestamp.as_ref().and_then(NumOrString::as_i64)
    }

    /// The message type: `type` as sent; if absent, the content key present; else `"unknown"`.
    pub fn kind(&self) -> &str {
        if let Some(t) = non_empty(self.msg_type.as_deref()) {
            return t;
        }
        CONTENT_KEYS
            .iter()
            .find(|key| self.has_content(key))
            .copied()
            .unwrap_or("unknown")
    }

    /// The full message object as received, including keys not modelled here.
    pub fn content_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(self.extra.clone()))
    }

    /// Body of a `text` message.
    pub fn text_body(&self) -> Option<&str> {
        self.text.as_ref().and_then(|t| t.body.as_deref())
    }

    /// Media object of an `image`, `audio`, `video`, `document` or `sticker` message.
    pub fn media(&self) -> Option<&Media> {
        match self.kind() {
            "image" => self.image.as_ref(),
            "audio" => self.audio.as_ref(),
            "video" => self.video.as_ref(),
            "document" => self.document.as_ref(),
            "sticker" => self.sticker.as_ref(),
            _ => None,
        }
    }

    /// The entry of `contacts` describing the sender: same `wa_id` as `from`, or same
    /// `user_id` as `from_user_id`; when the message names no sender at all and there is
    /// exactly one contact, that contact.
    pub fn matching_contact<'a>(&self, contacts: &'a [ContactInfo]) -> Option<&'a ContactInfo> {
        let wa_id = self.sender_wa_id();
        let user_id = self.sender_user_id();
        if wa_id.is_none() && user_id.is_none() {
            return match contacts {
                [only] => Some(only),
                _ => None,
            };
        }
        contacts.iter().find(|c| {
            (wa_id.is_some() && c.wa_id() == wa_id) || (user_id.is_some() && c.user_id() == user_id)
        })
    }

    /// Sender identities from the message, completed from its matching contact.
    pub fn sender_ids<'a>(&'a self, contacts: &'a [ContactInfo]) -> SenderIds<'a> {
        let contact = self.matching_contact(contacts);
        SenderIds {
            wa_id: self
                .sender_wa_id()
                .or_else(|| contact.and_then(ContactInfo::wa_id)),
            user_id: self
                .sender_user_id()
                .or_else(|| contact.and_then(ContactInfo::user_id)),
        }
    }

    fn has_content(&self, key: &str) -> bool {
        let typed = match key {
            "text" => self.text.is_some(),
            "image" => self.image.is_some(),
            "audio" => self.audio.is_some(),
            "video" => self.video.is_some(),
            "document" => self.document.is_some(),
            "sticker" => self.sticker.is_some(),
            "location" => self.location.is_some(),
            "contacts" => self.contacts.is_some(),
            "interactive" => self.interactive.is_some(),
            "button" => self.button.is_some(),
            "reaction" => self.reaction.is_some(),
            "order" => self.order.is_some(),
            "system" => self.system.is_some(),
            "edit" => self.edit.is_some(),
            "revoke" => self.revoke.is_some(),
            "unsupported" => self.unsupported.is_some(),
            _ => false,
        };
        typed || self.extra.contains_key(key)
    }
}
