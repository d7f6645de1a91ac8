//! Test data written straight into a tenant's tables (a second connection, SeaORM entities,
//! values sealed with the tenant's real keys), and a per-table picture of a tenant's rows.
use std::collections::BTreeMap;

use entity::{
    consent_events, contacts, conversations, message_status_events, messages, phone_numbers,
    tenant_events,
};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, Statement, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wavault::clock::Clock;
use wavault::store::sealed::{col, number_row_id, place};

use crate::helpers::TestApp;

pub async fn connect(app: &TestApp) -> DatabaseConnection {
    Database::connect(&app.db_url).await.unwrap()
}

/// A transaction that row-level security lets see `tenant` (when it applies to this role).
async fn scoped(db: &DatabaseConnection, tenant: Uuid) -> DatabaseTransaction {
    let txn = db.begin().await.unwrap();
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.tenant_id', $1, true)",
            [tenant.to_string().into()],
        ))
        .await
        .unwrap();
    }
    txn
}

/// What a test needs to find the seeded values again.
pub struct Seeded {
    pub contact_id: Uuid,
    pub wa_id_enc: Vec<u8>,
    pub wa_id: String,
}

fn random(n: usize) -> Vec<u8> {
    (0..n.div_ceil(16))
        .flat_map(|_| *Uuid::new_v4().as_bytes())
        .take(n)
        .collect()
}

