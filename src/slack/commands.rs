//! `/slack/commands`: the `/qntc` slash command.
//!
//! ```text
//! /qntc lookup X            /qntc case show N              /qntc stats [days]
//! /qntc explain X           /qntc case list [user U] [topic T] [status S] [days N]
//! /qntc help                /qntc case resolve N ENTRY     /qntc kb reload
//! ```
//! Answers are shown only to the person who asked, unless the command starts with `public`
//! or carries `--public`. Case and KB commands are for staff (the service checks).
//! An answer ready within [`INLINE_BUDGET`] is the HTTP response itself; a slower one (a KB
//! reload) is acknowledged at once and posted to the command's `response_url`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tracing::{info, warn};

use super::blocks::{self, clip, escape, plain_text, section};
use super::server::{json_response, unauthorized, verify};
use super::{Slack, views};
use crate::conversation::{Actor, CaseQuery, ConvError};

/// Slack waits 3 s for the acknowledgement; what is not ready by then goes to `response_url`.
pub const INLINE_BUDGET: Duration = Duration::from_millis(2500);
const LOOKUP_LIMIT: usize = 3;
const LIST_LIMIT: u32 = 20;

const HELP: &str = "*qntcbot* diagnoses IBM i QNTC problems. Commands:\n\
• `/qntc lookup X`: a KB entry, message id (CPDB053), error code (3401) or words\n\
• `/qntc explain X`: what an error code or message id means (3401, EACCES, CPFA0AD)\n\
• `/qntc stats [days]`: what broke lately\n\
• staff: `/qntc case show N`, `/qntc case list [user U] [topic T] [status S] [days N]`, `/qntc case resolve N ENTRY`, `/qntc kb reload`\n\
Answers are shown only to you; start with `public` (or add `--public`) to answer in the channel.";

/// The fields of a slash command the bot reads.
#[derive(Debug, Default, Clone)]
struct Form {
    text: String,
    user_id: String,
    user_name: String,
    response_url: Option<String>,
}

fn read_form(body: &[u8]) -> Form {
    let mut f = Form::default();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "text" => f.text = v.into_owned(),
            "user_id" => f.user_id = v.into_owned(),
            "user_name" => f.user_name = v.into_owned(),
            "response_url" => f.response_url = Some(v.into_owned()).filter(|u| !u.is_empty()),
            _ => {}
        }
    }
    f
}

/// What to show for a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub public: bool,
    pub text: String,
    pub blocks: Vec<Value>,
}

impl Shown {
    fn say(public: bool, text: &str) -> Shown {
        Shown {
            public,
            text: text.to_string(),
            blocks: vec![section(&clip(&escape(text), blocks::SECTION_MAX))],
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "response_type": if self.public { "in_channel" } else { "ephemeral" },
            "text": blocks::fallback(&self.text),
            "blocks": self.blocks,
        })
    }
}

pub async fn on_command(State(app): State<Arc<Slack>>, headers: HeaderMap, body: Bytes) -> Response {
    if verify(&app, "/slack/commands", &headers, &body).is_err() {
        return unauthorized();
    }
    let form = read_form(&body);
    let (tx, mut rx) = oneshot::channel::<Shown>();
    let worker = app.clone();
    let job = form.clone();
    app.tasks.spawn(async move {
        let shown = run(&worker, &job).await;
        // Too late for the HTTP response: post it to response_url instead.
        if let Err(shown) = tx.send(shown) {
            let Some(url) = &job.response_url else {
                warn!("a slow command had no response_url; its answer is lost");
                return;
            };
            if let Err(e) = worker.api.respond(url, &shown.to_json()).await {
                warn!(error = %e, "cannot post a command's answer to its response_url");
            }
        }
    });
    match tokio::time::timeout(INLINE_BUDGET, &mut rx).await {
        Ok(Ok(shown)) => json_response(&shown.to_json()),
        Ok(Err(_)) => json_response(&Shown::say(false, crate::conversation::APOLOGY).to_json()),
        Err(_) => {
            // Closing first makes the worker's send fail from now on, so the answer goes to
            // response_url exactly once; one that arrived just now is still answered here.
            rx.close();
            match rx.try_recv() {
                Ok(shown) => json_response(&shown.to_json()),
                Err(_) => StatusCode::OK.into_response(),
            }
        }
    }
}

