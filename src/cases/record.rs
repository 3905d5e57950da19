//! Writing new cases (`cases`, `case_match`, the opening event) and folding repeats.

use std::borrow::Cow;

use super::events::insert_event;
use super::store::{now_ms, retry_busy};
use super::{CaseError, CaseSettings, MAX_CASE_TEXT_BYTES, NewCase, Recorded, Status};
use crate::db::Db;
use crate::redact::{RedactSettings, redact_known};

/// Redaction runs on at most this much of the text: anything past [`MAX_CASE_TEXT_BYTES`] is
/// dropped anyway, and the margin keeps a secret that straddles the cut from half-surviving.
const REDACT_WINDOW_BYTES: usize = 4 * MAX_CASE_TEXT_BYTES;

/// The text as it will be stored.
struct StoredText {
    text: String,
    /// Secret values found in the original text; evidence quotes are scrubbed of them too.
    secrets: Vec<String>,
    original_bytes: usize,
    truncated: bool,
}

fn prepare_text(text: &str, settings: &CaseSettings) -> StoredText {
    let window = prefix(text, REDACT_WINDOW_BYTES);
    // A value found once (`password: X` on one line) is removed wherever else it appears.
    let secrets = crate::redact::secret_values(window);
    let redacted = redact_known(window, &settings.redact, &secrets);
    let stored = prefix(&redacted, MAX_CASE_TEXT_BYTES);
    StoredText {
        truncated: window.len() < text.len() || stored.len() < redacted.len(),
        text: stored.to_string(),
        secrets,
        original_bytes: text.len(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Who an event is attributed to: the display name if known, else the platform id.
fn reporter<'a>(case: &NewCase<'a>) -> &'a str {
    case.user_name.or(case.user_id).unwrap_or(case.platform)
}

/// A case ready to be written: the text redacted and cut, the matches serialised. All the
/// CPU work of recording is done here, on the caller's task, so that a writer holding the
/// database lock for a whole batch (see [`Db::record_prepared`]) only writes.
#[derive(Debug, Clone)]
pub struct PreparedCase {
    platform: String,
    workspace: Option<String>,
    channel: Option<String>,
    thread: Option<String>,
    message_link: Option<String>,
    user_id: Option<String>,
    reporter: String,
    user_name: Option<String>,
    key: String,
    text: String,
    original_bytes: i64,
    truncated: bool,
    replied: bool,
    window_ms: i64,
    /// `[[entry_id, title, topics, confidence, evidence], ...]` in rank order; `topics` and
    /// `evidence` are the JSON texts stored in `case_match`.
    matches: String,
}

impl PreparedCase {
    pub fn new(case: &NewCase<'_>, evidence_key: &str, settings: &CaseSettings) -> PreparedCase {
        let text = prepare_text(case.text, settings);
        let owned = |s: Option<&str>| s.map(str::to_string);
        let matches: Vec<serde_json::Value> = case
            .diagnosis
            .matches
            .iter()
            .map(|m| {
                let confidence = if m.confidence.is_finite() {
                    m.confidence.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                serde_json::json!([
                    m.id,
                    m.title,
                    json_strings(&m.topics),
                    confidence,
                    evidence_json(&m.evidence, &settings.redact, &text.secrets),
                ])
            })
            .collect();
        PreparedCase {
            platform: case.platform.to_string(),
            workspace: owned(case.workspace),
            channel: owned(case.channel),
            thread: owned(case.thread),
            message_link: owned(case.message_link),
            user_id: owned(case.user_id),
            reporter: reporter(case).to_string(),
            user_name: owned(case.user_name),
            key: evidence_key.to_string(),
            original_bytes: i64::try_from(text.original_bytes).unwrap_or(i64::MAX),
            truncated: text.truncated,
            text: text.text,
            replied: case.replied,
            window_ms: i64::try_from(settings.fold_window.as_millis()).unwrap_or(i64::MAX),
            // Serialising plain values cannot fail; an empty list rather than a lost case.
            matches: serde_json::to_string(&matches).unwrap_or_else(|_| "[]".to_string()),
        }
    }
}

impl Db {
    /// Records a diagnosis. A repeat (same platform user, same non-empty evidence key, the
    /// earlier case still open or answered and seen within `fold_window`) is folded into the
    /// earlier case as a `repeat` event instead of opening a duplicate.
    #[tracing::instrument(skip_all, fields(platform = case.platform))]
    pub async fn record_case(&self, case: NewCase<'_>, settings: &CaseSettings) -> Result<Recorded, CaseError> {
        let key = case.diagnosis.evidence.key();
        self.record_case_with_key(case, &key, settings).await
    }

    /// [`Db::record_case`] with the evidence key supplied by the caller, for imports and
    /// replays whose key was computed elsewhere.
    #[tracing::instrument(skip_all, fields(platform = case.platform))]
    pub async fn record_case_with_key(
        &self,
        case: NewCase<'_>,
        evidence_key: &str,
        settings: &CaseSettings,
    ) -> Result<Recorded, CaseError> {
        let prepared = PreparedCase::new(&case, evidence_key, settings);
        let mut recorded = self.record_prepared(std::slice::from_ref(&prepared)).await?;
        recorded.pop().ok_or_else(|| CaseError::Db(sqlx::Error::RowNotFound))
    }

    /// Writes `cases` in one transaction, in order, so that a burst of chat messages takes the
    /// write lock (and pays for a commit) once. A case folds into an earlier one of the same
    /// batch exactly as it would into one written before.
    #[tracing::instrument(skip_all, fields(n = cases.len()))]
    pub async fn record_prepared(&self, cases: &[PreparedCase]) -> Result<Vec<Recorded>, CaseError> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let recorded = retry_busy(|| async {
            // IMMEDIATE takes the write lock up front: a deferred transaction that reads
            // first and then writes can fail with BUSY_SNAPSHOT without the busy handler
            // ever waiting.
            let mut tx = self.begin_write().await?;
            let now = now_ms();
            let mut out = Vec::with_capacity(cases.len());
            for case in cases {
                out.push(write_case(&mut tx, case, now).await?);
            }
            tx.commit().await?;
            Ok(out)
        })
        .await?;
        for r in &recorded {
            tracing::debug!(id = r.id, folded = r.folded, "case recorded");
        }
        Ok(recorded)
    }
}

/// Writes one case (or folds it into the same user's open case with the same evidence) and
/// its history event.
async fn write_case(conn: &mut sqlx::SqliteConnection, case: &PreparedCase, now: i64) -> Result<Recorded, CaseError> {
    let (recorded, status) = match fold_into_earlier(conn, case, now).await? {
        Some(folded) => folded,
        None => open_case(conn, case, now).await?,
    };
    let kind = if recorded.folded { "repeat" } else { "opened" };
    insert_event(
        conn,
        recorded.id,
        now,
        kind,
        status,
        &case.reporter,
        None,
        case.message_link.as_deref(),
    )
    .await?;
    Ok(recorded)
}

/// A repeat (same platform user, same non-empty evidence key, the earlier case still open or
/// answered and seen within the fold window) updates the earlier case; `None` if there is none.
async fn fold_into_earlier(
    conn: &mut sqlx::SqliteConnection,
    case: &PreparedCase,
    now: i64,
) -> Result<Option<(Recorded, Status)>, CaseError> {
    let (Some(user), false) = (case.user_id.as_deref(), case.key.is_empty()) else {
        return Ok(None);
    };
    let earlier: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, status FROM cases
         WHERE user_id = ? AND platform = ? AND evidence_key = ?
           AND status IN ('open', 'answered') AND last_seen_at >= ?
         ORDER BY last_seen_at DESC LIMIT 1",
    )
    .bind(user)
    .bind(&case.platform)
    .bind(&case.key)
    .bind(now.saturating_sub(case.window_ms))
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, status)) = earlier else {
        return Ok(None);
    };
    let mut status = status.parse().map_err(|e| CaseError::Corrupt {
        id,
        what: format!("{e}"),
    })?;
    if case.replied && status == Status::Open {
        status = Status::Answered;
    }
    sqlx::query(
        "UPDATE cases SET last_seen_at = ?, repeats = repeats + 1, replied = max(replied, ?), status = ?
         WHERE id = ?",
    )
    .bind(now)
    .bind(case.replied)
    .bind(status.as_str())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(Some((Recorded { id, folded: true }, status)))
}

