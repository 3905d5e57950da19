//! The Events API payloads the bot acts on, read leniently (Slack adds fields all the time),
//! and the rules that decide which messages are people's messages worth reading.

use serde::Deserialize;
use serde_json::Value;

use super::blocks::plain_text;

/// What arrived at `/slack/events`.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    UrlVerification {
        challenge: String,
    },
    Callback(Box<Callback>),
    /// Something else (`app_rate_limited`, ...): acknowledged, nothing done.
    Other(String),
}

/// An `event_callback`.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub event_id: Option<String>,
    pub team_id: Option<String>,
    /// The bot's own user id, as Slack tells it in `authorizations` / `authed_users`.
    pub bot_users: Vec<String>,
    pub event: Event,
}

/// An event reduced to what the bot does with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new message by a person (plain, `file_share` or `thread_broadcast`).
    Message(Msg),
    /// A person's message was edited (`message_changed`); carries the new version.
    Edit(Msg),
    /// The bot was mentioned (`app_mention`). Slack also sends the same message as `message`.
    Mention(Msg),
    /// Not for us; the reason is logged at debug level.
    Ignored(&'static str),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Msg {
    pub channel: String,
    pub user: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    /// What the person typed: markup reduced, entities undone.
    pub text: String,
    pub files: Vec<FileRef>,
    pub team: Option<String>,
}

impl Msg {
    /// Where an answer goes: the thread the message is in, or a new thread under it.
    pub fn reply_thread(&self) -> &str {
        self.thread_ts.as_deref().unwrap_or(&self.ts)
    }
}

/// A shared file as the event describes it; fetched only if it is text and small enough.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct FileRef {
    pub id: String,
    pub name: Option<String>,
    pub mimetype: Option<String>,
    pub filetype: Option<String>,
    pub size: Option<u64>,
    pub url_private: Option<String>,
    pub url_private_download: Option<String>,
    /// `check_file_info`: the event carries only the id; `files.info` has the rest.
    pub file_access: Option<String>,
}

impl FileRef {
    pub fn is_text(&self) -> bool {
        let name = self.name.as_deref().unwrap_or_default().to_ascii_lowercase();
        let mime = self.mimetype.as_deref().unwrap_or_default();
        let ft = self.filetype.as_deref().unwrap_or_default();
        mime.starts_with("text/")
            || matches!(ft, "text" | "log" | "csv" | "markdown" | "plaintext")
            || [".txt", ".log", ".text", ".out", ".csv", ".md"]
                .iter()
                .any(|e| name.ends_with(e))
    }

