//! With the database unavailable mid-run the webhook answers 5xx (never 200), and once it is back
//! a replay of every delivery stores each message exactly once.
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde_json::Value;

use crate::helpers::*;
use crate::webhook_support::*;

const PNID: &str = "106540352242922";

/// Takes the database away from the app, and gives it back.
enum Outage {
    /// SQLite: another connection holds the write lock, so every write times out as busy.
    Sqlite(DatabaseConnection, DatabaseTransaction),
    /// PostgreSQL: the database refuses connections and the app's sessions are terminated.
    Postgres {
        admin: DatabaseConnection,
        name: String,
    },
}

impl Outage {
    async fn start(app: &TestApp) -> Self {
        match std::env::var("WAVAULT_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = app.db_url.rsplit('/').next().unwrap().to_owned();
                let admin = Database::connect(&admin_url).await.unwrap();
                admin
                    .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                    ))
                    .await
                    .unwrap();
                Self::Postgres { admin, name }
            }
            _ => {
                let conn = Database::connect(&app.db_url).await.unwrap();
                assert_eq!(conn.get_database_backend(), DbBackend::Sqlite);
                let options = TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Exclusive),
                    ..Default::default()
                };
                let txn = conn.begin_with_options(options).await.unwrap();
                Self::Sqlite(conn, txn)
            }
        }
    }

    async fn end(self) {
        match self {
            Self::Sqlite(conn, txn) => {
                txn.rollback().await.unwrap();
                conn.close().await.ok();
            }
            Self::Postgres { admin, name } => {
                admin
                    .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
                    .await
                    .unwrap();
                admin.close().await.ok();
            }
        }
    }
}

fn deliveries() -> Vec<Value> {
    let mut out: Vec<Value> = (0..5)
        .map(|i| {
            inbound_text(
                PNID,
                &format!("1555123000{i}"),
                &format!("wamid.d{i}"),
                "hello",
                1_790_000_000 + i,
            )
        })
        .collect();
    out.push(status_update(PNID, "wamid.d4", "read", 1_790_000_100));
    out
}

#[tokio::test]
async fn storage_outage_is_5xx_and_a_replay_stores_everything_once() {
    let app = spawn_app().await;
    let t = app.create_tenant("acme").await;
    register_number(&app, &t, PNID).await;
    let all = deliveries();

    for body in &all[..2] {
        assert_eq!(post_webhook_json(&app, body).await.status().as_u16(), 200);
    }
    let outage = Outage::start(&app).await;
    let during =
        futures_util::future::join_all(all[2..].iter().map(|b| post_webhook_json(&app, b))).await;
    for resp in during {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"], "storage_unavailable");
    }
    outage.end().await;

    // Meta retries everything it did not get a 200 for, and may repeat what it did.
    for _ in 0..2 {
        for body in &all {
            let (s, b) = status_json(post_webhook_json(&app, body).await).await;
            assert_eq!(s, 200, "{b}");
        }
    }
    let counts = table_counts(&app, t.id).await;
    assert_eq!(
        (
            counts["messages"],
            counts["contacts"],
            counts["conversations"],
            counts["message_status_events"]
        ),
        (5, 5, 5, 1)
    );
    let m = stored_message(&app, t.id, "wamid.d4").await.unwrap();
    assert_eq!(m.status.as_deref(), Some("read"));
}
