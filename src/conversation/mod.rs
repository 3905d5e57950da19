//! The conversation service: everything a chat bot decides, once, for every platform.
//!
//! A chat adapter (Discord, Slack, a test's fake platform) maps its events to the calls below,
//! fetches attachment bytes, renders what comes back within its own limits, sends it, and
//! reports whether the send worked. It holds no case policy. Nothing here knows a platform's
//! types or limits; ids are strings.
//!
//! ```text
//! message / edit ──► on_message(Message) ──► Heard::Quiet(why)
//!                                        └─► Heard::Reply(Reply { case, answer, actions, public, ticket })
//!                     adapter renders + sends, then delivered(ticket, Delivery::Sent{..} | Failed)
//! "Diagnose" menu ──► on_request(Message, &Actor, watched) ──► Heard (public only if watched and not cooling down)
//! button press   ──► on_action(Press { token, by, channel, message_id }) ──► Shown::{Notice, Update, Private, Remove}
//! commands       ──► lookup / complete / explain / case / cases / resolve / stats / reload_kb  (data, not text)
//! ```
//!
//! Rules that live here and nowhere else:
//! - **Cooldowns** per user and per channel (string keys); checked *before* diagnosis, which
//!   decides the lane: diagnosis runs on the blocking pool within a time budget, and large or
//!   unanswerable texts queue in a narrow lane behind nothing urgent.
//! - **Edits** are answered again only if their evidence changed (keyed by `channel/message`).
//! - **Cases**: every message the engine would answer is recorded, as *not replied* until the
//!   adapter confirms the send ([`Conversation::delivered`]); a failed send leaves the case
//!   unanswered and gives the cooldown back.
//! - **Actions**: only the asker or staff may judge an answer (Fixed it / Not it / Dismiss), a
//!   press is checked against the message and channel the answer was delivered to, a closed
//!   case can only be changed by staff, "Not it" offers the remaining findings ranked on their
//!   own merits and edits the same message, Dismiss records `dismissed`.
//! - **Errors** users should read are one type, [`UserError`], shown word for word; anything
//!   else is [`ConvError::Internal`], logged by the adapter and shown as [`APOLOGY`].

mod cooldown;
mod error;
mod group;
mod lanes;
mod seen;
mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, Utc};

pub use self::cooldown::{Cooldowns, Slot};
pub use self::error::{APOLOGY, ConvError, UserError};
use self::group::Group;
use self::lanes::Lanes;
pub use self::lanes::Skipped;
use self::seen::Seen;
pub use self::seen::signature;
pub use self::token::{ActionKind, ActionToken, TOKEN_MAX, valid_entry};
use crate::cases::delivery::Delivered;
use crate::cases::record::PreparedCase;
pub use crate::cases::{Case, CaseStats, Recorded, Status};
use crate::cases::{CaseFilter, NewCase};
use crate::engine::KbLoadError;
pub use crate::engine::KbSummary;
pub use crate::reply::{Answer, Finding, Reference, Step};
use crate::{Diagnosis, Engine};

/// How a platform's conversation behaves. One value per adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Recorded on every case: `discord`, `slack`, `cli`, ...
    pub platform: String,
    /// After answering a user, stay quiet to that user for this long.
    pub user_cooldown: Duration,
    /// After answering in a channel, stay quiet in that channel for this long.
    pub channel_cooldown: Duration,
    /// Longest a diagnosis may take, queueing included; over it the message is left alone.
    pub diagnose_budget: Duration,
    /// Texts longer than this (attachments, spool files) take the heavy lane.
    pub heavy_bytes: usize,
    /// How many heavy texts are diagnosed at once.
    pub heavy_parallel: usize,
}

impl Settings {
    pub fn new(platform: &str) -> Settings {
        Settings {
            platform: platform.to_string(),
            user_cooldown: Duration::from_secs(60),
            channel_cooldown: Duration::from_secs(10),
            diagnose_budget: Duration::from_secs(20),
            heavy_bytes: 64 * 1024,
            heavy_parallel: 1,
        }
    }
}

/// Where a message came from, in the platform's own ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Guild / Slack team.
    pub workspace: Option<String>,
    pub channel: String,
    pub thread: Option<String>,
    /// The message's id (Discord snowflake, Slack `ts`).
    pub message_id: String,
    /// A link people can click to reach the message.
    pub message_link: Option<String>,
    /// The author.
    pub user_id: String,
    pub user_name: String,
}

