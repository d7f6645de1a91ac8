//! The schema carries tenancy: tenant_id in every tenant table's keys, and on PostgreSQL a
//! forced row-level security policy that holds even when a query forgets its filter.
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::helpers::*;
use crate::webhook_support::{inbound_text, post_webhook_json, register_number, status_update};

async fn raw(app: &TestApp) -> DatabaseConnection {
    Database::connect(&app.db_url).await.unwrap()
}

async fn tables_with_tenant_id(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name AS t FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema = 'public' ORDER BY 1"
        }
        _ => {
            "SELECT m.name AS t FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'tenant_id' ORDER BY 1"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "t").unwrap())
        .collect()
}

#[tokio::test]
async fn every_tenant_table_has_tenant_id_first_in_its_primary_key() {
    let app = spawn_app().await;
    let db = raw(&app).await;
    let with_tenant = tables_with_tenant_id(&db).await;
    for t in migration::schema::TENANT_TABLES {
        assert!(with_tenant.iter().any(|x| x == t), "{t} lacks tenant_id");
    }
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    for t in migration::schema::TENANT_TABLES {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, \
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies, \
                   (SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                      WHERE i.indrelid = c.oid AND i.indisprimary) AS first_pk \
                 FROM pg_class c WHERE c.relname = $1",
                [(*t).into()],
            ))
            .await
            .unwrap()
            .unwrap();
        assert!(
            row.try_get::<bool>("", "rls").unwrap(),
            "{t}: RLS not enabled"
        );
        assert!(
            row.try_get::<bool>("", "forced").unwrap(),
            "{t}: RLS not forced"
        );
        assert!(
            row.try_get::<i64>("", "policies").unwrap() >= 1,
            "{t}: no policy"
        );
        assert_eq!(
            row.try_get::<String>("", "first_pk").unwrap(),
            "tenant_id",
            "{t}"
        );
    }
    // Every unique index of a tenant table includes tenant_id.
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text AS t, i.indexrelid::regclass::text AS idx FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
             WHERE i.indisunique AND c.relnamespace = 'public'::regnamespace \
               AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnum = ANY(i.indkey))",
        ))
        .await
        .unwrap();
    for r in rows {
        let t: String = r.try_get("", "t").unwrap();
        assert!(
            !migration::schema::TENANT_TABLES.contains(&t.as_str()),
            "unique index without tenant_id on {t}: {:?}",
            r.try_get::<String>("", "idx")
        );
    }
}

/// The second wall: inside tenant A's scope, as the application role, a query with no tenant
/// filter at all sees none of tenant B's rows and cannot write rows for B.
#[tokio::test]
async fn row_level_security_hides_other_tenants_even_without_a_filter() {
    let app = spawn_app().await;
    let a = app.create_tenant("alpha").await;
    let b = app.create_tenant("bravo").await;
    app.create_user(&b, "agent", "agent").await;
    let db = raw(&app).await;
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL ROLE wavault_app")
        .await
        .unwrap();
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('app.tenant_id', $1, true)",
        [a.id.to_string().into()],
    ))
    .await
    .unwrap();
    let rows = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT tenant_id FROM users",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only alpha's owner");
    for r in &rows {
        assert_eq!(r.try_get::<Uuid>("", "tenant_id").unwrap(), a.id);
    }
    let audit_b = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT seq FROM audit_events WHERE tenant_id = $1",
            [b.id.into()],
        ))
        .await
        .unwrap();
    assert!(
        audit_b.is_empty(),
        "alpha's scope read bravo's audit events"
    );
    let write = txn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO support_grants (tenant_id, id, granted_by, reason, created_at, expires_at) VALUES ($1, $2, $2, 'x', 0, 1)",
            [b.id.into(), Uuid::new_v4().into()],
        ))
        .await;
    assert!(write.is_err(), "alpha's scope wrote a row for bravo");
    drop(txn);

    // With no tenant set at all, the application role sees nothing.
    let db2 = raw(&app).await;
    let txn = db2.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL ROLE wavault_app")
        .await
        .unwrap();
    let rows = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id FROM users",
        ))
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn postgresql_sessions_plan_each_statement_for_its_parameters() {
    let app = spawn_app().await;
    if !app.state.db.is_postgres() {
        return;
    }
    // A plan cached for one tenant's parameters must not be reused for another's.
    let txn = app.state.db.begin().await.unwrap();
    let row = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('plan_cache_mode') AS mode",
        ))
        .await
        .unwrap()
        .unwrap();
    let mode: String = row.try_get("", "mode").unwrap();
    assert_eq!(mode, "force_custom_plan");
}

#[tokio::test]
async fn ingestion_reuses_plans_held_to_index_probes_once_statistics_exist() {
    let app = spawn_app_with(&[("database.statistics_check_secs", "0")]).await;
    if !app.state.db.is_postgres() {
        return;
    }
    let t = app.create_tenant("plans").await;
    let tenant = t.id;
    let planning = |db: &wavault::store::Db, by_keys: bool| {
        let db = db.clone();
        async move {
            let tx = if by_keys {
                db.tenant_by_keys(tenant).await.unwrap()
            } else {
                db.tenant(tenant).await.unwrap()
            };
            let mut seen = Vec::new();
            for name in [
                "plan_cache_mode",
                "enable_seqscan",
                "enable_bitmapscan",
                "enable_hashjoin",
                "enable_mergejoin",
                "app.tenant_id",
            ] {
                seen.push(tx.setting(name).await.unwrap().unwrap());
            }
            tx.rollback().await.unwrap();
            seen
        }
    };
    let tenant_s = tenant.to_string();
    let per_execution = [
        "force_custom_plan",
        "on",
        "on",
        "on",
        "on",
        tenant_s.as_str(),
    ];
    // No statistics yet (the tables were never analyzed): each execution is planned.
    assert_eq!(planning(&app.state.db, true).await, per_execution);

    // A message and a status give the four tables a row; then statistics are gathered.
    register_number(&app, &t, "pn-plans").await;
    let resp = post_webhook_json(
        &app,
        &inbound_text(
            "pn-plans",
            "15550001111",
            "wamid.plans.1",
            "hello",
            1_700_000_000,
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = post_webhook_json(
        &app,
        &status_update("pn-plans", "wamid.plans.1", "read", 1_700_000_001),
    )
    .await;
    assert_eq!(resp.status(), 200);
    raw(&app).await.execute_unprepared("ANALYZE").await.unwrap();

    let keyed = [
        "force_generic_plan",
        "off",
        "off",
        "off",
        "off",
        tenant_s.as_str(),
    ];
    assert_eq!(planning(&app.state.db, true).await, keyed);
    // The settings end with their transaction: other tenant transactions plan per execution.
    for _ in 0..4 {
        assert_eq!(planning(&app.state.db, false).await, per_execution);
    }
}
