//! Gateway events: new and edited messages in watched channels, and presses of the answer
//! buttons.

use std::sync::Arc;
use std::time::Instant;

use poise::serenity_prelude as serenity;
use serenity::{
    Attachment, ChannelId, ComponentInteraction, CreateActionRow, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, CreateThread, FullEvent, GuildId, Member, MessageId, User,
};
use tracing::{debug, info, warn};

use super::buttons::{Action, ButtonId};
use super::core::{CaseOrigin, Verdict};
use super::render::{self, EmbedSpec};
use super::state::signature;
use super::{Bot, Error, no_pings};
use crate::Diagnosis;

/// At most this many attachments of one message are read.
const MAX_ATTACHMENTS: usize = 3;

pub async fn on_event(fw: poise::FrameworkContext<'_, Arc<Bot>, Error>, event: &FullEvent) -> Result<(), Error> {
    let ctx = fw.serenity_context;
    let bot = fw.user_data;
    match event {
        FullEvent::Ready { data_about_bot: r } => {
            info!(user = %r.user.name, guilds = r.guilds.len(), session = %r.session_id, "gateway READY");
        }
        FullEvent::Resume { .. } => info!("gateway session resumed"),
        FullEvent::ShardStageUpdate { event } => {
            info!(shard = %event.shard_id, from = %event.old, to = %event.new, "gateway connection stage changed");
        }
        FullEvent::Message { new_message: m } => {
            if m.author.bot || m.webhook_id.is_some() || m.author.id == fw.bot_id() {
                return Ok(());
            }
            let origin = Origin {
                channel: m.channel_id,
                guild: m.guild_id,
                message: m.id,
                user: &m.author,
            };
            on_text(ctx, bot, origin, &m.content, &m.attachments, false).await;
        }
        FullEvent::MessageUpdate { event: e, .. } => {
            let (Some(author), Some(content)) = (&e.author, &e.content) else {
                return Ok(());
            };
            if author.bot || author.id == fw.bot_id() {
                return Ok(());
            }
            let attachments = e.attachments.clone().unwrap_or_default();
            let origin = Origin {
                channel: e.channel_id,
                guild: e.guild_id,
                message: e.id,
                user: author,
            };
            on_text(ctx, bot, origin, content, &attachments, true).await;
        }
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(c),
        } => {
            let _busy = bot.inflight.enter();
            if let Err(e) = on_button(ctx, bot, c).await {
                warn!(error = %e, "button press failed");
            }
        }
        _ => {}
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Origin<'a> {
    channel: ChannelId,
    guild: Option<GuildId>,
    message: MessageId,
    user: &'a User,
}

impl Origin<'_> {
    fn link(&self) -> String {
        match self.guild {
            Some(g) => format!("https://discord.com/channels/{g}/{}/{}", self.channel, self.message),
            None => format!("https://discord.com/channels/@me/{}/{}", self.channel, self.message),
        }
    }

    fn case_origin(&self, thread: Option<ChannelId>) -> CaseOrigin {
        CaseOrigin {
            workspace: self.guild.map(|g| g.to_string()),
            channel: self.channel.to_string(),
            thread: thread.map(|t| t.to_string()),
            message_link: Some(self.link()),
            user_id: self.user.id.to_string(),
            user_name: self.user.name.clone(),
        }
    }
}

async fn on_text(
    ctx: &serenity::Context,
    bot: &Bot,
    origin: Origin<'_>,
    content: &str,
    attachments: &[Attachment],
    edited: bool,
) {
    if !bot.cfg.watches(origin.channel.get()) {
        return;
    }
    let _busy = bot.inflight.enter();
    let text = gather(bot, content, attachments).await;
    if text.trim().is_empty() {
        return;
    }
    let d = bot.core.diagnose(&text);
    let previous = bot.seen.replace(origin.message.get(), signature(&d));
    if edited && previous.as_deref() == Some(signature(&d).as_str()) {
        debug!(message = %origin.message, "edit did not change the evidence");
        return;
    }
    if !d.reply {
        return;
    }
    if !bot
        .cooldowns
        .try_take(origin.user.id.get(), origin.channel.get(), Instant::now())
    {
        debug!(user = %origin.user.id, channel = %origin.channel, "cooling down; not answering");
        if let Err(e) = bot.core.record_case(origin.case_origin(None), &text, &d, false).await {
            warn!(error = %e, "could not record a case");
        }
        return;
    }
    if let Err(e) = answer(ctx, bot, origin, &text, &d).await {
        warn!(error = %e, channel = %origin.channel, "could not answer a message");
    }
}

