//! `/slack/interactivity`: presses of the answer buttons (`block_actions`). Acknowledged at
//! once; the service decides who may do what, and its verdict is shown by editing the answer,
//! deleting it, or telling the presser privately.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::server::{unauthorized, verify};
use super::{Slack, blocks, views};
use crate::conversation::{Actor, ConvError, Press, Shown};

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: Id,
    channel: Id,
    container: Container,
    message: Option<MessageRef>,
    actions: Vec<ActionRef>,
    response_url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Id {
    id: String,
    username: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Container {
    message_ts: Option<String>,
    channel_id: Option<String>,
    thread_ts: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct MessageRef {
    ts: Option<String>,
    thread_ts: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ActionRef {
    value: Option<String>,
    action_id: String,
}

/// A press, reduced to what the service needs and where to answer.
struct Pressed {
    press: Press,
    channel: String,
    message_ts: String,
    thread_ts: Option<String>,
    response_url: Option<String>,
}

pub async fn on_interactivity(State(app): State<Arc<Slack>>, headers: HeaderMap, body: Bytes) -> Response {
    if verify(&app, "/slack/interactivity", &headers, &body).is_err() {
        return unauthorized();
    }
    let Some(raw) = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(p) = serde_json::from_str::<Payload>(&raw) else {
        warn!("a signed interactivity payload that is not readable");
        return StatusCode::BAD_REQUEST.into_response();
    };
    if p.kind != "block_actions" {
        debug!(kind = %p.kind, "interactivity payload ignored");
        return StatusCode::OK.into_response();
    }
    let Some(action) = p.actions.first() else {
        return StatusCode::OK.into_response();
    };
    let channel = p
        .container
        .channel_id
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| p.channel.id.clone());
    let message_ts = p
        .container
        .message_ts
        .clone()
        .or_else(|| p.message.as_ref().and_then(|m| m.ts.clone()))
        .unwrap_or_default();
    let thread_ts = p
        .container
        .thread_ts
        .clone()
        .or_else(|| p.message.as_ref().and_then(|m| m.thread_ts.clone()));
    let pressed = Pressed {
        press: Press {
            token: action.value.clone().unwrap_or_default(),
            by: Actor {
                user_id: p.user.id.clone(),
                user_name: p.user.username.clone().or(p.user.name.clone()).unwrap_or_default(),
                staff: false,
            },
            channel: channel.clone(),
            message_id: message_ts.clone(),
        },
        channel,
        message_ts,
        thread_ts,
        response_url: p.response_url.clone(),
    };
    debug!(action = %action.action_id, user = %p.user.id, "button pressed");
    let worker = app.clone();
    app.tasks.spawn(async move { on_press(worker, pressed).await });
    StatusCode::OK.into_response()
}

async fn on_press(app: Arc<Slack>, mut p: Pressed) {
    p.press.by.staff = app.staff.is_staff(&app.api, &p.press.by.user_id).await;
    let user = p.press.by.user_id.clone();
    match app.conv.on_action(&p.press).await {
        Ok(Shown::Notice(n)) => tell(&app, &p, &n.to_string(), &[]).await,
        Ok(Shown::Private(view)) => {
            let b = views::view_blocks(&view);
            tell(&app, &p, &view.answer.headline, &b).await;
        }
        Ok(Shown::Update(view)) => {
            let b = views::view_blocks(&view);
            let text = blocks::fallback(&view.answer.headline);
            if let Err(e) = app.api.update(&p.channel, &p.message_ts, &text, &b).await {
                warn!(error = %e, case = view.case, "cannot update the answer; showing it privately");
                tell(&app, &p, &view.answer.headline, &b).await;
            }
        }
        Ok(Shown::Remove(n)) => {
            if let Err(e) = app.api.delete(&p.channel, &p.message_ts).await {
                warn!(error = %e, "cannot delete a dismissed answer");
            }
            info!(by = %user, "answer dismissed");
            tell(&app, &p, &n.to_string(), &[]).await;
        }
        Err(e) => {
            if let ConvError::Internal(inner) = &e {
                warn!(error = %inner, "button press failed");
            }
            tell(&app, &p, &e.shown(), &[]).await;
        }
    }
}

/// Tells the presser privately: `chat.postEphemeral`, or the press's `response_url` when that
/// fails (a channel the bot has left, for instance).
async fn tell(app: &Slack, p: &Pressed, text: &str, b: &[Value]) {
    let text = blocks::fallback(text);
    let user = &p.press.by.user_id;
    let thread = p.thread_ts.as_deref();
    match app.api.post_ephemeral(&p.channel, user, thread, &text, b).await {
        Ok(()) => {}
        Err(e) => {
            let Some(url) = &p.response_url else {
                warn!(error = %e, "cannot tell the user privately");
                return;
            };
            let mut body = json!({"response_type": "ephemeral", "replace_original": false, "text": text});
            if !b.is_empty() {
                body["blocks"] = json!(b);
            }
            if let Err(e2) = app.api.respond(url, &body).await {
                warn!(error = %e, fallback = %e2, "cannot tell the user privately");
            }
        }
    }
}
