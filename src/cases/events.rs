//! Changes to existing cases: status events (`case_event`), feedback (`case_feedback`) and
//! follow-up links.

use super::store::{now_ms, retry_busy};
use super::{CaseError, Status};
use crate::db::Db;
use crate::redact::{RedactSettings, redact};

/// Free text from staff (notes, comments) can quote secrets just like a pasted log.
/// Appends one row to a case's history; every status change, opening and repeat goes
/// through here, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_event(
    conn: &mut sqlx::SqliteConnection,
    case_id: i64,
    at: i64,
    kind: &str,
    status: Status,
    by: &str,
    entry: Option<&str>,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_event (case_id, at, kind, status, by_whom, entry_id, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(case_id)
    .bind(at)
    .bind(kind)
    .bind(status.as_str())
    .bind(by)
    .bind(entry)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

fn clean(s: Option<&str>) -> Option<String> {
    s.map(|s| redact(s, &RedactSettings::default()).into_owned())
}

impl Db {
    /// Moves a case to `status`, recorded as an event. For `Resolved`, `entry` is the KB entry
    /// that fixed it; for `Wrong`, the entry that was wrong (default: the one offered first).
    /// Any status other than `Resolved` clears the fix, so a reopened case is not counted as
    /// fixed.
    #[tracing::instrument(skip_all, fields(id, %status))]
    pub async fn set_case_status(
        &self,
        id: i64,
        status: Status,
        by: &str,
        entry: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), CaseError> {
        let note = clean(note);
        retry_busy(|| async {
            let mut tx = self.begin_write().await?;
            let now = now_ms();
            let done = if status == Status::Resolved {
                sqlx::query(
                    "UPDATE cases SET status = ?, fixed_by = coalesce(?, fixed_by), resolved_at = ?, last_seen_at = ?
                     WHERE id = ?",
                )
                .bind(status.as_str())
                .bind(entry)
                .bind(now)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
            } else {
                sqlx::query(
                    "UPDATE cases SET status = ?, fixed_by = NULL, resolved_at = NULL, last_seen_at = ? WHERE id = ?",
                )
                .bind(status.as_str())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
            };
            if done.rows_affected() == 0 {
                return Err(CaseError::NotFound(id));
            }
            insert_event(&mut tx, id, now, "status", status, by, entry, note.as_deref()).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Records whether the answer helped. Feedback applies to the entry offered first.
    #[tracing::instrument(skip_all, fields(id, helpful))]
    pub async fn case_feedback(
        &self,
        id: i64,
        helpful: bool,
        comment: Option<&str>,
        by: &str,
    ) -> Result<(), CaseError> {
        let comment = clean(comment);
        retry_busy(|| async {
            let mut tx = self.begin_write().await?;
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(CaseError::NotFound(id));
            }
            sqlx::query("INSERT INTO case_feedback (case_id, helpful, comment, by_whom, at) VALUES (?, ?, ?, ?, ?)")
                .bind(id)
                .bind(helpful)
                .bind(comment.as_deref())
                .bind(by)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Marks case `id` as a follow-up of the `earlier` case (same problem coming back).
    #[tracing::instrument(skip_all, fields(id, earlier))]
    pub async fn link_follow_up(&self, id: i64, earlier: i64) -> Result<(), CaseError> {
        if id == earlier {
            return Err(CaseError::SelfFollowUp(id));
        }
        retry_busy(|| async {
            let mut tx = self.begin_write().await?;
            for case in [id, earlier] {
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE id = ?")
                    .bind(case)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Err(CaseError::NotFound(case));
                }
            }
            // Walk the earlier case's chain; reaching `id` would close a loop. UNION (not
            // UNION ALL) ends the walk even if a loop already exists.
            let in_chain: Option<i64> = sqlx::query_scalar(
                "WITH RECURSIVE chain(x) AS (
                     SELECT ?
                     UNION
                     SELECT c.follow_up_of FROM cases c JOIN chain ON c.id = chain.x WHERE c.follow_up_of IS NOT NULL
                 )
                 SELECT x FROM chain WHERE x = ? LIMIT 1",
            )
            .bind(earlier)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if in_chain.is_some() {
                return Err(CaseError::FollowUpLoop { id, earlier });
            }
            sqlx::query("UPDATE cases SET follow_up_of = ? WHERE id = ?")
                .bind(earlier)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
