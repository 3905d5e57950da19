//! Whether and where an answer was delivered. A case is recorded before its answer is sent
//! (the answer carries the case id), as not replied; only a confirmed send marks it answered,
//! so a failed send is counted as unanswered.

use super::events::insert_event;
use super::store::{now_ms, retry_busy};
use super::{CaseError, Status};
use crate::db::Db;

/// One confirmed send: the case, and the channel and message id of the answer (`None` for an
/// answer shown privately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub case: i64,
    pub channel: Option<String>,
    pub message: Option<String>,
}

impl Db {
    /// Marks case `id` as answered by a message the platform accepted: `replied`, status
    /// `answered` (unless someone already moved it further), and where the answer is.
    pub async fn mark_delivered(&self, id: i64, channel: Option<&str>, message: Option<&str>) -> Result<(), CaseError> {
        let one = [Delivered {
            case: id,
            channel: channel.map(str::to_string),
            message: message.map(str::to_string),
        }];
        match self.mark_delivered_many(&one).await?.first() {
            Some(missing) => Err(CaseError::NotFound(*missing)),
            None => Ok(()),
        }
    }

    /// [`Db::mark_delivered`] for many cases in one transaction (a burst of answers costs one
    /// write, not one each). Returns the ids of cases that do not exist.
    #[tracing::instrument(skip_all, fields(n = items.len()))]
    pub async fn mark_delivered_many(&self, items: &[Delivered]) -> Result<Vec<i64>, CaseError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        retry_busy(|| async {
            let mut tx = self.begin_write().await?;
            let now = now_ms();
            let mut missing = Vec::new();
            for d in items {
                let status: Option<String> = sqlx::query_scalar("SELECT status FROM cases WHERE id = ?")
                    .bind(d.case)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(status) = status else {
                    missing.push(d.case);
                    continue;
                };
                let mut status: Status = status.parse().map_err(|e| CaseError::Corrupt {
                    id: d.case,
                    what: format!("{e}"),
                })?;
                let was_open = status == Status::Open;
                if was_open {
                    status = Status::Answered;
                }
                sqlx::query(
                    "UPDATE cases SET replied = 1, status = ?, reply_channel = coalesce(?, reply_channel),
                            reply_message = coalesce(?, reply_message), last_seen_at = ?
                     WHERE id = ?",
                )
                .bind(status.as_str())
                .bind(d.channel.as_deref())
                .bind(d.message.as_deref())
                .bind(now)
                .bind(d.case)
                .execute(&mut *tx)
                .await?;
                if was_open {
                    insert_event(
                        &mut tx,
                        d.case,
                        now,
                        "status",
                        status,
                        "qntcbot",
                        None,
                        Some("answer delivered"),
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(missing)
        })
        .await
    }

    /// Channel and message id of the delivered answer to case `id`, if any.
    pub async fn reply_location(&self, id: i64) -> Result<Option<(String, String)>, CaseError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT reply_channel, reply_message FROM cases WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Err(CaseError::NotFound(id)),
            Some((Some(c), Some(m))) => Ok(Some((c, m))),
            Some(_) => Ok(None),
        }
    }
}
