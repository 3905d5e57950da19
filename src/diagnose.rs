//! Ranks knowledge-base entries against the evidence and decides whether to answer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use crate::evidence::{Evidence, Fact, FactKind};
use crate::kb::condition::{PathKind, When};
use crate::kb::index::terms_of;
use crate::kb::{Entry, Kb};

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

/// Weights of the evidence kinds; documented for KB authors in `kb/README.md`.
pub mod weight {
    pub const MESSAGE_ID: f64 = 0.6;
    /// "CPDB53" for CPDB053: clearly meant, but not what the system printed.
    pub const FUZZY_MESSAGE_ID: f64 = 0.45;
    pub const ERROR_CODE: f64 = 0.25;
    pub const NT_STATUS: f64 = 0.3;
    pub const PHRASE: f64 = 0.15;
    pub const PHRASES_MAX: f64 = 0.45;
    pub const WORDS_MAX: f64 = 0.15;
    /// What earlier cases may add or take away; below the gap between a message-id match and
    /// none, so learning never outweighs an exact id.
    pub const PRIOR_MAX: f64 = 0.1;
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The best match must reach this confidence for the bot to answer unprompted.
    pub reply_threshold: f64,
    /// Matches below this are not reported at all.
    pub min_confidence: f64,
    pub max_matches: usize,
    /// When the best specific entries for a shared message id are closer than this, the
    /// triage entry for that id answers instead.
    pub triage_margin: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            reply_threshold: 0.5,
            min_confidence: 0.2,
            max_matches: 5,
            triage_margin: 0.1,
        }
    }
}

#[derive(Default)]
struct Score {
    total: f64,
    phrases: f64,
    /// (strength, reason): sorted by strength for display.
    reasons: Vec<(f64, String)>,
    /// Message ids that earned points (exact or fuzzy).
    ids: HashSet<String>,
}

impl Score {
    fn add(&mut self, points: f64, reason: String) {
        self.total += points;
        self.reasons.push((points, reason));
    }
}

fn at_line(ev: &Evidence, f: &Fact) -> String {
    match ev.quote(f.line) {
        Some(q) if ev.line_count() > 1 => format!("line {}: {q}", f.line),
        _ => f.value.clone(),
    }
}

/// Ranks the knowledge base against the evidence of one text.
pub fn diagnose(kb: &Kb, evidence: Evidence, text: &str, priors: &Priors, settings: &Settings) -> Diagnosis {
    let mut scores: HashMap<usize, Score> = HashMap::new();

    for f in evidence.of(FactKind::MessageId) {
        for &i in kb.with_message(&f.value) {
            let s = scores.entry(i).or_default();
            let mut reason = format!("{} — {}", f.value, at_line(&evidence, f));
            if let Some(n) = &f.note {
                reason.push_str(&format!(" ({n})"));
            }
            s.add(weight::MESSAGE_ID * f.weight, reason);
            s.ids.insert(f.value.clone());
        }
    }
    for f in evidence.of(FactKind::ErrorCode) {
        for &i in kb.with_code(f.value.parse().unwrap_or(u32::MAX)) {
            let note = f.note.as_deref().map(|n| format!(" = {n}")).unwrap_or_default();
            scores
                .entry(i)
                .or_default()
                .add(weight::ERROR_CODE * f.weight, format!("error code {}{note}", f.value));
        }
    }
    for f in evidence.of(FactKind::NtStatus) {
        for &i in kb.with_status(&f.value) {
            scores.entry(i).or_default().add(
                weight::NT_STATUS * f.weight,
                format!("{} — {}", f.value, at_line(&evidence, f)),
            );
        }
    }
    let lower = crate::kb::anchor::fold(text);
    for (i, j) in kb.pattern_hits(text, &lower) {
        let p = &kb.entries[i].patterns[j];
        let shown = p
            .find(text)
            .map(|m| m.trim().chars().take(80).collect::<String>())
            .unwrap_or_default();
        let verb = if p.weight < 0.0 { "argues against" } else { "matches" };
        scores
            .entry(i)
            .or_default()
            .add(p.weight, format!("“{shown}” {verb} a known pattern"));
    }
    for (i, phrase) in kb.phrase_hits(&lower) {
        let s = scores.entry(i).or_default();
        let room = (weight::PHRASES_MAX - s.phrases).max(0.0);
        let points = weight::PHRASE.min(room);
        if points > 0.0 {
            s.phrases += points;
            s.add(points, format!("mentions “{phrase}”"));
        }
    }
    words(kb, &evidence, text, &mut scores);

    for (&i, s) in scores.iter_mut() {
        let e = &kb.entries[i];
        for c in &e.conditions {
            if let Some(why) = holds(&c.when, &evidence) {
                let verb = if c.effect < 0.0 { "counts against" } else { "fits" };
                s.add(c.effect, format!("{why} {verb} this"));
            }
        }
    }
    apply_priors(kb, &evidence, priors, &mut scores);

    let mut ranked: Vec<(usize, Score)> = scores.into_iter().filter(|(_, s)| s.total > 0.0).collect();
    sort(kb, &mut ranked);
    triage(kb, &mut ranked, settings);

    let matches: Vec<Match> = ranked
        .into_iter()
        .map(|(i, s)| (i, confidence(s.total, kb.entries[i].certainty.cap()), s))
        .filter(|(_, c, _)| *c >= settings.min_confidence)
        .take(settings.max_matches)
        .map(|(i, c, mut s)| {
            let e = &kb.entries[i];
            s.reasons.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
            let mut seen = HashSet::new();
            let evidence = s
                .reasons
                .into_iter()
                .map(|(_, r)| r)
                .filter(|r| seen.insert(r.clone()))
                .collect();
            Match {
                id: e.id.clone(),
                title: e.title.clone(),
                topics: e.topics.clone(),
                confidence: (c * 1000.0).round() / 1000.0,
                evidence,
                entry: Arc::clone(e),
            }
        })
        .collect();

    let unknown_ids = evidence
        .of(FactKind::MessageId)
        .filter(|f| !kb.knows_message(&f.value) && is_qntc_family(&f.value, evidence.qntc_context))
        .map(|f| f.value.clone())
        .collect::<Vec<_>>();
    let confident = matches
        .first()
        .is_some_and(|m| m.confidence >= settings.reply_threshold);
    let answerable = matches.first().is_some_and(|m| m.entry.unprompted);
    // An unknown QNTC message is worth a short "I don't know this one, paste the F1 text";
    // silence would leave the admin guessing whether the bot even saw it.
    let reply = evidence.qntc_context && ((confident && answerable) || (!confident && !unknown_ids.is_empty()));
    Diagnosis {
        reply,
        matches,
        evidence,
        unknown_ids,
    }
}

