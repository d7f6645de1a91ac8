//! kill -9 under webhook load, repeatedly: every webhook answered 200 is stored, none twice.
//!
//! Senders behave like Meta: a webhook that was not answered 200 (connection refused or reset,
//! 5xx) is delivered again until it is, and now and then an acknowledged one is redelivered.
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;
use wavault::clock::SystemClock;
use wavault::store::sealed::open_message;

use super::{Served, wavault};
use crate::helpers::*;
use crate::webhook_support::inbound_text;

const PNID: &str = "106540352242922";
const SENDERS: usize = 8;
const KILLS: usize = 5;

/// What one sender did.
#[derive(Default)]
struct SenderLog {
    acked: Vec<String>,
    redelivered: usize,
    failures: usize,
    client_errors: Vec<u16>,
}

struct Load {
    base: RwLock<String>,
    client: reqwest::Client,
    /// Set when no new webhooks should be started; pending ones are still delivered.
    draining: AtomicBool,
    acked: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_webhook_load_loses_no_acknowledged_webhook_and_stores_none_twice() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (db_url, _dir) = fresh_database().await;
    let tenant_id = {
        let db_url = db_url.clone();
        tokio::task::spawn_blocking(move || create_tenant(&db_url))
            .await
            .unwrap()
    };
    let mut served = start(&db_url).await;
    register_number(&served).await;

    let load = Arc::new(Load {
        base: RwLock::new(base(&served)),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap(),
        draining: AtomicBool::new(false),
        acked: AtomicUsize::new(0),
    });
    let senders: Vec<_> = (0..SENDERS)
        .map(|i| tokio::spawn(send(i, load.clone())))
        .collect();

