//! The API test suite: one binary, the real application on port 0, a fresh database per test
//! (SQLite by default; PostgreSQL when WAVAULT_TEST_DATABASE_URL is set).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod helpers;

mod auth;
mod health;
