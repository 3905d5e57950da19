//! Reply latency of the Discord adapter: MESSAGE_CREATE sent by the local Discord simulator ->
//! reply POST received by it, with 50 messages from 50 users arriving at once (target: p99 at
//! most 50 ms in a release build). The real serenity + poise client, the real engine and KB,
//! the case log on a temporary SQLite file, every REST call through the retrying relay.
//!
//! Yardstick, measured in the same run: the same 50-at-once burst of plain HTTP POSTs from a
//! client straight to the simulator (the floor that loopback HTTP and the simulator set).
//!
//! `cargo bench --bench discord_reply`

#[path = "../tests/discord_sim/mod.rs"]
mod discord_sim;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use discord_sim::*;
use qntcbot::Engine;
use qntcbot::discord::{DiscordConfig, Token};
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(30);
const USERS: u64 = 50;
const ROUNDS: usize = 12;
const WARMUP_ROUNDS: usize = 2;

/// The CPDB053 report the tests use (one the bot answers).
#[path = "../tests/common/mod.rs"]
mod common;
use common::CPDB053_LOG;

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.9).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

async fn bot_burst(sim: &Sim, round: usize) -> Vec<Duration> {
    let from = sim.request_count();
    let mut sent = std::collections::HashMap::new();
    for u in 0..USERS {
        // Different text per round so nothing folds into one case by accident of timing.
        let text = format!("{CPDB053_LOG}\nround {round} user {u}");
        let at = Instant::now();
        let id = sim.message_create(CHANNEL_ID, USER_ID + u, &text, vec![]);
        sent.insert(id.to_string(), at);
    }
    let ids: std::collections::HashSet<String> = sent.keys().cloned().collect();
    let replies = sim
        .wait_for_n(from, sent.len(), T, |r| {
            r.method == "POST"
                && r.status == 200
                && r.body["message_reference"]["message_id"]
                    .as_str()
                    .is_some_and(|m| ids.contains(m))
        })
        .await;
    assert_eq!(replies.len(), sent.len(), "every message answered in round {round}");
    replies
        .iter()
        .map(|r| {
            let id = r.body["message_reference"]["message_id"].as_str().unwrap_or_default();
            r.at.duration_since(sent[id])
        })
        .collect()
}

async fn yardstick_burst(client: &reqwest::Client, url: &str) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for u in 0..USERS {
        let client = client.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            let body = serde_json::json!({"content": format!("yardstick {u}")}).to_string();
            let r = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            at.elapsed()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this with nothing: stay quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let sim = Sim::start().await;
        let dir = tempfile::tempdir().unwrap();
        let kb = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kb");
        let engine = Arc::new(Engine::open(&dir.path().join("cases.db"), &kb).await.unwrap());
        let cfg = DiscordConfig {
            token: Some(Token::new("sim-token")),
            api_base_url: Some(sim.base_url()),
            channels: vec![CHANNEL_ID],
            guild_id: Some(GUILD_ID),
            user_cooldown_secs: 0,
            channel_cooldown_secs: 0,
            ..Default::default()
        };
        let conv = Arc::new(qntcbot::discord::conversation(engine, &cfg));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(qntcbot::discord::run_until(cfg, conv, async {
            let _ = rx.await;
        }));
        sim.wait_for(T, |r| r.method == "PUT" && r.path.ends_with("/commands"))
            .await
            .expect("bot ready");

        let client = reqwest::Client::new();
        let url = format!("{}/api/v10/channels/{OTHER_CHANNEL_ID}/messages", sim.base_url());
        let rounds = if quick { 1 } else { ROUNDS };
        let mut bot = Vec::new();
        let mut yard = Vec::new();
        for round in 0..rounds + if quick { 0 } else { WARMUP_ROUNDS } {
            let b = bot_burst(&sim, round).await;
            let y = yardstick_burst(&client, &url).await;
            if quick || round >= WARMUP_ROUNDS {
                bot.extend(b);
                yard.extend(y);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        report(
            "reply latency, 50 messages from 50 users at once (MESSAGE_CREATE -> reply POST)",
            bot,
        );
        report("yardstick: 50 concurrent plain POSTs to the simulator", yard);
        let _ = tx.send(());
        let _ = tokio::time::timeout(T, task).await;
    });
}
