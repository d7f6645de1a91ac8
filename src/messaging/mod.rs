//! Outbound messages through Meta's Graph API.
