//! The Discord adapter: watches support channels, answers with embeds, offers `/qntc` commands,
//! and records every answer as a case. Built on poise over serenity.
//!
//! Everything Discord-specific lives here; the rest of qntcbot is reached through
//! [`core::Core`].

pub mod buttons;
pub mod commands;
pub mod config;
pub mod cooldown;
pub mod core;
mod engine_core;
pub mod render;
mod state;
mod watch;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serenity::{ClientBuilder, CreateAllowedMentions, GatewayIntents, HttpBuilder};
use tracing::{info, warn};

pub use config::{ConfigError, DiscordConfig, Token};
pub use engine_core::EngineCore;

use self::cooldown::Cooldowns;
use self::core::SharedCore;
use self::state::{InFlight, Seen};

/// How long shutdown waits for replies that are being written.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Shared state of a running bot: poise's user data.
pub struct Bot {
    pub cfg: DiscordConfig,
    pub core: SharedCore,
    cooldowns: Cooldowns,
    seen: Seen,
    inflight: InFlight,
    /// For attachment downloads: size-limited and with a timeout, unlike serenity's helper.
    downloads: reqwest::Client,
}

impl Bot {
    pub fn new(cfg: DiscordConfig, core: SharedCore) -> Bot {
        let cooldowns = Cooldowns::new(
            Duration::from_secs(cfg.user_cooldown_secs),
            Duration::from_secs(cfg.channel_cooldown_secs),
        );
        let downloads = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Bot {
            cfg,
            core,
            cooldowns,
            seen: Seen::default(),
            inflight: InFlight::default(),
            downloads,
        }
    }
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
pub async fn run(cfg: DiscordConfig, core: SharedCore) -> anyhow::Result<()> {
    run_until(cfg, core, shutdown_signal()).await
}

/// Runs the bot until `shutdown` completes, then stops the shards, lets replies in flight
/// finish and closes the core (and with it the database).
pub async fn run_until(
    cfg: DiscordConfig,
    core: SharedCore,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = cfg
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or(ConfigError::MissingToken)?;
    let mut http = HttpBuilder::new(token.expose()).default_allowed_mentions(no_pings());
    if let Some(base) = &cfg.api_base_url {
        // serenity's rate limiter sends requests itself and ignores the proxy setting.
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
        info!(base = %base, "Discord REST calls go to the configured API base URL");
    }
    let bot = Arc::new(Bot::new(cfg, core));
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
    bot.core.close().await;
    info!("Discord adapter stopped");
    result.map_err(Into::into)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("SIGINT received"),
        () = term => info!("SIGTERM received"),
    }
}