/// Someone who acts: presses a button, runs a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub user_name: String,
    /// Decided by the adapter from its permission source (Discord role or permissions,
    /// Slack staff users or user group).
    pub staff: bool,
}

/// A chat message (or its edit) with the text of its attachments already appended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub origin: Origin,
    pub text: String,
    pub edited: bool,
}

/// What to do about a message.
#[derive(Debug)]
pub enum Heard {
    Quiet(Quiet),
    Reply(Reply),
}

/// Why the bot stays quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    /// No text at all.
    Empty,
    /// An edit whose evidence did not change.
    EditUnchanged,
    /// Not about QNTC, or not sure enough to speak unprompted.
    NotSure,
    /// Nothing in the knowledge base matched (explicit requests only).
    NothingFound,
    /// The user or channel was answered a moment ago; the case is recorded as unanswered.
    CoolingDown { case: i64 },
    /// Diagnosis took longer than the budget.
    OverBudget,
}

/// An answer to send. Send it, then report with [`Conversation::delivered`].
#[derive(Debug)]
pub struct Reply {
    pub case: i64,
    /// The report repeated an open case of the same user and was added to it.
    pub folded: bool,
    pub answer: Answer,
    /// Offered under the answer, in display order (Fixed it, Not it, Dismiss).
    pub actions: Vec<ActionToken>,
    /// In the channel for everyone (`true`), or only to the person who asked.
    pub public: bool,
    pub ticket: Ticket,
}

/// Proof of a pending answer; handed back to [`Conversation::delivered`].
#[derive(Debug)]
#[must_use = "report the send with Conversation::delivered"]
pub struct Ticket {
    case: i64,
    slot: Option<Slot>,
}

impl Ticket {
    pub fn case(&self) -> i64 {
        self.case
    }
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Posted where everyone sees it, as this message.
    Sent { channel: String, message_id: String },
    /// Shown only to the person who asked (no message to attach actions to).
    Private,
    /// Not delivered (after the adapter's own retries).
    Failed,
}

/// A button press (or any action) on an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    /// The token the platform carried back ([`ActionToken::encode`]), untrusted.
    pub token: String,
    pub by: Actor,
    /// Channel and message the pressed control was attached to.
    pub channel: String,
    pub message_id: String,
}

/// What to show after an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    /// Tell the person who pressed, privately; the message stays as it is.
    Notice(Notice),
    /// Edit the message the action was attached to into this view.
    Update(View),
    /// Show this view privately to the person who pressed.
    Private(View),
    /// Remove the message the action was attached to, and tell the presser.
    Remove(Notice),
}

/// The outcome of an action, as data. `Display` gives the standard wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Resolved { case: i64, entry: String },
    Dismissed { case: i64 },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Resolved { case, entry } => write!(f, "Thanks! Case #{case} is marked resolved by `{entry}`."),
            Notice::Dismissed { case } => write!(f, "Dismissed; case #{case} is closed."),
        }
    }
}

/// An answer with its actions, shown after an action.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub case: i64,
    /// Empty findings: nothing else fits.
    pub answer: Answer,
    pub actions: Vec<ActionToken>,
}

/// `explain 3401`: the decoding and the few entries it leads to; the rest by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The decoding, e.g. `3401 = EACCES: Permission denied (message CPE3401)`.
    pub headline: String,
    pub note: Option<String>,
    pub leads: Vec<Finding>,
    pub more: Vec<EntryRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    pub entry_id: String,
    pub title: String,
}

/// One autocomplete choice: the entry id and a full-length label (the adapter clips it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub entry_id: String,
    pub label: String,
}

/// Which cases to list; every field narrows, `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub user_id: Option<String>,
    pub topic: Option<String>,
    /// `open`, `answered`, `resolved`, `dismissed` or `wrong`.
    pub status: Option<String>,
    pub days: Option<u32>,
    pub limit: u32,
}

/// How many entries an explanation shows in full; the others are listed by name.
pub const EXPLAIN_LEADS: usize = 2;
/// After "Not it", alternatives are shown next to the best remaining finding when they are
/// nearly as likely as *it*, not as the rejected one.
const NEXT_GAP: f64 = 0.15;
const NEXT_MAX: usize = 3;
const NEXT_ALT_FLOOR: f64 = 0.4;
/// "Not it" offers the best remaining entry down to this ranking probability; below it the
/// bot says nothing else fits.
const NEXT_RANK_FLOOR: f64 = 0.03;