    pub fn url(&self) -> Option<&str> {
        self.url_private_download
            .as_deref()
            .or(self.url_private.as_deref())
            .filter(|u| !u.is_empty())
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    challenge: Option<String>,
    event_id: Option<String>,
    team_id: Option<String>,
    authorizations: Vec<Authorization>,
    authed_users: Vec<String>,
    event: Option<Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Authorization {
    user_id: Option<String>,
    is_bot: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RawMsg {
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    channel: Option<String>,
    user: Option<String>,
    bot_id: Option<String>,
    bot_profile: Option<Value>,
    app_id: Option<String>,
    text: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    team: Option<String>,
    files: Vec<FileRef>,
    hidden: Option<bool>,
    message: Option<Box<RawMsg>>,
    previous_message: Option<Box<RawMsg>>,
}

impl RawMsg {
    fn is_from_bot(&self) -> bool {
        self.bot_id.is_some() || self.bot_profile.is_some() || self.subtype.as_deref() == Some("bot_message")
    }

    fn to_msg(&self, channel: &str, team: Option<&str>) -> Option<Msg> {
        let user = self.user.clone().filter(|u| !u.is_empty())?;
        let ts = self.ts.clone().filter(|t| !t.is_empty())?;
        Some(Msg {
            channel: channel.to_string(),
            user,
            ts,
            thread_ts: self.thread_ts.clone().filter(|t| !t.is_empty()),
            text: plain_text(self.text.as_deref().unwrap_or_default()),
            files: self.files.clone(),
            team: self.team.clone().or_else(|| team.map(str::to_string)),
        })
    }
}

/// Reads a verified `/slack/events` body. `None` for a body that is not JSON at all.
pub fn parse(body: &[u8]) -> Option<Inbound> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if !v.is_object() {
        return None;
    }
    let env = Envelope::deserialize(v).ok()?;
    Some(match env.kind.as_str() {
        "url_verification" => Inbound::UrlVerification {
            challenge: env.challenge.unwrap_or_default(),
        },
        "event_callback" => {
            let mut bot_users: Vec<String> = env
                .authorizations
                .iter()
                .filter(|a| a.is_bot != Some(false))
                .filter_map(|a| a.user_id.clone())
                .collect();
            bot_users.extend(env.authed_users.iter().cloned());
            let event = env
                .event
                .map_or(Event::Ignored("no event"), |e| classify(&e, env.team_id.as_deref()));
            Inbound::Callback(Box::new(Callback {
                event_id: env.event_id,
                team_id: env.team_id,
                bot_users,
                event,
            }))
        }
        other => Inbound::Other(other.chars().take(40).collect()),
    })
}

/// Which events are people's messages. Everything the bot itself (or any bot) posts, edits or
/// deletes comes back as an event too, and is dropped here.
fn classify(v: &Value, team: Option<&str>) -> Event {
    let Ok(raw) = RawMsg::deserialize(v) else {
        return Event::Ignored("unreadable event");
    };
    let channel = raw.channel.clone().unwrap_or_default();
    if channel.is_empty() {
        return Event::Ignored("no channel");
    }
    match (raw.kind.as_str(), raw.subtype.as_deref()) {
        ("app_mention", _) => {
            if raw.is_from_bot() {
                return Event::Ignored("bot mention");
            }
            raw.to_msg(&channel, team)
                .map_or(Event::Ignored("mention without user"), Event::Mention)
        }
        ("message", None | Some("file_share" | "thread_broadcast")) => {
            if raw.is_from_bot() {
                return Event::Ignored("bot message");
            }
            raw.to_msg(&channel, team)
                .map_or(Event::Ignored("message without user"), Event::Message)
        }
        ("message", Some("message_changed")) => {
            let Some(new) = raw.message.as_deref() else {
                return Event::Ignored("edit without message");
            };
            if new.is_from_bot() || raw.is_from_bot() {
                return Event::Ignored("bot edit");
            }
            if matches!(new.subtype.as_deref(), Some("tombstone")) {
                return Event::Ignored("deleted parent");
            }
            // Unfurls and thread replies change a message without changing its text.
            if raw
                .previous_message
                .as_deref()
                .is_some_and(|p| p.text == new.text && p.files.len() == new.files.len())
            {
                return Event::Ignored("edit without new text");
            }
            let _ = raw.hidden;
            new.to_msg(&channel, team)
                .map_or(Event::Ignored("edit without user"), Event::Edit)
        }
        ("message", Some(_)) => Event::Ignored("message subtype"),
        _ => Event::Ignored("event type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cb(event: Value) -> Callback {
        let body = json!({
            "type": "event_callback", "team_id": "T1", "event_id": "Ev1",
            "authorizations": [{"user_id": "UBOT", "is_bot": true}],
            "event": event,
        });
        match parse(body.to_string().as_bytes()) {
            Some(Inbound::Callback(c)) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn url_verification_and_junk() {
        let b = json!({"type": "url_verification", "challenge": "abc", "token": "x"});
        assert_eq!(
            parse(b.to_string().as_bytes()),
            Some(Inbound::UrlVerification {
                challenge: "abc".into()
            })
        );
        assert_eq!(parse(b"not json"), None);
        assert_eq!(parse(b"[]"), None);
        assert_eq!(
            parse(br#"{"type":"app_rate_limited"}"#),
            Some(Inbound::Other("app_rate_limited".into()))
        );
    }

    #[test]
    fn messages_mentions_files() {
        let c =
            cb(json!({"type": "message", "channel": "C1", "user": "U1", "ts": "1.1", "text": "a &lt;b&gt; &amp; c"}));
        assert_eq!(c.bot_users, vec!["UBOT"]);
        let Event::Message(m) = c.event else { panic!() };
        assert_eq!(
            (m.text.as_str(), m.reply_thread(), m.team.as_deref()),
            ("a <b> & c", "1.1", Some("T1"))
        );

        let c = cb(
            json!({"type": "message", "subtype": "file_share", "channel": "C1", "user": "U1", "ts": "2.2", "thread_ts": "1.1", "text": "",
            "files": [{"id": "F1", "name": "joblog.txt", "mimetype": "text/plain", "size": 10, "url_private": "https://files.slack.com/x"}]}),
        );
        let Event::Message(m) = c.event else { panic!() };
        assert_eq!(m.reply_thread(), "1.1");
        assert!(m.files[0].is_text());
        assert_eq!(m.files[0].url(), Some("https://files.slack.com/x"));

        let c =
            cb(json!({"type": "app_mention", "channel": "C1", "user": "U1", "ts": "3.3", "text": "<@UBOT> CPFA09C"}));
        assert!(matches!(c.event, Event::Mention(m) if m.text == "@UBOT CPFA09C"));
    }

    #[test]
    fn bots_and_noise_ignored() {
        for e in [
            json!({"type": "message", "channel": "C1", "bot_id": "B1", "ts": "1", "text": "x"}),
            json!({"type": "message", "subtype": "bot_message", "channel": "C1", "ts": "1", "text": "x"}),
            json!({"type": "message", "channel": "C1", "user": "U1", "bot_id": "B1", "ts": "1", "text": "x"}),
            json!({"type": "message", "subtype": "channel_join", "channel": "C1", "user": "U1", "ts": "1"}),
            json!({"type": "message", "subtype": "message_deleted", "channel": "C1", "ts": "1"}),
            json!({"type": "message", "channel": "C1", "ts": "1", "text": "no user"}),
            json!({"type": "message", "subtype": "message_changed", "channel": "C1",
                   "message": {"user": "U1", "bot_id": "B1", "ts": "1", "text": "new"}}),
            json!({"type": "message", "subtype": "message_changed", "channel": "C1",
                   "message": {"user": "U1", "ts": "1", "text": "same"}, "previous_message": {"user": "U1", "ts": "1", "text": "same"}}),
            json!({"type": "reaction_added", "user": "U1"}),
            json!({"type": "message", "user": "U1", "ts": "1"}),
            json!("not an object"),
        ] {
            assert!(matches!(cb(e.clone()).event, Event::Ignored(_)), "{e}");
        }
    }

    #[test]
    fn edits_carry_the_new_text() {
        let c = cb(
            json!({"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true,
            "message": {"type": "message", "user": "U1", "ts": "5.5", "text": "now CPDB053"},
            "previous_message": {"type": "message", "user": "U1", "ts": "5.5", "text": "before"}}),
        );
        let Event::Edit(m) = c.event else { panic!() };
        assert_eq!(
            (m.ts.as_str(), m.text.as_str(), m.channel.as_str()),
            ("5.5", "now CPDB053", "C1")
        );
    }
}
