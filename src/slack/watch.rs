//! Messages in watched channels: gather the text (and shared text files), hand it to the
//! conversation service, post what it decides in the message's thread, report the outcome.

use std::sync::Arc;

use tracing::{debug, info, warn};

use super::Slack;
use super::blocks;
use super::events::{Callback, Event, FileRef, Msg};
use super::views;
use crate::conversation::{Actor, Delivery, Heard, Message, Origin, Reply};

/// At most this many files of one message are read.
const MAX_FILES: usize = 3;

pub async fn on_event(app: Arc<Slack>, cb: Callback) {
    let (m, edited, mention) = match cb.event {
        Event::Message(m) => (m, false, false),
        Event::Edit(m) => (m, true, false),
        Event::Mention(m) => (m, false, true),
        Event::Ignored(_) => return,
    };
    let team = cb.team_id.clone();
    let text = gather(&app, &m).await;
    let message = Message {
        origin: origin(&m, team.as_deref()),
        text,
        edited,
    };
    let heard = if app.cfg.watches(&m.channel) {
        app.conv.on_message(message).await
    } else if mention {
        // Asked by name where the bot does not watch: answered, privately.
        let by = Actor {
            user_id: m.user.clone(),
            user_name: String::new(),
            staff: false,
        };
        app.conv.on_request(message, &by, false).await
    } else {
        return;
    };
    match heard {
        Ok(Heard::Reply(r)) => send(&app, &m, r).await,
        Ok(Heard::Quiet(why)) => debug!(channel = %m.channel, ts = %m.ts, ?why, "staying quiet"),
        Err(e) => warn!(channel = %m.channel, ts = %m.ts, error = %e, "could not handle a message"),
    }
}

fn origin(m: &Msg, team: Option<&str>) -> Origin {
    Origin {
        workspace: m.team.clone().or_else(|| team.map(str::to_string)),
        channel: m.channel.clone(),
        thread: Some(m.reply_thread().to_string()),
        message_id: m.ts.clone(),
        message_link: None,
        user_id: m.user.clone(),
        user_name: String::new(),
    }
}

/// Posts an answer in the message's thread (or privately), then tells the service whether it
/// arrived: only a delivered answer counts as answered.
async fn send(app: &Slack, m: &Msg, r: Reply) {
    let buttons = views::buttons(&r.actions);
    let blocks = blocks::answer_blocks(&r.answer, Some(r.case), &buttons);
    let text = blocks::fallback(&r.answer.headline);
    let outcome = if r.public {
        match app
            .api
            .post_message(&m.channel, Some(m.reply_thread()), &text, &blocks)
            .await
        {
            Ok(ts) => {
                info!(case = r.case, channel = %m.channel, thread = %m.reply_thread(), "answered");
                Delivery::Sent {
                    channel: m.channel.clone(),
                    message_id: ts,
                }
            }
            Err(e) => {
                warn!(case = r.case, channel = %m.channel, error = %e, "answer not delivered");
                Delivery::Failed
            }
        }
    } else {
        match app
            .api
            .post_ephemeral(&m.channel, &m.user, Some(m.reply_thread()), &text, &blocks)
            .await
        {
            Ok(()) => Delivery::Private,
            Err(e) => {
                warn!(case = r.case, channel = %m.channel, error = %e, "private answer not delivered");
                Delivery::Failed
            }
        }
    };
    app.conv.delivered(r.ticket, outcome).await;
}

/// The message text plus its shared text files. Each file's declared size is checked before
/// anything is downloaded, and the download stops at the limit whatever the file claims.
async fn gather(app: &Slack, m: &Msg) -> String {
    let mut text = m.text.clone();
    let max = app.cfg.max_file_bytes;
    for f in m.files.iter().take(MAX_FILES) {
        let f = match complete(app, f).await {
            Some(f) => f,
            None => continue,
        };
        if !f.is_text() {
            debug!(file = %f.id, "not a text file; skipped");
            continue;
        }
        if f.size.is_some_and(|s| s > max) {
            info!(file = %f.id, size = ?f.size, max, "shared file over the size limit; not downloaded");
            continue;
        }
        let Some(url) = f.url() else {
            debug!(file = %f.id, "shared file without a download URL");
            continue;
        };
        match app.api.download(url, max).await {
            Ok(bytes) => {
                text.push_str("\n\n");
                // The same decoding as every other input (UTF-16/32 with a BOM, EBCDIC ...).
                text.push_str(&crate::input::decode(&bytes).1.0);
            }
            Err(e) => warn!(file = %f.id, error = %e, "cannot download a shared file"),
        }
    }
    text
}

/// Files shared with `file_access: check_file_info` carry only their id.
async fn complete(app: &Slack, f: &FileRef) -> Option<FileRef> {
    if f.file_access.as_deref() != Some("check_file_info") && f.url().is_some() {
        return Some(f.clone());
    }
    if f.id.is_empty() {
        return None;
    }
    match app.api.file_info(&f.id).await {
        Ok(v) => serde_json::from_value(v).ok(),
        Err(e) => {
            warn!(file = %f.id, error = %e, "files.info failed");
            None
        }
    }
}
