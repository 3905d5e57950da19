//! Deleting old cases; their matches, events, feedback and search index go with them.

use chrono::{DateTime, Utc};

use super::store::retry_busy;
use super::{CaseError, to_millis};
use crate::db::Db;

impl Db {
    /// Deletes every case opened before `older_than`; returns how many. Later cases that were
    /// follow-ups of a deleted case keep existing with the link cleared.
    #[tracing::instrument(skip_all)]
    pub async fn purge_cases(&self, older_than: DateTime<Utc>) -> Result<u64, CaseError> {
        let cutoff = to_millis(older_than);
        let deleted = retry_busy(|| async {
            let done = sqlx::query("DELETE FROM cases WHERE created_at < ?")
                .bind(cutoff)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await?;
        tracing::info!(deleted, "purged old cases");
        Ok(deleted)
    }
}
