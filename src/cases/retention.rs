//! Deleting old cases; their matches, events, feedback and search index go with them, and so
//! does every byte of their text: secure_delete zeroes freed content, the full-text index is
//! rewritten without them, and the WAL is checkpointed and truncated.

use chrono::{DateTime, Utc};

use super::store::retry_busy;
use super::{CaseError, to_millis};
use crate::db::Db;

/// What a purge would delete (`cases purge --dry-run`) or did delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PurgeCount {
    /// Cases opened before the cut-off.
    pub cases: u64,
    /// Every case in the database.
    pub total: u64,
}

impl Db {
    /// How many cases a purge with this cut-off would delete, out of how many.
    pub async fn count_purgeable(&self, older_than: DateTime<Utc>) -> Result<PurgeCount, CaseError> {
        let (cases, total): (i64, i64) = sqlx::query_as("SELECT coalesce(sum(created_at < ?), 0), count(*) FROM cases")
            .bind(to_millis(older_than))
            .fetch_one(&self.pool)
            .await?;
        Ok(PurgeCount {
            cases: u64::try_from(cases).unwrap_or(0),
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// Deletes every case opened before `older_than`; returns how many. Later cases that were
    /// follow-ups of a deleted case keep existing with the link cleared. Afterwards nothing of
    /// the deleted text is left in the database file or its WAL.
    #[tracing::instrument(skip_all)]
    pub async fn purge_cases(&self, older_than: DateTime<Utc>) -> Result<u64, CaseError> {
        let cutoff = to_millis(older_than);
        let deleted = retry_busy(|| async {
            let mut tx = self.begin_write().await?;
            // FTS5 otherwise keeps deleted rows' tokens in old segments until a merge.
            sqlx::query("INSERT INTO case_fts(case_fts, rank) VALUES ('secure-delete', 1)")
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM cases WHERE created_at < ?")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() > 0 {
                // Rewrites the index as one segment: pages of the old ones are freed (and,
                // with secure_delete, zeroed).
                sqlx::query("INSERT INTO case_fts(case_fts) VALUES ('optimize')")
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected())
        })
        .await?;
        self.checkpoint().await;
        tracing::info!(deleted, "purged old cases");
        Ok(deleted)
    }

    /// Copies the WAL into the main file and truncates it, so old page images (which still
    /// hold deleted text) are gone. Readers in other processes can hold it up; it is retried
    /// briefly and then left to the next checkpoint, with a warning.
    async fn checkpoint(&self) {
        for attempt in 1..=5u64 {
            match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await
            {
                Ok((0, _, _)) => return,
                Ok(_) => tracing::debug!(attempt, "WAL checkpoint blocked by a reader; retrying"),
                Err(e) => tracing::debug!(attempt, "WAL checkpoint failed: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
        }
        tracing::warn!(
            "the WAL could not be truncated now (another process is reading); it will be on the next checkpoint"
        );
    }
}