/// Two contacts with consent history, a conversation each, one message per `sent_at` in each
/// conversation with a status event, an unmatched status event, a tenant event and a number.
pub async fn seed_content(app: &TestApp, tenant: Uuid, tag: &str, sent_at: &[i64]) -> Seeded {
    let keys = app.state.keys.for_tenant(tenant).await.unwrap();
    let db = connect(app).await;
    let txn = scoped(&db, tenant).await;
    let now = app.clock.now_ms();
    let number_id = format!("pn-{tag}");
    let mut first = None;
    for i in 0..2 {
        let contact_id = Uuid::now_v7();
        let wa_id = format!("+91987654{i}{:04}", u16::from_be_bytes([random(1)[0], 0]));
        let wa_id_enc = keys
            .seal_str(&place(col::CONTACTS, "wa_id_enc", contact_id), &wa_id)
            .unwrap();
        contacts::Entity::insert(contacts::ActiveModel {
            tenant_id: Set(tenant),
            id: Set(contact_id),
            wa_id_enc: Set(Some(wa_id_enc.clone())),
            wa_id_bidx: Set(Some(random(32))),
            user_id_enc: Set(None),
            user_id_bidx: Set(None),
            profile_name_enc: Set(Some(
                keys.seal_str(
                    &place(col::CONTACTS, "profile_name_enc", contact_id),
                    "Asha",
                )
                .unwrap(),
            )),
            display_name_enc: Set(None),
            attributes_enc: Set(None),
            consent_status: Set("opted_in".into()),
            restricted: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            last_inbound_at: Set(Some(now)),
        })
        .exec_without_returning(&txn)
        .await
        .unwrap();
        first.get_or_insert(Seeded {
            contact_id,
            wa_id_enc,
            wa_id,
        });
        consent_events::Entity::insert(consent_events::ActiveModel {
            tenant_id: Set(tenant),
            id: Set(Uuid::now_v7()),
            contact_id: Set(contact_id),
            status: Set("opted_in".into()),
            source: Set("test".into()),
            actor_kind: Set("user".into()),
            actor_id: Set(None),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .unwrap();
        let conversation_id = Uuid::now_v7();
        conversations::Entity::insert(conversations::ActiveModel {
            tenant_id: Set(tenant),
            id: Set(conversation_id),
            contact_id: Set(contact_id),
            phone_number_id: Set(number_id.clone()),
            status: Set("open".into()),
            assignee_id: Set(None),
            last_message_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .unwrap();
        for &at in sent_at {
            let id = Uuid::now_v7();
            let bidx = random(32);
            messages::Entity::insert(messages::ActiveModel {
                tenant_id: Set(tenant),
                id: Set(id),
                conversation_id: Set(conversation_id),
                contact_id: Set(contact_id),
                direction: Set("inbound".into()),
                msg_type: Set("text".into()),
                wamid_enc: Set(Some(
                    keys.seal_str(&place(col::MESSAGES, "wamid_enc", id), "wamid.X")
                        .unwrap(),
                )),
                wamid_bidx: Set(Some(bidx.clone())),
                content_enc: Set(keys
                    .seal_json(
                        &place(col::MESSAGES, "content_enc", id),
                        &json!({"text": "hi"}),
                    )
                    .unwrap()),
                status: Set(Some("delivered".into())),
                status_rank: Set(2),
                error_enc: Set(None),
                sent_at: Set(at),
                created_at: Set(at),
                updated_at: Set(at),
            })
            .exec_without_returning(&txn)
            .await
            .unwrap();
            insert_status(&txn, tenant, Some(id), bidx, at).await;
        }
    }
    insert_status(
        &txn,
        tenant,
        None,
        random(32),
        sent_at.first().copied().unwrap_or(now),
    )
    .await;
    let event_id = Uuid::now_v7();
    tenant_events::Entity::insert(tenant_events::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(event_id),
        field: Set("messages".into()),
        payload_enc: Set(keys
            .seal_json(
                &place(col::TENANT_EVENTS, "payload_enc", event_id),
                &json!({"x": 1}),
            )
            .unwrap()),
        created_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await
    .unwrap();
    phone_numbers::Entity::insert(phone_numbers::ActiveModel {
        phone_number_id: Set(number_id.clone()),
        tenant_id: Set(tenant),
        display_phone_number: Set("+91 80 0000 0000".into()),
        waba_id: Set(format!("waba-{tag}")),
        access_token_enc: Set(keys
            .seal_str(
                &place(col::NUMBERS, "access_token_enc", number_row_id(&number_id)),
                "EAAG-token",
            )
            .unwrap()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await
    .unwrap();
    txn.commit().await.unwrap();
    db.close().await.ok();
    first.unwrap()
}

async fn insert_status(
    txn: &DatabaseTransaction,
    tenant: Uuid,
    message_id: Option<Uuid>,
    bidx: Vec<u8>,
    at: i64,
) {
    message_status_events::Entity::insert(message_status_events::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(Uuid::now_v7()),
        wamid_bidx: Set(bidx),
        message_id: Set(message_id),
        status: Set("delivered".into()),
        status_rank: Set(2),
        detail_enc: Set(None),
        occurred_at: Set(at),
        created_at: Set(at),
    })
    .exec_without_returning(txn)
    .await
    .unwrap();
}

/// Each table's rows of `tenant` (the `tenants` row by id): (count, SHA-256 of the sorted
/// text of every row), over every table of the live schema with a `tenant_id` column.
pub async fn snapshot(app: &TestApp, tenant: Uuid) -> BTreeMap<String, (usize, String)> {
    let db = connect(app).await;
    let txn = scoped(&db, tenant).await;
    let backend = db.get_database_backend();
    let mut out = BTreeMap::new();
    let mut tables = app.state.db.tables_with_tenant_id().await.unwrap();
    tables.push("tenants".into());
    for table in tables {
        let filter = if table == "tenants" {
            "id"
        } else {
            "tenant_id"
        };
        let sql = match backend {
            DbBackend::Postgres => {
                format!("SELECT t::text AS r FROM \"{table}\" t WHERE {filter} = $1")
            }
            _ => {
                let cols = txn
                    .query_all_raw(Statement::from_sql_and_values(
                        backend,
                        "SELECT name FROM pragma_table_info(?) ORDER BY cid",
                        [table.clone().into()],
                    ))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| format!("quote(\"{}\")", r.try_get::<String>("", "name").unwrap()))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                format!("SELECT {cols} AS r FROM \"{table}\" WHERE {filter} = ?")
            }
        };
        let mut rows: Vec<String> = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [tenant.into()],
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.try_get::<String>("", "r").unwrap())
            .collect();
        rows.sort();
        let mut h = Sha256::new();
        for r in &rows {
            h.update(r.as_bytes());
            h.update(b"\n");
        }
        out.insert(table, (rows.len(), hex::encode(h.finalize())));
    }
    txn.commit().await.unwrap();
    db.close().await.ok();
    out
}

/// Row counts only, from a snapshot.
pub fn counts(s: &BTreeMap<String, (usize, String)>) -> BTreeMap<String, usize> {
    s.iter().map(|(t, (n, _))| (t.clone(), *n)).collect()
}
