//! Tenant key rotation: add a data-key version, then re-encrypt every sealed value and
//! recompute blind indexes under it, batch by batch.
//!
//! Each batch commits on its own, so an interrupted run leaves every value readable (on the old
//! version or the new one) and `--resume` finishes the job without adding another version.
//! Lookups keep working throughout because they try the blind index of every held version.
use serde::Serialize;
use uuid::Uuid;

use crate::crypto::{Purpose, TenantKeys};
use crate::state::AppState;
use crate::store::sealed::{SEALED_COLUMNS, col, number_row_id, place};
use crate::store::{StoreError, StoreResult};

const BATCH: u64 = 500;

/// Sealed columns whose plaintext also feeds a blind index column.
const INDEXED: &[(&str, &str, &str, Purpose)] = &[
    (col::CONTACTS, "wa_id_enc", "wa_id_bidx", Purpose::Phone),
    (
        col::CONTACTS,
        "user_id_enc",
        "user_id_bidx",
        Purpose::UserId,
    ),
    (col::MESSAGES, "wamid_enc", "wamid_bidx", Purpose::Wamid),
];

#[derive(Debug, Default, Serialize)]
pub struct RotationReport {
    pub active_version: i32,
    pub rows_scanned: u64,
    pub values_reencrypted: u64,
}

pub async fn rotate_tenant(
    state: &AppState,
    tenant_id: Uuid,
    resume: bool,
) -> StoreResult<RotationReport> {
    if !resume {
        state.keys.add_version(tenant_id).await?;
    }
    state.keys.evict(&tenant_id);
    let keys = state.keys.for_tenant(tenant_id).await?;
    let mut report = RotationReport {
        active_version: keys.active_version(),
        ..Default::default()
    };
    for (table, _, cols) in SEALED_COLUMNS {
        reencrypt_table(state, &keys, table, cols, &mut report).await?;
    }
    reencrypt_numbers(state, &keys, &mut report).await?;
    state.keys.evict(&tenant_id);
    Ok(report)
}

fn static_col(table: &str, column: &str) -> Option<(&'static str, &'static str)> {
    SEALED_COLUMNS
        .iter()
        .find(|(t, _, _)| *t == table)
        .and_then(|(t, _, cols)| cols.iter().find(|c| **c == column).map(|c| (*t, *c)))
}

async fn reencrypt_table(
    state: &AppState,
    keys: &TenantKeys,
    table: &str,
    cols: &[&str],
    report: &mut RotationReport,
) -> StoreResult<()> {
    let mut after = None;
    loop {
        let tx = state.db.tenant(keys.tenant_id()).await?;
        let batch = tx.sealed_batch(table, cols, after, BATCH).await?;
        let Some(last) = batch.last() else {
            tx.commit().await?;
            break;
        };
        after = Some(last.id);
        for row in &batch {
            report.rows_scanned += 1;
            let mut updates: Vec<(&str, Vec<u8>)> = Vec::new();
            for (column, value) in cols.iter().zip(&row.values) {
                let Some(value) = value else { continue };
                let Some((t, c)) = static_col(table, column) else {
                    continue;
                };
                let at = place(t, c, row.id);
                let Some(new_value) = keys.rekey(&at, value)? else {
                    continue;
                };
                report.values_reencrypted += 1;
                if let Some((_, _, bidx_col, purpose)) = INDEXED
                    .iter()
                    .find(|(it, ic, _, _)| *it == table && ic == column)
                {
                    let plain = keys.open_string(&at, value)?;
                    updates.push((bidx_col, keys.blind_index(*purpose, &plain)?));
                }
                updates.push((column, new_value));
            }
            tx.update_sealed(table, row.id, &updates).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

async fn reencrypt_numbers(
    state: &AppState,
    keys: &TenantKeys,
    report: &mut RotationReport,
) -> StoreResult<()> {
    for mut number in state.db.numbers_of_tenant(keys.tenant_id()).await? {
        report.rows_scanned += 1;
        let at = place(
            col::NUMBERS,
            "access_token_enc",
            number_row_id(&number.phone_number_id),
        );
        if let Some(new_value) = keys.rekey(&at, &number.access_token_enc)? {
            number.access_token_enc = new_value;
            state.db.upsert_number(number).await.map_err(|e| match e {
                StoreError::Conflict(c) => StoreError::Invalid(c),
                other => other,
            })?;
            report.values_reencrypted += 1;
        }
    }
    Ok(())
}