/// Splits off the words asking for a public answer.
fn public_flag(text: &str) -> (bool, Vec<&str>) {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let mut public = false;
    words.retain(|w| {
        let flag = matches!(w.to_ascii_lowercase().as_str(), "--public" | "--in-channel");
        public |= flag;
        !flag
    });
    if words.first().is_some_and(|w| w.eq_ignore_ascii_case("public")) {
        public = true;
        words.remove(0);
    }
    (public, words)
}

/// A user as typed: `<@U123|name>`, `<@U123>`, `@U123` or `U123`.
fn user_id(word: &str) -> String {
    let w = word.trim_start_matches('<').trim_end_matches('>');
    let w = w.split('|').next().unwrap_or(w);
    w.trim_start_matches('@').to_string()
}

async fn run(app: &Slack, form: &Form) -> Shown {
    let (public, words) = public_flag(&form.text);
    let actor = || async {
        Actor {
            user_id: form.user_id.clone(),
            user_name: form.user_name.clone(),
            staff: app.staff.is_staff(&app.api, &form.user_id).await,
        }
    };
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let first = lower.first().map(String::as_str).unwrap_or("help");
    let rest = |n: usize| plain_text(&words.get(n..).unwrap_or_default().join(" "));
    let result: Result<Shown, ConvError> = match first {
        "lookup" => {
            let q = rest(1);
            if q.trim().is_empty() {
                Ok(Shown::say(
                    false,
                    "Usage: /qntc lookup X (a KB entry, message id, error code or words)",
                ))
            } else {
                Ok(lookup(app, &q, public).await)
            }
        }
        "explain" => {
            let code = rest(1);
            app.conv.explain(&code).map(|e| Shown {
                public,
                text: e.headline.clone(),
                blocks: views::explanation_blocks(&e),
            })
        }
        "case" | "cases" => {
            let by = actor().await;
            match lower.get(1).map(String::as_str) {
                Some("show") => match words.get(2).and_then(|n| n.trim_start_matches('#').parse::<i64>().ok()) {
                    Some(id) => app.conv.case(id, &by).await.map(|c| Shown {
                        public,
                        text: format!("Case #{}", c.id),
                        blocks: views::case_blocks(&c),
                    }),
                    None => Ok(Shown::say(false, "Usage: /qntc case show N")),
                },
                Some("list") => match case_query(&words[2..]) {
                    Ok(q) => app.conv.cases(&q, &by).await.map(|cs| Shown {
                        public,
                        text: format!("{} case(s)", cs.len()),
                        blocks: views::case_list_blocks(&cs),
                    }),
                    Err(usage) => Ok(Shown::say(false, &usage)),
                },
                Some("resolve") => {
                    let id = words.get(2).and_then(|n| n.trim_start_matches('#').parse::<i64>().ok());
                    match (id, words.get(3)) {
                        (Some(id), Some(entry)) => {
                            let entry = plain_text(entry);
                            app.conv.resolve(id, &entry, &by).await.map(|()| {
                                info!(case = id, by = %by.user_id, entry = %entry, "case resolved by command");
                                Shown::say(public, &format!("Case #{id} resolved with {entry}."))
                            })
                        }
                        _ => Ok(Shown::say(false, "Usage: /qntc case resolve N ENTRY")),
                    }
                }
                _ => Ok(Shown::say(
                    false,
                    "Usage: /qntc case show N | case list [...] | case resolve N ENTRY",
                )),
            }
        }
        "stats" => {
            let days = match words.get(1) {
                None => Some(30),
                Some(d) => d.parse::<u32>().ok().filter(|d| (1..=3650).contains(d)),
            };
            match days {
                Some(days) => app.conv.stats(days).await.map(|s| Shown {
                    public,
                    text: format!("Cases in the last {days} days"),
                    blocks: views::stats_blocks(&s, days),
                }),
                None => Ok(Shown::say(false, "Usage: /qntc stats [days], days from 1 to 3650")),
            }
        }
        "kb" => {
            if lower.get(1).map(String::as_str) == Some("reload") {
                let by = actor().await;
                app.conv.reload_kb(&by).await.map(|s| {
                    info!(by = %by.user_id, "KB reloaded: {s}");
                    Shown::say(false, &format!("Knowledge base reloaded: {s}"))
                })
            } else {
                Ok(Shown::say(false, "Usage: /qntc kb reload"))
            }
        }
        _ => Ok(Shown {
            public: false,
            text: "qntcbot commands".into(),
            blocks: vec![section(HELP)],
        }),
    };
    result.unwrap_or_else(|e| {
        if let ConvError::Internal(inner) = &e {
            warn!(error = %inner, command = first, "command failed");
        }
        // Refusals and errors go to the asker only.
        Shown::say(false, &e.shown())
    })
}

