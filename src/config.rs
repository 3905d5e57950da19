//! Settings: built-in defaults <- `qntcbot.toml` (or `--config FILE`) <- `QNTCBOT_*`
//! environment variables (nested keys with `__`, e.g. `QNTCBOT_DIAGNOSE__REPLY_THRESHOLD`).
//! Command-line flags override all three.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::diagnose;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// SQLite file; default: see [`crate::db::default_path`].
    pub db: Option<PathBuf>,
    /// Knowledge-base directory; default `./kb`, else the `kb/` shipped with the source.
    pub kb_dir: Option<PathBuf>,
    pub diagnose: diagnose::Settings,
    /// `tracing` filter, e.g. "info" or "qntcbot=debug"; `RUST_LOG` wins when set.
    pub log: Option<String>,
}

/// The file read when `--config` is not given and it exists in the working directory.
pub const DEFAULT_FILE: &str = "qntcbot.toml";

impl Config {
    /// Loads the layered configuration. An explicitly named file must exist; the default one
    /// is optional.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Ok(Config::figment(file)?.extract()?)
    }

    /// The figment itself, so that adapters can extract their own sections (`[discord]`).
    pub fn figment(file: Option<&Path>) -> anyhow::Result<Figment> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                if !f.is_file() {
                    anyhow::bail!("the configuration file {} does not exist", f.display());
                }
                fig = fig.merge(Toml::file(f));
            }
            None => fig = fig.merge(Toml::file(DEFAULT_FILE)),
        }
        // QNTCBOT_DB and QNTCBOT_KB are also read by clap as flag values; the rest are settings.
        Ok(fig.merge(
            Env::prefixed("QNTCBOT_")
                .split("__")
                .ignore(&["db", "kb", "config", "discord_token"]),
        ))
    }

    pub fn kb_dir(&self) -> PathBuf {
        if let Some(d) = &self.kb_dir {
            return d.clone();
        }
        let local = PathBuf::from("kb");
        if local.is_dir() {
            local
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kb")
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(crate::db::default_path)
    }
}
