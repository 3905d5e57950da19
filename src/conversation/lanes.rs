//! Where diagnosis runs: never on the async workers that also carry heartbeats and HTTP, but
//! on a few long-lived threads of its own, within a time budget. Large texts (attachments, pasted spool
//! files) and texts that cannot be answered anyway (cooling down) take a narrow "heavy" lane,
//! so a few 512 KiB logs cannot hold up the short message someone sends after them.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

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
    workers: Workers,
}

type Job = Box<dyn FnOnce() + Send>;

/// As many threads as diagnoses may run at once, alive as long as the lanes. Not tokio's
/// blocking pool: it hands a task to a new thread whenever none is idle at that instant, which
/// in a burst is nearly always (the previous task's thread is still finishing), and every new
/// thread builds its own regex and allocator caches again - several times the CPU of a warm
/// diagnosis.
#[derive(Debug)]
struct Workers {
    /// `None` when no thread could be started: tasks then go to tokio's blocking pool.
    jobs: Option<mpsc::Sender<Job>>,
}

impl Workers {
    fn start(n: usize) -> Workers {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..n {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("qntcbot-diagnose-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take a job, never while running one.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender is gone: the lanes were dropped.
                            Err(_) => return,
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::warn!("cannot start a diagnosis thread: {e}"),
            }
        }
        Workers {
            jobs: (started > 0).then_some(tx),
        }
    }

    /// Runs `f` on a worker; a panic in it is `Crashed`, not a dead worker.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Skipped> {
        let Some(jobs) = &self.jobs else {
            return tokio::task::spawn_blocking(f).await.map_err(|_| Skipped::Crashed);
        };
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(f)));
        });
        jobs.send(job).map_err(|_| Skipped::Crashed)?;
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            _ => Err(Skipped::Crashed),
        }
    }
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
        let heavy_parallel = heavy_parallel.max(1);
        Lanes {
            urgent: Arc::new(Semaphore::new(cores)),
            heavy: Arc::new(Semaphore::new(heavy_parallel)),
            heavy_bytes,
            budget,
            // One thread per permit: a task that holds a permit never waits for a thread.
            workers: Workers::start(cores + heavy_parallel),
        }
    }

    /// Diagnoses `text` on the diagnosis threads. `urgent` texts under the size threshold start at
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
            // The permit moves into the task: a text over budget keeps its lane busy until it
            // really stops, so timeouts cannot pile up more work than the lane allows.
            self.workers
                .run(move || {
                    let _permit = permit;
                    engine.diagnose(&text)
                })
                .await
        };
        match tokio::time::timeout(self.budget, work).await {
            Ok(r) => r,
            Err(_) => Err(Skipped::OverBudget),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_same_named_threads_and_a_panic_is_only_that_job() {
        let workers = Workers::start(2);
        let mut names = std::collections::HashSet::new();
        for _ in 0..20 {
            let name = workers
                .run(|| std::thread::current().name().map(str::to_string))
                .await
                .expect("runs");
            names.insert(name.expect("named"));
        }
        // Twenty jobs, two threads: no new thread (with cold caches) per job.
        assert!(names.len() <= 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("qntcbot-diagnose-")));
        let crashed = workers.run(|| -> u32 { panic!("a bug in one diagnosis") }).await;
        assert_eq!(crashed, Err(Skipped::Crashed));
        // The workers are still there for the next job.
        assert_eq!(workers.run(|| 7).await, Ok(7));
    }
}
