//! The agents' inbox and outbound messaging: the Graph API client, the send rules, and the
//! reads and writes behind the conversation and contact routes.
pub mod access;
pub mod contacts;
pub mod graph;
pub mod inbox;
pub mod outbound;
pub mod rules;
pub mod send;

pub use graph::{GraphClient, GraphError};
pub use outbound::{Outbound, Recipient};
