//! What every case write shares: the clock, and retrying when another process holds the lock.

use std::future::Future;
use std::time::Duration;

use super::CaseError;

/// SQLite result codes that mean "someone else holds the lock, try again": BUSY, BUSY_RECOVERY,
/// BUSY_SNAPSHOT, LOCKED, LOCKED_SHAREDCACHE.
const BUSY_CODES: [&str; 5] = ["5", "261", "517", "6", "262"];

/// The busy timeout (30 s) already makes SQLite wait inside each attempt; these extra attempts
/// cover what the busy handler cannot (a stale WAL snapshot, a pool that timed out while every
/// connection waited), so a case is only lost after minutes of contention.
const MAX_ATTEMPTS: u32 = 6;

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| BUSY_CODES.contains(&c.as_ref())),
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

/// Runs one write transaction, retrying with growing, jittered pauses while the database is
/// busy. `op` must be safe to repeat: a failed attempt's transaction was rolled back.
pub(crate) async fn retry_busy<T, F, Fut>(mut op: F) -> Result<T, CaseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CaseError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(CaseError::Db(e)) if is_busy(&e) => {
                if attempt >= MAX_ATTEMPTS {
                    return Err(CaseError::Busy {
                        attempts: attempt,
                        source: e,
                    });
                }
                tracing::debug!(attempt, error = %e, "case database busy; retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// 25 ms doubling per attempt, plus up to 100% jitter so that processes that collided once do
/// not collide again in lock-step. The jitter needs no quality, only spread.
fn backoff(attempt: u32) -> Duration {
    let base = 25u64 << attempt.min(8);
    let seed = u64::from(std::process::id()) ^ u64::from(chrono::Utc::now().timestamp_subsec_nanos());
    let jitter = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    Duration::from_millis(base + jitter % (base + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            let base = 25u64 << attempt.min(8);
            assert!(
                d.as_millis() as u64 >= base && d.as_millis() as u64 <= 2 * base,
                "{attempt}: {d:?}"
            );
        }
    }

    #[tokio::test]
    async fn gives_up_after_bounded_attempts_on_busy() {
        let mut calls = 0;
        let out: Result<(), CaseError> = retry_busy(|| {
            calls += 1;
            async { Err(CaseError::Db(sqlx::Error::PoolTimedOut)) }
        })
        .await;
        assert!(matches!(
            out,
            Err(CaseError::Busy {
                attempts: MAX_ATTEMPTS,
                ..
            })
        ));
        assert_eq!(calls, MAX_ATTEMPTS);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let mut calls = 0;
        let out: Result<(), CaseError> = retry_busy(|| {
            calls += 1;
            async { Err(CaseError::NotFound(7)) }
        })
        .await;
        assert!(matches!(out, Err(CaseError::NotFound(7))));
        assert_eq!(calls, 1);
    }
}
