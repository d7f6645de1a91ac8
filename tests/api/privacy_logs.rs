//! The log of a full run of the real `wavault serve`, at debug level, holds no content and no
//! secret: canary values go in through signed webhooks and out through the API and an export,
//! and none of them, nor any password, token or key, may appear in what the process printed.
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

const PNID: &str = "106540352299001";
const NAME: &str = "Xanthippe Quillfeather";
const PHONE: &str = "447700912345";
const TEXT: &str = "canary text: parcel code PLUM-7731-QUOKKA";
const WAMID: &str = "wamid.HBgMNDQ3NzAwOTEyMzQ1FQIAEhgWQ0FOQVJZV0FNSUQwMDAxAA==";
/// An outbound message's id in a status for a message not stored (yet).
const STATUS_WAMID: &str = "wamid.HBgMNDQ3NzAwOTEyMzQ1FQIAERgSQ0FOQVJZU1RBVFVTMDAwMgA=";
const GRAPH_TOKEN: &str = "EAAGcanaryGraphAccessToken7f3a9c";
const OWNER_EMAIL: &str = "owner@privacy.example";
const OWNER_PASSWORD: &str = "canary passphrase fjord-2931 lantern";
const WRONG_PASSWORD: &str = "wrong canary passphrase marmot-5518";

/// `wavault <args>` with the test secrets and a debug-level JSON log; nothing of the caller's
/// `WAVAULT*` environment (a `WAVAULT_LOG` filter, say) may change what is logged.
fn wavault(db_url: &str, port: u16, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wavault"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WAVAULT") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("WAVAULT_ENV", "test")
        .env(
            "WAVAULT_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("WAVAULT__DATABASE__URL", db_url)
        .env("WAVAULT__DATABASE__MAX_CONNECTIONS", "8")
        .env("WAVAULT__CRYPTO__MASTER_KEYS", MASTER_KEYS)
        .env("WAVAULT__CRYPTO__ACTIVE_KEY", "k1")
        .env("WAVAULT__CRYPTO__CERTIFICATE_KEY", CERT_KEY)
        .env("WAVAULT__AUTH__JWT_SECRET", JWT_SECRET)
        .env("WAVAULT__META__APP_SECRETS", APP_SECRET)
        .env("WAVAULT__META__VERIFY_TOKEN", VERIFY_TOKEN)
        .env("WAVAULT__SERVER__HOST", "127.0.0.1")
        .env("WAVAULT__SERVER__PORT", port.to_string())
        .env("WAVAULT__SERVER__WORKERS", "2")
        .env("WAVAULT__TELEMETRY__LOG_LEVEL", "debug")
        .env("WAVAULT__TELEMETRY__LOG_FORMAT", "json");
    cmd
}

/// The running server and the threads collecting its stdout and stderr.
struct Server {
    child: Child,
    readers: Vec<JoinHandle<String>>,
}

