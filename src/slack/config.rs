//! Settings of the Slack adapter: the `[slack] ` table of `qntcbot.toml`, with the two secrets
//! taken from the environment when the file does not carry them.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Environment variable holding the bot token (`xoxb-...`).
pub const BOT_TOKEN_ENV: &str = "QNTCBOT_SLACK_BOT_TOKEN";
/// Environment variable holding the app's signing secret.
pub const SIGNING_SECRET_ENV: &str = "QNTCBOT_SLACK_SIGNING_SECRET";

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_API_BASE_URL: &str = "https://slack.com/api/";

/// A secret (bot token, signing secret). `Debug`, `Display` and `Serialize` never show the
/// value, so a config dumped into a log or an error message cannot leak it.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The raw value, for the `Authorization` header and the HMAC key only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_empty() { "" } else { "***" })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// Bot token (`xoxb-...`). Prefer the environment: `QNTCBOT_SLACK_BOT_TOKEN`.
    pub bot_token: Option<Secret>,
    /// Signing secret of the Slack app. Prefer the environment: `QNTCBOT_SLACK_SIGNING_SECRET`.
    pub signing_secret: Option<Secret>,
    /// Address the HTTP endpoints listen on (`/slack/events`, `/slack/commands`,
    /// `/slack/interactivity`). Put a TLS-terminating proxy in front for Slack to reach it.
    pub listen: String,
    /// Base URL of the Web API; method names are appended (`chat.postMessage`). For a proxy,
    /// or a local fake of the Web API in tests.
    pub api_base_url: String,
    /// Channel ids (`C...`) watched for unprompted diagnosis. Empty: every channel the bot is in.
    pub channels: Vec<String>,
    /// User ids (`U...`) who may use the case and KB commands and judge any answer.
    pub staff_users: Vec<String>,
    /// A user group (`S...`) whose members are staff too, read through `usergroups.users.list`.
    pub staff_user_group: Option<String>,
    /// After answering a user, stay quiet to that user for this many seconds.
    pub user_cooldown_secs: u64,
    /// After answering in a channel, stay quiet in that channel for this many seconds.
    pub channel_cooldown_secs: u64,
    /// Shared text files larger than this are skipped, never downloaded.
    pub max_file_bytes: u64,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            bot_token: None,
            signing_secret: None,
            listen: DEFAULT_LISTEN.to_string(),
            api_base_url: DEFAULT_API_BASE_URL.to_string(),
            channels: Vec::new(),
            staff_users: Vec::new(),
            staff_user_group: None,
            user_cooldown_secs: 60,
            channel_cooldown_secs: 10,
            max_file_bytes: 512 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "missing Slack settings: {}; set them in the environment, or as `bot_token` / \
         `signing_secret` in the [slack] table of the config file",
        .0.join(" and ")
    )]
    Missing(Vec<&'static str>),
    #[error("slack.api_base_url {0:?} is not an http:// or https:// URL")]
    BadBaseUrl(String),
    #[error("slack.listen {0:?} is not an address like 127.0.0.1:3000")]
    BadListen(String),
}

impl SlackConfig {
    /// Fills the secrets from the environment when the file had none, and checks the rest.
    pub fn resolve(mut self) -> Result<SlackConfig, ConfigError> {
        self.resolve_with(|name| std::env::var(name).ok())?;
        Ok(self)
    }

    /// [`resolve`](Self::resolve) with an injectable environment, for tests.
    pub fn resolve_with(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let from_env = |name: &str| env(name).map(|v| Secret::new(v.trim())).filter(|s| !s.is_empty());
        if self.bot_token.as_ref().is_none_or(Secret::is_empty) {
            self.bot_token = from_env(BOT_TOKEN_ENV);
        }
        if self.signing_secret.as_ref().is_none_or(Secret::is_empty) {
            self.signing_secret = from_env(SIGNING_SECRET_ENV);
        }
        let mut missing = Vec::new();
        if self.bot_token.is_none() {
            missing.push(BOT_TOKEN_ENV);
        }
        if self.signing_secret.is_none() {
            missing.push(SIGNING_SECRET_ENV);
        }
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        let url = self.api_base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || reqwest::Url::parse(url).is_err() {
            return Err(ConfigError::BadBaseUrl(url.to_string()));
        }
        // Method names are appended, so the base always ends with one slash.
        self.api_base_url = format!("{}/", url.trim_end_matches('/'));
        self.listen_addr()?;
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .trim()
            .parse()
            .map_err(|_| ConfigError::BadListen(self.listen.clone()))
    }

