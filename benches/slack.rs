//! Reply latency of the Slack adapter: a signed `message` event POSTed to `/slack/events` ->
//! the `chat.postMessage` for it received by a local fake of the Web API. 30 messages from 30
//! users (in 30 channels, so no cooldown stands in the way) sent at once, repeated for
//! several rounds. The yardstick, measured in the same run: a bare loopback POST to the fake.
//!
//! Run: `cargo bench --bench slack` (release profile). Prints p50 / p99 / max.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use qntcbot::Engine;
use qntcbot::conversation::{Conversation, Settings};
use qntcbot::slack::{Secret, SlackConfig};
use serde_json::{Value, json};

const SECRET: &str = "bench-secret";
const USERS: usize = 30;
const ROUNDS: usize = 20;

/// The CPDB053 report the tests use (one the bot answers).
#[path = "../tests/common/mod.rs"]
mod common;
use common::CPDB053_LOG;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn api(State(arrivals): State<Arrivals>, Path(method): Path<String>, body: Bytes) -> String {
    let at = Instant::now();
    if method == "chat.postMessage" {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if let Some(t) = v["thread_ts"].as_str() {
            arrivals.lock().unwrap().insert(t.to_string(), at);
        }
        return json!({"ok": true, "ts": "1.1"}).to_string();
    }
    json!({"ok": true}).to_string()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name:<44} n={:<4} p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}",
        v.len(),
        pct(&v, 0.5),
        pct(&v, 0.99),
        v[v.len() - 1]
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let arrivals: Arrivals = Arc::default();
        let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake_addr = fake.local_addr().unwrap();
        let app = Router::new().route("/api/{method}", post(api)).with_state(arrivals.clone());
        tokio::spawn(async move { axum::serve(fake, app).await });

        let dir = tempfile::tempdir().unwrap();
        let kb = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kb");
        let engine = Arc::new(Engine::open(&dir.path().join("bench.db"), &kb).await.unwrap());
        let conv = Arc::new(Conversation::new(engine, Settings::new("slack")));
        let mut cfg = SlackConfig {
            bot_token: Some(Secret::new("xoxb-bench")),
            signing_secret: Some(Secret::new(SECRET)),
            api_base_url: format!("http://{fake_addr}/api/"),
            listen: "127.0.0.1:0".into(),
            ..SlackConfig::default()
        };
        cfg.resolve_with(|_| None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bot = format!("http://{}", listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(qntcbot::slack::serve(listener, cfg, conv, async {
            let _ = stop_rx.await;
        }));

        let http = reqwest::Client::new();
        // Yardstick: the same kind of POST, straight to the fake.
        let mut bare = Vec::new();
        for _ in 0..(USERS * ROUNDS) {
            let t = Instant::now();
            http.post(format!("http://{fake_addr}/api/auth.test")).body("{}").send().await.unwrap();
            bare.push(t.elapsed());
        }

        let mut samples = Vec::new();
        let mut acks = Vec::new();
        let mut n = 0u64;
        for round in 0..=ROUNDS {
            let mut sent = Vec::new();
            let mut tasks = Vec::new();
            for u in 0..USERS {
                n += 1;
                let ts = format!("1800000000.{n:06}");
                let body = json!({
                    "type": "event_callback", "team_id": "T1", "event_id": format!("Ev{n}"),
                    "authorizations": [{"user_id": "UBOT", "is_bot": true}],
                    "event": {"type": "message", "channel": format!("C{round}x{u}"), "user": format!("U{round}x{u}"),
                              "ts": ts, "text": CPDB053_LOG.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")},
                })
                .to_string();
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    .to_string();
                let sig = qntcbot::slack::verify::sign(SECRET, &stamp, body.as_bytes());
                let req = http
                    .post(format!("{bot}/slack/events"))
                    .header("content-type", "application/json")
                    .header("x-slack-request-timestamp", stamp)
                    .header("x-slack-signature", sig)
                    .body(body);
                let t = Instant::now();
                sent.push((ts, t));
                tasks.push(tokio::spawn(async move {
                    let r = req.send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    t.elapsed()
                }));
            }
            for t in tasks {
                let ack = t.await.unwrap();
                if round > 0 {
                    acks.push(ack);
                }
            }
            let end = Instant::now() + Duration::from_secs(20);
            while arrivals.lock().unwrap().len() < sent.len() && Instant::now() < end {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let mut got = arrivals.lock().unwrap();
            assert_eq!(got.len(), sent.len(), "every message answered");
            // Round 0 warms the connection pools and the database; not counted.
            if round > 0 {
                for (ts, t) in &sent {
                    samples.push(got[ts].duration_since(*t));
                }
            }
            got.clear();
        }
        println!("Slack reply latency, {USERS} messages from {USERS} users at once, {ROUNDS} rounds:");
        report("event POST -> chat.postMessage received", samples);
        report("event POST -> 200 acknowledgement", acks);
        report("yardstick: bare loopback POST to the fake", bare);
        let _ = stop_tx.send(());
        let _ = server.await;
    });
}
