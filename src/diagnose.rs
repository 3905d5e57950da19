//! Ranks knowledge-base entries against the evidence and decides whether to answer.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use crate::evidence::{Evidence, FactKind};
use crate::kb::{Entry, Kb};
use crate::rank;

/// One ranked knowledge-base entry.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub id: String,
    pub title: String,
    pub topics: Vec<String>,
    /// 0..1, calibrated: of the answers given at 0.8, about 80 % are right.
    pub confidence: f64,
    /// Human-readable reasons, strongest first ("line 3: CPDB053", "error code 3401 = EACCES").
    /// Quotes of the text here are already redacted (default rules): the case log stores
    /// them as they are.
    pub evidence: Vec<String>,
    /// The entry's share of the ranking (the candidates and "none of them" sum to 1): what
    /// decides which entries are listed, and what a runner-up is worth once the best is
    /// rejected. `confidence` is calibrated for the best entry as an answer; this is not.
    #[serde(skip)]
    pub share: f64,
    #[serde(skip)]
    pub entry: Arc<Entry>,
}

/// The outcome of diagnosing one text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnosis {
    /// Would the bot answer this text unprompted in a watched channel?
    pub reply: bool,
    /// The relevance gate's probability that the text reports a QNTC problem now.
    pub relevance: f64,
    /// The confidence the best match needed for `reply`.
    pub threshold: f64,
    /// Gate cues that fired (e.g. `resolved`, `pase_smbclient`), for explaining silence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quiet_because: Vec<String>,
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

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Overrides the reply threshold fitted with the model (`kb/model/weights.toml`): the best
    /// match must reach this confidence for the bot to answer unprompted.
    pub reply_threshold: Option<f64>,
    /// Matches whose share of the ranking (next to "none of them") is below this are not
    /// reported at all. Low on purpose: a listed match is not an answer (the reply threshold
    /// decides that), and the right entry often ranks first with a small share when the text
    /// carries little evidence, which is when a "Possibly" list helps most.
    pub min_confidence: f64,
    pub max_matches: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            reply_threshold: None,
            min_confidence: 0.05,
            max_matches: 5,
        }
    }
}

/// Ranks the knowledge base against the evidence of one text with the KB's fitted model (see
/// [`crate::rank`]) and decides: `reply` is exactly "the best confidence reaches the
/// threshold, the relevance gate says this is a QNTC problem report, and the entry may be
/// offered unprompted".
pub fn diagnose(kb: &Kb, evidence: Evidence, text: &str, priors: &Priors, settings: &Settings) -> Diagnosis {
    let model = &kb.model;
    let scored = rank::score(kb, &evidence, text, priors);
    let threshold = settings.reply_threshold.unwrap_or(model.reply_threshold);

    let mut matches = Vec::new();
    for (k, c) in scored.candidates.iter().enumerate() {
        if matches.len() >= settings.max_matches {
            break;
        }
        let confidence = scored.confidence_of(model, k);
        // Listed by how well the entry fits (the ranking), not by the gate: a lookup or a
        // question the bot would not answer unprompted still shows what fits. Candidates are
        // in score order, so the probabilities fall.
        let share = scored.probs.get(k).copied().unwrap_or(0.0);
        if share < settings.min_confidence {
            break;
        }
        let e = &kb.entries[c.entry];
        let mut reasons = c.reasons.clone();
        reasons.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut seen = HashSet::new();
        let evidence = reasons
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| seen.insert(r.clone()))
            .collect();
        matches.push(Match {
            id: e.id.clone(),
            title: e.title.clone(),
            topics: e.topics.clone(),
            confidence: (confidence * 1000.0).round() / 1000.0,
            evidence,
            share,
            entry: Arc::clone(e),
        });
    }

    let unknown_ids = evidence
        .of(FactKind::MessageId)
        .filter(|f| !kb.knows_message(&f.value) && is_qntc_family(&f.value, evidence.qntc_context))
        .map(|f| f.value.clone())
        .collect::<Vec<_>>();
    redact_evidence(&mut matches, text);
    let relevant = scored.gate >= model.gate_threshold;
    let reply = relevant
        && matches
            .first()
            .is_some_and(|m| m.confidence >= threshold && m.entry.unprompted);
    Diagnosis {
        reply,
        relevance: (scored.gate * 1000.0).round() / 1000.0,
        threshold,
        quiet_because: rank::gate::fired(&kb.cues, &scored.gate_x)
            .into_iter()
            .map(str::to_string)
            .collect(),
        matches,
        evidence,
        unknown_ids,
    }
}

/// Evidence quotes the text: nothing secret in it (a password pasted with the log) is shown,
/// posted or stored again, whichever door the text came in by. Values whose label the quote
/// cut off are caught too, by the secrets found in the whole text.
fn redact_evidence(matches: &mut [Match], text: &str) {
    if matches.is_empty() {
        return;
    }
    let secrets = crate::redact::secret_values(text);
    let settings = crate::redact::RedactSettings::default();
    for e in matches.iter_mut().flat_map(|m| m.evidence.iter_mut()) {
        if let std::borrow::Cow::Owned(clean) = crate::redact::redact_known(e, &settings, &secrets) {
            *e = clean;
        }
    }
}

/// Message ids the bot should own up to not knowing rather than stay silent about: the QNTC
/// logon family (CPDB05x) always, IFS messages (CPFA0xx) when the text is about QNTC.
fn is_qntc_family(id: &str, qntc_context: bool) -> bool {
    id.starts_with("CPDB05") || (qntc_context && id.starts_with("CPFA0"))
}
