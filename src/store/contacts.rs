//! `contacts`: tenant-scoped queries.
