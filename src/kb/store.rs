//! Mirrors the loaded knowledge base into SQLite: `kb_entry` (one row per entry, the entry as
//! JSON), `kb_key` (ids, codes, phrases, patterns for SQL lookups) and `kb_fts` (full text).
//!
//! A sync is one transaction: the database shows the old KB or the new one, never a mix.
//! Unchanged entries (same digest) are not rewritten, so a restart with no edits writes nothing.

use std::collections::HashMap;

use sqlx::Row;

use super::Entry;
use crate::db::Db;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncStats {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
}

impl Db {
    #[tracing::instrument(skip_all, fields(entries = entries.len()))]
    pub async fn sync_kb(&self, entries: &[std::sync::Arc<Entry>]) -> Result<SyncStats, sqlx::Error> {
        let bodies: Vec<(String, String)> = entries
            .iter()
            .map(|e| {
                let body = serde_json::to_string(e.as_ref()).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
                let digest = format!("{:016x}", fnv1a(body.as_bytes()));
                Ok((body, digest))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        // Nothing changed (every start but the first after an edit): no write lock at all, so
        // many processes starting at once do not queue behind each other.
        let current = digests(&mut *self.pool.acquire().await?).await?;
        if current.len() == entries.len()
            && entries
                .iter()
                .zip(&bodies)
                .all(|(e, (_, d))| current.get(&e.id) == Some(d))
        {
            return Ok(SyncStats {
                unchanged: entries.len(),
                ..SyncStats::default()
            });
        }
        // IMMEDIATE: take the write lock before reading, so that concurrent first starts run
        // one after the other and the later ones find the work done.
        let mut tx = self.begin_write().await?;
        let existing = digests(&mut tx).await?;
        let mut stats = SyncStats::default();
        let now = chrono::Utc::now().timestamp_millis();
        for (e, (body, digest)) in entries.iter().zip(&bodies) {
            match existing.get(&e.id) {
                Some(d) if d == digest => {
                    stats.unchanged += 1;
                    continue;
                }
                Some(_) => stats.updated += 1,
                None => stats.added += 1,
            }
            delete_entry(&mut tx, &e.id).await?;
            sqlx::query(
                "INSERT INTO kb_entry (id, title, topics, certainty, file, body, digest, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&e.id)
            .bind(&e.title)
            .bind(serde_json::to_string(&e.topics).unwrap_or_default())
            .bind(serde_json::to_value(e.certainty).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
            .bind(e.file.display().to_string())
            .bind(body)
            .bind(digest)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let keys = e
                .message_ids
                .iter()
                .map(|v| ("message_id", v.clone()))
                .chain(e.error_codes.iter().map(|c| ("error_code", c.to_string())))
                .chain(e.nt_status.iter().map(|v| ("nt_status", v.clone())))
                .chain(e.phrases.iter().map(|v| ("phrase", v.clone())))
                .chain(e.patterns.iter().map(|p| ("pattern", p.source.clone())))
                .chain(e.topics.iter().map(|t| ("topic", t.clone())));
            for (kind, value) in keys {
                sqlx::query("INSERT INTO kb_key (entry_id, kind, value) VALUES (?, ?, ?)")
                    .bind(&e.id)
                    .bind(kind)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
            }
            let keys_text = [
                e.message_ids.join(" "),
                e.nt_status.join(" "),
                e.phrases.join(" "),
                e.tags.join(" "),
                e.topics.join(" "),
            ]
            .join(" ");
            let steps: Vec<String> = e
                .answer
                .steps
                .iter()
                .map(|s| format!("{} {}", s.text, s.command.as_deref().unwrap_or_default()))
                .collect();
            sqlx::query("INSERT INTO kb_fts (entry_id, title, keys, cause, steps) VALUES (?, ?, ?, ?, ?)")
                .bind(&e.id)
                .bind(&e.title)
                .bind(keys_text)
                .bind(&e.answer.cause)
                .bind(steps.join("\n"))
                .execute(&mut *tx)
                .await?;
        }
        let keep: std::collections::HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        for id in existing.keys().filter(|id| !keep.contains(id.as_str())) {
            delete_entry(&mut tx, id).await?;
            stats.removed += 1;
        }
        tx.commit().await?;
        Ok(stats)
    }

    /// Full-text search over the KB (bm25, title weighted highest). Returns (entry id, score),
    /// best first; higher is better.
    #[tracing::instrument(skip(self))]
    pub async fn search_kb(&self, query: &str, limit: usize) -> Result<Vec<(String, f64)>, sqlx::Error> {
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT entry_id, bm25(kb_fts, 0.0, 10.0, 5.0, 2.0, 1.0) AS rank FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rank LIMIT ?",
        )
        .bind(fts)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<String, _>(0), -r.get::<f64, _>(1)))
            .collect())
    }
}

async fn digests(conn: &mut sqlx::SqliteConnection) -> Result<HashMap<String, String>, sqlx::Error> {
    Ok(sqlx::query("SELECT id, digest FROM kb_entry")
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect())
}

async fn delete_entry(tx: &mut sqlx::SqliteConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM kb_fts WHERE entry_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM kb_key WHERE entry_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM kb_entry WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Turns free text into an FTS5 query that cannot be a syntax error: every word quoted,
/// OR-ed, so user input never reaches the FTS5 query language.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .take(32)
        .map(|w| format!("\"{}\"", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
