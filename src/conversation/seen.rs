//! What each recent message was diagnosed as, so an edit that changes nothing stays quiet.
//! Keyed by a platform-neutral string (`channel/message`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::Diagnosis;

/// What makes two diagnoses "the same" for an edited message: the evidence key and the
/// matched entries.
pub fn signature(d: &Diagnosis) -> String {
    let mut ids: Vec<&str> = d.matches.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    format!("{}#{}", d.evidence.key(), ids.join(","))
}

const CAP: usize = 10_000;

/// Remembers the signature of the last `CAP` diagnosed messages.
#[derive(Debug, Default)]
pub struct Seen(Mutex<(HashMap<String, String>, VecDeque<String>)>);

impl Seen {
    /// Stores `sig` for `message`; returns the previous signature.
    pub fn replace(&self, message: &str, sig: String) -> Option<String> {
        let mut g = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (map, order) = &mut *g;
        let old = map.insert(message.to_string(), sig);
        if old.is_none() {
            order.push_back(message.to_string());
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
        assert_eq!(s.replace("c/1", "a".into()), None);
        assert_eq!(s.replace("c/1", "b".into()), Some("a".into()));
        for i in 2..(CAP + 10) {
            s.replace(&format!("c/{i}"), "x".into());
        }
        let g = s.0.lock().unwrap();
        assert!(g.0.len() <= CAP && g.1.len() <= CAP);
        assert!(!g.0.contains_key("c/1"));
    }
}
