//! Failed sign-in counts shared by every instance.
//!
//! One row per throttled key (an account or a client IP), stored as an HMAC of the key so the
//! table holds no e-mail address or IP. Not tenant data: no `tenant_id`, no row-level security;
//! only the sign-in path and the job that purges expired windows touch it.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let bytes = match db.get_database_backend() {
            DbBackend::Postgres => "BYTEA",
            _ => "BLOB",
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE login_failures (
                key_hash {bytes} PRIMARY KEY,
                failures INTEGER NOT NULL,
                window_start BIGINT NOT NULL
            )"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE INDEX login_failures_window ON login_failures (window_start)",
        )
        .await?;
        Ok(())
    }
}
