//! The Slack adapter: Slack's Events API, the `/qntc` slash command and the answer buttons over
//! HTTP, answered through the platform-free [`Conversation`] service.
//!
//! ```text
//! POST /slack/events         verify ─► url_verification: echo the challenge
//!                                   └► event_callback: dedupe (event id; channel + ts) ─► 200 at once
//!                                        └─ task: files ─► Conversation::on_message ─► Block Kit
//!                                                 ─► chat.postMessage (in the thread) ─► delivered
//! POST /slack/commands       verify ─► /qntc ... ─► answered inline within 2.5 s, else 200 + response_url
//! POST /slack/interactivity  verify ─► 200 at once ─► Conversation::on_action ─► chat.update /
//!                                        chat.postEphemeral / chat.delete
//! ```
//!
//! This module only maps Slack's payloads to the service, fetches shared files, renders within
//! Slack's limits and sends (with retries, see [`api`]). Cooldowns, edit de-duplication, case
//! recording and who may press what are the service's.

pub mod api;
pub mod blocks;
mod commands;
pub mod config;
mod dedupe;
pub mod events;
mod interact;
mod server;
mod staff;
mod tasks;
pub mod verify;
mod views;
mod watch;

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{info, warn};

use self::api::{RetryPolicy, WebApi};
pub use self::config::{ConfigError, Secret, SlackConfig};
use self::dedupe::Recent;
use self::staff::Staff;
use self::tasks::Tasks;
use self::verify::Verifier;
use crate::conversation::Conversation;

/// How long shutdown waits for answers that are being written. Below the 10 s a service
/// manager usually grants between SIGTERM and SIGKILL.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(8);

/// The running adapter's shared state.
pub struct Slack {
    cfg: SlackConfig,
    verifier: Verifier,
    api: WebApi,
    conv: Arc<Conversation>,
    recent: Recent,
    tasks: Tasks,
    staff: Staff,
    /// The bot's own user id, from `auth.test` or the events' `authorizations`.
    me: RwLock<Option<String>>,
}

impl Slack {
    /// `cfg` must have been [`resolve`](SlackConfig::resolve)d (both secrets present).
    pub fn new(cfg: SlackConfig, conv: Arc<Conversation>) -> Result<Slack, ConfigError> {
        let token = cfg.bot_token.clone().filter(|t| !t.is_empty());
        let secret = cfg.signing_secret.clone().filter(|s| !s.is_empty());
        let (Some(token), Some(secret)) = (token, secret) else {
            let mut missing = Vec::new();
            if cfg.bot_token.as_ref().is_none_or(Secret::is_empty) {
                missing.push(config::BOT_TOKEN_ENV);
            }
            if cfg.signing_secret.as_ref().is_none_or(Secret::is_empty) {
                missing.push(config::SIGNING_SECRET_ENV);
            }
            return Err(ConfigError::Missing(missing));
        };
        Ok(Slack {
            api: WebApi::new(&cfg.api_base_url, token, RetryPolicy::default()),
            verifier: Verifier::new(secret),
            staff: Staff::new(&cfg.staff_users, cfg.staff_user_group.as_deref()),
            conv,
            recent: Recent::default(),
            tasks: Tasks::default(),
            me: RwLock::new(None),
            cfg,
        })
    }

    fn me(&self) -> Option<String> {
        match self.me.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_me(&self, user: String) {
        match self.me.write() {
            Ok(mut g) => *g = Some(user),
            Err(p) => *p.into_inner() = Some(user),
        }
    }
}

/// Runs the adapter on `[slack] listen` until SIGINT or SIGTERM.
pub async fn run(cfg: SlackConfig, conv: Arc<Conversation>) -> anyhow::Result<()> {
    let addr = cfg.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    serve(listener, cfg, conv, crate::shutdown::signal()).await
}

/// Serves on `listener` until `shutdown` completes; then stops taking requests, lets the
/// answers in flight finish (at most [`DRAIN_TIMEOUT`]) and closes the service.
pub async fn serve(
    listener: TcpListener,
    cfg: SlackConfig,
    conv: Arc<Conversation>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = Arc::new(Slack::new(cfg, conv)?);
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, base = %app.cfg.api_base_url, "Slack endpoints listening: /slack/events, /slack/commands, /slack/interactivity");
    }
    // Who am I: own messages are dropped by their bot id anyway; this catches the rest.
    let who = app.clone();
    tokio::spawn(async move {
        match who.api.auth_test().await {
            Ok((Some(user), _)) => who.set_me(user),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "auth.test failed; is the bot token right?"),
        }
    });
    let router = server::router(app.clone());
    // Answers go back at once: with Nagle on, a response written in pieces can wait for the
    // client's delayed ACK (40 ms on Linux), and Slack allows three seconds in all.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
    info!("Slack: no new requests; finishing answers in flight");
    if !app.tasks.wait_idle(DRAIN_TIMEOUT).await {
        warn!("shutdown: some answers were still being written after {DRAIN_TIMEOUT:?}");
    }
    app.conv.close().await;
    info!("Slack adapter stopped");
    served.map_err(Into::into)
}
