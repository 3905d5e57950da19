//! Ranks knowledge-base entries against the evidence and decides whether to answer.

use std::sync::Arc;

use serde::Serialize;

use crate::evidence::Evidence;
use crate::kb::Entry;

/// One ranked knowledge-base entry.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub id: String,
    pub title: String,
    pub topics: Vec<String>,
    /// 0..1, capped by the entry's certainty.
    pub confidence: f64,
    /// Human-readable reasons, strongest first ("line 3: CPDB053", "error code 3401 = EACCES").
    pub evidence: Vec<String>,
    #[serde(skip)]
    pub entry: Arc<Entry>,
}

/// The outcome of diagnosing one text.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// Would the bot answer this text unprompted in a watched channel?
    pub reply: bool,
    /// Best first.
    pub matches: Vec<Match>,
    #[serde(skip)]
    pub evidence: Evidence,
    /// QNTC-related message ids in the text that the KB does not know (e.g. CPDB054).
    #[serde(skip)]
    pub unknown_ids: Vec<String>,
}

impl Diagnosis {
    pub fn best(&self) -> Option<&Match> {
        self.matches.first()
    }
}

/// What earlier cases taught: for an evidence key (see [`Evidence::key`]), how often each KB
/// entry fixed the problem or was judged helpful or wrong. Loaded from the case log.
#[derive(Debug, Clone, Default)]
pub struct Priors {
    pub by_key: std::collections::HashMap<String, std::collections::HashMap<String, PriorStat>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriorStat {
    /// Cases resolved with this entry.
    pub fixed: u32,
    pub helpful: u32,
    pub unhelpful: u32,
    /// Cases where users said the entry was not it.
    pub wrong: u32,
}
