//! PostgreSQL row-level security: the second wall between tenants.
//!
//! Every tenant table gets FORCE ROW LEVEL SECURITY and a policy on `app.tenant_id`, which the
//! tenant scope sets with `set_config(..., true)` inside each transaction. The service switches to
//! the non-owner role `wavault_app` in the same transaction, so neither the table owner's
//! privileges nor a missing filter in a query can reach another tenant's rows.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::schema::TENANT_TABLES;

pub const APP_ROLE: &str = "wavault_app";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // Roles are cluster-wide and several databases may migrate at once.
        db.execute_unprepared(&format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN \
                 CREATE ROLE {APP_ROLE} NOLOGIN; \
               END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
             END $$"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "GRANT USAGE ON SCHEMA public TO {APP_ROLE}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}; \
             ALTER DEFAULT PRIVILEGES IN SCHEMA public \
               GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
        ))
        .await?;
        for table in TENANT_TABLES {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; \
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY; \
                 CREATE POLICY tenant_isolation ON {table} \
                   USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) \
                   WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
            ))
            .await?;
        }
        Ok(())
    }
}
