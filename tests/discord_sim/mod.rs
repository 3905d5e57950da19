//! A local Discord for tests: the REST API (as an axum server that records every request) and
//! the gateway (a websocket that says HELLO, answers IDENTIFY with READY, acknowledges
//! heartbeats and forwards events the test injects). The real serenity + poise client connects
//! to it through `api_base_url`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::sync::{Mutex as AsyncMutex, Notify, mpsc};

pub const APP_ID: u64 = 110_000_000_000_000_001;
pub const BOT_ID: u64 = APP_ID;
pub const GUILD_ID: u64 = 220_000_000_000_000_002;
pub const CHANNEL_ID: u64 = 330_000_000_000_000_003;
pub const OTHER_CHANNEL_ID: u64 = 330_000_000_000_000_004;
pub const USER_ID: u64 = 440_000_000_000_000_004;
pub const STAFF_ROLE: u64 = 550_000_000_000_000_005;
const TIMESTAMP: &str = "2026-01-01T00:00:00.000000+00:00";

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub at: Instant,
    /// Status the simulator answered with.
    pub status: u16,
    /// The JSON it answered with (`Null` for none), e.g. the posted message with its id.
    pub response: Value,
}

/// Something the simulator does to matching REST requests instead of (or before) answering.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// 429 with `retry_after` (seconds) in the JSON body and the `Retry-After` header.
    RateLimited(f64),
    /// This status with a Discord-style JSON error body.
    Status(u16),
    /// Answer normally, but only after this long.
    Delay(Duration),
}

#[derive(Debug, Clone)]
struct Fault {
    method: String,
    path_contains: String,
    kind: FaultKind,
    times: usize,
}

struct Inner {
    port: u16,
    requests: std::sync::Mutex<Vec<Req>>,
    /// Gateway frames the client sent (IDENTIFY, heartbeats...).
    frames: std::sync::Mutex<Vec<Value>>,
    changed: Notify,
    events_tx: mpsc::UnboundedSender<(String, Value)>,
    events_rx: AsyncMutex<mpsc::UnboundedReceiver<(String, Value)>>,
    files: std::sync::Mutex<HashMap<String, Vec<u8>>>,
    /// Served this much later than asked (per file name).
    slow_files: std::sync::Mutex<HashMap<String, Duration>>,
    next_id: AtomicU64,
    faults: std::sync::Mutex<Vec<Fault>>,
    /// Every REST request as it arrives (before any delay), for "is it in flight?" checks.
    arrivals: std::sync::Mutex<Vec<Req>>,
}

#[derive(Clone)]
pub struct Sim(Arc<Inner>);

