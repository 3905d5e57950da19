//! `/qntc` slash commands and the "Diagnose with qntcbot" message command.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use poise::{CreateReply, FrameworkError};
use serenity::{AutocompleteChoice, CreateAutocompleteResponse, GuildId};
use tracing::{error, info, warn};

use super::core::{Answer, CaseQuery, CaseView, Verdict};
use super::render::{self, EmbedSpec, clip};
use super::{Bot, Ctx, Error, no_pings, watch};

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
        FrameworkError::CommandCheckFailed { ctx, error: None, .. } => {
            let reply = CreateReply::default()
                .content("This command is for the support staff role.")
                .ephemeral(true);
            let _ = ctx.send(reply).await;
        }
        FrameworkError::Command { error, ctx, .. } => {
            error!(command = %ctx.command().qualified_name, error = %error, "command failed");
            let reply = CreateReply::default()
                .content("Sorry, that went wrong on my side.")
                .ephemeral(true);
            let _ = ctx.send(reply).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                warn!(error = %e, "error while handling an error");
            }
        }
    }
}

/// The one place that decides who is staff.
async fn staff(ctx: Ctx<'_>) -> Result<bool, Error> {
    let member = ctx.author_member().await;
    Ok(watch::is_staff(&ctx.data().cfg, member.as_deref()))
}

/// Answers stay private outside the channels the bot watches.
fn ephemeral(ctx: Ctx<'_>) -> bool {
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
        .core
        .complete(partial, CHOICES_MAX)
        .into_iter()
        .filter(|(value, _)| !value.is_empty() && value.chars().count() <= CHOICE_LEN_MAX)
        .take(CHOICES_MAX)
        .map(|(value, label)| AutocompleteChoice::new(clip(&label, CHOICE_LEN_MAX), value))
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
    let private = ephemeral(ctx);
    let answers = ctx.data().core.lookup(&query, 3).await;
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
    let private = ephemeral(ctx);
    match ctx.data().core.explain_code(&code) {
        Some(a) => send_embeds(ctx, render::embeds(&a, None), private).await,
        None => {
            say(
                ctx,
                &format!("I do not know the code \"{}\".", clip(&code, 50)),
                private,
            )
            .await
        }
    }
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

fn case_line(c: &CaseView) -> String {
    let who = if c.user_name.is_empty() {
        c.user_id.clone()
    } else {
        c.user_name.clone()
    };
    let entry = c
        .resolved_entry
        .as_deref()
        .or(c.entries.first().map(String::as_str))
        .unwrap_or("-");
    let text: String = c.text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "#{} [{}] {} · {} · {} · {}",
        c.id,
        c.status,
        c.created,
        who,
        entry,
        clip(&text, 60)
    )
}

/// Show one case.
#[poise::command(slash_command, rename = "show", check = "staff")]
pub async fn case_show(ctx: Ctx<'_>, #[description = "Case number"] id: i64) -> Result<(), Error> {
    let Some(c) = ctx.data().core.get_case(id).await? else {
        return say(ctx, &format!("No case #{id}."), true).await;
    };
    let mut e = EmbedSpec {
        title: format!("Case #{} ({})", c.id, c.status),
        ..Default::default()
    };
    e.description = clip(&format!("```\n{}\n```", c.text.replace("```", "'''")), 1500);
    let who = if c.user_name.is_empty() {
        c.user_id.clone()
    } else {
        format!("{} ({})", c.user_name, c.user_id)
    };
    e.fields.push(("Asked by".into(), clip(&who, 1024)));
    e.fields.push(("Opened".into(), clip(&c.created, 1024)));
    if !c.entries.is_empty() {
        e.fields.push(("Offered".into(), clip(&c.entries.join(", "), 1024)));
    }
    if let Some(r) = &c.resolved_entry {
        e.fields.push(("Resolved with".into(), clip(r, 1024)));
    }
    if !c.topics.is_empty() {
        e.fields.push(("Topics".into(), clip(&c.topics.join(", "), 1024)));
    }
    if let Some(l) = &c.message_link {
        e.fields.push(("Message".into(), clip(l, 1024)));
    }
    send_embeds(ctx, vec![e], true).await
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum StatusChoice {
    #[name = "open"]
    Open,
    #[name = "resolved"]
    Resolved,
    #[name = "wrong"]
    Wrong,
}

impl StatusChoice {
    fn as_str(self) -> &'static str {
        match self {
            StatusChoice::Open => "open",
            StatusChoice::Resolved => "resolved",
            StatusChoice::Wrong => "wrong",
        }
    }
}

