//! The case log: every diagnosis the bot made, where and for whom, what it offered, and what
//! happened afterwards (status changes, feedback, the entry that fixed it).
//!
//! Platform-free: adapters fill a [`NewCase`] and call [`Db::record_case`](crate::db::Db). One
//! file per table group, each with its own `impl Db` block: [`record`] (cases and offered
//! matches), [`events`] (status, feedback, follow-ups), [`query`] (reading and filtering),
//! [`stats`] (reports and learning priors), [`retention`] (purging).

pub mod delivery;
pub mod events;
pub mod query;
pub mod record;
pub mod retention;
pub mod stats;
mod store;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::diagnose::Diagnosis;
use crate::redact::RedactSettings;

pub use query::{Case, CaseEvent, CaseFilter, CaseMatch, Feedback};
pub use retention::PurgeCount;
pub use stats::{CaseStats, EntryCount, EntryHelpfulness, TopicCount, TopicWeek};

/// Case text is cut to this many bytes (after redaction): enough for any job-log excerpt a
/// person reads, small enough that a pasted 50 MB spool file cannot bloat the log.
pub const MAX_CASE_TEXT_BYTES: usize = 64 * 1024;

/// One diagnosis to record.
#[derive(Debug, Clone, Copy)]
pub struct NewCase<'a> {
    /// `discord`, `slack`, `cli`, ...
    pub platform: &'a str,
    /// Guild or Slack workspace.
    pub workspace: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub thread: Option<&'a str>,
    pub message_link: Option<&'a str>,
    /// Platform user id; folding repeats needs it.
    pub user_id: Option<&'a str>,
    pub user_name: Option<&'a str>,
    /// The text as received; redacted and cut to [`MAX_CASE_TEXT_BYTES`] before storing.
    pub text: &'a str,
    pub diagnosis: &'a Diagnosis,
    /// Did the bot answer?
    pub replied: bool,
}

/// Outcome of [`Db::record_case`](crate::db::Db::record_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Recorded {
    pub id: i64,
    /// The report repeated an open case of the same user and was added to it.
    pub folded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Answered,
    Resolved,
    Dismissed,
    Wrong,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Open,
        Status::Answered,
        Status::Resolved,
        Status::Dismissed,
        Status::Wrong,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Answered => "answered",
            Status::Resolved => "resolved",
            Status::Dismissed => "dismissed",
            Status::Wrong => "wrong",
        }
    }

    /// Still waiting for someone: repeats fold into such cases only.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::Answered)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown case status {0:?}; expected open, answered, resolved, dismissed or wrong")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseSettings {
    /// A repeat of the same evidence by the same user within this window (since the case was
    /// last seen) is added to the existing case instead of opening a new one.
    pub fold_window: Duration,
    pub redact: RedactSettings,
}

impl Default for CaseSettings {
    fn default() -> Self {
        CaseSettings {
            fold_window: Duration::from_secs(30 * 60),
            redact: RedactSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("case {0} does not exist")]
    NotFound(i64),
    #[error("case {0} cannot be a follow-up of itself")]
    SelfFollowUp(i64),
    #[error("linking case {id} to {earlier} would make a follow-up loop")]
    FollowUpLoop { id: i64, earlier: i64 },
    #[error("the case database stayed busy after {attempts} attempts: {source}")]
    Busy { attempts: u32, source: sqlx::Error },
    #[error("stored case {id} is damaged: {what}")]
    Corrupt { id: i64, what: String },
    #[error("case database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Unix milliseconds, the storage format of every case time.
pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}