impl Sim {
    pub async fn start() -> Sim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            port,
            requests: Default::default(),
            frames: Default::default(),
            changed: Notify::new(),
            events_tx,
            events_rx: AsyncMutex::new(events_rx),
            files: Default::default(),
            slow_files: Default::default(),
            next_id: AtomicU64::new(900_000_000_000_000_000),
            faults: Default::default(),
            arrivals: Default::default(),
        });
        let app = Router::new()
            .route("/gateway", any(gateway))
            .fallback(rest)
            .with_state(inner.clone());
        tokio::spawn(async move {
            // Like Discord's own servers: a small frame is sent at once, not held back (Nagle)
            // until the client's delayed ACK, which stalled bursts of events by 40 ms.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        Sim(inner)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }

    pub fn next_id(&self) -> u64 {
        self.0.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.0.requests.lock().unwrap().clone()
    }

    pub fn frames(&self) -> Vec<Value> {
        self.0.frames.lock().unwrap().clone()
    }

    /// The next `times` requests with this method whose path contains `path_contains` get
    /// `kind` instead of the normal answer.
    pub fn fault(&self, method: &str, path_contains: &str, kind: FaultKind, times: usize) {
        self.0.faults.lock().unwrap().push(Fault {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            kind,
            times,
        });
    }

    /// Waits (bounded) for a request matching `pred` to arrive, answered or not.
    pub async fn wait_arrival(&self, timeout: Duration, pred: impl Fn(&Req) -> bool) -> Option<Req> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.0.changed.notified();
            if let Some(r) = self.0.arrivals.lock().unwrap().iter().find(|r| pred(r)) {
                return Some(r.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Serves the file `name` only after `delay`.
    pub fn slow_file(&self, name: &str, delay: Duration) {
        self.0.slow_files.lock().unwrap().insert(name.to_string(), delay);
    }

    pub fn count(&self, pred: impl Fn(&Req) -> bool) -> usize {
        self.0.requests.lock().unwrap().iter().filter(|r| pred(r)).count()
    }

    /// Waits (bounded) for the first recorded request matching `pred`.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&Req) -> bool) -> Option<Req> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.0.changed.notified();
            if let Some(r) = self.0.requests.lock().unwrap().iter().find(|r| pred(r)) {
                return Some(r.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// How many requests the simulator has received so far.
    pub fn request_count(&self) -> usize {
        self.0.requests.lock().unwrap().len()
    }

    /// Waits until `n` of the requests received after the first `from` match `pred`, looking at
    /// each request once (a burst of waits that rescanned the whole log would cost the bot
    /// under test CPU time in a benchmark).
    pub async fn wait_for_n(&self, from: usize, n: usize, timeout: Duration, pred: impl Fn(&Req) -> bool) -> Vec<Req> {
        let deadline = Instant::now() + timeout;
        let mut seen = from;
        let mut found = Vec::new();
        loop {
            let notified = self.0.changed.notified();
            {
                let log = self.0.requests.lock().unwrap();
                found.extend(log.iter().skip(seen).filter(|r| pred(r)).cloned());
                seen = log.len();
            }
            if found.len() >= n {
                return found;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return found;
            };
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Serves `bytes` at a URL for an attachment.
    pub fn add_file(&self, name: &str, bytes: &[u8]) -> String {
        self.0.files.lock().unwrap().insert(name.to_string(), bytes.to_vec());
        format!("{}/files/{name}", self.base_url())
    }

    pub fn dispatch(&self, t: &str, d: Value) {
        self.0.events_tx.send((t.to_string(), d)).unwrap();
    }

    /// Injects MESSAGE_CREATE; returns the message id.
    pub fn message_create(&self, channel: u64, author: u64, content: &str, attachments: Vec<Value>) -> u64 {
        let id = self.next_id();
        self.dispatch(
            "MESSAGE_CREATE",
            message_json(id, channel, user_json(author, false), content, attachments),
        );
        id
    }

    pub fn message_update(&self, id: u64, channel: u64, author: u64, content: &str) {
        self.dispatch(
            "MESSAGE_UPDATE",
            message_json(id, channel, user_json(author, false), content, vec![]),
        );
    }

    pub fn attachment(&self, name: &str, bytes: &[u8]) -> Value {
        let url = self.add_file(name, bytes);
        json!({
            "id": self.next_id().to_string(), "filename": name, "size": bytes.len(),
            "url": url, "proxy_url": url, "content_type": "text/plain; charset=utf-8"
        })
    }

    /// Injects INTERACTION_CREATE for `/qntc <path...>` with `options` (name, type, value) on
    /// the innermost subcommand. `kind` 2 = command, 4 = autocomplete. Returns the interaction
    /// id; its token is `tok-<id>`.
    pub fn slash(&self, kind: u8, path: &[&str], options: Vec<Value>, user: u64, roles: &[u64], channel: u64) -> u64 {
        let mut inner = options;
        for (i, name) in path.iter().enumerate().rev() {
            let t = if i == path.len() - 1 { 1 } else { 2 };
            inner = vec![json!({"name": name, "type": t, "options": inner})];
        }
        let data = json!({"id": "600000000000000006", "name": "qntc", "type": 1, "options": inner});
        self.interaction(kind, data, None, user, roles, channel)
    }

    pub fn button(&self, custom_id: &str, message: Value, user: u64, roles: &[u64], channel: u64) -> u64 {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.interaction(3, data, Some(message), user, roles, channel)
    }

    /// Injects INTERACTION_CREATE with arbitrary `data` (e.g. a context-menu command).
    pub fn interaction_raw(&self, kind: u8, data: Value, user: u64, roles: &[u64], channel: u64) -> u64 {
        self.interaction(kind, data, None, user, roles, channel)
    }

    fn interaction(
        &self,
        kind: u8,
        data: Value,
        message: Option<Value>,
        user: u64,
        roles: &[u64],
        channel: u64,
    ) -> u64 {
        let id = self.next_id();
        let mut v = json!({
            "id": id.to_string(), "application_id": APP_ID.to_string(), "type": kind, "data": data,
            "guild_id": GUILD_ID.to_string(), "channel_id": channel.to_string(),
            "channel": {"id": channel.to_string(), "type": 0},
            "member": member_json(user, roles), "token": format!("tok-{id}"), "version": 1,
            "app_permissions": "0", "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "context": 0, "attachment_size_limit": 10485760
        });
        if let Some(m) = message {
            v["message"] = m;
        }
        self.dispatch("INTERACTION_CREATE", v);
        id
    }
}

pub fn user_json(id: u64, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": format!("user{}", id % 1000), "discriminator": "0",
           "global_name": null, "avatar": null, "bot": bot})
}

pub fn member_json(user: u64, roles: &[u64]) -> Value {
    json!({
        "user": user_json(user, false), "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "joined_at": TIMESTAMP, "deaf": false, "mute": false, "flags": 0, "pending": false,
        "permissions": "0", "guild_id": GUILD_ID.to_string()
    })
}

pub fn message_json(id: u64, channel: u64, author: Value, content: &str, attachments: Vec<Value>) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel.to_string(), "guild_id": GUILD_ID.to_string(),
        "author": author, "content": content, "timestamp": TIMESTAMP, "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": attachments, "embeds": [], "pinned": false, "type": 0
    })
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (status, [("content-type", "application/json")], v.to_string()).into_response()
}

async fn rest(State(s): State<Arc<Inner>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    s.arrivals.lock().unwrap().push(Req {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        at: Instant::now(),
        status: 0,
        response: Value::Null,
    });
    s.changed.notify_waiters();
    let fault = {
        let mut faults = s.faults.lock().unwrap();
        let hit = faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method.as_str() && path.contains(&f.path_contains));
        hit.map(|f| {
            f.times -= 1;
            f.kind.clone()
        })
    };
    if let Some(name) = path.strip_prefix("/files/") {
        let delay = s.slow_files.lock().unwrap().get(name).copied();
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
    }
    let resp = match fault {
        Some(FaultKind::RateLimited(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("content-type", "application/json".to_string()),
                ("retry-after", format!("{secs}")),
            ],
            json!({"message": "You are being rate limited.", "retry_after": secs, "global": false}).to_string(),
        )
            .into_response(),
        Some(FaultKind::Status(code)) => json_response(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            json!({"message": "simulated failure", "code": 0}),
        ),
        Some(FaultKind::Delay(d)) => {
            tokio::time::sleep(d).await;
            route(&s, &method, &path, &body)
        }
        None => route(&s, &method, &path, &body),
    };
    let (parts, resp_body) = resp.into_parts();
    let resp_bytes = axum::body::to_bytes(resp_body, usize::MAX).await.unwrap_or_default();
    s.requests.lock().unwrap().push(Req {
        method: method.to_string(),
        path,
        body,
        at: Instant::now(),
        status: parts.status.as_u16(),
        response: serde_json::from_slice(&resp_bytes).unwrap_or(Value::Null),
    });
    s.changed.notify_waiters();
    Response::from_parts(parts, axum::body::Body::from(resp_bytes))
}

fn route(s: &Inner, method: &Method, path: &str, body: &Value) -> Response {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ws = format!("ws://127.0.0.1:{}/gateway", s.port);
    let new_id = || s.next_id.fetch_add(1, Ordering::Relaxed);
    let reply_message = |channel: &str| {
        let channel = channel.parse::<u64>().unwrap_or(CHANNEL_ID);
        let content = body.get("content").and_then(Value::as_str).unwrap_or("");
        json_response(
            StatusCode::OK,
            message_json(new_id(), channel, user_json(BOT_ID, true), content, vec![]),
        )
    };
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["files", name]) => match s.files.lock().unwrap().get(*name) {
            Some(b) => (StatusCode::OK, b.clone()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        ("GET", ["api", "v10", "gateway"]) => json_response(StatusCode::OK, json!({"url": ws})),
        ("GET", ["api", "v10", "gateway", "bot"]) => json_response(
            StatusCode::OK,
            json!({"url": ws, "shards": 1,
                   "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}),
        ),
        ("GET", ["api", "v10", "users", "@me"]) => json_response(StatusCode::OK, user_json(BOT_ID, true)),
        ("PUT", ["api", "v10", "applications", _, "commands"])
        | ("PUT", ["api", "v10", "applications", _, "guilds", _, "commands"]) => {
            let cmds: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut c| {
                    c["id"] = json!(new_id().to_string());
                    c["application_id"] = json!(APP_ID.to_string());
                    c["version"] = json!("1");
                    c["default_member_permissions"] = Value::Null;
                    if c.get("type").is_none() {
                        c["type"] = json!(1);
                    }
                    if c.get("description").is_none() {
                        c["description"] = json!("");
                    }
                    c
                })
                .collect();
            json_response(StatusCode::OK, Value::Array(cmds))
        }
        ("POST", ["api", "v10", "channels", c, "messages"]) => reply_message(c),
        ("POST", ["api", "v10", "channels", c, "messages", _, "threads"]) => json_response(
            StatusCode::CREATED,
            json!({"id": new_id().to_string(), "type": 11, "guild_id": GUILD_ID.to_string(), "parent_id": c,
                   "name": body.get("name").cloned().unwrap_or(json!("thread"))}),
        ),
        ("DELETE", ["api", "v10", "channels", _, "messages", _]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["api", "v10", "interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("GET" | "PATCH", ["api", "v10", "webhooks", _, _, "messages", _]) => reply_message(""),
        ("POST", ["api", "v10", "webhooks", _, _]) => reply_message(""),
        ("DELETE", ["api", "v10", "webhooks", _, _, "messages", _]) => StatusCode::NO_CONTENT.into_response(),
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"message": "simulator: unknown route", "code": 0}),
        ),
    }
}

async fn gateway(State(s): State<Arc<Inner>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| connection(s, socket))
}

