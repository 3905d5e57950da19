//! Work started after a request was acknowledged, counted so that shutdown can wait for it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Count {
    n: AtomicUsize,
    idle: Notify,
}

#[derive(Debug, Default, Clone)]
pub struct Tasks(Arc<Count>);

struct Guard(Arc<Count>);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Tasks {
    /// Runs `work` in the background, counted until it ends (or panics).
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.0.n.fetch_add(1, Ordering::SeqCst);
        let guard = Guard(self.0.clone());
        tokio::spawn(async move {
            let _guard = guard;
            work.await;
        });
    }

    /// True when everything finished within `max`.
    pub async fn wait_idle(&self, max: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.0.idle.notified();
                if self.0.n.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(max, wait).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_spawned_work() {
        let t = Tasks::default();
        assert!(t.wait_idle(Duration::from_millis(10)).await);
        t.spawn(async { tokio::time::sleep(Duration::from_millis(50)).await });
        assert!(!t.wait_idle(Duration::from_millis(5)).await);
        assert!(t.wait_idle(Duration::from_secs(2)).await);
        t.spawn(async { panic!("a task that panics still ends") });
        assert!(t.wait_idle(Duration::from_secs(2)).await);
    }
}