async fn answer(
    ctx: &serenity::Context,
    bot: &Bot,
    origin: Origin<'_>,
    text: &str,
    d: &Diagnosis,
) -> Result<(), Error> {
    let answer = bot.core.answer(d);
    let thread = if bot.cfg.reply_in_thread {
        let name = answer.findings.first().map_or("qntcbot", |f| f.title.as_str());
        let name: String = render::clip(name, 100);
        match origin
            .channel
            .create_thread_from_message(&ctx.http, origin.message, CreateThread::new(name))
            .await
        {
            Ok(t) => Some(t.id),
            Err(e) => {
                warn!(error = %e, "cannot start a thread; replying in the channel");
                None
            }
        }
    } else {
        None
    };
    // The case id goes into the footer and the buttons, so record before sending.
    let case = bot.core.record_case(origin.case_origin(thread), text, d, true).await?;
    let embeds = render::summary(&answer, Some(case));
    let top = answer.findings.first().map(|f| f.entry_id.as_str());
    let target = thread.unwrap_or(origin.channel);
    let reference = thread.is_none().then_some((origin.channel, origin.message));
    send(
        ctx,
        target,
        reference,
        embeds,
        top.and_then(|e| super::buttons::row(case, e)),
    )
    .await
}

/// Sends embeds as few messages as the limits allow; buttons go on the first message.
async fn send(
    ctx: &serenity::Context,
    channel: ChannelId,
    reference: Option<(ChannelId, MessageId)>,
    embeds: Vec<EmbedSpec>,
    buttons: Option<CreateActionRow>,
) -> Result<(), Error> {
    let mut buttons = buttons;
    let mut reference = reference;
    for group in render::messages(embeds) {
        let mut m = CreateMessage::new()
            .embeds(group.iter().map(EmbedSpec::to_embed).collect())
            .allowed_mentions(no_pings());
        if let Some(r) = reference.take() {
            m = m.reference_message(r);
        }
        if let Some(row) = buttons.take() {
            m = m.components(vec![row]);
        }
        channel.send_message(&ctx.http, m).await?;
    }
    Ok(())
}

fn is_text_attachment(a: &Attachment) -> bool {
    let name = a.filename.to_ascii_lowercase();
    name.ends_with(".txt")
        || name.ends_with(".log")
        || a.content_type.as_deref().is_some_and(|t| t.starts_with("text/plain"))
}

/// The message text plus its text attachments, each attachment bounded by the configured size.
async fn gather(bot: &Bot, content: &str, attachments: &[Attachment]) -> String {
    let mut text = content.to_string();
    let max = bot.cfg.max_attachment_bytes;
    for a in attachments
        .iter()
        .filter(|a| is_text_attachment(a))
        .take(MAX_ATTACHMENTS)
    {
        if u64::from(a.size) > max {
            debug!(file = %a.filename, size = a.size, "attachment over the size limit; skipped");
            continue;
        }
        match download(&bot.downloads, &a.url, max).await {
            Ok(bytes) => {
                text.push_str("\n\n");
                // Same decoding as the command line: UTF-16/32 (BOM), EBCDIC, UTF-8.
                text.push_str(&crate::input::decode(&bytes).1.0);
            }
            Err(e) => warn!(file = %a.filename, error = %e, "cannot download an attachment"),
        }
    }
    text
}

