//! Reading cases back: one case with its history, or a filtered list.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{CaseError, Status, from_millis, to_millis};
use crate::db::Db;

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub platform: String,
    pub workspace: Option<String>,
    pub channel: Option<String>,
    pub thread: Option<String>,
    pub message_link: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    /// Redacted, at most [`MAX_CASE_TEXT_BYTES`](super::MAX_CASE_TEXT_BYTES).
    pub text: String,
    /// Size of the text as received.
    pub text_bytes: u64,
    pub text_truncated: bool,
    pub evidence_key: String,
    pub replied: bool,
    pub status: Status,
    pub fixed_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub follow_up_of: Option<i64>,
    /// Folded repeat reports.
    pub repeats: u32,
    /// Offered entries, best first.
    pub matches: Vec<CaseMatch>,
    /// Oldest first. Empty in [`Db::list_cases`] results.
    pub events: Vec<CaseEvent>,
    /// Oldest first. Empty in [`Db::list_cases`] results.
    pub feedback: Vec<Feedback>,
}

impl Case {
    pub fn best(&self) -> Option<&CaseMatch> {
        self.matches.first()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseMatch {
    pub entry_id: String,
    pub title: String,
    pub topics: Vec<String>,
    pub confidence: f64,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    /// `opened`, `status` or `repeat`.
    pub kind: String,
    /// The case's status after the event.
    pub status: Status,
    pub by: String,
    pub entry: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Feedback {
    pub at: DateTime<Utc>,
    pub helpful: bool,
    pub comment: Option<String>,
    pub by: String,
}

/// Which cases to list; every field narrows the result, `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// A topic of any offered entry.
    pub topic: Option<String>,
    /// Offered, or the entry that fixed it.
    pub entry: Option<String>,
    /// A message id, error code or NT status in the evidence key (`CPDB053`, `3401`).
    pub message_id: Option<String>,
    /// Platform user id or display name.
    pub user: Option<String>,
    pub channel: Option<String>,
    pub status: Option<Status>,
    /// Opened at or after.
    pub since: Option<DateTime<Utc>>,
    /// Opened before.
    pub until: Option<DateTime<Utc>>,
    /// Full-text search over the case text; words are matched literally (all must occur), a
    /// trailing `*` on a word matches by prefix.
    pub text: Option<String>,
    /// Newest first, at most this many.
    pub limit: Option<u32>,
}

const CASE_COLUMNS: &str = "SELECT c.id, c.created_at, c.last_seen_at, c.platform, c.workspace, c.channel, c.thread,
        c.message_link, c.user_id, c.user_name, c.text, c.text_bytes, c.text_truncated, c.evidence_key, c.replied,
        c.status, c.fixed_by, c.resolved_at, c.follow_up_of, c.repeats
    FROM cases c";

fn parse_status(id: i64, s: &str) -> Result<Status, CaseError> {
    s.parse().map_err(|e| CaseError::Corrupt {
        id,
        what: format!("{e}"),
    })
}

fn json_list(id: i64, s: &str) -> Result<Vec<String>, CaseError> {
    serde_json::from_str(s).map_err(|e| CaseError::Corrupt {
        id,
        what: format!("bad JSON list {s:?}: {e}"),
    })
}

fn case_from_row(row: &SqliteRow) -> Result<Case, CaseError> {
    let id: i64 = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    Ok(Case {
        id,
        created_at: from_millis(row.try_get("created_at")?),
        last_seen_at: from_millis(row.try_get("last_seen_at")?),
        platform: row.try_get("platform")?,
        workspace: row.try_get("workspace")?,
        channel: row.try_get("channel")?,
        thread: row.try_get("thread")?,
        message_link: row.try_get("message_link")?,
        user_id: row.try_get("user_id")?,
        user_name: row.try_get("user_name")?,
        text: row.try_get("text")?,
        text_bytes: u64::try_from(row.try_get::<i64, _>("text_bytes")?).unwrap_or(0),
        text_truncated: row.try_get("text_truncated")?,
        evidence_key: row.try_get("evidence_key")?,
        replied: row.try_get("replied")?,
        status: parse_status(id, &status)?,
        fixed_by: row.try_get("fixed_by")?,
        resolved_at: row.try_get::<Option<i64>, _>("resolved_at")?.map(from_millis),
        follow_up_of: row.try_get("follow_up_of")?,
        repeats: u32::try_from(row.try_get::<i64, _>("repeats")?).unwrap_or(u32::MAX),
        matches: Vec::new(),
        events: Vec::new(),
        feedback: Vec::new(),
    })
}

fn match_from_row(row: &SqliteRow) -> Result<(i64, CaseMatch), CaseError> {
    let case_id: i64 = row.try_get("case_id")?;
    let topics: String = row.try_get("topics")?;
    let evidence: String = row.try_get("evidence")?;
    Ok((
        case_id,
        CaseMatch {
            entry_id: row.try_get("entry_id")?,
            title: row.try_get("title")?,
            topics: json_list(case_id, &topics)?,
            confidence: row.try_get("confidence")?,
            evidence: json_list(case_id, &evidence)?,
        },
    ))
}

/// Turns what a person typed into an FTS5 query that cannot be misread as FTS5 syntax: every
/// word becomes a quoted string (quotes doubled), so `AND`, `NEAR`, `-`, `:` and `"` are plain
/// text. A trailing `*` stays a prefix search. `None` when there is nothing to search for.
pub fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .filter_map(|word| {
            let (word, prefix) = match word.strip_suffix('*') {
                Some(w) => (w, true),
                None => (word, false),
            };
            // Words of only punctuation have no tokens; as a phrase they would match nothing.
            if !word.chars().any(char::is_alphanumeric) {
                return None;
            }
            let quoted = format!("\"{}\"", word.replace('"', "\"\""));
            Some(if prefix { quoted + "*" } else { quoted })
        })
        .collect();
    if terms.is_empty() { None } else { Some(terms.join(" ")) }
}

impl Db {
    /// One case with its offered entries, events and feedback.
    #[tracing::instrument(skip_all, fields(id))]
    pub async fn get_case(&self, id: i64) -> Result<Option<Case>, CaseError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CASE_COLUMNS} WHERE c.id = ?")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut case = case_from_row(&row)?;