/// List recent cases.
#[poise::command(slash_command, rename = "list", check = "staff")]
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
    let q = CaseQuery {
        user_id: user.map(|u| u.id.to_string()),
        topic,
        status: status.map(|s| s.as_str().to_string()),
        days,
        limit: 20,
    };
    let cases = ctx.data().core.list_cases(&q).await?;
    if cases.is_empty() {
        return say(ctx, "No cases match.", true).await;
    }
    let lines: Vec<String> = cases.iter().map(case_line).collect();
    let e = EmbedSpec {
        title: format!("{} case(s)", cases.len()),
        description: clip(&lines.join("\n"), 4000),
        ..Default::default()
    };
    send_embeds(ctx, vec![e], true).await
}

/// Mark a case resolved by a KB entry.
#[poise::command(slash_command, rename = "resolve", check = "staff")]
pub async fn case_resolve(
    ctx: Ctx<'_>,
    #[description = "Case number"] id: i64,
    #[description = "KB entry that fixed it"]
    #[autocomplete = "complete_lookup"]
    entry: String,
) -> Result<(), Error> {
    let core = &ctx.data().core;
    if core.get_case(id).await?.is_none() {
        return say(ctx, &format!("No case #{id}."), true).await;
    }
    if core
        .lookup(&entry, 1)
        .await
        .first()
        .and_then(|a| a.findings.first())
        .is_none_or(|f| f.entry_id != entry)
    {
        return say(ctx, &format!("There is no KB entry \"{}\".", clip(&entry, 64)), true).await;
    }
    core.judge(id, Verdict::Fixed, &entry, &ctx.author().id.to_string())
        .await?;
    say(ctx, &format!("Case #{id} resolved with `{entry}`."), true).await
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
    let s = ctx.data().core.stats(days).await?;
    let e = EmbedSpec {
        title: format!("Cases in the last {days} days"),
        description: clip(&s.lines.join("\n"), 4000),
        ..Default::default()
    };
    send_embeds(ctx, vec![e], ephemeral(ctx)).await
}

/// Knowledge base (staff).
#[poise::command(slash_command, subcommands("kb_reload"), subcommand_required)]
pub async fn kb(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Reload the knowledge base from its files; the old one stays if the new one is broken.
#[poise::command(slash_command, rename = "reload", check = "staff")]
pub async fn kb_reload(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    match ctx.data().core.reload_kb().await {
        Ok(summary) => {
            info!(by = %ctx.author().id, "KB reloaded: {summary}");
            say(ctx, &format!("Knowledge base reloaded: {summary}"), true).await
        }
        Err(e) => {
            say(
                ctx,
                &format!("Reload failed; the previous knowledge base stays active.\n{e:#}"),
                true,
            )
            .await
        }
    }
}

/// Message context menu: diagnose any message on request, even one the bot would not answer.
#[poise::command(context_menu_command = "Diagnose with qntcbot")]
pub async fn diagnose_message(ctx: Ctx<'_>, msg: serenity::Message) -> Result<(), Error> {
    let bot = ctx.data();
    let private = ephemeral(ctx);
    let text = watch::message_text(bot, &msg).await;
    let d = bot.core.diagnose(&text);
    if d.matches.is_empty() {
        return say(ctx, "I found nothing QNTC-related in that message.", true).await;
    }
    let answer: Answer = bot.core.answer(&d);
    let origin = watch::origin_of(&msg);
    let case = bot.core.record_case(origin, &text, &d, true).await?;
    send_embeds(ctx, render::summary(&answer, Some(case)), private).await
}