    /// Is this channel one the bot watches (and answers unprompted in)?
    pub fn watches(&self, channel: &str) -> bool {
        self.channels.is_empty() || self.channels.iter().any(|c| c == channel)
    }

    pub fn user_cooldown(&self) -> Duration {
        Duration::from_secs(self.user_cooldown_secs)
    }

    pub fn channel_cooldown(&self) -> Duration {
        Duration::from_secs(self.channel_cooldown_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn secrets_never_printed() {
        let cfg = SlackConfig {
            bot_token: Some(Secret::new("xoxb-123-secret")),
            signing_secret: Some(Secret::new("8f742231b10e")),
            ..Default::default()
        };
        for shown in [format!("{cfg:?}"), serde_json::to_string(&cfg).unwrap()] {
            assert!(!shown.contains("xoxb-123") && !shown.contains("8f742231"), "{shown}");
            assert!(shown.contains("***"));
        }
    }

    #[test]
    fn secrets_from_env_and_missing_named() {
        let mut cfg = SlackConfig::default();
        let err = cfg.resolve_with(env_with(&[])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(BOT_TOKEN_ENV) && text.contains(SIGNING_SECRET_ENV),
            "{text}"
        );

        let mut cfg = SlackConfig::default();
        let err = cfg.resolve_with(env_with(&[(BOT_TOKEN_ENV, "xoxb-1")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing(vec![SIGNING_SECRET_ENV]));

        let mut cfg = SlackConfig::default();
        cfg.resolve_with(env_with(&[(BOT_TOKEN_ENV, " xoxb-1 "), (SIGNING_SECRET_ENV, "s")]))
            .unwrap();
        assert_eq!(cfg.bot_token.as_ref().unwrap().expose(), "xoxb-1");
        assert_eq!(cfg.api_base_url, DEFAULT_API_BASE_URL);
        assert_eq!(cfg.listen_addr().unwrap().to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn file_secrets_win_and_blank_env_is_missing() {
        let mut cfg = SlackConfig {
            bot_token: Some(Secret::new("file")),
            signing_secret: Some(Secret::new("file-secret")),
            ..Default::default()
        };
        cfg.resolve_with(env_with(&[(BOT_TOKEN_ENV, "env")])).unwrap();
        assert_eq!(cfg.bot_token.unwrap().expose(), "file");
        let mut cfg = SlackConfig::default();
        assert!(
            cfg.resolve_with(env_with(&[(BOT_TOKEN_ENV, "  "), (SIGNING_SECRET_ENV, "s")]))
                .is_err()
        );
    }

    #[test]
    fn base_url_and_listen_checked() {
        let env = env_with(&[(BOT_TOKEN_ENV, "t"), (SIGNING_SECRET_ENV, "s")]);
        let mut cfg = SlackConfig {
            api_base_url: "http://127.0.0.1:9000/api".into(),
            ..Default::default()
        };
        cfg.resolve_with(&env).unwrap();
        assert_eq!(cfg.api_base_url, "http://127.0.0.1:9000/api/");
        cfg.api_base_url = "ftp://x".into();
        assert!(matches!(cfg.resolve_with(&env), Err(ConfigError::BadBaseUrl(_))));
        let mut cfg = SlackConfig {
            listen: "localhost".into(),
            ..Default::default()
        };
        assert!(matches!(cfg.resolve_with(&env), Err(ConfigError::BadListen(_))));
    }

    #[test]
    fn deserialises_with_defaults_and_rejects_typos() {
        let cfg: SlackConfig =
            toml::from_str("channels = [\"C1\"]\nstaff_users = [\"U9\"]\nstaff_user_group = \"S1\"\n").unwrap();
        assert!(cfg.watches("C1") && !cfg.watches("C2"));
        assert!(SlackConfig::default().watches("C2"));
        assert_eq!(cfg.staff_users, vec!["U9"]);
        assert_eq!(cfg.listen, DEFAULT_LISTEN);
        assert!(toml::from_str::<SlackConfig>("chanels = [\"C1\"]").is_err());
    }
}
