//! `qntcbot slack`: serves Slack's Events API, the `/qntc` command and the answer buttons over
//! HTTP until SIGINT or SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Config;
use crate::conversation::{Conversation, Settings};
use crate::slack::SlackConfig;

use super::{Context, EXIT_USAGE};

/// Reads the `[slack]` table of the same layered configuration (file, then
/// `QNTCBOT_SLACK__*` variables), takes the two secrets from the environment when the file has
/// none, and serves. Missing secrets or a bad setting: a message naming them, exit 2.
pub async fn run(ctx: &Context, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let parsed = Config::figment(config_file).and_then(|fig| {
        if fig.contains("slack") {
            Ok(fig.extract_inner::<SlackConfig>("slack")?)
        } else {
            Ok(SlackConfig::default())
        }
    });
    let cfg = match parsed.and_then(|c| Ok(c.resolve()?)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("qntcbot slack: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let engine = Arc::new(ctx.engine().await?);
    let settings = Settings {
        user_cooldown: cfg.user_cooldown(),
        channel_cooldown: cfg.channel_cooldown(),
        ..Settings::new("slack")
    };
    let conv = Arc::new(Conversation::new(engine, settings));
    crate::slack::run(cfg, conv).await?;
    Ok(ExitCode::SUCCESS)
}