/// A new case with its matches.
async fn open_case(
    conn: &mut sqlx::SqliteConnection,
    case: &PreparedCase,
    now: i64,
) -> Result<(Recorded, Status), CaseError> {
    let status = if case.replied { Status::Answered } else { Status::Open };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (created_at, last_seen_at, platform, workspace, channel, thread, message_link,
                            user_id, user_name, text, text_bytes, text_truncated, evidence_key, replied, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING id",
    )
    .bind(now)
    .bind(now)
    .bind(&case.platform)
    .bind(case.workspace.as_deref())
    .bind(case.channel.as_deref())
    .bind(case.thread.as_deref())
    .bind(case.message_link.as_deref())
    .bind(case.user_id.as_deref())
    .bind(case.user_name.as_deref())
    .bind(&case.text)
    .bind(case.original_bytes)
    .bind(case.truncated)
    .bind(&case.key)
    .bind(case.replied)
    .bind(status.as_str())
    .fetch_one(&mut *conn)
    .await?;

    // Every match in one statement: each statement is a round trip to the database thread,
    // and under a burst those round trips, not SQLite, were the cost of recording.
    sqlx::query(
        "INSERT INTO case_match (case_id, rank, entry_id, title, topics, confidence, evidence)
         SELECT ?, m.key, m.value ->> 0, m.value ->> 1, m.value ->> 2, m.value ->> 3, m.value ->> 4
         FROM json_each(?) AS m",
    )
    .bind(id)
    .bind(&case.matches)
    .execute(&mut *conn)
    .await?;
    Ok((Recorded { id, folded: false }, status))
}

