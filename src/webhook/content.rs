//! Per-type content objects of an inbound message (text, media, location, interactive, order, system, edit...).

use serde_json::Value;

use crate::webhook::loose::{NumOrString, wa_object};
use crate::webhook::message::InboundMessage;

wa_object! {
    /// `text` message body.
    pub struct Text {
        pub body: String,
    }
}

wa_object! {
    /// Media of `image`, `audio`, `video`, `document` and `sticker` messages.
    pub struct Media {
        /// Media id, used to fetch the file from the Graph API.
        pub id: String,
        pub mime_type: String,
        pub sha256: String,
        pub caption: String,
        pub filename: String,
        pub url: String,
        /// Stickers only.
        pub animated: bool,
        /// Audio only: recorded as a voice note.
        pub voice: bool,
    }
}

wa_object! {
    /// `location` message.
    pub struct Location {
        pub latitude: NumOrString,
        pub longitude: NumOrString,
        pub name: String,
        pub address: String,
        pub url: String,
    }
}

wa_object! {
    /// `interactive` reply; `interactive_type` names which reply object is present.
    pub struct Interactive {
        #[serde(rename = "type")]
        pub interactive_type: String,
        pub button_reply: ReplyOption,
        pub list_reply: ReplyOption,
        /// Flow completion.
        pub nfm_reply: NfmReply,
        pub call_permission_reply: CallPermissionReply,
    }
}

wa_object! {
    /// Chosen reply button or list row.
    pub struct ReplyOption {
        pub id: String,
        pub title: String,
        pub description: String,
    }
}

wa_object! {
    /// Flow response; `response_json` is a JSON document encoded as a string.
    pub struct NfmReply {
        pub response_json: String,
        pub body: String,
        pub name: String,
    }
}

wa_object! {
    /// Answer to a call permission request.
    pub struct CallPermissionReply {
        pub response: String,
        pub expiration_timestamp: NumOrString,
        pub response_source: String,
    }
}

wa_object! {
    /// Quick-reply button of a template (`button` message).
    pub struct Button {
        pub payload: String,
        pub text: String,
    }
}

wa_object! {
    /// `reaction`; an absent or empty emoji removes an earlier reaction.
    pub struct Reaction {
        pub message_id: String,
        pub emoji: String,
    }
}

wa_object! {
    /// `order` placed from a catalog.
    pub struct Order {
        pub catalog_id: String,
        pub text: String,
        pub product_items: Vec<ProductItem>,
    }
}

wa_object! {
    /// One line of an order.
    pub struct ProductItem {
        pub product_retailer_id: String,
        pub quantity: NumOrString,
        pub item_price: NumOrString,
        pub currency: String,
    }
}

wa_object! {
    /// `system` notice, such as a changed number or identity.
    pub struct System {
        pub body: String,
        pub identity: Value,
        pub new_wa_id: String,
        pub wa_id: String,
        #[serde(rename = "type")]
        pub system_type: String,
        pub customer: String,
    }
}

wa_object! {
    /// Identity change details carried next to a `system` notice.
    pub struct Identity {
        pub acknowledged: bool,
        pub created_timestamp: NumOrString,
        pub hash: String,
    }
}

wa_object! {
    /// `edit`: the new version of an earlier message.
    pub struct Edit {
        pub original_message_id: String,
        pub message: Box<InboundMessage>,
    }
}

wa_object! {
    /// `revoke`: the user deleted an earlier message.
    pub struct Revoke {
        pub original_message_id: String,
    }
}

wa_object! {
    /// `unsupported`: a message type the API does not deliver, named in `unsupported_type`.
    pub struct Unsupported {
        #[serde(rename = "type")]
        pub unsupported_type: String,
    }
}

wa_object! {
    /// What the message replies to or was forwarded from.
    pub struct Context {
        /// Sender of the quoted message (usually the business number).
        pub from: String,
        /// wamid of the quoted message.
        pub id: String,
        pub forwarded: bool,
        pub frequently_forwarded: bool,
        pub referred_product: ReferredProduct,
    }
}

wa_object! {
    /// Catalog product the user asked about.
    pub struct ReferredProduct {
        pub catalog_id: String,
        pub product_retailer_id: String,
    }
}

wa_object! {
    /// Ad or post that led the user to the chat (click-to-WhatsApp).
    pub struct Referral {
        pub source_url: String,
        pub source_id: String,
        pub source_type: String,
        pub body: String,
        pub headline: String,
        pub media_type: String,
        pub image_url: String,
        pub video_url: String,
        pub thumbnail_url: String,
        pub ctwa_clid: String,
        pub welcome_message: Value,
    }
}

wa_object! {
    /// Error object of the Cloud API, as found in messages, statuses and change values.
    pub struct ApiError {
        pub code: i64,
        pub title: String,
        pub message: String,
        /// Some payloads put the details here instead of in `error_data`.
        pub details: String,
        pub href: String,
        pub error_data: ErrorData,
    }
}

wa_object! {
    /// Extra detail of an [`ApiError`].
    pub struct ErrorData {
        pub details: String,
    }
}
