//! Webhook envelope, change values, contacts and delivery statuses of the WhatsApp Cloud API.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::webhook::content::ApiError;
use crate::webhook::loose::{Lossless, NumOrString, lossless_list, non_empty, wa_object};
use crate::webhook::message::InboundMessage;

wa_object! {
    /// A POST body: `{"object": "whatsapp_business_account", "entry": [...]}`.
    pub struct Envelope {
        pub object: String,
        pub entry: Vec<Entry>,
    }
}

wa_object! {
    /// One business account's batch of changes.
    pub struct Entry {
        /// WhatsApp Business Account id.
        pub id: NumOrString,
        pub time: NumOrString,
        /// Some published examples put the field name here instead of on each change.
        pub field: String,
        pub changes: Vec<EntryChange>,
    }
}

wa_object! {
    /// One change as sent: which subscription `field` it belongs to, and its `value`.
    pub struct EntryChange {
        pub field: String,
        pub value: Value,
    }
}

/// The `value` of a change of field `messages`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagesValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    #[serde(
        default,
        deserialize_with = "lossless_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<Metadata>,
    #[serde(
        default,
        deserialize_with = "lossless_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub contacts: Vec<ContactInfo>,
    #[serde(
        default,
        deserialize_with = "lossless_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub messages: Vec<InboundMessage>,
    #[serde(
        default,
        deserialize_with = "lossless_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub statuses: Vec<Status>,
    /// Errors about the change as a whole, kept as sent.
    #[serde(
        default,
        deserialize_with = "value_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<Value>,
    /// Keys not modelled above, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn lossless_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Lossless,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Object(map) => Some(T::from_object(map)),
        _ => None,
    })
}

fn value_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Value>, D::Error> {
    Ok(Option::<Vec<Value>>::deserialize(deserializer)?.unwrap_or_default())
}

wa_object! {
    /// The business phone number a change belongs to.
    pub struct Metadata {
        pub display_phone_number: String,
        pub phone_number_id: String,
    }
}

wa_object! {
    /// A WhatsApp user named in a change.
    pub struct ContactInfo {
        pub profile: Profile,
        /// Phone number; may be empty or missing for users known only by user id.
        pub wa_id: String,
        /// Business-scoped user id.
        pub user_id: String,
        pub parent_user_id: String,
    }
}

wa_object! {
    /// Public profile of a contact.
    pub struct Profile {
        pub name: String,
        pub username: String,
        pub country_code: String,
    }
}

impl ContactInfo {
    /// Phone number, `None` when missing or empty.
    pub fn wa_id(&self) -> Option<&str> {
        non_empty(self.wa_id.as_deref())
    }

    /// Business-scoped user id, `None` when missing or empty.
    pub fn user_id(&self) -> Option<&str> {
        non_empty(self.user_id.as_deref())
    }

    /// Profile display name, `None` when missing or empty.
    pub fn profile_name(&self) -> Option<&str> {
        non_empty(self.profile.as_ref().and_then(|p| p.name.as_deref()))
    }
}

wa_object! {
    /// Delivery status of a message the business sent.
    pub struct Status {
        /// wamid of the message this status is about.
        pub id: String,
        /// `sent`, `delivered`, `read`, `played`, `failed`, `deleted`, or anything else.
        pub status: String,
        pub timestamp: NumOrString,
        pub recipient_id: String,
        pub recipient_user_id: String,
        /// `group` for statuses of group messages; `recipient_id` is then the group.
        pub recipient_type: String,
        /// Group member the status is about: phone number and user id.
        pub recipient_participant_id: String,
        pub recipient_participant_user_id: String,
        #[serde(rename = "type")]
        pub status_type: String,
        pub conversation: Conversation,
        pub pricing: Pricing,
        pub errors: Vec<ApiError>,
        pub biz_opaque_callback_data: String,
    }
}

wa_object! {
    /// Conversation a status is billed in.
    pub struct Conversation {
        pub id: String,
        pub expiration_timestamp: NumOrString,
        pub origin: ConversationOrigin,
    }
}

wa_object! {
    /// Who opened a conversation.
    pub struct ConversationOrigin {
        #[serde(rename = "type")]
        pub origin_type: String,
    }
}

wa_object! {
    /// Pricing of a status.
    pub struct Pricing {
        pub billable: bool,
        pub pricing_model: String,
        pub category: String,
        #[serde(rename = "type")]
        pub pricing_type: String,
    }
}

impl Status {
    /// wamid of the message this status is about, or `""` when absent.
    pub fn wamid(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }

    /// The status string as sent, or `""` when absent.
    pub fn status_str(&self) -> &str {
        self.status.as_deref().unwrap_or("")
    }

    /// Recipient phone number, `None` when missing or empty.
    pub fn recipient_wa_id(&self) -> Option<&str> {
        non_empty(self.recipient_id.as_deref())
    }

    /// Recipient business-scoped user id, `None` when missing or empty.
    pub fn recipient_user_id(&self) -> Option<&str> {
        non_empty(self.recipient_user_id.as_deref())
    }

    /// Status time in unix seconds.
    pub fn timestamp_secs(&self) -> Option<i64> {
        self.timestamp.as_ref().and_then(NumOrString::as_i64)
    }

    /// Progress order of this status, see [`Status::rank_of`].
    pub fn rank(&self) -> u8 {
        Self::rank_of(self.status_str())
    }

    /// Progress order of a status string (case-insensitive): `sent` 1 < `delivered` 2 <
    /// `read` 3 < `played` 4; `failed` 10 and `deleted` 11 are terminal; anything else 0.
    /// A status whose rank is not above the stored one is a regression or a repeat.
    pub fn rank_of(status: &str) -> u8 {
        const RANKS: [(&str, u8); 6] = [
            ("sent", 1),
            ("delivered", 2),
            ("read", 3),
            ("played", 4),
            ("failed", 10),
            ("deleted", 11),
        ];
        let status = status.trim();
        RANKS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(status))
            .map_or(0, |(_, rank)| *rank)
    }
}