async fn lookup(app: &Slack, query: &str, public: bool) -> Shown {
    let answers = app.conv.lookup(query, LOOKUP_LIMIT).await;
    match answers.into_iter().next() {
        Some(a) => Shown {
            public,
            text: a.headline.clone(),
            blocks: blocks::answer_blocks(&a, None, &[]),
        },
        None => Shown::say(
            false,
            &format!("Nothing in the knowledge base matches \"{}\".", clip(query, 100)),
        ),
    }
}

/// `user U`, `topic T`, `status S`, `days N`, in any order.
fn case_query(words: &[&str]) -> Result<CaseQuery, String> {
    const USAGE: &str =
        "Usage: /qntc case list [user U] [topic T] [status open|answered|resolved|dismissed|wrong] [days N]";
    let mut q = CaseQuery {
        limit: LIST_LIMIT,
        ..CaseQuery::default()
    };
    let mut it = words.iter();
    while let Some(key) = it.next() {
        let Some(value) = it.next() else {
            return Err(USAGE.into());
        };
        match key.to_ascii_lowercase().as_str() {
            "user" => q.user_id = Some(user_id(value)),
            "topic" => q.topic = Some(plain_text(value)),
            "status" => q.status = Some(value.to_ascii_lowercase()),
            "days" => q.days = Some(value.parse().ok().filter(|d| (1..=3650).contains(d)).ok_or(USAGE)?),
            _ => return Err(USAGE.into()),
        }
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_flag_and_users() {
        assert_eq!(public_flag("lookup CPDB053"), (false, vec!["lookup", "CPDB053"]));
        assert_eq!(public_flag("public lookup CPDB053"), (true, vec!["lookup", "CPDB053"]));
        assert_eq!(
            public_flag("lookup --public CPDB053"),
            (true, vec!["lookup", "CPDB053"])
        );
        assert_eq!(
            public_flag("lookup public folder"),
            (false, vec!["lookup", "public", "folder"])
        );
        assert_eq!(user_id("<@U123|bob>"), "U123");
        assert_eq!(user_id("<@U123>"), "U123");
        assert_eq!(user_id("U123"), "U123");
    }

    #[test]
    fn case_queries() {
        let q = case_query(&["user", "<@U1|a>", "status", "Open", "days", "7", "topic", "smb"]).unwrap();
        assert_eq!(q.user_id.as_deref(), Some("U1"));
        assert_eq!(q.status.as_deref(), Some("open"));
        assert_eq!(
            (q.days, q.topic.as_deref(), q.limit),
            (Some(7), Some("smb"), LIST_LIMIT)
        );
        assert!(case_query(&["days", "0"]).is_err());
        assert!(case_query(&["days"]).is_err());
        assert!(case_query(&["colour", "red"]).is_err());
        assert!(case_query(&[]).is_ok());
    }

    #[test]
    fn form_fields() {
        let f = read_form(
            b"token=x&text=lookup+CPDB053+%26amp%3B&user_id=U1&user_name=bob&response_url=http%3A%2F%2F127.0.0.1%2Fr",
        );
        assert_eq!(f.text, "lookup CPDB053 &amp;");
        assert_eq!(
            (f.user_id.as_str(), f.response_url.as_deref()),
            ("U1", Some("http://127.0.0.1/r"))
        );
    }
}
