//! Where diagnosis runs: never on the async workers that also carry heartbeats and HTTP, but
//! on tokio's blocking pool, within a time budget. Large texts (attachments, pasted spool
//! files) and texts that cannot be answered anyway (cooling down) take a narrow "heavy" lane,
//! so a few 512 KiB logs cannot hold up the short message someone sends after them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::{Diagnosis, Engine};

#[derive(Debug)]
pub struct Lanes {
    /// One diagnosis per core at a time, first come first served: a burst of messages is
    /// answered in order instead of every one of them sharing the cores until the last is done
    /// (and each cold thread building its own regex caches).
    urgent: Arc<Semaphore>,
    heavy: Arc<Semaphore>,
    heavy_bytes: usize,
    budget: Duration,
}

/// Why a diagnosis produced nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The text took longer than the budget; it is dropped, not retried.
    OverBudget,
    /// The diagnosis panicked (a bug); logged by the caller.
    Crashed,
}

impl Lanes {
    pub fn new(heavy_parallel: usize, heavy_bytes: usize, budget: Duration) -> Lanes {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Lanes {
            urgent: Arc::new(Semaphore::new(cores)),
            heavy: Arc::new(Semaphore::new(heavy_parallel.max(1))),
            heavy_bytes,
            budget,
        }
    }

    /// Diagnoses `text` on the blocking pool. `urgent` texts under the size threshold start at
    /// once; others wait for the heavy lane. The budget covers waiting and running.
    pub async fn diagnose(&self, engine: &Arc<Engine>, text: Arc<str>, urgent: bool) -> Result<Diagnosis, Skipped> {
        let heavy = !urgent || text.len() > self.heavy_bytes;
        let engine = Arc::clone(engine);
        let work = async move {
            // The semaphores are never closed, so acquiring only fails if they were.
            let heavy_permit = if heavy {
                Some(self.heavy.clone().acquire_owned().await.map_err(|_| Skipped::Crashed)?)
            } else {
                None
            };
            // Heavy texts are held back by their own lane, never by the urgent one's queue.
            let core = if heavy {
                None
            } else {
                Some(
                    self.urgent
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| Skipped::Crashed)?,
                )
            };
            let permit = (heavy_permit, core);
            // The permit moves into the blocking task: a text over budget keeps its lane busy
            // until it really stops, so timeouts cannot pile up more work than the lane allows.
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                engine.diagnose(&text)
            })
            .await
            .map_err(|_| Skipped::Crashed)
        };
        match tokio::time::timeout(self.budget, work).await {
            Ok(r) => r,
            Err(_) => Err(Skipped::OverBudget),
        }
    }
}
