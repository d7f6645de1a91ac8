//! The real `wavault serve` process: SIGTERM stops accepting, drains in-flight requests and exits
//! 0; kill -9 under webhook load loses no acknowledged webhook and stores none twice.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::helpers::*;

mod kill9;

/// Seconds the server gives in-flight requests after SIGTERM (server.shutdown_timeout_secs).
const DRAIN_SECS: u64 = 10;

/// `wavault <args>` with the test settings of helpers.rs, as environment variables.
pub fn wavault(db_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wavault"));
    // Nothing of the caller's environment may change the settings under test.
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
        .env("WAVAULT__SERVER__PORT", "0")
        .env("WAVAULT__SERVER__WORKERS", "2")
        .env(
            "WAVAULT__SERVER__SHUTDOWN_TIMEOUT_SECS",
            DRAIN_SECS.to_string(),
        )
        .env("WAVAULT__TELEMETRY__LOG_FORMAT", "json")
        .env("WAVAULT__TELEMETRY__LOG_LEVEL", "info");
    cmd
}

/// A running `wavault serve` child and its log lines (stdout and stderr).
pub struct Served {
    pub child: Child,
    pub port: u16,
    pub log: Receiver<String>,
}

impl Served {
    /// Starts `wavault serve` and waits until it answers /healthz.
    pub fn start(db_url: &str) -> Self {
        let mut child = wavault(db_url, &["serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wavault serve");
        let (tx, log) = channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let port = listening_port(&log, &mut child);
        let mut served = Self { child, port, log };
        served.wait_healthy();
        served
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Signal handlers are installed when the server starts polling, after "listening" is logged:
    /// an answered request proves they are in place.
    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http(self.port, "GET", "/healthz", None, "") {
                return;
            }
            assert!(self.child.try_wait().unwrap().is_none(), "wavault exited");
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("wavault never answered /healthz");
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill {sig} failed");
    }

    /// Waits for the process to exit; `None` on timeout.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn drain_log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads log lines until the "listening" event and returns its port.
fn listening_port(log: &Receiver<String>, child: &mut Child) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match log.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if event["message"] == "listening"
                    && let Some(port) = event["address"]
                        .as_str()
                        .and_then(|a| a.rsplit_once(':'))
                        .and_then(|(_, p)| p.parse().ok())
                {
                    return port;
                }
                seen.push(line);
            }
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("wavault exited with {status}:\n{}", seen.join("\n"));
                }
            }
        }
    }
    panic!("no \"listening\" line:\n{}", seen.join("\n"));
}

fn request_head(method: &str, path: &str, headers: Option<&str>, len: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n{}\r\n",
        headers.unwrap_or("")
    )
}

/// Status and body of one request on a fresh connection.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: Option<&str>,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request_head(method, path, headers, body.len()).as_bytes())?;
    s.write_all(body.as_bytes())?;
    read_response(&mut s)
}

fn read_response(s: &mut TcpStream) -> std::io::Result<(u16, String)> {
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {raw:?}")))?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[tokio::test]
async fn sigterm_stops_accepting_finishes_in_flight_requests_and_exits_zero() {
    let (db_url, _dir) = fresh_database().await;
    tokio::task::spawn_blocking(move || sigterm_drains(&db_url))
        .await
        .unwrap();
}

fn sigterm_drains(db_url: &str) {
    let mut server = Served::start(db_url);

    // An in-flight request: the head and half of the body are sent before SIGTERM.
    let body = r#"{"tenant":"nobody","email":"someone@example.com","password":"wrong password"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    slow.write_all(request_head("POST", "/v1/auth/login", None, body.len()).as_bytes())
        .unwrap();
    slow.write_all(first.as_bytes()).unwrap();
    slow.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    server.signal("-TERM");
    // The listener closes once the signal is handled; a busy machine may take a moment.
    let refused = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        TcpStream::connect(("127.0.0.1", server.port)).is_err()
    });
    assert!(refused, "still accepting connections after SIGTERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the process exited with a request in flight"
    );

    slow.write_all(rest.as_bytes()).unwrap();
    let (status, resp) = read_response(&mut slow).expect("the in-flight request is answered");
    assert_eq!(status, 401, "{resp}");
    assert!(resp.contains("invalid_credentials"), "{resp}");

    let status = server
        .wait_exit(Duration::from_secs(DRAIN_SECS + 5))
        .unwrap_or_else(|| panic!("still running after SIGTERM:\n{}", server.drain_log()));
    assert!(status.success(), "exit {status}:\n{}", server.drain_log());
    // Exiting well before the drain limit shows the in-flight request ended the wait, not a timer.
    assert!(
        signalled.elapsed() < Duration::from_secs(DRAIN_SECS),
        "exit took {:?}",
        signalled.elapsed()
    );
}
