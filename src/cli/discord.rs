//! `qntcbot discord`: runs the Discord bot until SIGINT or SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Config;
use crate::discord::DiscordConfig;

use super::{Context, EXIT_USAGE};

/// Reads the `[discord]` table of the same layered configuration (file, then
/// `QNTCBOT_DISCORD__*` variables), takes the token from the environment, starts the bot.
pub async fn run(ctx: &Context, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let parsed = Config::figment(config_file).and_then(|fig| {
        if fig.contains("discord") {
            Ok(fig.extract_inner::<DiscordConfig>("discord")?)
        } else {
            Ok(DiscordConfig::default())
        }
    });
    let cfg = match parsed.and_then(|c| Ok(c.resolve()?)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("qntcbot discord: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let engine = Arc::new(ctx.engine().await?);
    let conv = Arc::new(crate::discord::conversation(engine, &cfg));
    crate::discord::run(cfg, conv).await?;
    Ok(ExitCode::SUCCESS)
}
