//! Settings: built-in defaults <- `qntcbot.toml` (or `--config FILE`) <- `QNTCBOT_*`
//! environment variables (nested keys with `__`, e.g. `QNTCBOT_DIAGNOSE__REPLY_THRESHOLD`).
//! Command-line flags override all three.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::cases::CaseSettings;
use crate::diagnose;
use crate::redact::RedactSettings;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// SQLite file; default: see [`crate::db::default_path`].
    pub db: Option<PathBuf>,
    /// Knowledge-base directory; default `./kb`, else the `kb/` shipped with the source.
    pub kb_dir: Option<PathBuf>,
    pub diagnose: diagnose::Settings,
    pub cases: CasesConfig,
    /// `tracing` filter, e.g. "info" or "qntcbot=debug"; `RUST_LOG` wins when set.
    pub log: Option<String>,
}

/// What the case log keeps and how it folds repeats.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CasesConfig {
    /// The same user reporting the same evidence within this many minutes adds to the
    /// existing case instead of opening a new one.
    pub fold_window_minutes: u64,
    /// Replace IP addresses in stored case text (passwords and tokens are always removed).
    pub redact_ip_addresses: bool,
    /// Replace IBM i user profile names in stored case text.
    pub redact_user_profiles: bool,
}

impl Default for CasesConfig {
    fn default() -> CasesConfig {
        CasesConfig {
            fold_window_minutes: 30,
            redact_ip_addresses: false,
            redact_user_profiles: false,
        }
    }
}

impl CasesConfig {
    pub fn settings(&self) -> CaseSettings {
        CaseSettings {
            fold_window: std::time::Duration::from_secs(self.fold_window_minutes.saturating_mul(60)),
            redact: RedactSettings {
                ip_addresses: self.redact_ip_addresses,
                user_profiles: self.redact_user_profiles,
            },
        }
    }
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
        Ok(fig.merge(Env::prefixed("QNTCBOT_").split("__").ignore(&[
            "db",
            "kb",
            "config",
            "discord_token",
            "slack_bot_token",
            "slack_signing_secret",
        ])))
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

    /// The knowledge base the engine uses: the directory given (`--kb`, `QNTCBOT_KB`, the
    /// configuration file), else the reviewed KB built into the binary.
    pub fn kb_source(&self) -> crate::kb::KbSource {
        crate::kb::KbSource::from_option(self.kb_dir.clone())
    }

    pub fn db_path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(crate::db::default_path)
    }
}