async fn send(socket: &mut WebSocket, v: Value) -> bool {
    socket.send(WsMessage::Text(v.to_string().into())).await.is_ok()
}

async fn connection(s: Arc<Inner>, mut socket: WebSocket) {
    if !send(&mut socket, json!({"op": 10, "d": {"heartbeat_interval": 41250}})).await {
        return;
    }
    let mut seq: u64 = 0;
    let mut ready = false;
    // One live connection at a time owns the event queue; a reconnect takes it over.
    let mut events = s.events_rx.lock().await;
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { break };
                let WsMessage::Text(text) = msg else {
                    if matches!(msg, WsMessage::Close(_)) { break }
                    continue;
                };
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                s.frames.lock().unwrap().push(frame.clone());
                s.changed.notify_waiters();
                match frame["op"].as_u64() {
                    Some(1) => { send(&mut socket, json!({"op": 11})).await; }
                    Some(2) => {
                        seq += 1;
                        let d = json!({
                            "v": 10, "user": user_json(BOT_ID, true),
                            "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                            "session_id": "sim-session", "resume_gateway_url": format!("ws://127.0.0.1:{}/gateway", s.port),
                            "shard": [0, 1], "application": {"id": APP_ID.to_string(), "flags": 0}
                        });
                        send(&mut socket, json!({"op": 0, "t": "READY", "s": seq, "d": d})).await;
                        ready = true;
                    }
                    Some(6) => {
                        seq += 1;
                        send(&mut socket, json!({"op": 0, "t": "RESUMED", "s": seq, "d": {}})).await;
                        ready = true;
                    }
                    _ => {}
                }
            }
            ev = events.recv(), if ready => {
                let Some((t, d)) = ev else { break };
                seq += 1;
                if !send(&mut socket, json!({"op": 0, "t": t, "s": seq, "d": d})).await { break }
            }
        }
    }
}

#[cfg(test)]
mod shape {
    //! The JSON the simulator sends must be what serenity accepts.
    // The benchmark that includes this file compiles it without a test harness, where the
    // #[test] below (and so these imports) disappear.
    #![allow(unused_imports)]
    use super::*;
    use poise::serenity_prelude as serenity;

    #[test]
    fn payloads_deserialise_into_serenity_types() {
        let m = message_json(1, CHANNEL_ID, user_json(USER_ID, false), "hi", vec![]);
        serde_json::from_value::<serenity::Message>(m.clone()).unwrap();
        serde_json::from_value::<serenity::Member>(member_json(USER_ID, &[STAFF_ROLE])).unwrap();
    }
}