impl Server {
    fn start(db_url: &str, port: u16) -> Self {
        let mut child = wavault(db_url, port, &["serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wavault serve");
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
        let readers = [out, err]
            .into_iter()
            .map(|mut stream| {
                std::thread::spawn(move || {
                    let mut bytes = Vec::new();
                    let _ = stream.read_to_end(&mut bytes);
                    String::from_utf8_lossy(&bytes).into_owned()
                })
            })
            .collect();
        Self { child, readers }
    }

    /// SIGTERM, then everything the process printed once it has exited.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "wavault did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The pipes close with the process, so the readers finish.
        self.readers
            .drain(..)
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn webhook(value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": value}]}]})
}

async fn post_webhook(client: &reqwest::Client, base: &str, body: &[u8], signature: &str) -> u16 {
    client
        .post(format!("{base}/webhooks/whatsapp"))
        .header("X-Hub-Signature-256", signature)
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn get_text(client: &reqwest::Client, url: String, token: &str) -> String {
    let resp = client.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "GET {url}");
    resp.text().await.unwrap()
}

/// Drives every path that touches the canaries; returns the tokens the server handed out.
async fn exercise(base: &str, db_url: &str, port: u16, cli_log: &mut String) -> Vec<String> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "wavault never answered /healthz");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = wavault(
        db_url,
        port,
        &[
            "tenant",
            "create",
            "--name",
            "Privacy Ltd",
            "--slug",
            "privacy",
            "--owner-email",
            OWNER_EMAIL,
        ],
    )
    .env("WAVAULT_PASSWORD", OWNER_PASSWORD)
    .output()
    .unwrap();
    cli_log.push_str(&String::from_utf8_lossy(&out.stdout));
    cli_log.push_str(&String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tenant create failed: {cli_log}");

    let login = |password: &'static str| {
        client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"tenant": "privacy", "email": OWNER_EMAIL, "password": password}))
            .send()
    };
    let (s, tokens) = status_json(login(OWNER_PASSWORD).await.unwrap()).await;
    assert_eq!(s, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let resp = client
        .post(format!("{base}/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    let (s, renewed) = status_json(resp).await;
    assert_eq!(s, 200, "{renewed}");
    let token = renewed["access_token"].as_str().unwrap().to_owned();
    let mut issued = vec![
        tokens["access_token"].as_str().unwrap().to_owned(),
        refresh,
        token.clone(),
        renewed["refresh_token"].as_str().unwrap().to_owned(),
    ];

    let number = json!({"display_phone_number": "+1 555 010 7788", "waba_id": "200000000000001", "access_token": GRAPH_TOKEN});
    let resp = client
        .put(format!("{base}/v1/whatsapp/numbers/{PNID}"))
        .bearer_auth(&token)
        .json(&number)
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "register number: {}",
        resp.status()
    );

    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let metadata = json!({"display_phone_number": "15550107788", "phone_number_id": PNID});
    let inbound = serde_json::to_vec(&webhook(json!({"messaging_product": "whatsapp", "metadata": metadata,
        "contacts": [{"profile": {"name": NAME}, "wa_id": PHONE}],
        "messages": [{"from": PHONE, "id": WAMID, "timestamp": ts, "type": "text", "text": {"body": TEXT}}]}))).unwrap();
    assert_eq!(
        post_webhook(
            &client,
            base,
            &inbound,
            &wavault::webhook::sign(APP_SECRET, &inbound)
        )
        .await,
        200
    );
    let status = serde_json::to_vec(&webhook(json!({"messaging_product": "whatsapp", "metadata": metadata,
        "statuses": [{"id": STATUS_WAMID, "status": "delivered", "timestamp": ts, "recipient_id": PHONE}]}))).unwrap();
    assert_eq!(
        post_webhook(
            &client,
            base,
            &status,
            &wavault::webhook::sign(APP_SECRET, &status)
        )
        .await,
        200
    );

    let contacts = get_text(&client, format!("{base}/v1/contacts"), &token).await;
    assert!(
        contacts.contains(NAME) && contacts.contains(PHONE),
        "{contacts}"
    );
    let found = get_text(
        &client,
        format!("{base}/v1/contacts?wa_id=%2B{PHONE}"),
        &token,
    )
    .await;
    let contact: Value = serde_json::from_str(&found).unwrap();
    let contact_id = contact["items"][0]["id"].as_str().unwrap().to_owned();
    get_text(&client, format!("{base}/v1/contacts/{contact_id}"), &token).await;
    let list: Value =
        serde_json::from_str(&get_text(&client, format!("{base}/v1/conversations"), &token).await)
            .unwrap();
    let conversation = list["items"][0]["id"].as_str().unwrap().to_owned();
    let messages = get_text(
        &client,
        format!("{base}/v1/conversations/{conversation}/messages"),
        &token,
    )
    .await;
    assert!(messages.contains(TEXT), "{messages}");
    let csv = get_text(
        &client,
        format!("{base}/v1/contacts/export?format=csv"),
        &token,
    )
    .await;
    assert!(csv.contains(NAME) && csv.contains(PHONE), "{csv}");
    let ndjson = get_text(
        &client,
        format!("{base}/v1/contacts/export?format=ndjson&include=messages"),
        &token,
    )
    .await;
    assert!(ndjson.contains(TEXT) && ndjson.contains(WAMID), "{ndjson}");

    assert_eq!(login(WRONG_PASSWORD).await.unwrap().status().as_u16(), 401);
    // Cut off mid-string, so the parser stops right after the canaries.
    let text = String::from_utf8(inbound.clone()).unwrap();
    let malformed = text
        .get(..text.find(TEXT).unwrap() + TEXT.len())
        .unwrap()
        .as_bytes();
    assert_eq!(
        post_webhook(
            &client,
            base,
            malformed,
            &wavault::webhook::sign(APP_SECRET, malformed)
        )
        .await,
        400
    );
    let forged = wavault::webhook::sign("not-the-app-secret", &inbound);
    assert_eq!(post_webhook(&client, base, &inbound, &forged).await, 401);
    issued.retain(|t| !t.is_empty());
    issued
}

#[tokio::test]
async fn a_full_run_logs_no_content_and_no_secret() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (db_url, _dir) = fresh_database().await;
    let port = free_port();
    let server = Server::start(&db_url, port);
    let mut cli_log = String::new();
    let issued = exercise(
        &format!("http://127.0.0.1:{port}"),
        &db_url,
        port,
        &mut cli_log,
    )
    .await;
    let log = format!("{}\n{cli_log}", server.stop());

    // Proof that the service's own debug lines were written, so silence below means something.
    assert!(!log.trim().is_empty(), "the server logged nothing");
    let own_debug = log
        .lines()
        .any(|l| l.contains("\"level\":\"DEBUG\"") && l.contains("\"target\":\"wavault::"));
    assert!(own_debug, "no debug line of wavault in the log:\n{log}");
    let keys: Vec<&str> = MASTER_KEYS
        .split(',')
        .filter_map(|k| k.split_once(':'))
        .map(|(_, key)| key)
        .collect();
    let mut canaries = vec![
        ("profile name", NAME),
        ("phone number", PHONE),
        ("message text", TEXT),
        ("wamid", WAMID),
        ("status wamid", STATUS_WAMID),
        ("password", OWNER_PASSWORD),
        ("wrong password", WRONG_PASSWORD),
        ("Graph access token", GRAPH_TOKEN),
        ("app secret", APP_SECRET),
        ("JWT secret", JWT_SECRET),
        ("certificate key", CERT_KEY),
        ("verify token", VERIFY_TOKEN),
    ];
    canaries.extend(keys.iter().map(|k| ("master key", *k)));
    canaries.extend(
        issued
            .iter()
            .map(|t| ("access or refresh token", t.as_str())),
    );
    let leaks: Vec<String> = canaries
        .iter()
        .filter_map(|(what, value)| {
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(value)).take(3).collect();
            (!lines.is_empty()).then(|| format!("{what} ({value}) in:\n  {}", lines.join("\n  ")))
        })
        .collect();
    assert!(leaks.is_empty(), "the log leaks:\n{}", leaks.join("\n"));
}
