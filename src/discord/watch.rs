//! Gateway events: new and edited messages in watched channels, and presses of the answer
//! buttons. Each is mapped to the conversation service; what comes back is rendered and sent.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{
    Attachment, ChannelId, ComponentInteraction, CreateActionRow, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, CreateThread, FullEvent, GuildId, Member, MessageId, User,
};
use tracing::{debug, error, info, warn};

use super::render::{self, EmbedSpec};
use super::{Bot, Error, buttons, no_pings};
use crate::conversation::{Actor, ConvError, Delivery, Heard, Message, Origin, Press, Reply, Shown, View};

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
            let at = Place {
                channel: m.channel_id,
                guild: m.guild_id,
                message: m.id,
            };
            on_text(ctx, bot, at, &m.author, &m.content, &m.attachments, false).await;
        }
        FullEvent::MessageUpdate { event: e, .. } => {
            let (Some(author), Some(content)) = (&e.author, &e.content) else {
                return Ok(());
            };
            if author.bot || author.id == fw.bot_id() {
                return Ok(());
            }
            let attachments = e.attachments.clone().unwrap_or_default();
            let at = Place {
                channel: e.channel_id,
                guild: e.guild_id,
                message: e.id,
            };
            on_text(ctx, bot, at, author, content, &attachments, true).await;
        }
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(c),
        } => {
            let _busy = bot.inflight.enter();
            on_button(ctx, bot, c).await;
        }
        _ => {}
    }
    Ok(())
}

/// Where a message is.
#[derive(Clone, Copy)]
pub struct Place {
    pub channel: ChannelId,
    pub guild: Option<GuildId>,
    pub message: MessageId,
}

impl Place {
    fn link(&self) -> String {
        match self.guild {
            Some(g) => format!("https://discord.com/channels/{g}/{}/{}", self.channel, self.message),
            None => format!("https://discord.com/channels/@me/{}/{}", self.channel, self.message),
        }
    }

    pub fn origin(&self, author: &User) -> Origin {
        Origin {
            workspace: self.guild.map(|g| g.to_string()),
            channel: self.channel.to_string(),
            thread: None,
            message_id: self.message.to_string(),
            message_link: Some(self.link()),
            user_id: author.id.to_string(),
            user_name: author.name.clone(),
        }
    }
}

/// Logs an error the user does not need the details of; returns the text they are shown.
pub fn shown(e: &ConvError, what: &str) -> String {
    if let ConvError::Internal(inner) = e {
        error!(error = %format!("{inner:#}"), "{what} failed");
    }
    e.shown()
}

async fn on_text(
    ctx: &serenity::Context,
    bot: &Bot,
    at: Place,
    author: &User,
    content: &str,
    attachments: &[Attachment],
    edited: bool,
) {
    if !bot.cfg.watches(at.channel.get()) {
        return;
    }
    let _busy = bot.inflight.enter();
    let text = gather(bot, content, attachments).await;
    let m = Message {
        origin: at.origin(author),
        text,
        edited,
    };
    match bot.conv.on_message(m).await {
        Ok(Heard::Reply(r)) => deliver(ctx, bot, at, r).await,
        Ok(Heard::Quiet(q)) => debug!(message = %at.message, why = ?q, "not answering"),
        Err(e) => {
            shown(&e, "handling a message");
        }
    }
}

/// Sends an answer as a reply to the message (or in a new thread on it) and tells the service
/// how the send went.
async fn deliver(ctx: &serenity::Context, bot: &Bot, at: Place, r: Reply) {
    let thread = if bot.cfg.reply_in_thread {
        let name = r.answer.findings.first().map_or("qntcbot", |f| f.title.as_str());
        let name: String = render::clip(name, 100);
        match at
            .channel
            .create_thread_from_message(&ctx.http, at.message, CreateThread::new(name))
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
    let embeds = render::summary(&r.answer, Some(r.case));
    let target = thread.unwrap_or(at.channel);
    let reference = thread.is_none().then_some((at.channel, at.message));
    match send(ctx, target, reference, embeds, buttons::row(&r.actions)).await {
        Ok(first) => {
            let outcome = Delivery::Sent {
                channel: target.to_string(),
                message_id: first.to_string(),
            };
            bot.conv.delivered(r.ticket, outcome).await;
        }
        Err(e) => {
            warn!(error = %e, channel = %at.channel, case = r.case, "could not deliver an answer");
            bot.conv.delivered(r.ticket, Delivery::Failed).await;
        }
    }
}

/// Sends embeds as few messages as the limits allow; buttons go on the first message, whose
/// id is returned.
async fn send(
    ctx: &serenity::Context,
    channel: ChannelId,
    reference: Option<(ChannelId, MessageId)>,
    embeds: Vec<EmbedSpec>,
    buttons: Option<CreateActionRow>,
) -> Result<MessageId, Error> {
    let mut buttons = buttons;
    let mut reference = reference;
    let mut first = None;
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
        let sent = channel.send_message(&ctx.http, m).await?;
        first.get_or_insert(sent.id);
    }
    first.ok_or_else(|| anyhow::anyhow!("nothing to send"))
}

