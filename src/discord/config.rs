//! Settings of the Discord adapter: the `[discord]` table of `qntcbot.toml`, with the token
//! taken from the environment when the file does not carry one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Environment variables checked for the bot token, in order.
pub const TOKEN_ENV: [&str; 2] = ["QNTCBOT_DISCORD_TOKEN", "DISCORD_TOKEN"];

/// A bot token. Its `Debug` and `Display` never show the value, so a config dumped into a log
/// or an error message cannot leak it.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into())
    }

    /// The raw token, for handing to serenity only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

// Serialising a config (e.g. `qntcbot config show`) must not print the secret either.
impl Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_empty() { "" } else { "***" })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Bot token. Prefer the environment (`QNTCBOT_DISCORD_TOKEN` or `DISCORD_TOKEN`).
    pub token: Option<Token>,
    /// Base URL that replaces `https://discord.com` for every REST call (the gateway URL is
    /// then whatever that server's `/gateway` answers). For bots behind an HTTP API proxy such
    /// as twilight-http-proxy, and for tests against a local simulator. Setting it disables
    /// serenity's own rate limiter, which otherwise bypasses the proxy; the proxy is then
    /// responsible for Discord's rate limits.
    pub api_base_url: Option<String>,
    /// Channels watched for unprompted diagnosis. Empty: every channel the bot can read.
    pub channels: Vec<u64>,
    /// Role whose members may use the case and KB commands and dismiss any answer. Unset:
    /// members with the Administrator or Manage Server permission.
    pub staff_role: Option<u64>,
    /// Answer in a thread started on the message instead of a reply in the channel.
    pub reply_in_thread: bool,
    /// After answering a user, stay quiet to that user for this many seconds.
    pub user_cooldown_secs: u64,
    /// After answering in a channel, stay quiet in that channel for this many seconds.
    pub channel_cooldown_secs: u64,
    /// Text attachments larger than this are skipped, not downloaded.
    pub max_attachment_bytes: u64,
    /// Register the slash commands in this guild only (instant, good for testing); unset:
    /// register globally.
    pub guild_id: Option<u64>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            token: None,
            api_base_url: None,
            channels: Vec::new(),
            staff_role: None,
            reply_in_thread: false,
            user_cooldown_secs: 60,
            channel_cooldown_secs: 10,
            max_attachment_bytes: 512 * 1024,
            guild_id: None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "no Discord bot token: set QNTCBOT_DISCORD_TOKEN (or DISCORD_TOKEN) in the environment, \
         or `token` in the [discord] table of the config file"
    )]
    MissingToken,
    #[error("discord.api_base_url {0:?} is not an http:// or https:// URL")]
    BadBaseUrl(String),
}

impl DiscordConfig {
    /// Fills the token from the environment when the file had none, and checks what serenity
    /// would otherwise reject late and obscurely.
    pub fn resolve(mut self) -> Result<DiscordConfig, ConfigError> {
        self.resolve_with(|name| std::env::var(name).ok())?;
        Ok(self)
    }

    /// [`resolve`](Self::resolve) with an injectable environment, for tests.
    pub fn resolve_with(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if self.token.as_ref().is_none_or(Token::is_empty) {
            self.token = TOKEN_ENV
                .iter()
                .filter_map(|name| env(name))
                .map(|v| Token::new(v.trim()))
                .find(|t| !t.is_empty());
        }
        if self.token.is_none() {
            return Err(ConfigError::MissingToken);
        }
        if let Some(url) = &self.api_base_url {
            let url = url.trim();
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                return Err(ConfigError::BadBaseUrl(url.to_string()));
            }
            self.api_base_url = Some(url.trim_end_matches('/').to_string());
        }
        Ok(())
    }

    /// Is this channel one the bot watches (and answers publicly in)?
    pub fn watches(&self, channel: u64) -> bool {
        self.channels.is_empty() || self.channels.contains(&channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_printed() {
        let cfg = DiscordConfig {
            token: Some(Token::new("abc.def.ghi")),
            ..Default::default()
        };
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("abc.def"), "{dbg}");
        assert!(dbg.contains("***"));
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(!json.contains("abc.def"), "{json}");
    }

    #[test]
    fn token_from_env_in_order() {
        let mut cfg = DiscordConfig::default();
        cfg.resolve_with(|n| match n {
            "QNTCBOT_DISCORD_TOKEN" => Some("  ".into()),
            "DISCORD_TOKEN" => Some("second".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.token.unwrap().expose(), "second");

        let mut cfg = DiscordConfig::default();
        cfg.resolve_with(|n| (n == "QNTCBOT_DISCORD_TOKEN").then(|| "first".into()))
            .unwrap();
        assert_eq!(cfg.token.unwrap().expose(), "first");
    }

    #[test]
    fn file_token_wins_over_env() {
        let mut cfg = DiscordConfig {
            token: Some(Token::new("file")),
            ..Default::default()
        };
        cfg.resolve_with(|_| Some("env".into())).unwrap();
        assert_eq!(cfg.token.unwrap().expose(), "file");
    }

    #[test]
    fn missing_token_is_an_error() {
        let mut cfg = DiscordConfig::default();
        let err = cfg.resolve_with(|_| None).unwrap_err();
        assert_eq!(err, ConfigError::MissingToken);
        assert!(err.to_string().contains("QNTCBOT_DISCORD_TOKEN"));
    }

    #[test]
    fn base_url_checked_and_trimmed() {
        let mut cfg = DiscordConfig {
            token: Some(Token::new("t")),
            api_base_url: Some("http://127.0.0.1:3000/".into()),
            ..Default::default()
        };
        cfg.resolve_with(|_| None).unwrap();
        assert_eq!(cfg.api_base_url.as_deref(), Some("http://127.0.0.1:3000"));
        cfg.api_base_url = Some("ftp://x".into());
        assert!(matches!(cfg.resolve_with(|_| None), Err(ConfigError::BadBaseUrl(_))));
    }

    #[test]
    fn deserialises_standalone_with_defaults() {
        let cfg: DiscordConfig = toml::from_str("channels = [1, 2]\nreply_in_thread = true\n").unwrap();
        assert_eq!(cfg.channels, vec![1, 2]);
        assert!(cfg.reply_in_thread);
        assert_eq!(cfg.user_cooldown_secs, DiscordConfig::default().user_cooldown_secs);
        assert!(cfg.watches(1) && !cfg.watches(3));
        assert!(DiscordConfig::default().watches(3));
        assert!(toml::from_str::<DiscordConfig>("chanels = [1]").is_err());
    }
}
