//! Table discovery: the wipe finds tenant tables in the live schema, so one added later is
//! emptied too.
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use uuid::Uuid;

use super::seed::{connect, counts, snapshot};
use super::{deletion_path, request_deletion};
use crate::helpers::*;

/// A tenant table added after this code was written is found in the live schema and wiped (on
/// PostgreSQL the service role gets rights on it through the schema's default privileges).
#[tokio::test]
async fn a_table_added_later_is_wiped_too() {
    let app = spawn_app().await;
    let support = app.create_staff("sue", "support").await;
    let a = app.create_tenant("alpha").await;
    let b = app.create_tenant("bravo").await;
    let db = connect(&app).await;
    let backend = db.get_database_backend();
    let (uuid, p) = match backend {
        DbBackend::Postgres => ("UUID", ["$1", "$2"]),
        _ => ("BLOB", ["?", "?"]),
    };
    db.execute_unprepared(&format!(
        "CREATE TABLE later_notes (tenant_id {uuid} NOT NULL, id {uuid} NOT NULL, \
         note TEXT NOT NULL, PRIMARY KEY (tenant_id, id))"
    ))
    .await
    .unwrap();
    for t in [&a, &b] {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!("INSERT INTO later_notes VALUES ({}, {}, 'n')", p[0], p[1]),
            [t.id.into(), Uuid::now_v7().into()],
        ))
        .await
        .unwrap();
    }
    request_deletion(&app, &support.token, &a).await;
    let exec = format!("{}/execute", deletion_path(&a));
    let (s, cert) = status_json(app.post(&exec, Some(&support.token), &json!({})).await).await;
    assert_eq!(s, 200, "{cert}");
    assert_eq!(cert["rows_removed"]["later_notes"], 1);
    assert_eq!(counts(&snapshot(&app, a.id).await)["later_notes"], 0);
    assert_eq!(counts(&snapshot(&app, b.id).await)["later_notes"], 1);
}
