//! WhatsApp Cloud API webhooks: signature check, payload model and normalization into changes.
//!
//! Flow for one POST: [`verify_signature`] over the raw body bytes, then [`parse`] into a
//! [`Batch`] of [`Change`]s. Message and status objects are typed but lossless: keys and
//! message types not modelled here are kept and serialize back as they arrived.

mod loose;

pub mod content;
pub mod ingest;
pub mod message;
pub mod normalize;
pub mod payload;
pub mod signature;

#[cfg(test)]
mod tests;

pub use loose::{Lossless, NumOrString};
pub use message::{InboundMessage, SenderIds};
pub use normalize::{Batch, Change, ChangeKind, PayloadError, is_opt_out_text, parse};
pub use payload::{ContactInfo, Status};
pub use signature::{SignatureError, sign, verify_signature};
