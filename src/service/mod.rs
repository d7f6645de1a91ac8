//! Use cases that span storage, crypto and policy, shared by handlers and the CLI.
pub mod sessions;
pub mod users;
