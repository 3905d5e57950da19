//! The Discord adapter: maps gateway events and commands to the conversation service
//! ([`crate::conversation`]), downloads attachments, renders answers as embeds within Discord's
//! limits, sends them (through a retrying REST relay) and reports each send. It holds no case
//! policy. Built on poise over serenity.

pub mod buttons;
pub mod commands;
pub mod config;
mod inflight;
pub mod relay;
pub mod render;
mod watch;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serenity::{ClientBuilder, CreateAllowedMentions, GatewayIntents, HttpBuilder};
use tracing::{info, warn};

pub use config::{ConfigError, DiscordConfig, Token};

use self::inflight::InFlight;
use self::relay::{Relay, RetryPolicy};
use crate::Engine;
use crate::conversation::{Conversation, Settings};

/// How long shutdown waits for replies that are being written.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Where REST calls go when no `api_base_url` is configured.
const DISCORD_API: &str = "https://discord.com";

/// Shared state of a running bot: poise's user data.
pub struct Bot {
    pub cfg: DiscordConfig,
    pub conv: Arc<Conversation>,
    inflight: InFlight,
    /// For attachment downloads: size-limited and with a timeout, unlike serenity's helper.
    downloads: reqwest::Client,
}

impl Bot {
    pub fn new(cfg: DiscordConfig, conv: Arc<Conversation>) -> Bot {
        let downloads = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Bot {
            cfg,
            conv,
            inflight: InFlight::default(),
            downloads,
        }
    }
}

/// The conversation service as the Discord adapter configures it.
pub fn conversation(engine: Arc<Engine>, cfg: &DiscordConfig) -> Conversation {
    let settings = Settings {
        user_cooldown: Duration::from_secs(cfg.user_cooldown_secs),
        channel_cooldown: Duration::from_secs(cfg.channel_cooldown_secs),
        ..Settings::new("discord")
    };
    Conversation::new(engine, settings)
}

pub type Error = anyhow::Error;
pub type Ctx<'a> = poise::Context<'a, Arc<Bot>, Error>;

/// No answer of this bot ever pings anyone: users, roles, @everyone, not even the asker.
pub fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new().replied_user(false)
}

fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

/// Runs the bot until SIGINT or SIGTERM.
pub async fn run(cfg: DiscordConfig, conv: Arc<Conversation>) -> anyhow::Result<()> {
    run_until(cfg, conv, crate::shutdown::signal()).await
}

/// Runs the bot until `shutdown` completes, then stops the shards, lets replies in flight
/// finish and closes the conversation service (and with it the database).
pub async fn run_until(
    cfg: DiscordConfig,
    conv: Arc<Conversation>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = cfg
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or(ConfigError::MissingToken)?;
    let base = cfg.api_base_url.clone().unwrap_or_else(|| DISCORD_API.to_string());
    // Every REST call goes through the relay, which honours 429s; serenity's own rate limiter
    // would bypass it (and it ignores the proxy setting).
    let relay = Relay::start(&base, RetryPolicy::default()).await?;
    let http = HttpBuilder::new(token.expose())
        .default_allowed_mentions(no_pings())
        .proxy(relay.url())
        .ratelimiter_disabled(true);
    info!(base = %base, "Discord REST calls go through the retrying relay");
    let bot = Arc::new(Bot::new(cfg, conv));
    let framework = commands::framework(bot.clone());
    let mut client = ClientBuilder::new_with_http(http.build(), intents())
        .framework(framework)
        .await?;

    let shards = client.shard_manager.clone();
    let stopper = tokio::spawn(async move {
        shutdown.await;
        info!("shutdown requested: closing the gateway connection");
        shards.shutdown_all().await;
    });
    let result = client.start().await;
    stopper.abort();
    if !bot.inflight.wait_idle(DRAIN_TIMEOUT).await {
        warn!("shutdown: some replies were still being written after {DRAIN_TIMEOUT:?}");
    }
    drop(relay);
    bot.conv.close().await;
    info!("Discord adapter stopped");
    result.map_err(Into::into)
}
