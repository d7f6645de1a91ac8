//! wavault: a tenant-isolated, encrypted store of WhatsApp Business data.
pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod devsecrets;
pub mod error;
pub mod identity;
pub mod keys;
pub mod messaging;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod webhook;
