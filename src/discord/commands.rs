//! `/qntc` slash commands and the "Diagnose with qntcbot" message command: each maps its
//! options to the conversation service and renders the data it returns.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use poise::{CreateReply, FrameworkError};
use serenity::{AutocompleteChoice, CreateAutocompleteResponse, GuildId};
use tracing::{error, info, warn};

use super::render::{self, EmbedSpec, clip};
use super::watch::{self, Place, shown};
use super::{Bot, Ctx, Error, buttons, no_pings};
use crate::conversation::{APOLOGY, Actor, CaseQuery, ConvError, Delivery, Heard, Message, Quiet};

/// Discord shows at most 25 autocomplete choices, each name and value at most 100 characters.
const CHOICES_MAX: usize = 25;
const CHOICE_LEN_MAX: usize = 100;

pub fn all() -> Vec<poise::Command<Arc<Bot>, Error>> {
    vec![qntc(), diagnose_message()]
}

pub fn framework(bot: Arc<Bot>) -> poise::Framework<Arc<Bot>, Error> {
    let guild = bot.cfg.guild_id;
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: all(),
            event_handler: |fw, event| Box::pin(watch::on_event(fw, event)),
            on_error: |e| Box::pin(on_error(e)),
            allowed_mentions: Some(no_pings()),
            ..Default::default()
        })
        .initialize_owners(false)
        .setup(move |ctx, _ready, fw| {
            Box::pin(async move {
                // A failed registration must not stop the bot: poise would wait forever for
                // user data, and the watching works without commands.
                let commands = &fw.options().commands;
                let result = match guild {
                    Some(g) => poise::builtins::register_in_guild(ctx, commands, GuildId::new(g)).await,
                    None => poise::builtins::register_globally(ctx, commands).await,
                };
                match result {
                    Ok(()) => info!(
                        scope = if guild.is_some() { "guild" } else { "global" },
                        "commands registered"
                    ),
                    Err(e) => error!(error = %e, "command registration failed"),
                }
                Ok(bot)
            })
        })
        .build()
}

async fn on_error(e: FrameworkError<'_, Arc<Bot>, Error>) {
    match e {
        FrameworkError::Command { error, ctx, .. } => {
            error!(command = %ctx.command().qualified_name, error = %format!("{error:#}"), "command failed");
            let reply = CreateReply::default().content(APOLOGY).ephemeral(true);
            let _ = ctx.send(reply).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                warn!(error = %e, "error while handling an error");
            }
        }
    }
}

async fn actor(ctx: Ctx<'_>) -> Actor {
    let member = ctx.author_member().await;
    watch::actor(&ctx.data().cfg, ctx.author(), member.as_deref())
}

/// Answers stay private outside the channels the bot watches.
fn private(ctx: Ctx<'_>) -> bool {
    !ctx.data().cfg.watches(ctx.channel_id().get())
}

async fn send_embeds(ctx: Ctx<'_>, embeds: Vec<EmbedSpec>, private: bool) -> Result<(), Error> {
    for group in render::messages(embeds) {
        let mut reply = CreateReply::default().ephemeral(private);
        for e in &group {
            reply = reply.embed(e.to_embed());
        }
        ctx.send(reply).await?;
    }
    Ok(())
}

async fn say(ctx: Ctx<'_>, text: &str, private: bool) -> Result<(), Error> {
    ctx.send(CreateReply::default().content(clip(text, 2000)).ephemeral(private))
        .await?;
    Ok(())
}

/// A service error, privately: the user error word for word, anything else as an apology
/// (and logged).
async fn fail(ctx: Ctx<'_>, e: ConvError) -> Result<(), Error> {
    let text = shown(&e, &format!("/{}", ctx.command().qualified_name));
    say(ctx, &text, true).await
}