        let rows = sqlx::query(
            "SELECT case_id, entry_id, title, topics, confidence, evidence FROM case_match WHERE case_id = ? ORDER BY rank",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            case.matches.push(match_from_row(row)?.1);
        }

        let rows = sqlx::query(
            "SELECT at, kind, status, by_whom, entry_id, note FROM case_event WHERE case_id = ? ORDER BY at, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let status: String = row.try_get("status")?;
            case.events.push(CaseEvent {
                at: from_millis(row.try_get("at")?),
                kind: row.try_get("kind")?,
                status: parse_status(id, &status)?,
                by: row.try_get("by_whom")?,
                entry: row.try_get("entry_id")?,
                note: row.try_get("note")?,
            });
        }

        let rows =
            sqlx::query("SELECT at, helpful, comment, by_whom FROM case_feedback WHERE case_id = ? ORDER BY at, id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        for row in &rows {
            case.feedback.push(Feedback {
                at: from_millis(row.try_get("at")?),
                helpful: row.try_get("helpful")?,
                comment: row.try_get("comment")?,
                by: row.try_get("by_whom")?,
            });
        }
        Ok(Some(case))
    }

    /// Cases matching `filter`, newest first, with their offered entries (not events or
    /// feedback; use [`Db::get_case`] for those).
    #[tracing::instrument(skip_all)]
    pub async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, CaseError> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(CASE_COLUMNS);
        qb.push(" WHERE 1 = 1");
        if let Some(topic) = non_empty(&filter.topic) {
            qb.push(
                " AND EXISTS (SELECT 1 FROM case_match m, json_each(m.topics) t
                              WHERE m.case_id = c.id AND t.value = ",
            );
            qb.push_bind(topic.to_string()).push(" COLLATE NOCASE)");
        }
        if let Some(entry) = non_empty(&filter.entry) {
            qb.push(" AND (c.fixed_by = ").push_bind(entry.to_string());
            qb.push(" OR EXISTS (SELECT 1 FROM case_match m WHERE m.case_id = c.id AND m.entry_id = ");
            qb.push_bind(entry.to_string()).push("))");
        }
        if let Some(id) = non_empty(&filter.message_id) {
            // The key is `|`-joined; compare whole elements so CPF1 does not match CPF1234.
            qb.push(" AND instr('|' || upper(c.evidence_key) || '|', '|' || ");
            qb.push_bind(id.to_uppercase()).push(" || '|') > 0");
        }
        if let Some(user) = non_empty(&filter.user) {
            qb.push(" AND (c.user_id = ").push_bind(user.to_string());
            qb.push(" OR c.user_name = ")
                .push_bind(user.to_string())
                .push(" COLLATE NOCASE)");
        }
        if let Some(channel) = non_empty(&filter.channel) {
            qb.push(" AND c.channel = ").push_bind(channel.to_string());
        }
        if let Some(status) = filter.status {
            qb.push(" AND c.status = ").push_bind(status.as_str());
        }
        if let Some(since) = filter.since {
            qb.push(" AND c.created_at >= ").push_bind(to_millis(since));
        }
        if let Some(until) = filter.until {
            qb.push(" AND c.created_at < ").push_bind(to_millis(until));
        }
        if let Some(q) = filter.text.as_deref().and_then(fts_query) {
            qb.push(" AND c.id IN (SELECT rowid FROM case_fts WHERE case_fts MATCH ")
                .push_bind(q)
                .push(")");
        }
        qb.push(" ORDER BY c.created_at DESC, c.id DESC");
        if let Some(limit) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut cases = rows.iter().map(case_from_row).collect::<Result<Vec<_>, _>>()?;
        self.attach_matches(&mut cases).await?;
        Ok(cases)
    }

    async fn attach_matches(&self, cases: &mut [Case]) -> Result<(), CaseError> {
        if cases.is_empty() {
            return Ok(());
        }
        // One query for all listed cases; the ids travel as one JSON parameter, so the
        // statement stays the same whatever the number of cases.
        let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
        let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_string());
        let rows = sqlx::query(
            "SELECT case_id, entry_id, title, topics, confidence, evidence FROM case_match
             WHERE case_id IN (SELECT value FROM json_each(?)) ORDER BY case_id, rank",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let mut by_case: HashMap<i64, Vec<CaseMatch>> = HashMap::new();
        for row in &rows {
            let (case_id, m) = match_from_row(row)?;
            by_case.entry(case_id).or_default().push(m);
        }
        for case in cases {
            case.matches = by_case.remove(&case.id).unwrap_or_default();
        }
        Ok(())
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_every_word() {
        assert_eq!(fts_query("QNTC  share").as_deref(), Some(r#""QNTC" "share""#));
        assert_eq!(
            fts_query(r#"say "hi" NEAR(x)"#).as_deref(),
            Some(r#""say" """hi""" "NEAR(x)""#)
        );
        assert_eq!(fts_query("CPD*").as_deref(), Some(r#""CPD"*"#));
        assert_eq!(fts_query("  - * \" "), None);
        assert_eq!(fts_query(""), None);
    }
}
