//! Remembers what was already handled for a while: Slack retries an event it thinks we missed
//! (same `event_id`), and delivers a mention twice (`message` and `app_mention`, same channel
//! and `ts`). Each must be acted on once.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Slack retries for about an hour at most (three retries: at once, 1 min, 5 min); keep keys
/// longer than that, and at most `cap` of them.
pub const TTL: Duration = Duration::from_secs(2 * 60 * 60);
pub const CAP: usize = 100_000;

/// Keys with when they were first seen, and the same in arrival order for forgetting.
type Seen = (HashMap<String, Instant>, VecDeque<(Instant, String)>);

pub struct Recent {
    ttl: Duration,
    cap: usize,
    inner: Mutex<Seen>,
}

impl Default for Recent {
    fn default() -> Self {
        Recent::new(TTL, CAP)
    }
}

impl Recent {
    pub fn new(ttl: Duration, cap: usize) -> Recent {
        Recent {
            ttl,
            cap: cap.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// Marks every key as seen; true if none of them was seen before (then act on it).
    /// All keys are checked and stored under one lock, so two deliveries racing each other
    /// cannot both pass.
    pub fn first_time(&self, keys: &[String], now: Instant) -> bool {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (map, order) = &mut *g;
        while let Some((t, _)) = order.front() {
            if now.saturating_duration_since(*t) < self.ttl && order.len() < self.cap {
                break;
            }
            if let Some((_, k)) = order.pop_front() {
                map.remove(&k);
            }
        }
        let fresh = keys.iter().all(|k| !map.contains_key(k));
        for k in keys {
            if !map.contains_key(k) {
                map.insert(k.clone(), now);
                order.push_back((now, k.clone()));
            }
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_key_and_any_shared_key_blocks() {
        let r = Recent::default();
        let t = Instant::now();
        assert!(r.first_time(&["ev:1".into(), "msg:C:1".into()], t));
        assert!(!r.first_time(&["ev:1".into()], t));
        // The app_mention twin: another event id, same message.
        assert!(!r.first_time(&["ev:2".into(), "msg:C:1".into()], t));
        assert!(r.first_time(&["ev:3".into(), "msg:C:2".into()], t));
    }

    #[test]
    fn forgets_after_ttl_and_stays_bounded() {
        let r = Recent::new(Duration::from_secs(10), 100);
        let t = Instant::now();
        assert!(r.first_time(&["a".into()], t));
        assert!(r.first_time(&["a".into()], t + Duration::from_secs(11)));
        for i in 0..1000 {
            r.first_time(&[format!("k{i}")], t + Duration::from_secs(12));
        }
        let g = r.inner.lock().unwrap();
        assert!(g.0.len() <= 101 && g.1.len() <= 101);
    }
}
