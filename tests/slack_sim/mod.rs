//! A local fake of Slack for the tests: the Web API (records every call, answers like Slack,
//! can be scripted to fail or stall), private file downloads, `response_url`s, and a client
//! that signs requests to the bot the way Slack does. Plus a harness that runs the release
//! binary `qntcbot slack` against it.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const SECRET: &str = "test-signing-secret";
pub const TOKEN: &str = "xoxb-test-token";
pub const BOT_USER: &str = "UBOT";
pub const STAFF: &str = "USTAFF";
pub const GROUP_MEMBER: &str = "UGROUPIE";
pub const TEAM: &str = "T0001";
pub const T: Duration = Duration::from_secs(20);

/// One call the bot made to the fake.
#[derive(Debug, Clone)]
pub struct Call {
    /// Web API method (`chat.postMessage`), `file:<name>` or `response:<id>`.
    pub method: String,
    pub auth: Option<String>,
    /// JSON body, or the form fields as a JSON object.
    pub body: Value,
    pub at: Instant,
    /// The answer has been sent back (a stalled call is recorded before it completes).
    pub done: bool,
    /// The `ts` the fake gave a posted message.
    pub ts: Option<String>,
}

/// What the fake answers to the next call of a method instead of success.
#[derive(Debug, Clone)]
pub enum Script {
    Status(u16, Option<u64>),
    SlackError(&'static str),
    Stall(Duration),
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    scripts: HashMap<String, VecDeque<Script>>,
    files: HashMap<String, Vec<u8>>,
}

#[derive(Clone, Default)]
pub struct Fake {
    inner: Arc<Mutex<Inner>>,
    ts: Arc<AtomicU64>,
    pub base: String,
}

impl Fake {
    pub async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fake = Fake {
            base: format!("http://{addr}"),
            ts: Arc::new(AtomicU64::new(1)),
            ..Fake::default()
        };
        fake.base = format!("http://{addr}");
        let app = Router::new()
            .route("/api/{method}", post(api))
            .route("/files/{name}", get(file))
            .route("/response/{id}", post(response))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn api_base(&self) -> String {
        format!("{}/api/", self.base)
    }

    pub fn script(&self, method: &str, s: Script) {
        self.inner
            .lock()
            .unwrap()
            .scripts
            .entry(method.to_string())
            .or_default()
            .push_back(s);
    }

    pub fn add_file(&self, name: &str, bytes: &[u8]) -> String {
        self.inner.lock().unwrap().files.insert(name.into(), bytes.to_vec());
        format!("{}/files/{name}", self.base)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == method).collect()
    }

    /// Replies posted (completed `chat.postMessage` calls) in `channel`.
    pub fn posts_in(&self, channel: &str) -> Vec<Call> {
        self.calls_of("chat.postMessage")
            .into_iter()
            .filter(|c| c.done && c.body["channel"] == channel)
            .collect()
    }

