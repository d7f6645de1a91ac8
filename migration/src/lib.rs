//! Schema migrations for SQLite and PostgreSQL, row-level security included.
pub use sea_orm_migration::prelude::*;

mod m20261127_000001_schema;
mod m20261127_000002_rls;
mod m20261206_000003_login_failures;
pub mod schema;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_schema::Migration),
            Box::new(m20261127_000002_rls::Migration),
            Box::new(m20261206_000003_login_failures::Migration),
        ]
    }
}