    for round in 0..KILLS {
        // Let acknowledgements accumulate on this process before it dies.
        let before = load.acked.load(Ordering::SeqCst);
        let waited = tokio::time::Instant::now();
        while load.acked.load(Ordering::SeqCst) < before + 20 + 10 * round {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "no progress in round {round}:\n{}",
                served.drain_log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        served.child.kill().unwrap();
        let status = served.wait_exit(Duration::from_secs(10)).expect("killed");
        assert!(!status.success());
        served = start(&db_url).await;
        *load.base.write().unwrap() = base(&served);
    }

    load.draining.store(true, Ordering::SeqCst);
    let mut logs = Vec::new();
    for s in senders {
        logs.push(
            tokio::time::timeout(Duration::from_secs(60), s)
                .await
                .expect("senders finish")
                .unwrap(),
        );
    }
    served.signal("-TERM");
    let exit = tokio::task::spawn_blocking(move || served.wait_exit(Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(exit.is_some_and(|s| s.success()), "{exit:?}");

    let client_errors: Vec<u16> = logs.iter().flat_map(|l| l.client_errors.clone()).collect();
    assert!(client_errors.is_empty(), "4xx answers: {client_errors:?}");
    let acked: BTreeSet<String> = logs.iter().flat_map(|l| l.acked.clone()).collect();
    let stored = stored_wamids(&db_url, tenant_id).await;
    let unique: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(unique.len(), stored.len(), "a webhook was stored twice");
    let lost: Vec<_> = acked.difference(&unique).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    let unexpected: Vec<_> = unique.difference(&acked).collect();
    assert!(
        unexpected.is_empty(),
        "stored but never sent: {unexpected:?}"
    );

    let failures: usize = logs.iter().map(|l| l.failures).sum();
    let redelivered: usize = logs.iter().map(|l| l.redelivered).sum();
    assert!(
        failures > 0,
        "no request was cut by a kill: the test proved nothing"
    );
    assert!(redelivered > 0);
    eprintln!(
        "kill -9 x{KILLS}: {} webhooks acknowledged and stored once, {failures} failed attempts \
         retried, {redelivered} redeliveries of acknowledged ones",
        acked.len()
    );
}

/// Delivers webhooks one at a time until draining, retrying each until it is acknowledged.
async fn send(i: usize, load: Arc<Load>) -> SenderLog {
    let mut log = SenderLog::default();
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    for n in 0.. {
        let (wamid, body, redelivery) = match pending.take() {
            Some((wamid, body)) => (wamid, body, false),
            None if load.draining.load(Ordering::SeqCst) => break,
            None if n % 7 == 6 && !done.is_empty() => {
                (String::new(), done[n % done.len()].clone(), true)
            }
            None => {
                let wamid = format!("wamid.K9.{i}.{n}");
                let from = format!("1555010{i:04}");
                let now = chrono::Utc::now().timestamp();
                let text = format!("order {n} from sender {i}");
                let body = inbound_text(PNID, &from, &wamid, &text, now);
                (wamid, serde_json::to_vec(&body).unwrap(), false)
            }
        };
        let url = format!("{}/webhooks/whatsapp", load.base.read().unwrap());
        let sent = load
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header(
                "X-Hub-Signature-256",
                wavault::webhook::sign(APP_SECRET, &body),
            )
            .body(body.clone())
            .send()
            .await;
        match sent.map(|r| r.status().as_u16()) {
            Ok(200) if redelivery => log.redelivered += 1,
            Ok(200) => {
                load.acked.fetch_add(1, Ordering::SeqCst);
                log.acked.push(wamid);
                done.push(body);
            }
            Ok(status) => {
                if (400..500).contains(&status) {
                    log.client_errors.push(status);
                }
                log.failures += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                if !redelivery {
                    pending = Some((wamid, body));
                }
            }
            Err(_) => {
                log.failures += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                if !redelivery {
                    pending = Some((wamid, body));
                }
            }
        }
    }
    log
}

fn base(served: &Served) -> String {
    format!("http://127.0.0.1:{}", served.port)
}

async fn start(db_url: &str) -> Served {
    let db_url = db_url.to_owned();
    tokio::task::spawn_blocking(move || Served::start(&db_url))
        .await
        .unwrap()
}

/// `wavault migrate`, then `wavault tenant create`, the way an operator does it.
fn create_tenant(db_url: &str) -> Uuid {
    let out = wavault(db_url, &["migrate"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = wavault(
        db_url,
        &[
            "tenant",
            "create",
            "--name",
            "Kill Nine Ltd",
            "--slug",
            "kill9",
            "--owner-email",
            "owner@kill9.example",
        ],
    )
    .env("WAVAULT_PASSWORD", PASSWORD)
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

async fn register_number(served: &Served) {
    let client = reqwest::Client::new();
    let base = base(served);
    let login = json!({"tenant": "kill9", "email": "owner@kill9.example", "password": PASSWORD});
    let resp = client
        .post(format!("{base}/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    let (s, body) = status_json(resp).await;
    assert_eq!(s, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let number = json!({
        "display_phone_number": crate::webhook_support::DISPLAY_NUMBER,
        "waba_id": crate::webhook_support::waba_for(PNID),
        "access_token": "EAAG-kill9-token",
    });
    let resp = client
        .put(format!("{base}/v1/whatsapp/numbers/{PNID}"))
        .bearer_auth(token)
        .json(&number)
        .send()
        .await
        .unwrap();
    let (s, body) = status_json(resp).await;
    assert!(s == 200 || s == 201, "{s} {body}");
}

/// Meta ids of every stored message of the tenant, read through a fresh store after the runs.
async fn stored_wamids(db_url: &str, tenant_id: Uuid) -> Vec<String> {
    let state = wavault::startup::build_state(test_settings(db_url, &[]), Arc::new(SystemClock))
        .await
        .unwrap();
    let keys = state.keys.for_tenant(tenant_id).await.unwrap();
    let tx = state.db.tenant(tenant_id).await.unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = tx.messages_page(after, 200).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for m in &page {
            let plain = open_message(&keys, m).expect("message opens");
            out.push(plain.wamid.expect("inbound messages carry a wamid"));
        }
    }
    tx.commit().await.unwrap();
    out
}
