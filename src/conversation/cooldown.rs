//! Per-user and per-channel quiet periods, so a burst of pasted logs gets one answer. Keys are
//! platform ids as strings (Discord snowflakes, Slack `U…`/`C…` ids).

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
    users: HashMap<String, Instant>,
    channels: HashMap<String, Instant>,
}

/// A slot taken by [`Cooldowns::try_take`]; give it back with [`Cooldowns::release`] when the
/// answer could not be delivered, so the user is not silenced for an answer never seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    user: String,
    channel: String,
    at: Instant,
}

impl Cooldowns {
    pub fn new(user: Duration, channel: Duration) -> Cooldowns {
        Cooldowns {
            user,
            channel,
            last: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.last.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn busy(map: &HashMap<String, Instant>, key: &str, period: Duration, now: Instant) -> bool {
        map.get(key).is_some_and(|t| now.saturating_duration_since(*t) < period)
    }

    /// Would an answer to `user` in `channel` be allowed at `now`? (Nothing is taken.)
    pub fn is_free(&self, user: &str, channel: &str, now: Instant) -> bool {
        let st = self.state();
        !(Self::busy(&st.users, user, self.user, now) || Self::busy(&st.channels, channel, self.channel, now))
    }

    /// Takes the slot for an answer to `user` in `channel` at `now` if neither is cooling down.
    /// Check and take happen under one lock, so concurrent messages cannot both pass.
    pub fn try_take(&self, user: &str, channel: &str, now: Instant) -> Option<Slot> {
        let mut st = self.state();
        if Self::busy(&st.users, user, self.user, now) || Self::busy(&st.channels, channel, self.channel, now) {
            return None;
        }
        let (user_p, channel_p) = (self.user, self.channel);
        if st.users.len() > PRUNE_AT {
            st.users.retain(|_, t| now.saturating_duration_since(*t) < user_p);
        }
        if st.channels.len() > PRUNE_AT {
            st.channels.retain(|_, t| now.saturating_duration_since(*t) < channel_p);
        }
        if !user_p.is_zero() {
            st.users.insert(user.to_string(), now);
        }
        if !channel_p.is_zero() {
            st.channels.insert(channel.to_string(), now);
        }
        Some(Slot {
            user: user.to_string(),
            channel: channel.to_string(),
            at: now,
        })
    }

    /// Gives a slot back, unless a later answer has taken its keys since.
    pub fn release(&self, slot: &Slot) {
        let mut st = self.state();
        if st.users.get(&slot.user) == Some(&slot.at) {
            st.users.remove(&slot.user);
        }
        if st.channels.get(&slot.channel) == Some(&slot.at) {
            st.channels.remove(&slot.channel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_in_one_channel_gets_one_slot() {
        let c = Cooldowns::new(Duration::from_secs(60), Duration::from_secs(10));
        let t = Instant::now();
        let granted = (0..50)
            .filter(|i| c.try_take(&(i % 7).to_string(), "c1", t).is_some())
            .count();
        assert_eq!(granted, 1);
        assert!(c.try_take("u100", "c2", t).is_some());
        assert!(c.try_take("u100", "c3", t + Duration::from_secs(11)).is_none());
        assert!(c.is_free("u200", "c1", t + Duration::from_secs(11)));
        assert!(c.try_take("u200", "c1", t + Duration::from_secs(11)).is_some());
    }

    #[test]
    fn released_slot_frees_user_and_channel() {
        let c = Cooldowns::new(Duration::from_secs(60), Duration::from_secs(10));
        let t = Instant::now();
        let slot = c.try_take("u", "c", t).unwrap();
        assert!(!c.is_free("u", "c", t));
        c.release(&slot);
        assert!(c.is_free("u", "c", t));
        // A later slot is not released by an older one.
        let old = c.try_take("u", "c", t).unwrap();
        c.release(&old);
        let newer = c.try_take("u", "c", t + Duration::from_millis(1)).unwrap();
        c.release(&old);
        assert!(!c.is_free("u", "c", t + Duration::from_millis(1)));
        c.release(&newer);
    }

    #[test]
    fn zero_disables() {
        let c = Cooldowns::new(Duration::ZERO, Duration::ZERO);
        let t = Instant::now();
        assert!((0..100).all(|_| c.try_take("1", "1", t).is_some()));
    }

    #[test]
    fn memory_stays_bounded() {
        let c = Cooldowns::new(Duration::from_millis(1), Duration::from_millis(1));
        let t = Instant::now();
        for i in 0..20_000u64 {
            c.try_take(&i.to_string(), &i.to_string(), t + Duration::from_millis(i * 2));
        }
        let st = c.last.lock().unwrap();
        assert!(st.users.len() <= PRUNE_AT + 1 && st.channels.len() <= PRUNE_AT + 1);
    }
}
