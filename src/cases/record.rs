//! Writing new cases (`cases`, `case_match`, the opening event) and folding repeats.

use std::collections::{BTreeMap, HashMap};

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
        let mut redacted = Quotes {
            settings: &settings.redact,
            secrets: &text.secrets,
            done: HashMap::new(),
        };
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
                    evidence_json(&m.evidence, &mut redacted),
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
    ///
    /// The batch costs the same few statements whatever its size (each statement is a round
    /// trip to the database thread, and under a burst those round trips, each waiting for a
    /// core busy with diagnoses, were most of the time a reply spent being recorded).
    #[tracing::instrument(skip_all, fields(n = cases.len()))]
    pub async fn record_prepared(&self, cases: &[PreparedCase]) -> Result<Vec<Recorded>, CaseError> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let recorded = retry_busy(|| async {
            // IMMEDIATE takes the write lock up front: a deferred transaction that reads
            // first and then writes can fail with BUSY_SNAPSHOT without the busy handler
            // ever waiting. Holding it also makes the ids handed out below safe to use.
            let mut tx = self.begin_write().await?;
            let out = write_batch(&mut tx, cases, now_ms()).await?;
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

/// What a case of the batch folds into.
#[derive(Clone, Copy)]
struct Target {
    id: i64,
    status: Status,
}

/// Writes a batch inside the caller's transaction: which cases repeat an earlier one (in the
/// database or in this batch), then the new cases, their matches, every case's event and the
/// repeats' updates, one statement each.
async fn write_batch(
    conn: &mut sqlx::SqliteConnection,
    cases: &[PreparedCase],
    now: i64,
) -> Result<Vec<Recorded>, CaseError> {
    let earlier = earlier_cases(conn, cases, now).await?;
    // The next ids of `cases` (AUTOINCREMENT: never below an id once handed out, even if
    // that case was purged). Safe because this transaction holds the write lock.
    let last_id: i64 = sqlx::query_scalar(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'cases'), 0),
                    coalesce((SELECT max(id) FROM cases), 0))",
    )
    .fetch_one(&mut *conn)
    .await?;

    let mut targets: HashMap<(&str, &str, &str), Target> = HashMap::new();
    let mut out = Vec::with_capacity(cases.len());
    let mut new_rows = Vec::new();
    let mut match_rows = Vec::new();
    let mut event_rows = Vec::with_capacity(cases.len());
    // id -> (repeats added, replied by any repeat, final status)
    let mut repeats: BTreeMap<i64, (i64, bool, Status)> = BTreeMap::new();
    let mut next_id = last_id;
    for (i, case) in cases.iter().enumerate() {
        let fold_key = case
            .user_id
            .as_deref()
            .filter(|_| !case.key.is_empty())
            .map(|u| (u, case.platform.as_str(), case.key.as_str()));
        let target = fold_key.and_then(|k| targets.get(&k).copied().or_else(|| earlier.get(&i).copied()));
        let (recorded, status) = match target {
            Some(t) => {
                let status = if case.replied && t.status == Status::Open {
                    Status::Answered
                } else {
                    t.status
                };
                let r = repeats.entry(t.id).or_insert((0, false, status));
                *r = (r.0 + 1, r.1 || case.replied, status);
                (Recorded { id: t.id, folded: true }, status)
            }
            None => {
                next_id += 1;
                let status = if case.replied { Status::Answered } else { Status::Open };
                new_rows.push(serde_json::json!([
                    next_id,
                    case.platform,
                    case.workspace,
                    case.channel,
                    case.thread,
                    case.message_link,
                    case.user_id,
                    case.user_name,
                    case.text,
                    case.original_bytes,
                    case.truncated,
                    case.key,
                    case.replied,
                    status.as_str(),
                ]));
                // `matches` is JSON already; spliced in, not parsed and written again.
                match_rows.push(format!("[{next_id},{}]", case.matches));
                (
                    Recorded {
                        id: next_id,
                        folded: false,
                    },
                    status,
                )
            }
        };
        if let Some(k) = fold_key {
            targets.insert(
                k,
                Target {
                    id: recorded.id,
                    status,
                },
            );
        }
        let kind = if recorded.folded { "repeat" } else { "opened" };
        event_rows.push(serde_json::json!([
            recorded.id,
            kind,
            status.as_str(),
            case.reporter,
            case.message_link
        ]));
        out.push(recorded);
    }

    if !new_rows.is_empty() {
        sqlx::query(
            "INSERT INTO cases (id, created_at, last_seen_at, platform, workspace, channel, thread, message_link,
                                user_id, user_name, text, text_bytes, text_truncated, evidence_key, replied, status)
             SELECT c.value ->> 0, ?2, ?2, c.value ->> 1, c.value ->> 2, c.value ->> 3, c.value ->> 4,
                    c.value ->> 5, c.value ->> 6, c.value ->> 7, c.value ->> 8, c.value ->> 9,
                    c.value ->> 10, c.value ->> 11, c.value ->> 12, c.value ->> 13
             FROM json_each(?1) AS c ORDER BY c.key",
        )
        .bind(serde_json::Value::Array(new_rows).to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO case_match (case_id, rank, entry_id, title, topics, confidence, evidence)
             SELECT c.value ->> 0, m.key, m.value ->> 0, m.value ->> 1, m.value ->> 2, m.value ->> 3, m.value ->> 4
             FROM json_each(?) AS c, json_each(c.value, '$[1]') AS m",
        )
        .bind(format!("[{}]", match_rows.join(",")))
        .execute(&mut *conn)
        .await?;
    }
    if !repeats.is_empty() {
        let rows: Vec<serde_json::Value> = repeats
            .iter()
            .map(|(id, (n, replied, status))| serde_json::json!([id, n, replied, status.as_str()]))
            .collect();
        sqlx::query(
            "UPDATE cases SET last_seen_at = ?2, repeats = repeats + (r.value ->> 1),
                              replied = max(replied, r.value ->> 2), status = r.value ->> 3
             FROM json_each(?1) AS r WHERE cases.id = r.value ->> 0",
        )
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    // In batch order, as one case after the other would have written them.
    sqlx::query(
        "INSERT INTO case_event (case_id, at, kind, status, by_whom, entry_id, note)
         SELECT e.value ->> 0, ?2, e.value ->> 1, e.value ->> 2, e.value ->> 3, NULL, e.value ->> 4
         FROM json_each(?1) AS e ORDER BY e.key",
    )
    .bind(serde_json::Value::Array(event_rows).to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(out)
}

/// For each case of the batch that may fold (a platform user and a non-empty evidence key):
/// that user's latest case with the same evidence, still open or answered and seen within the
/// fold window, if there is one. Keyed by the case's index in the batch.
async fn earlier_cases(
    conn: &mut sqlx::SqliteConnection,
    cases: &[PreparedCase],
    now: i64,
) -> Result<HashMap<usize, Target>, CaseError> {
    let asks: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| match c.user_id.as_deref().filter(|_| !c.key.is_empty()) {
            Some(user) => serde_json::json!([user, c.platform, c.key, now.saturating_sub(c.window_ms)]),
            None => serde_json::Value::Null,
        })
        .collect();
    if asks.iter().all(serde_json::Value::is_null) {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT a.key, c.id, c.status FROM json_each(?) AS a
         JOIN cases AS c ON c.id = (
             SELECT id FROM cases
             WHERE user_id = a.value ->> 0 AND platform = a.value ->> 1 AND evidence_key = a.value ->> 2
               AND status IN ('open', 'answered') AND last_seen_at >= a.value ->> 3
             ORDER BY last_seen_at DESC LIMIT 1)
         WHERE a.type = 'array'",
    )
    .bind(serde_json::Value::Array(asks).to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(i, id, status)| {
            let status = status.parse().map_err(|e| CaseError::Corrupt {
                id,
                what: format!("{e}"),
            })?;
            Ok((usize::try_from(i).unwrap_or(usize::MAX), Target { id, status }))
        })
        .collect()
}