/// The conversation service. Cheap to share: wrap in an `Arc`.
pub struct Conversation {
    engine: Arc<Engine>,
    settings: Settings,
    cooldowns: Cooldowns,
    seen: Seen,
    lanes: Lanes,
    /// New cases and confirmed sends are each written in batches (group commit).
    new_cases: Group<PreparedCase, Recorded>,
    deliveries: Group<Delivered, ()>,
}

impl Conversation {
    pub fn new(engine: Arc<Engine>, settings: Settings) -> Conversation {
        Conversation {
            cooldowns: Cooldowns::new(settings.user_cooldown, settings.channel_cooldown),
            seen: Seen::default(),
            new_cases: Group::default(),
            deliveries: Group::default(),
            lanes: Lanes::new(settings.heavy_parallel, settings.heavy_bytes, settings.diagnose_budget),
            engine,
            settings,
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A message (or an edit) in a watched channel: answer, or stay quiet.
    pub async fn on_message(&self, m: Message) -> Result<Heard, ConvError> {
        if m.text.trim().is_empty() {
            return Ok(Heard::Quiet(Quiet::Empty));
        }
        let o = &m.origin;
        // Cooldown first: a message that cannot be answered now waits in the heavy lane.
        let may_answer = self.cooldowns.is_free(&o.user_id, &o.channel, Instant::now());
        let text: Arc<str> = Arc::from(m.text.as_str());
        let d = match self.lanes.diagnose(&self.engine, text, may_answer).await {
            Ok(d) => d,
            Err(Skipped::OverBudget) => {
                tracing::warn!(channel = %o.channel, message = %o.message_id, bytes = m.text.len(), "diagnosis over budget; not answering");
                return Ok(Heard::Quiet(Quiet::OverBudget));
            }
            Err(Skipped::Crashed) => return Err(anyhow::anyhow!("diagnosis crashed").into()),
        };
        let sig = signature(&d);
        let previous = self
            .seen
            .replace(&format!("{}/{}", o.channel, o.message_id), sig.clone());
        if m.edited && previous.as_deref() == Some(sig.as_str()) {
            return Ok(Heard::Quiet(Quiet::EditUnchanged));
        }
        if !d.reply {
            return Ok(Heard::Quiet(Quiet::NotSure));
        }
        let Some(slot) = self.cooldowns.try_take(&o.user_id, &o.channel, Instant::now()) else {
            let r = self.record(o, &m.text, &d, false).await?;
            return Ok(Heard::Quiet(Quiet::CoolingDown { case: r.id }));
        };
        self.reply(o, &m.text, &d, Some(slot), true).await
    }

    /// An explicit request to diagnose a message (a "Diagnose" menu on someone's message):
    /// answers whenever anything matches, publicly only in a watched channel whose cooldown
    /// allows it, otherwise privately to `by`. The case belongs to the message's author.
    pub async fn on_request(&self, m: Message, by: &Actor, watched: bool) -> Result<Heard, ConvError> {
        if m.text.trim().is_empty() {
            return Ok(Heard::Quiet(Quiet::Empty));
        }
        let text: Arc<str> = Arc::from(m.text.as_str());
        let d = match self.lanes.diagnose(&self.engine, text, true).await {
            Ok(d) => d,
            Err(Skipped::OverBudget) => return Ok(Heard::Quiet(Quiet::OverBudget)),
            Err(Skipped::Crashed) => return Err(anyhow::anyhow!("diagnosis crashed").into()),
        };
        if d.matches.is_empty() {
            return Ok(Heard::Quiet(Quiet::NothingFound));
        }
        let slot = if watched {
            self.cooldowns.try_take(&by.user_id, &m.origin.channel, Instant::now())
        } else {
            None
        };
        let public = slot.is_some();
        self.reply(&m.origin, &m.text, &d, slot, public).await
    }

    async fn reply(
        &self,
        o: &Origin,
        text: &str,
        d: &Diagnosis,
        slot: Option<Slot>,
        public: bool,
    ) -> Result<Heard, ConvError> {
        // Recorded as not replied: only a confirmed send makes it answered.
        let r = match self.record(o, text, d, false).await {
            Ok(r) => r,
            Err(e) => {
                if let Some(s) = &slot {
                    self.cooldowns.release(s);
                }
                return Err(e);
            }
        };
        let answer = self.engine.answer(d);
        let actions = match (public, answer.findings.first()) {
            (true, Some(f)) => ActionToken::judging(r.id, &f.entry_id),
            _ => Vec::new(),
        };
        Ok(Heard::Reply(Reply {
            case: r.id,
            folded: r.folded,
            answer,
            actions,
            public,
            ticket: Ticket { case: r.id, slot },
        }))
    }

    /// Records a diagnosis as a case of this platform. Used by [`on_message`](Self::on_message)
    /// and by callers that diagnose themselves (the command line's `analyze --record`).
    pub async fn record(&self, o: &Origin, text: &str, d: &Diagnosis, replied: bool) -> Result<Recorded, ConvError> {
        fn opt(s: &str) -> Option<&str> {
            (!s.is_empty()).then_some(s)
        }
        let case = NewCase {
            platform: &self.settings.platform,
            workspace: o.workspace.as_deref(),
            channel: opt(&o.channel),
            thread: o.thread.as_deref(),
            message_link: o.message_link.as_deref(),
            user_id: opt(&o.user_id),
            user_name: opt(&o.user_name),
            text,
            diagnosis: d,
            replied,
        };
        let prepared = PreparedCase::new(&case, &d.evidence.key(), self.engine.case_settings());
        let engine = Arc::clone(&self.engine);
        self.new_cases
            .submit(prepared, |batch| async move {
                match engine.db().record_prepared(&batch).await {
                    Ok(recorded) => recorded.into_iter().map(Ok).collect(),
                    Err(e) => batch.iter().map(|_| Err(e.to_string())).collect(),
                }
            })
            .await
            .map_err(|e| ConvError::Internal(anyhow::anyhow!("cannot record the case: {e}")))
    }

    /// Reports how the send of a [`Reply`] ended. Only a delivered answer marks the case
    /// answered; a failed one leaves it unanswered and gives the cooldown back, so the user's
    /// next message is answered.
    pub async fn delivered(&self, ticket: Ticket, outcome: Delivery) {
        let (channel, message) = match outcome {
            Delivery::Sent { channel, message_id } => (Some(channel), Some(message_id)),
            Delivery::Private => (None, None),
            Delivery::Failed => {
                if let Some(s) = &ticket.slot {
                    self.cooldowns.release(s);
                }
                tracing::warn!(case = ticket.case, "answer not delivered; the case stays unanswered");
                return;
            }
        };
        let d = Delivered {
            case: ticket.case,
            channel,
            message,
        };
        let engine = Arc::clone(&self.engine);
        let written = self
            .deliveries
            .submit(d, |batch| async move {
                match engine.db().mark_delivered_many(&batch).await {
                    Ok(missing) => batch
                        .iter()
                        .map(|d| {
                            if missing.contains(&d.case) {
                                Err(crate::cases::CaseError::NotFound(d.case).to_string())
                            } else {
                                Ok(())
                            }
                        })
                        .collect(),
                    Err(e) => batch.iter().map(|_| Err(e.to_string())).collect(),
                }
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(case = ticket.case, error = %e, "cannot record that the answer was delivered");
        }
    }

    /// A button press (or another platform's equivalent) on an answer.
    pub async fn on_action(&self, press: &Press) -> Result<Shown, ConvError> {
        let token = ActionToken::parse(&press.token).ok_or(UserError::BadAction)?;
        let db = self.engine.db();
        let case = db
            .get_case(token.case)
            .await?
            .ok_or(UserError::UnknownCase(token.case))?;
        if !case.matches.iter().any(|m| m.entry_id == token.entry) {
            return Err(UserError::WrongMessage.into());
        }
        if token.kind != ActionKind::Next {
            // Judging happens on the delivered answer only, never on a copy elsewhere.
            let at = db.reply_location(case.id).await?;
            if at
                .as_ref()
                .is_none_or(|(c, m)| *c != press.channel || *m != press.message_id)
            {
                return Err(UserError::WrongMessage.into());
            }
        }
        let by = &press.by;
        if token.kind.judges() {
            let asker = case.user_id.as_deref() == Some(by.user_id.as_str());
            if !(asker || by.staff) {
                return Err(UserError::NotYours.into());
            }
            let closed = matches!(case.status, Status::Resolved | Status::Dismissed);
            let repeat_fix = token.kind == ActionKind::Fixed
                && case.status == Status::Resolved
                && case.fixed_by.as_deref() == Some(token.entry.as_str());
            if closed && !by.staff && !repeat_fix {
                return Err(UserError::Closed(case.id).into());
            }
        }
        let who = if by.user_name.is_empty() {
            &by.user_id
        } else {
            &by.user_name
        };
        match token.kind {
            ActionKind::Fixed => {
                if !(case.status == Status::Resolved && case.fixed_by.as_deref() == Some(token.entry.as_str())) {
                    db.set_case_status(case.id, Status::Resolved, who, Some(&token.entry), None)
                        .await?;
                    // What users just said changes the ranking of the next similar case.
                    self.engine.refresh_priors().await;
                }
                Ok(Shown::Notice(Notice::Resolved {
                    case: case.id,
                    entry: token.entry,
                }))
            }
            ActionKind::NotIt => {
                let mut rejected = rejected_entries(&case);
                if !rejected.contains(&token.entry) {
                    db.set_case_status(case.id, Status::Wrong, who, Some(&token.entry), None)
                        .await?;
                    self.engine.refresh_priors().await;
                    rejected.push(token.entry.clone());
                }
                Ok(Shown::Update(self.next_view(&case, &rejected, true).await))
            }
            ActionKind::Dismiss => {
                if case.status != Status::Dismissed {
                    db.set_case_status(case.id, Status::Dismissed, who, None, None).await?;
                }
                Ok(Shown::Remove(Notice::Dismissed { case: case.id }))
            }
            ActionKind::Next => {
                let mut skip = rejected_entries(&case);
                // Everything up to and including the entry this view showed.
                for m in &case.matches {
                    if !skip.contains(&m.entry_id) {
                        skip.push(m.entry_id.clone());
                    }
                    if m.entry_id == token.entry {
                        break;
                    }
                }
                Ok(Shown::Private(self.next_view(&case, &skip, false).await))
            }
        }
    }

    /// The best findings of `case` not in `skip`, ranked on their own merits.
    async fn next_view(&self, case: &Case, skip: &[String], judging: bool) -> View {
        // Ranking is diagnosis: on the blocking pool, never on the async workers.
        let engine = Arc::clone(&self.engine);
        let text = case.text.clone();
        let n = NEXT_MAX + skip.len() + 1;
        let ranked = tokio::task::spawn_blocking(move || engine.runners_up(&text, NEXT_RANK_FLOOR, n))
            .await
            .unwrap_or_else(|e| {
                tracing::error!("ranking the runners-up failed: {e}");
                Vec::new()
            });
        let kb = self.engine.kb();
        // What was recorded, then what the case's (bounded, redacted) text ranks next.
        let mut rest: Vec<Finding> = Vec::new();
        let recorded = case
            .matches
            .iter()
            .map(|m| (m.entry_id.clone(), m.confidence, m.evidence.clone()));
        let ranked = ranked.into_iter().map(|m| (m.id.clone(), m.confidence, m.evidence));
        for (id, confidence, evidence) in recorded.chain(ranked) {
            if skip.contains(&id) || rest.iter().any(|f| f.entry_id == id) {
                continue;
            }
            if let Some(e) = kb.get(&id) {
                rest.push(Finding::from_entry(e, confidence, evidence));
            }
        }
        rest.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        if let Some(best) = rest.first().map(|f| f.confidence) {
            let mut kept = 0;
            rest.retain(|f| {
                kept += 1;
                kept == 1 || (kept <= NEXT_MAX && f.confidence >= best - NEXT_GAP && f.confidence >= NEXT_ALT_FLOOR)
            });
        }
        let (headline, actions) = match rest.first() {
            Some(f) => (
                format!("Maybe this instead: {} ({:.0}%)", f.title, f.confidence * 100.0),
                if judging {
                    ActionToken::judging(case.id, &f.entry_id)
                } else {
                    vec![ActionToken {
                        kind: ActionKind::Next,
                        case: case.id,
                        entry: f.entry_id.clone(),
                    }]
                },
            ),
            None => (
                format!(
                    "Nothing else in the knowledge base fits case #{}; staff will have a look.",
                    case.id
                ),
                Vec::new(),
            ),
        };
        View {
            case: case.id,
            answer: Answer {
                headline,
                findings: rest,
                note: None,
            },
            actions,
        }
    }

    /// Looks up a KB id, message id, error code or words; best first.
    pub async fn lookup(&self, query: &str, limit: usize) -> Vec<Answer> {
        self.engine.lookup(query, limit).await
    }

    /// Autocomplete over entry ids, message ids and titles.
    pub fn complete(&self, partial: &str, limit: usize) -> Vec<Completion> {
        self.engine
            .complete(partial, limit)
            .into_iter()
            .map(|(entry_id, label)| Completion { entry_id, label })
            .collect()
    }

    /// Explains an error code or message id: the decoding, the first [`EXPLAIN_LEADS`] entries
    /// in full, the others by name.
    pub fn explain(&self, code: &str) -> Result<Explanation, ConvError> {
        let a = self
            .engine
            .explain_code(code)
            .ok_or_else(|| UserError::UnknownCode(code.trim().chars().take(50).collect()))?;
        let mut leads = a.findings;
        let more = leads
            .split_off(leads.len().min(EXPLAIN_LEADS))
            .into_iter()
            .map(|f| EntryRef {
                entry_id: f.entry_id,
                title: f.title,
            })
            .collect();
        Ok(Explanation {
            headline: a.headline,
            note: a.note,
            leads,
            more,
        })
    }

    fn staff(by: &Actor) -> Result<(), ConvError> {
        if by.staff {
            Ok(())
        } else {
            Err(UserError::StaffOnly.into())
        }
    }

    /// One case with its history (staff).
    pub async fn case(&self, id: i64, by: &Actor) -> Result<Case, ConvError> {
        Self::staff(by)?;
        Ok(self.engine.db().get_case(id).await?.ok_or(UserError::UnknownCase(id))?)
    }

    /// Recent cases, newest first (staff).
    pub async fn cases(&self, q: &CaseQuery, by: &Actor) -> Result<Vec<Case>, ConvError> {
        Self::staff(by)?;
        let status = q
            .status
            .as_deref()
            .map(str::parse::<Status>)
            .transpose()
            .map_err(|e| UserError::BadInput(e.to_string()))?;
        let filter = CaseFilter {
            topic: q.topic.clone(),
            user: q.user_id.clone(),
            status,
            since: q.days.map(|d| Utc::now() - ChronoDuration::days(i64::from(d))),
            limit: Some(q.limit.max(1)),
            ..CaseFilter::default()
        };
        Ok(self.engine.db().list_cases(&filter).await?)
    }

    /// Marks case `id` resolved by `entry` (staff).
    pub async fn resolve(&self, id: i64, entry: &str, by: &Actor) -> Result<(), ConvError> {
        Self::staff(by)?;
        let entry = entry.trim();
        if self.engine.db().get_case(id).await?.is_none() {
            return Err(UserError::UnknownCase(id).into());
        }
        if self.engine.kb().get(entry).is_none() {
            return Err(UserError::UnknownEntry(entry.chars().take(64).collect()).into());
        }
        let who = if by.user_name.is_empty() {
            &by.user_id
        } else {
            &by.user_name
        };
        self.engine
            .db()
            .set_case_status(id, Status::Resolved, who, Some(entry), None)
            .await?;
        self.engine.refresh_priors().await;
        Ok(())
    }

    /// Reports over the cases of the last `days` days.
    pub async fn stats(&self, days: u32) -> Result<CaseStats, ConvError> {
        let since = Utc::now() - ChronoDuration::days(i64::from(days));
        Ok(self.engine.db().case_stats(Some(since)).await?)
    }

    /// Re-reads the knowledge base (staff). A broken KB is reported entry by entry and the
    /// running one stays.
    pub async fn reload_kb(&self, by: &Actor) -> Result<KbSummary, ConvError> {
        Self::staff(by)?;
        match self.engine.reload_kb().await {
            Ok(s) => Ok(s),
            Err(e @ (KbLoadError::Invalid { .. } | KbLoadError::Compile(_))) => {
                Err(UserError::KbInvalid(e.to_string()).into())
            }
            Err(e) => Err(ConvError::Internal(e.into())),
        }
    }

    /// Closes the database.
    pub async fn close(&self) {
        self.engine.db().close().await;
    }
}

/// Entries someone said were not it, oldest first.
fn rejected_entries(case: &Case) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in &case.events {
        if e.status == Status::Wrong
            && let Some(entry) = &e.entry
            && !out.contains(entry)
        {
            out.push(entry.clone());
        }
    }
    out
}
