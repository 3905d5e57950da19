//! Small bits of runtime state: replies in flight (for a clean shutdown) and what each recent
//! message was diagnosed as (so an edit that changes nothing stays quiet).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::Diagnosis;

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

/// What makes two diagnoses "the same" for an edited message: the evidence key and the
/// matched entries.
pub fn signature(d: &Diagnosis) -> String {
    let mut ids: Vec<&str> = d.matches.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    format!("{}#{}", d.evidence.key(), ids.join(","))
}

/// Remembers the signature of the last `CAP` diagnosed messages.
#[derive(Debug, Default)]
pub struct Seen(Mutex<(HashMap<u64, String>, VecDeque<u64>)>);

const CAP: usize = 10_000;

impl Seen {
    /// Stores `sig` for `message`; returns the previous signature.
    pub fn replace(&self, message: u64, sig: String) -> Option<String> {
        let mut g = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (map, order) = &mut *g;
        let old = map.insert(message, sig);
        if old.is_none() {
            order.push_back(message);
            while order.len() > CAP {
                if let Some(gone) = order.pop_front() {
                    map.remove(&gone);
                }
            }
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_is_bounded_and_returns_previous() {
        let s = Seen::default();
        assert_eq!(s.replace(1, "a".into()), None);
        assert_eq!(s.replace(1, "b".into()), Some("a".into()));
        for i in 2..(CAP as u64 + 10) {
            s.replace(i, "x".into());
        }
        let g = s.0.lock().unwrap();
        assert!(g.0.len() <= CAP && g.1.len() <= CAP);
        assert!(!g.0.contains_key(&1));
    }

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