/// A JSON array of strings.
fn json_strings(items: &[String]) -> String {
    // Serialising strings cannot fail; fall back to an empty list rather than lose the case.
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

/// Match evidence quotes the user's text: it gets the same redaction as the case text (IP
/// addresses and profiles included when configured), and any secret value found in the whole
/// text is removed even where the quote cut off its label. The matches of one text mostly
/// quote the same few lines, so each distinct quote is redacted once per case.
struct Quotes<'a> {
    settings: &'a RedactSettings,
    secrets: &'a [String],
    done: HashMap<&'a str, String>,
}

fn evidence_json<'a>(items: &'a [String], quotes: &mut Quotes<'a>) -> String {
    // The diagnosis redacted its quotes already, with the default rules and the secrets of
    // the whole text (see `diagnose::redact_evidence`): only stricter rules (IP addresses,
    // profiles) have anything left to do.
    if *quotes.settings == RedactSettings::default() {
        return serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string());
    }
    let (settings, secrets) = (quotes.settings, quotes.secrets);
    for s in items {
        quotes
            .done
            .entry(s.as_str())
            .or_insert_with(|| redact_known(s, settings, secrets).into_owned());
    }
    let clean: Vec<&str> = items
        .iter()
        .map(|s| quotes.done.get(s.as_str()).map_or("", String::as_str))
        .collect();
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
