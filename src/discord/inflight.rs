//! Replies in flight, so shutdown can let them finish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct InFlight {
    n: AtomicUsize,
    idle: Notify,
}

pub struct Guard<'a>(&'a InFlight);

impl InFlight {
    pub fn enter(&self) -> Guard<'_> {
        self.n.fetch_add(1, Ordering::SeqCst);
        Guard(self)
    }

    /// True when everything finished within `max`.
    pub async fn wait_idle(&self, max: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.idle.notified();
                if self.n.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(max, wait).await.is_ok()
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn inflight_waits_for_guards() {
        let f = std::sync::Arc::new(InFlight::default());
        assert!(f.wait_idle(Duration::from_millis(10)).await);
        let f2 = f.clone();
        let h = tokio::spawn(async move {
            let _g = f2.enter();
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!f.wait_idle(Duration::from_millis(5)).await);
        assert!(f.wait_idle(Duration::from_secs(2)).await);
        h.await.unwrap();
    }
}