    pub async fn wait_for(&self, max: Duration, f: impl Fn(&Call) -> bool) -> Option<Call> {
        let end = Instant::now() + max;
        loop {
            if let Some(c) = self.calls().into_iter().find(|c| f(c)) {
                return Some(c);
            }
            if Instant::now() > end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn record(&self, method: &str, auth: Option<String>, body: Value, done: bool) -> usize {
        let mut g = self.inner.lock().unwrap();
        g.calls.push(Call {
            method: method.into(),
            auth,
            body,
            at: Instant::now(),
            done,
            ts: None,
        });
        g.calls.len() - 1
    }

    fn finish(&self, i: usize) {
        self.inner.lock().unwrap().calls[i].done = true;
    }

    fn next_script(&self, method: &str) -> Option<Script> {
        self.inner
            .lock()
            .unwrap()
            .scripts
            .get_mut(method)
            .and_then(VecDeque::pop_front)
    }
}

fn body_value(headers: &HeaderMap, body: &[u8]) -> Value {
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/json") {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    } else {
        let map: serde_json::Map<String, Value> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(map)
    }
}

async fn api(State(fake): State<Fake>, Path(method): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let v = body_value(&headers, &body);
    let i = fake.record(&method, auth.clone(), v.clone(), false);
    if auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        fake.finish(i);
        return axum::Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    match fake.next_script(&method) {
        Some(Script::Status(code, retry_after)) => {
            fake.finish(i);
            // A refused call is not a delivered one.
            fake.inner.lock().unwrap().calls[i].method = format!("{method} (refused {code})");
            let mut r = (StatusCode::from_u16(code).unwrap(), "").into_response();
            if let Some(s) = retry_after {
                r.headers_mut().insert("retry-after", s.to_string().parse().unwrap());
            }
            return r;
        }
        Some(Script::SlackError(e)) => {
            fake.finish(i);
            fake.inner.lock().unwrap().calls[i].method = format!("{method} (error {e})");
            return axum::Json(json!({"ok": false, "error": e})).into_response();
        }
        Some(Script::Stall(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let answer = match method.as_str() {
        "chat.postMessage" => {
            let n = fake.ts.fetch_add(1, Ordering::SeqCst);
            let ts = format!("1700000000.{n:06}");
            fake.inner.lock().unwrap().calls[i].ts = Some(ts.clone());
            json!({"ok": true, "channel": v["channel"], "ts": ts, "message": {"text": v["text"]}})
        }
        "chat.update" => json!({"ok": true, "channel": v["channel"], "ts": v["ts"]}),
        "chat.postEphemeral" => json!({"ok": true, "message_ts": "1700000001.000001"}),
        "chat.delete" => json!({"ok": true, "channel": v["channel"], "ts": v["ts"]}),
        "auth.test" => json!({"ok": true, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": TEAM}),
        "usergroups.users.list" => json!({"ok": true, "users": [GROUP_MEMBER]}),
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    fake.finish(i);
    axum::Json(answer).into_response()
}

async fn file(State(fake): State<Fake>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let i = fake.record(&format!("file:{name}"), auth.clone(), Value::Null, true);
    let _ = i;
    if auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return (StatusCode::FORBIDDEN, "").into_response();
    }
    match fake.inner.lock().unwrap().files.get(&name) {
        Some(b) => b.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "").into_response(),
    }
}

async fn response(State(fake): State<Fake>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let v = body_value(&headers, &body);
    fake.record(&format!("response:{id}"), None, v, true);
    "ok".into_response()
}

// ---------------------------------------------------------------------------------------
// Signing client

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Headers Slack would send with `body`, signed at `ts`.
pub fn signed(body: &[u8], ts: i64) -> Vec<(&'static str, String)> {
    let ts = ts.to_string();
    vec![
        ("x-slack-request-timestamp", ts.clone()),
        ("x-slack-signature", qntcbot::slack::verify::sign(SECRET, &ts, body)),
    ]
}

pub struct Resp {
    pub status: u16,
    pub body: String,
    pub took: Duration,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub fn new(base: String) -> Client {
        Client {
            http: reqwest::Client::new(),
            base,
        }
    }

    pub async fn raw(&self, path: &str, ctype: &str, body: Vec<u8>, headers: Vec<(&str, String)>) -> Resp {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", ctype)
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let t = Instant::now();
        let r = req.send().await.expect("bot reachable");
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        Resp {
            status,
            body,
            took: t.elapsed(),
        }
    }

    pub async fn event(&self, body: &Value) -> Resp {
        let b = body.to_string().into_bytes();
        let h = signed(&b, now());
        self.raw("/slack/events", "application/json", b, h).await
    }

    pub async fn command(&self, user: &str, text: &str, response_url: &str) -> Resp {
        let b = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", "legacy")
            .append_pair("team_id", TEAM)
            .append_pair("channel_id", "C1")
            .append_pair("user_id", user)
            .append_pair("user_name", &user.to_lowercase())
            .append_pair("command", "/qntc")
            .append_pair("text", text)
            .append_pair("response_url", response_url)
            .append_pair("trigger_id", "1.2.3")
            .finish()
            .into_bytes();
        let h = signed(&b, now());
        self.raw("/slack/commands", "application/x-www-form-urlencoded", b, h)
            .await
    }

    pub async fn press(&self, payload: &Value) -> Resp {
        let b = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes();
        let h = signed(&b, now());
        self.raw("/slack/interactivity", "application/x-www-form-urlencoded", b, h)
            .await
    }
}

static EVENT_SEQ: AtomicU64 = AtomicU64::new(1);

/// A fresh message `ts`.
pub fn next_ts() -> String {
    format!("1800000000.{:06}", EVENT_SEQ.fetch_add(1, Ordering::SeqCst))
}

pub fn callback(event: Value) -> Value {
    let n = EVENT_SEQ.fetch_add(1, Ordering::SeqCst);
    json!({
        "token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
        "event_id": format!("Ev{n:08}"), "event_time": now(),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": true}],
        "event": event,
    })
}

/// A `message` event; Slack escapes `&`, `<` and `>` in the text.
pub fn message(channel: &str, user: &str, ts: &str, text: &str) -> Value {
    callback(json!({
        "type": "message", "channel": channel, "user": user, "ts": ts, "event_ts": ts,
        "text": slack_escape(text), "channel_type": "channel", "team": TEAM,
    }))
}

pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A `block_actions` press of the button with `action_id` on a posted answer.
pub fn press_payload(
    user: &str,
    channel: &str,
    post: &Call,
    posted_ts: &str,
    label: &str,
    response_url: &str,
) -> Value {
    let button = post.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .find(|e| e["text"]["text"] == label)
        .unwrap_or_else(|| panic!("no {label} button in {}", post.body));
    json!({
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": user, "username": user.to_lowercase(), "team_id": TEAM},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": posted_ts, "channel_id": channel, "is_ephemeral": false, "thread_ts": post.body["thread_ts"]},
        "channel": {"id": channel, "name": "support"},
        "message": {"type": "message", "ts": posted_ts, "thread_ts": post.body["thread_ts"], "bot_id": "BBOT", "text": post.body["text"], "blocks": post.body["blocks"]},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "qntc_actions", "value": button["value"], "text": button["text"], "action_ts": "1.2"}],
    })
}

// ---------------------------------------------------------------------------------------
// The release binary

/// Log lines without terminal colour codes.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub struct Bot {
    pub child: Child,
    pub client: Client,
    pub fake: Fake,
    pub dir: tempfile::TempDir,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Bot {
    /// Starts `qntcbot slack` with `extra` appended to its `[slack]` table.
    pub async fn start(extra: &str) -> Bot {
        let fake = Fake::start().await;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("qntcbot.toml");
        std::fs::write(
            &config,
            format!(
                "[slack]\nlisten = \"127.0.0.1:0\"\napi_base_url = \"{}\"\nstaff_users = [\"{STAFF}\"]\n{extra}\n",
                fake.api_base()
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_qntcbot"))
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(dir.path().join("cases.db"))
            .arg("--kb")
            .arg(repo_path("kb"))
            .args(["-v", "slack"])
            .env("QNTCBOT_SLACK_BOT_TOKEN", TOKEN)
            .env("QNTCBOT_SLACK_SIGNING_SECRET", SECRET)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the release binary starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                if let Some(i) = line.find("addr=") {
                    let addr: String = line[i + 5..].split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(T))
            .await
            .unwrap()
            .unwrap_or_else(|_| panic!("the bot never said where it listens: {:?}", log.lock().unwrap()));
        Bot {
            child,
            client: Client::new(format!("http://{addr}")),
            fake,
            dir,
            log,
        }
    }

    pub fn log_has(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// `qntcbot cases list --json` on the bot's database.
    pub fn cases(&self) -> Vec<Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_qntcbot"))
            .arg("--db")
            .arg(self.dir.path().join("cases.db"))
            .arg("--kb")
            .arg(repo_path("kb"))
            .args(["cases", "list", "--json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("cases list --json: {}", String::from_utf8_lossy(&out.stderr)));
        match v {
            Value::Array(a) => a,
            Value::Object(ref o) if o.contains_key("cases") => o["cases"].as_array().cloned().unwrap_or_default(),
            other => panic!("unexpected cases list output {other}"),
        }
    }

    pub fn case(&self, id: i64) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_qntcbot"))
            .arg("--db")
            .arg(self.dir.path().join("cases.db"))
            .arg("--kb")
            .arg(repo_path("kb"))
            .args(["cases", "show", &id.to_string(), "--json"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("cases show: {}", String::from_utf8_lossy(&out.stderr)))
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code and how long it took.
    pub fn terminate(&mut self) -> (Option<i32>, Duration) {
        let t = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s.code(), t.elapsed());
            }
            if t.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                return (None, t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