/// A JSON array of strings.
fn json_strings(items: &[String]) -> String {
    // Serialising strings cannot fail; fall back to an empty list rather than lose the case.
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

/// Match evidence quotes the user's text: it gets the same redaction as the case text (IP
/// addresses and profiles included when configured), and any secret value found in the whole
/// text is removed even where the quote cut off its label.
fn evidence_json(items: &[String], settings: &RedactSettings, secrets: &[String]) -> String {
    let clean: Vec<Cow<'_, str>> = items.iter().map(|s| redact_known(s, settings, secrets)).collect();
    serde_json::to_string(&clean).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_respects_char_boundaries() {
        assert_eq!(prefix("abc", 10), "abc");
        assert_eq!(prefix("aé", 2), "a");
        assert_eq!(prefix("パスワード", 4), "パ");
    }

    #[test]
    fn long_text_is_cut_and_flagged() {
        let text = format!("password=hunter2 {}", "x".repeat(MAX_CASE_TEXT_BYTES * 5));
        let stored = prepare_text(&text, &CaseSettings::default());
        assert!(stored.truncated);
        assert_eq!(stored.text.len(), MAX_CASE_TEXT_BYTES);
        assert_eq!(stored.original_bytes, text.len());
        assert!(!stored.text.contains("hunter2"));
    }

    #[test]
    fn short_text_is_kept_whole() {
        let stored = prepare_text("CPDB053 on /QNTC/nas", &CaseSettings::default());
        assert!(!stored.truncated);
        assert_eq!(stored.text, "CPDB053 on /QNTC/nas");
    }
}
