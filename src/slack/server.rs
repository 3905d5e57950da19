//! The three HTTP endpoints. Each request is verified before anything reads its body, and
//! acknowledged at once; the work it asks for runs as a counted background task.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracing::{debug, warn};

use super::Slack;
use super::events::{self, Event, Inbound};
use super::verify::Rejection;

pub fn router(app: Arc<Slack>) -> Router {
    Router::new()
        .route("/slack/events", post(on_events))
        .route("/slack/commands", post(super::commands::on_command))
        .route("/slack/interactivity", post(super::interact::on_interactivity))
        .with_state(app)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Is this a Slack retry of an earlier delivery (`X-Slack-Retry-Num`)?
fn is_retry(h: &HeaderMap) -> bool {
    header_str(h, "x-slack-retry-num").is_some_and(|n| n.trim() != "0")
}

/// Verifies the signature; on failure the 401 to send. Logged once per refusal, without
/// the body.
pub fn verify(app: &Slack, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejection> {
    let result = app.verifier.check(
        header_str(headers, "x-slack-request-timestamp"),
        header_str(headers, "x-slack-signature"),
        body,
        now_unix(),
    );
    if let Err(why) = result {
        warn!(
            path,
            reason = why.as_str(),
            bytes = body.len(),
            "refused an unverified Slack request"
        );
    }
    result
}

pub fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "").into_response()
}

pub fn json_response(v: &serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

async fn on_events(State(app): State<Arc<Slack>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(why) = verify(&app, "/slack/events", &headers, &body) {
        // A retry Slack re-sent with the same signature: the event id already holds it.
        if !(why == Rejection::Replayed && is_retry(&headers)) {
            return unauthorized();
        }
        debug!("a Slack retry repeated its signature; acknowledged, not acted on");
        return StatusCode::OK.into_response();
    }
    let Some(inbound) = events::parse(&body) else {
        warn!(bytes = body.len(), "a signed events request that is not JSON");
        return StatusCode::BAD_REQUEST.into_response();
    };
    match inbound {
        Inbound::UrlVerification { challenge } => json_response(&serde_json::json!({ "challenge": challenge })),
        Inbound::Other(kind) => {
            debug!(%kind, "event envelope ignored");
            StatusCode::OK.into_response()
        }
        Inbound::Callback(cb) => {
            if let Some(me) = cb.bot_users.first()
                && app.me().is_none()
            {
                app.set_me(me.clone());
            }
            let Some(keys) = dedupe_keys(&app, &cb) else {
                return StatusCode::OK.into_response();
            };
            if !app.recent.first_time(&keys, Instant::now()) {
                debug!(event = ?cb.event_id, retry = is_retry(&headers), "event already handled");
                return StatusCode::OK.into_response();
            }
            let worker = app.clone();
            app.tasks
                .spawn(async move { super::watch::on_event(worker, *cb).await });
            StatusCode::OK.into_response()
        }
    }
}

/// The keys under which this event counts as handled, or `None` when it is not acted on at
/// all (then it takes no key, so its `app_mention` twin is still answered).
fn dedupe_keys(app: &Slack, cb: &events::Callback) -> Option<Vec<String>> {
    let me = app.me();
    let mine = |user: &str| cb.bot_users.iter().any(|b| b == user) || me.as_deref() == Some(user);
    let (msg, twin_key) = match &cb.event {
        Event::Ignored(why) => {
            debug!(why, "event ignored");
            return None;
        }
        Event::Message(m) => (m, true),
        Event::Mention(m) => (m, true),
        Event::Edit(m) => (m, false),
    };
    if mine(&msg.user) {
        return None;
    }
    let watched = app.cfg.watches(&msg.channel);
    if !watched && !matches!(cb.event, Event::Mention(_)) {
        return None;
    }
    let mut keys = Vec::with_capacity(2);
    if let Some(id) = cb.event_id.as_deref().filter(|id| !id.is_empty()) {
        keys.push(format!("event:{id}"));
    }
    if twin_key {
        keys.push(format!("message:{}:{}", msg.channel, msg.ts));
    } else if keys.is_empty() {
        // An edit without an event id: one answer per version of the text.
        keys.push(format!("edit:{}:{}:{}", msg.channel, msg.ts, fingerprint(&msg.text)));
    }
    Some(keys)
}

fn fingerprint(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}