/// Message ids the bot should own up to not knowing rather than stay silent about: the QNTC
/// logon family (CPDB05x) always, IFS messages (CPFA0xx) when the text is about QNTC.
fn is_qntc_family(id: &str, qntc_context: bool) -> bool {
    id.starts_with("CPDB05") || (qntc_context && id.starts_with("CPFA0"))
}

/// Maps a score (a sum of evidence weights) to a confidence in 0..1. The curve saturates, so
/// piling on evidence never reaches certainty, and the ranking uses the raw score: two entries
/// that both reach the cap are still ordered by how much evidence each has.
pub fn confidence(score: f64, cap: f64) -> f64 {
    (1.0 - (-1.5 * score.max(0.0)).exp()).min(cap)
}

fn sort(kb: &Kb, ranked: &mut [(usize, Score)]) {
    ranked.sort_by(|a, b| {
        b.1.total
            .total_cmp(&a.1.total)
            .then_with(|| kb.entries[a.0].id.cmp(&kb.entries[b.0].id))
    });
}

/// Words in common with an entry's title, tags, phrases and ids, weighted by rarity, plus
/// near-misses of ids ("CPDB53") and terms ("QPWDLEVEL").
fn words(kb: &Kb, evidence: &Evidence, text: &str, scores: &mut HashMap<usize, Score>) {
    // A job log of megabytes repeats itself; the first few thousand distinct words carry all
    // that words can add, and the cap bounds the typo search.
    const MAX_TERMS: usize = 4000;
    let mut seen = HashSet::new();
    let tokens = terms_of(text).filter(|t| seen.insert(t.clone())).take(MAX_TERMS);
    let exact_ids: HashSet<String> = evidence
        .of(FactKind::MessageId)
        .map(|f| f.value.to_ascii_lowercase())
        .collect();
    let mut per_entry: HashMap<usize, (f64, Vec<String>)> = HashMap::new();
    for token in tokens {
        let Some((term, fuzzy)) = kb.term_for(&token) else {
            continue;
        };
        let Some((owners, idf)) = kb.term_postings(term) else {
            continue;
        };
        let upper = term.to_ascii_uppercase();
        if exact_ids.contains(term) {
            // Already counted, at full weight, as a message id.
            continue;
        }
        if fuzzy && crate::kb::is_message_id(&upper) {
            for &i in owners {
                if kb.entries[i].message_ids.contains(&upper) {
                    let s = scores.entry(i).or_default();
                    if s.ids.insert(upper.clone()) {
                        s.add(weight::FUZZY_MESSAGE_ID, format!("“{token}” read as {upper}"));
                    }
                }
            }
            continue;
        }
        for &i in owners {
            let slot = per_entry.entry(i).or_default();
            slot.0 += idf;
            slot.1.push(if fuzzy {
                format!("{token}≈{term}")
            } else {
                term.to_string()
            });
        }
    }
    for (i, (sum, terms)) in per_entry {
        let points = (0.02 * sum).min(weight::WORDS_MAX);
        let s = scores.entry(i).or_default();
        s.add(points, format!("words in common: {}", terms.join(", ")));
    }
}

