//! `messages`: tenant-scoped queries.
