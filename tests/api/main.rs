//! The API test suite: one binary, the real application on port 0, a fresh database per test
//! (SQLite by default; PostgreSQL when WAVAULT_TEST_DATABASE_URL is set).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod helpers;

mod audit;
mod auth;
mod billing;
mod config;
mod contacts;
mod crypto;
mod deletion;
mod grants;
mod health;
mod inbox;
mod jobs;
mod jwt;
mod matrix;
mod messaging;
mod numbers;
mod openapi;
mod privacy_logs;
mod rights;
mod schema;
mod shutdown;
mod tenants;
mod users;
mod webhook_support;
mod webhooks;