fn is_text_attachment(a: &Attachment) -> bool {
    let name = a.filename.to_ascii_lowercase();
    name.ends_with(".txt")
        || name.ends_with(".log")
        || a.content_type.as_deref().is_some_and(|t| t.starts_with("text/plain"))
}

/// The message text plus its text attachments; each attachment's declared size is checked
/// before anything is downloaded, and the download itself stops at the same limit.
pub async fn gather(bot: &Bot, content: &str, attachments: &[Attachment]) -> String {
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

/// Downloads at most `max` bytes; the declared size is not trusted.
async fn download(client: &reqwest::Client, url: &str, max: u64) -> Result<Vec<u8>, Error> {
    let mut resp = client.get(url).send().await?.error_for_status()?;
    if resp.content_length().is_some_and(|n| n > max) {
        anyhow::bail!("attachment larger than {max} bytes");
    }
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

pub fn actor(cfg: &super::DiscordConfig, user: &User, member: Option<&Member>) -> Actor {
    Actor {
        user_id: user.id.to_string(),
        user_name: user.name.clone(),
        staff: is_staff(cfg, member),
    }
}

fn ephemeral(text: &str) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(render::clip(text, 2000))
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    )
}

/// A view as the embeds of one message.
fn view_embeds(v: &View) -> Vec<serenity::CreateEmbed> {
    let embeds = if v.answer.findings.is_empty() {
        render::embeds(&v.answer, Some(v.case))
    } else {
        render::summary(&v.answer, Some(v.case))
    };
    render::messages(embeds)
        .into_iter()
        .next()
        .unwrap_or_default()
        .iter()
        .map(EmbedSpec::to_embed)
        .collect()
}

async fn on_button(ctx: &serenity::Context, bot: &Bot, c: &ComponentInteraction) {
    let press = Press {
        token: c.data.custom_id.clone(),
        by: actor(&bot.cfg, &c.user, c.member.as_ref()),
        channel: c.channel_id.to_string(),
        message_id: c.message.id.to_string(),
    };
    let response = match bot.conv.on_action(&press).await {
        Ok(Shown::Notice(n)) => ephemeral(&n.to_string()),
        Ok(Shown::Update(v)) => {
            // The same message, edited: a second "Not it" never adds a public message.
            let components = buttons::row(&v.actions).map_or_else(Vec::new, |r| vec![r]);
            CreateInteractionResponse::UpdateMessage(
                CreateInteractionResponseMessage::new()
                    .embeds(view_embeds(&v))
                    .components(components)
                    .allowed_mentions(no_pings()),
            )
        }
        Ok(Shown::Private(v)) => {
            let mut m = CreateInteractionResponseMessage::new()
                .embeds(view_embeds(&v))
                .ephemeral(true)
                .allowed_mentions(no_pings());
            if let Some(row) = buttons::row(&v.actions) {
                m = m.components(vec![row]);
            }
            CreateInteractionResponse::Message(m)
        }
        Ok(Shown::Remove(n)) => {
            if let Err(e) = c.message.delete(&ctx.http).await {
                warn!(error = %e, "cannot delete a dismissed answer");
            }
            ephemeral(&n.to_string())
        }
        Err(e) => ephemeral(&shown(&e, "a button press")),
    };
    if let Err(e) = c.create_response(&ctx.http, response).await {
        warn!(error = %e, "cannot answer a button press");
        // Last resort, so the user does not see "interaction failed" for our error.
        let _ = c
            .create_response(&ctx.http, ephemeral(crate::conversation::APOLOGY))
            .await;
    }
}