/// Why a condition holds, as a phrase for the evidence list; `None` when it does not.
fn holds(when: &When, ev: &Evidence) -> Option<String> {
    let line_of = |kind: FactKind, value: &str| ev.find(kind, value).map(|f| f.line);
    let at = |line: Option<usize>| {
        line.filter(|_| ev.line_count() > 1)
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default()
    };
    match when {
        When::Release { cmp, release } => ev
            .releases()
            .find(|r| cmp.holds(*r, *release))
            .map(|r| format!("release {r}{}", at(line_of(FactKind::Release, &r.to_string())))),
        When::Circumstance { name } => ev.find(FactKind::Circumstance, name).map(|f| {
            let label = name.replace('-', " ");
            match &f.note {
                Some(n) => format!("{label}: {n}"),
                None => format!("{label}{}", at(Some(f.line))),
            }
        }),
        When::Qpwdlvl { cmp, level } => ev
            .qpwdlvl()
            .filter(|l| cmp.holds(*l, *level))
            .map(|l| format!("QPWDLVL {l}")),
        When::Message { id } => ev
            .has(FactKind::MessageId, id)
            .then(|| format!("{id} as well{}", at(line_of(FactKind::MessageId, id)))),
        When::ErrorCode { code } => ev
            .has(FactKind::ErrorCode, &code.to_string())
            .then(|| format!("error code {code}")),
        When::Command { name } => ev
            .find(FactKind::Command, name)
            .map(|f| format!("{name}{}", at(Some(f.line)))),
        When::Path { kind: PathKind::Qntc } => ev.of(FactKind::QntcPath).next().map(|f| format!("path {}", f.value)),
        When::Path { kind: PathKind::Other } => (ev.of(FactKind::QntcPath).next().is_none())
            .then(|| {
                ev.of(FactKind::OtherPath)
                    .next()
                    .map(|f| format!("path {} is not under /QNTC", f.value))
            })
            .flatten(),
    }
}

fn apply_priors(kb: &Kb, ev: &Evidence, priors: &Priors, scores: &mut HashMap<usize, Score>) {
    let key = ev.key();
    if key.is_empty() {
        return;
    }
    let Some(stats) = priors.by_key.get(&key) else { return };
    for (id, st) in stats {
        let Some(i) = kb.index_of(id) else { continue };
        let Some(s) = scores.get_mut(&i) else { continue };
        let nudge = (0.03 * f64::from(st.fixed) + 0.015 * f64::from(st.helpful)
            - 0.02 * f64::from(st.unhelpful)
            - 0.04 * f64::from(st.wrong))
        .clamp(-weight::PRIOR_MAX, weight::PRIOR_MAX);
        if nudge == 0.0 {
            continue;
        }
        let mut parts = Vec::new();
        if st.fixed > 0 {
            parts.push(format!(
                "fixed {} earlier case{} like this",
                st.fixed,
                if st.fixed == 1 { "" } else { "s" }
            ));
        }
        if st.wrong > 0 {
            parts.push(format!(
                "judged wrong in {} earlier case{}",
                st.wrong,
                if st.wrong == 1 { "" } else { "s" }
            ));
        }
        if st.helpful > 0 {
            parts.push(format!(
                "{} helpful vote{}",
                st.helpful,
                if st.helpful == 1 { "" } else { "s" }
            ));
        }
        if parts.is_empty() {
            parts.push(format!(
                "{} unhelpful vote{}",
                st.unhelpful,
                if st.unhelpful == 1 { "" } else { "s" }
            ));
        }
        s.add(nudge, parts.join(", "));
    }
}

/// Puts the triage entry of a shared message id first when the context does not separate the
/// specific entries for that id, and behind the winner when it does.
fn triage(kb: &Kb, ranked: &mut Vec<(usize, Score)>, settings: &Settings) {
    let Some(best_specific) = ranked.iter().position(|(i, _)| !kb.entries[*i].triage) else {
        return;
    };
    let best_ids = ranked[best_specific].1.ids.clone();
    let shares = |s: &Score| s.ids.iter().any(|id| best_ids.contains(id));
    let Some(t) = ranked.iter().position(|(i, s)| kb.entries[*i].triage && shares(s)) else {
        return;
    };
    let best = ranked[best_specific].1.total;
    let runner_up = ranked
        .iter()
        .enumerate()
        .filter(|(k, (i, s))| *k != best_specific && !kb.entries[*i].triage && shares(s))
        .map(|(_, (_, s))| s.total)
        .reduce(f64::max);
    let undecided = runner_up.is_some_and(|r| best - r < settings.triage_margin);
    if undecided {
        let item = &mut ranked[t].1;
        item.total = item.total.max(best) + 1e-9;
        item.reasons.push((
            0.0,
            "the context does not single out one cause: check them in order".into(),
        ));
        let item = ranked.remove(t);
        ranked.insert(0, item);
    } else if ranked[t].1.total >= best {
        // The context decided: the checklist is a fallback, not the answer.
        ranked[t].1.total = (best - 0.1).max(0.0);
        sort(kb, ranked);
    }
}
