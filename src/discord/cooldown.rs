//! Per-user and per-channel quiet periods, so a burst of pasted logs gets one answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many remembered keys, expired ones are dropped, bounding memory under floods.
const PRUNE_AT: usize = 4096;

#[derive(Debug)]
pub struct Cooldowns {
    user: Duration,
    channel: Duration,
    last: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<u64, Instant>,
    channels: HashMap<u64, Instant>,
}

impl Cooldowns {
    pub fn new(user: Duration, channel: Duration) -> Cooldowns {
        Cooldowns {
            user,
            channel,
            last: Mutex::new(State::default()),
        }
    }

    /// Takes the slot for an answer to `user` in `channel` at `now` if neither is cooling down.
    /// Check and take happen under one lock, so concurrent messages cannot both pass.
    pub fn try_take(&self, user: u64, channel: u64, now: Instant) -> bool {
        let mut st = match self.last.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let busy = |map: &HashMap<u64, Instant>, key: u64, period: Duration| {
            map.get(&key)
                .is_some_and(|t| now.saturating_duration_since(*t) < period)
        };
        if busy(&st.users, user, self.user) || busy(&st.channels, channel, self.channel) {
            return false;
        }
        let (user_p, channel_p) = (self.user, self.channel);
        if st.users.len() > PRUNE_AT {
            st.users.retain(|_, t| now.saturating_duration_since(*t) < user_p);
        }
        if st.channels.len() > PRUNE_AT {
            st.channels.retain(|_, t| now.saturating_duration_since(*t) < channel_p);
        }
        if !user_p.is_zero() {
            st.users.insert(user, now);
        }
        if !channel_p.is_zero() {
            st.channels.insert(channel, now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_in_one_channel_gets_one_slot() {
        let c = Cooldowns::new(Duration::from_secs(60), Duration::from_secs(10));
        let t = Instant::now();
        let granted = (0..50).filter(|i| c.try_take(i % 7, 1, t)).count();
        assert_eq!(granted, 1);
        // Another channel, another user: free.
        assert!(c.try_take(100, 2, t));
        // Same user elsewhere: still cooling down.
        assert!(!c.try_take(100, 3, t + Duration::from_secs(11)));
        // Channel 1 free again after its period, for a fresh user.
        assert!(c.try_take(200, 1, t + Duration::from_secs(11)));
    }

    #[test]
    fn zero_disables() {
        let c = Cooldowns::new(Duration::ZERO, Duration::ZERO);
        let t = Instant::now();
        assert!((0..100).all(|_| c.try_take(1, 1, t)));
    }

    #[test]
    fn memory_stays_bounded() {
        let c = Cooldowns::new(Duration::from_millis(1), Duration::from_millis(1));
        let t = Instant::now();
        for i in 0..20_000u64 {
            c.try_take(i, i, t + Duration::from_millis(i * 2));
        }
        let st = c.last.lock().unwrap();
        assert!(st.users.len() <= PRUNE_AT + 1 && st.channels.len() <= PRUNE_AT + 1);
    }
}