/// Text and attachments of a message the context-menu command was used on.
pub async fn message_text(bot: &Bot, m: &serenity::Message) -> String {
    gather(bot, &m.content, &m.attachments).await
}

pub fn origin_of(m: &serenity::Message) -> CaseOrigin {
    Origin {
        channel: m.channel_id,
        guild: m.guild_id,
        message: m.id,
        user: &m.author,
    }
    .case_origin(None)
}

/// Downloads at most `max` bytes; the declared size is not trusted.
async fn download(client: &reqwest::Client, url: &str, max: u64) -> Result<Vec<u8>, Error> {
    let mut resp = client.get(url).send().await?.error_for_status()?;
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if (out.len() + chunk.len()) as u64 > max {
            anyhow::bail!("attachment larger than {max} bytes");
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Staff: the configured role, or without one, Administrator / Manage Server.
pub fn is_staff(cfg: &super::DiscordConfig, member: Option<&Member>) -> bool {
    let Some(m) = member else { return false };
    match cfg.staff_role {
        Some(role) => m.roles.iter().any(|r| r.get() == role),
        None => m.permissions.is_some_and(|p| p.administrator() || p.manage_guild()),
    }
}

async fn reply_ephemeral(ctx: &serenity::Context, c: &ComponentInteraction, text: &str) -> Result<(), Error> {
    let msg = CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(no_pings());
    c.create_response(&ctx.http, CreateInteractionResponse::Message(msg))
        .await?;
    Ok(())
}

async fn on_button(ctx: &serenity::Context, bot: &Bot, c: &ComponentInteraction) -> Result<(), Error> {
    let Some(id) = ButtonId::parse(&c.data.custom_id) else {
        return reply_ephemeral(ctx, c, "This button is not one of mine.").await;
    };
    let Some(case) = bot.core.get_case(id.case).await? else {
        return reply_ephemeral(ctx, c, "That case no longer exists.").await;
    };
    if !case.entries.contains(&id.entry) {
        return reply_ephemeral(ctx, c, "This button does not belong to that case.").await;
    }
    let by = c.user.id.to_string();
    let asker = case.user_id == by;
    match id.action {
        Action::Fixed => {
            bot.core.judge(case.id, Verdict::Fixed, &id.entry, &by).await?;
            let text = format!("Thanks! Case #{} is marked resolved by `{}`.", case.id, id.entry);
            reply_ephemeral(ctx, c, &text).await
        }
        Action::NotIt => {
            bot.core.judge(case.id, Verdict::Wrong, &id.entry, &by).await?;
            let d = bot.core.diagnose(&case.text);
            let mut answer = bot.core.answer(&d);
            // Offer only what has not been shown and rejected yet.
            answer.findings.retain(|f| f.entry_id != id.entry);
            answer.findings.truncate(2);
            let Some(next) = answer.findings.first().map(|f| f.entry_id.clone()) else {
                let text = format!(
                    "Noted. Nothing else in the knowledge base fits case #{}; staff will have a look.",
                    case.id
                );
                return reply_ephemeral(ctx, c, &text).await;
            };
            answer.headline = "Maybe one of these instead:".into();
            let embeds = render::embeds(&answer, Some(case.id));
            let group = render::messages(embeds).into_iter().next().unwrap_or_default();
            let mut msg = CreateInteractionResponseMessage::new()
                .embeds(group.iter().map(EmbedSpec::to_embed).collect())
                .allowed_mentions(no_pings());
            if let Some(row) = super::buttons::row(case.id, &next) {
                msg = msg.components(vec![row]);
            }
            c.create_response(&ctx.http, CreateInteractionResponse::Message(msg))
                .await?;
            Ok(())
        }
        Action::Dismiss => {
            if !(asker || is_staff(&bot.cfg, c.member.as_ref())) {
                return reply_ephemeral(ctx, c, "Only the person who asked, or staff, can dismiss this answer.").await;
            }
            c.create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                .await?;
            c.message.delete(&ctx.http).await?;
            info!(case = case.id, by = %by, "answer dismissed");
            Ok(())
        }
    }
}