/// Diagnose IBM i QNTC problems.
#[poise::command(
    slash_command,
    subcommands("lookup", "explain", "case", "stats", "kb"),
    subcommand_required
)]
pub async fn qntc(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

async fn complete_lookup(ctx: Ctx<'_>, partial: &str) -> CreateAutocompleteResponse {
    let choices = ctx
        .data()
        .conv
        .complete(partial, CHOICES_MAX)
        .into_iter()
        .filter(|c| !c.entry_id.is_empty() && c.entry_id.chars().count() <= CHOICE_LEN_MAX)
        .take(CHOICES_MAX)
        .map(|c| AutocompleteChoice::new(clip(&c.label, CHOICE_LEN_MAX), c.entry_id))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// Look up a KB entry, message id, error code or words.
#[poise::command(slash_command)]
pub async fn lookup(
    ctx: Ctx<'_>,
    #[description = "KB entry id, message id (CPDB053), error code (3401) or words"]
    #[autocomplete = "complete_lookup"]
    query: String,
) -> Result<(), Error> {
    let private = private(ctx);
    let answers = ctx.data().conv.lookup(&query, 3).await;
    match answers.into_iter().next() {
        Some(a) => send_embeds(ctx, render::embeds(&a, None), private).await,
        None => {
            say(
                ctx,
                &format!("Nothing in the knowledge base matches \"{}\".", clip(&query, 100)),
                private,
            )
            .await
        }
    }
}

/// Explain an error code or message id (3401, CPE3401, EACCES, CPFA0AD).
#[poise::command(slash_command)]
pub async fn explain(
    ctx: Ctx<'_>,
    #[description = "Error code, errno name or message id"] code: String,
) -> Result<(), Error> {
    let x = match ctx.data().conv.explain(&code) {
        Ok(x) => x,
        Err(e) => return fail(ctx, e).await,
    };
    // One message with the decoding and the leading entries; the rest privately, as a list.
    let (public, more) = render::explanation(&x);
    let mut reply = CreateReply::default().ephemeral(private(ctx));
    for e in &public {
        reply = reply.embed(e.to_embed());
    }
    ctx.send(reply).await?;
    if let Some(more) = more {
        ctx.send(CreateReply::default().embed(more.to_embed()).ephemeral(true))
            .await?;
    }
    Ok(())
}

/// Support cases (staff).
#[poise::command(
    slash_command,
    subcommands("case_show", "case_list", "case_resolve"),
    subcommand_required
)]
pub async fn case(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Show one case.
#[poise::command(slash_command, rename = "show")]
pub async fn case_show(ctx: Ctx<'_>, #[description = "Case number"] id: i64) -> Result<(), Error> {
    let by = actor(ctx).await;
    match ctx.data().conv.case(id, &by).await {
        Ok(c) => send_embeds(ctx, vec![render::case_embed(&c)], true).await,
        Err(e) => fail(ctx, e).await,
    }
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum StatusChoice {
    #[name = "open"]
    Open,
    #[name = "answered"]
    Answered,
    #[name = "resolved"]
    Resolved,
    #[name = "wrong"]
    Wrong,
    #[name = "dismissed"]
    Dismissed,
}

impl StatusChoice {
    fn as_str(self) -> &'static str {
        match self {
            StatusChoice::Open => "open",
            StatusChoice::Answered => "answered",
            StatusChoice::Resolved => "resolved",
            StatusChoice::Wrong => "wrong",
            StatusChoice::Dismissed => "dismissed",
        }
    }
}

/// List recent cases.
#[poise::command(slash_command, rename = "list")]
pub async fn case_list(
    ctx: Ctx<'_>,
    #[description = "Only cases of this user"] user: Option<serenity::User>,
    #[description = "Only cases with this topic"] topic: Option<String>,
    #[description = "Only cases in this state"] status: Option<StatusChoice>,
    #[description = "Only the last N days"]
    #[min = 1]
    #[max = 3650]
    days: Option<u32>,
) -> Result<(), Error> {
    let by = actor(ctx).await;
    let q = CaseQuery {
        user_id: user.map(|u| u.id.to_string()),
        topic,
        status: status.map(|s| s.as_str().to_string()),
        days,
        limit: 20,
    };
    match ctx.data().conv.cases(&q, &by).await {
        Ok(cases) if cases.is_empty() => say(ctx, "No cases match.", true).await,
        Ok(cases) => send_embeds(ctx, vec![render::case_list(&cases)], true).await,
        Err(e) => fail(ctx, e).await,
    }
}

/// Mark a case resolved by a KB entry.
#[poise::command(slash_command, rename = "resolve")]
pub async fn case_resolve(
    ctx: Ctx<'_>,
    #[description = "Case number"] id: i64,
    #[description = "KB entry that fixed it"]
    #[autocomplete = "complete_lookup"]
    entry: String,
) -> Result<(), Error> {
    let by = actor(ctx).await;
    match ctx.data().conv.resolve(id, &entry, &by).await {
        Ok(()) => say(ctx, &format!("Case #{id} resolved with `{}`.", entry.trim()), true).await,
        Err(e) => fail(ctx, e).await,
    }
}

/// Case statistics.
#[poise::command(slash_command)]
pub async fn stats(
    ctx: Ctx<'_>,
    #[description = "Over the last N days (default 30)"]
    #[min = 1]
    #[max = 3650]
    days: Option<u32>,
) -> Result<(), Error> {
    let days = days.unwrap_or(30);
    match ctx.data().conv.stats(days).await {
        Ok(s) => send_embeds(ctx, vec![render::stats_embed(&s, days)], private(ctx)).await,
        Err(e) => fail(ctx, e).await,
    }
}

/// Knowledge base (staff).
#[poise::command(slash_command, subcommands("kb_reload"), subcommand_required)]
pub async fn kb(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Reload the knowledge base from its files; the old one stays if the new one is broken.
#[poise::command(slash_command, rename = "reload")]
pub async fn kb_reload(ctx: Ctx<'_>) -> Result<(), Error> {
    let by = actor(ctx).await;
    if !by.staff {
        return fail(ctx, crate::conversation::UserError::StaffOnly.into()).await;
    }
    ctx.defer_ephemeral().await?;
    match ctx.data().conv.reload_kb(&by).await {
        Ok(summary) => {
            info!(by = %by.user_id, "KB reloaded: {summary}");
            say(ctx, &format!("Knowledge base reloaded: {summary}"), true).await
        }
        Err(e) => fail(ctx, e).await,
    }
}

/// Message context menu: diagnose any message on request, even one the bot would not answer
/// unprompted. Public only in a watched channel and when the cooldown allows it, like an
/// unprompted answer; otherwise only the person who asked sees it.
#[poise::command(context_menu_command = "Diagnose with qntcbot")]
pub async fn diagnose_message(ctx: Ctx<'_>, msg: serenity::Message) -> Result<(), Error> {
    let bot = ctx.data();
    let by = actor(ctx).await;
    let watched = bot.cfg.watches(ctx.channel_id().get());
    let text = watch::gather(bot, &msg.content, &msg.attachments).await;
    let at = Place {
        channel: msg.channel_id,
        guild: msg.guild_id,
        message: msg.id,
    };
    let m = Message {
        origin: at.origin(&msg.author),
        text,
        edited: false,
    };
    let r = match bot.conv.on_request(m, &by, watched).await {
        Ok(Heard::Reply(r)) => r,
        Ok(Heard::Quiet(Quiet::OverBudget)) => {
            return say(ctx, "That message is too large to diagnose in time.", true).await;
        }
        Ok(Heard::Quiet(_)) => return say(ctx, "I found nothing QNTC-related in that message.", true).await,
        Err(e) => return fail(ctx, e).await,
    };
    let embeds = render::summary(&r.answer, Some(r.case));
    let group = render::messages(embeds).into_iter().next().unwrap_or_default();
    let mut reply = CreateReply::default().ephemeral(!r.public);
    for e in &group {
        reply = reply.embed(e.to_embed());
    }
    if let Some(row) = buttons::row(&r.actions) {
        reply = reply.components(vec![row]);
    }
    let sent = match ctx.send(reply).await {
        Ok(handle) if r.public => match handle.message().await {
            Ok(m) => Ok(Delivery::Sent {
                channel: m.channel_id.to_string(),
                message_id: m.id.to_string(),
            }),
            Err(e) => {
                // Sent, but where is unknown: buttons on it will be refused, the case counts.
                warn!(error = %e, "cannot read back the answer just sent");
                Ok(Delivery::Private)
            }
        },
        Ok(_) => Ok(Delivery::Private),
        Err(e) => Err(e),
    };
    match sent {
        Ok(d) => bot.conv.delivered(r.ticket, d).await,
        Err(e) => {
            bot.conv.delivered(r.ticket, Delivery::Failed).await;
            return Err(e.into());
        }
    }
    Ok(())
}
