//! `conversations`: tenant-scoped queries.
