//! Features of one text against every knowledge-base entry: what kind of evidence ties the
//! text to the entry, kept apart so that a fitted model (see [`super::model`]) decides how
//! much each kind is worth, instead of weights set by hand.
//!
//! Every feature also carries the human-readable reasons that earned it, for the "why" of an
//! answer.

use std::collections::{HashMap, HashSet};

use crate::diagnose::Priors;
use crate::evidence::{Evidence, Fact, FactKind};
use crate::kb::condition::{PathKind, When};
use crate::kb::index::terms_of;
use crate::kb::{Certainty, Kb};

use super::lexicon::Lexicon;
use super::measure::Measures;

/// Feature names, in the order of [`Candidate::x`]. These names are the keys of the `[rank]`
/// table in `kb/model/weights.toml`.
pub const FEATURES: &[&str] = &[
    "id",
    "id_fuzzy",
    "id_only_owner",
    "code",
    "status",
    "pattern_pos",
    "pattern_neg",
    "phrases",
    "words",
    "cond_pos",
    "cond_neg",
    "bm25",
    "bm25_rel",
    "ngram",
    "ngram_rel",
    "triage",
    "triage_undecided",
    "medium",
    "low",
    "hand",
    "lex",
    "lex_rel",
    "lex_lr",
];
pub const NF: usize = FEATURES.len();

mod f {
    pub const ID: usize = 0;
    pub const ID_FUZZY: usize = 1;
    pub const ID_ONLY_OWNER: usize = 2;
    pub const CODE: usize = 3;
    pub const STATUS: usize = 4;
    pub const PATTERN_POS: usize = 5;
    pub const PATTERN_NEG: usize = 6;
    pub const PHRASES: usize = 7;
    pub const WORDS: usize = 8;
    pub const COND_POS: usize = 9;
    pub const COND_NEG: usize = 10;
    pub const BM25: usize = 11;
    pub const BM25_REL: usize = 12;
    pub const NGRAM: usize = 13;
    pub const NGRAM_REL: usize = 14;
    pub const TRIAGE: usize = 15;
    pub const TRIAGE_UNDECIDED: usize = 16;
    pub const MEDIUM: usize = 17;
    pub const LOW: usize = 18;
    pub const HAND: usize = 19;
    pub const LEX: usize = 20;
    pub const LEX_REL: usize = 21;
    pub const LEX_LR: usize = 22;
}

/// The hand-set weights of the first version, kept as one feature ("hand"): a prior the
/// fitted model may lean on as much as the data says it should, and no more.
pub mod hand {
    pub const MESSAGE_ID: f64 = 0.6;
    pub const FUZZY_MESSAGE_ID: f64 = 0.45;
    pub const ERROR_CODE: f64 = 0.25;
    pub const NT_STATUS: f64 = 0.3;
    pub const PHRASE: f64 = 0.15;
    pub const PHRASES_MAX: f64 = 0.45;
    pub const WORDS_MAX: f64 = 0.15;
    /// What earlier cases may add or take away (in score units of the hand weights).
    pub const PRIOR_MAX: f64 = 0.1;
}

/// A lexicon posterior below this adds no candidate of its own.
const LEX_FLOOR: f64 = 0.05;

/// Texts longer than this are read by the lexicon through the skimmer (see [`lexicon_focus`]).
const FOCUS_FROM: usize = 6000;

/// What the lexicon reads of a text: a long one (a job log, mostly) through the skimmer's
/// selection, the lines around message ids and QNTC markers, where the problem is; the rest
/// of a log is its routine. A large input's text is that selection already (see
/// [`crate::skim`]), so a log reads the same whether it was skimmed or read whole. A long
/// text the skimmer selects nothing from is read as it is.
fn lexicon_focus<'t>(kb: &Kb, text: &'t str) -> std::borrow::Cow<'t, str> {
    if text.len() <= FOCUS_FROM {
        return std::borrow::Cow::Borrowed(text);
    }
    match kb.skimmer().skim_bytes(text.as_bytes()) {
        Ok(s) if !s.text.trim().is_empty() => std::borrow::Cow::Owned(s.text),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// Similarity below this is noise (two texts in the same language share many trigrams).
const NGRAM_FLOOR: f64 = 0.12;
/// Specific entries for a shared message id closer than this (in hand score) leave the
/// context undecided, which is what a triage entry is for.
const TRIAGE_MARGIN: f64 = 0.1;

/// One entry with some evidence for it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub entry: usize,
    pub x: [f64; NF],
    /// (strength, reason), for display.
    pub reasons: Vec<(f64, String)>,
    /// Message ids that earned points (exact or fuzzy).
    pub ids: HashSet<String>,
    /// The sum of the hand weights: the first version's score.
    pub hand: f64,
    /// Learned from the case log: added to the model's score, bounded.
    pub prior: f64,
}

impl Candidate {
    fn new(entry: usize) -> Candidate {
        Candidate {
            entry,
            x: [0.0; NF],
            reasons: Vec::new(),
            ids: HashSet::new(),
            hand: 0.0,
            prior: 0.0,
        }
    }

    fn add(&mut self, feature: usize, value: f64, hand: f64, reason: String) {
        self.x[feature] += value;
        self.hand += hand;
        self.reasons.push((hand.abs().max(value.abs() * 0.1), reason));
    }
}

/// Text-level facts the relevance gate reads, gathered on the way.
#[derive(Debug, Clone, Default)]
pub struct TextSignals {
    /// How much the text is worded like the training texts about nothing (see
    /// [`super::lexicon::LexScores::quiet`]).
    pub lex_quiet: f64,
    /// The lexicon's reply classifier: log-odds that the text is about some entry (see
    /// [`super::lexicon::LexScores::reply`]).
    pub lex_reply: f64,
    pub best_ngram: f64,
    pub best_bm25: f64,
    pub best_hand: f64,
}

fn at_line(ev: &Evidence, f: &Fact) -> String {
    match ev.quote(f.line) {
        Some(q) if ev.line_count() > 1 => format!("line {}: {q}", f.line),
        _ => f.value.clone(),
    }
}

/// Features of `text` (with its evidence) against every entry that has any evidence for it.
pub fn collect(kb: &Kb, ev: &Evidence, text: &str, priors: &Priors) -> (Vec<Candidate>, TextSignals) {
    collect_with(kb, &kb.lexicon, ev, text, priors)
}

/// [`collect`] with another lexicon than the KB's: training scores each case with one that
/// never saw it.
pub fn collect_with(
    kb: &Kb,
    lexicon: &Lexicon,
    ev: &Evidence,
    text: &str,
    priors: &Priors,
) -> (Vec<Candidate>, TextSignals) {
    let mut by_entry: HashMap<usize, Candidate> = HashMap::new();

    for fact in ev.of(FactKind::MessageId) {
        let owners = kb.with_message(&fact.value);
        for &i in owners {
            let mut reason = format!("{} — {}", fact.value, at_line(ev, fact));
            if let Some(n) = &fact.note {
                reason.push_str(&format!(" ({n})"));
            }
            let c = slot(&mut by_entry, i);
            if c.ids.insert(fact.value.clone()) {
                c.add(f::ID, fact.weight, hand::MESSAGE_ID * fact.weight, reason);
                let specific = owners.iter().filter(|&&j| !kb.entries[j].triage).count();
                if specific <= 1 {
                    c.x[f::ID_ONLY_OWNER] += fact.weight;
                }
            }
        }
    }
    for fact in ev.of(FactKind::ErrorCode) {
        let Ok(code) = fact.value.parse::<u32>() else { continue };
        for &i in kb.with_code(code) {
            let note = fact.note.as_deref().map(|n| format!(" = {n}")).unwrap_or_default();
            slot(&mut by_entry, i).add(
                f::CODE,
                fact.weight,
                hand::ERROR_CODE * fact.weight,
                format!("error code {}{note}", fact.value),
            );
        }
    }
    for fact in ev.of(FactKind::NtStatus) {
        for &i in kb.with_status(&fact.value) {
            slot(&mut by_entry, i).add(
                f::STATUS,
                fact.weight,
                hand::NT_STATUS * fact.weight,
                format!("{} — {}", fact.value, at_line(ev, fact)),
            );
        }
    }
    let lower = crate::kb::anchor::fold(text);
    for (i, j) in kb.pattern_hits(text, &lower) {
        let p = &kb.entries[i].patterns[j];
        let shown = p.find(text).map(|m| quote_of(&m)).unwrap_or_default();
        let (feature, verb) = if p.weight < 0.0 {
            (f::PATTERN_NEG, "argues against")
        } else {
            (f::PATTERN_POS, "matches")
        };
        slot(&mut by_entry, i).add(
            feature,
            p.weight.abs(),
            p.weight,
            format!("“{shown}” {verb} a known pattern"),
        );
    }
    for (i, phrase) in kb.phrase_hits(&lower) {
        let c = slot(&mut by_entry, i);
        let room = (hand::PHRASES_MAX - c.x[f::PHRASES] * hand::PHRASE).max(0.0);
        let points = hand::PHRASE.min(room);
        if points > 0.0 {
            c.add(f::PHRASES, 1.0, points, format!("mentions “{phrase}”"));
        }
    }
    words(kb, ev, text, &mut by_entry);

    let sims = kb.sim.score(text);
    let best_bm25 = sims.iter().map(|s| s.bm25).fold(0.0, f64::max);
    let best_ngram = sims.iter().map(|s| s.ngram).fold(0.0, f64::max);
    for (i, s) in sims.iter().enumerate() {
        let strong_words = best_bm25 > 0.0 && s.bm25 >= 0.5 * best_bm25;
        let similar = s.ngram >= NGRAM_FLOOR;
        if !(strong_words || similar || by_entry.contains_key(&i)) {
            continue;
        }
        let c = by_entry.entry(i).or_insert_with(|| Candidate::new(i));
        c.x[f::BM25] = (1.0 + s.bm25).ln();
        if best_bm25 > 0.0 {
            c.x[f::BM25_REL] = s.bm25 / best_bm25;
        }
        if similar {
            c.x[f::NGRAM] = s.ngram;
            c.x[f::NGRAM_REL] = s.ngram / best_ngram.max(1e-9);
            if let Some(x) = s.example.and_then(|k| kb.sim.example_text(k)) {
                c.reasons.push((s.ngram * 0.3, format!("reads like “{}”", clip(x, 70))));
            }
        }
    }

    let lex = if ev.is_skimmed() {
        lexicon.score(text)
    } else {
        lexicon.score(&lexicon_focus(kb, text))
    };
    for (i, (&p, &r)) in lex.posterior.iter().zip(&lex.relative).enumerate() {
        let q = lex.chosen.get(i).copied().unwrap_or(0.0);
        if p < LEX_FLOOR && q < LEX_FLOOR && !by_entry.contains_key(&i) {
            continue;
        }
        let c = by_entry.entry(i).or_insert_with(|| Candidate::new(i));
        c.x[f::LEX] = p;
        c.x[f::LEX_REL] = r;
        c.x[f::LEX_LR] = q;
        if p >= 0.5 {
            c.reasons
                .push((p * 0.2, "worded like earlier reports of this problem".into()));
        }
    }

    let measures = Measures::of(ev, text);
    for c in by_entry.values_mut() {
        let e = &kb.entries[c.entry];
        for cond in &e.conditions {
            if let Some(why) = holds(&cond.when, ev, &measures) {
                let (feature, verb) = if cond.effect < 0.0 {
                    (f::COND_NEG, "counts against")
                } else {
                    (f::COND_POS, "fits")
                };
                c.add(feature, cond.effect.abs(), cond.effect, format!("{why} {verb} this"));
            }
        }
        match e.certainty {
            Certainty::High => {}
            Certainty::Medium => c.x[f::MEDIUM] = 1.0,
            Certainty::Low => c.x[f::LOW] = 1.0,
        }
    }
    apply_priors(kb, ev, priors, &mut by_entry);

    let mut candidates: Vec<Candidate> = by_entry.into_values().collect();
    // A fixed order before anything depends on it: the map's order is random.
    candidates.sort_by_key(|c| c.entry);
    triage_features(kb, &mut candidates);
    for c in &mut candidates {
        c.x[f::HAND] = c.hand.clamp(-1.0, 3.0);
    }
    let best_hand = candidates.iter().map(|c| c.hand).fold(0.0, f64::max);
    (
        candidates,
        TextSignals {
            lex_quiet: lex.quiet,
            lex_reply: lex.reply,
            best_ngram,
            best_bm25,
            best_hand,
        },
    )
}

fn slot(by_entry: &mut HashMap<usize, Candidate>, i: usize) -> &mut Candidate {
    by_entry.entry(i).or_insert_with(|| Candidate::new(i))
}

fn quote_of(m: &str) -> String {
    // One line of the match, cut at a word boundary: a quote should read as text.
    let first = m.trim().lines().next().unwrap_or_default().trim();
    clip(first, 80)
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => format!("{}…", cut[..i].trim_end()),
        _ => format!("{cut}…"),
    }
}

/// A triage entry answers when the specific entries that share its message id are too close
/// to call: that closeness is a feature, computed on the hand scores.
fn triage_features(kb: &Kb, candidates: &mut [Candidate]) {
    for t in 0..candidates.len() {
        if !kb.entries[candidates[t].entry].triage || candidates[t].ids.is_empty() {
            continue;
        }
        candidates[t].x[f::TRIAGE] = 1.0;
        let ids = candidates[t].ids.clone();
        let mut sharing: Vec<f64> = candidates
            .iter()
            .filter(|c| !kb.entries[c.entry].triage && c.ids.iter().any(|i| ids.contains(i)))
            .map(|c| c.hand)
            .collect();
        sharing.sort_by(|a, b| b.total_cmp(a));
        let undecided = match sharing.as_slice() {
            [] => true,
            [_] => false,
            [a, b, ..] => a - b < TRIAGE_MARGIN,
        };
        if undecided {
            candidates[t].x[f::TRIAGE_UNDECIDED] = 1.0;
            candidates[t].reasons.push((
                0.05,
                "the context does not single out one cause: check them in order".into(),
            ));
        }
    }
}

/// Words in common with an entry's title, tags, phrases and ids, weighted by rarity, plus
/// near-misses of ids ("CPDB53") and terms ("QPWDLEVEL").
fn words(kb: &Kb, ev: &Evidence, text: &str, by_entry: &mut HashMap<usize, Candidate>) {
    // A job log of megabytes repeats itself; the first few thousand distinct words carry all
    // that words can add, and the cap bounds the typo search.
    const MAX_TERMS: usize = 4000;
    let mut seen = HashSet::new();
    let tokens = terms_of(text).filter(|t| seen.insert(t.clone())).take(MAX_TERMS);
    let exact_ids: HashSet<String> = ev
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
        if exact_ids.contains(term) {
            // Already counted, at full weight, as a message id.
            continue;
        }
        let upper = term.to_ascii_uppercase();
        if fuzzy && crate::kb::is_message_id(&upper) {
            for &i in owners {
                if kb.entries[i].message_ids.contains(&upper) {
                    let c = by_entry.entry(i).or_insert_with(|| Candidate::new(i));
                    if c.ids.insert(upper.clone()) {
                        c.add(
                            f::ID_FUZZY,
                            1.0,
                            hand::FUZZY_MESSAGE_ID,
                            format!("“{token}” read as {upper}"),
                        );
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
        let points = (0.02 * sum).min(hand::WORDS_MAX);
        let c = by_entry.entry(i).or_insert_with(|| Candidate::new(i));
        c.add(
            f::WORDS,
            points / hand::WORDS_MAX,
            points,
            format!("words in common: {}", terms.join(", ")),
        );
    }
}

/// Why a condition holds, as a phrase for the evidence list; `None` when it does not.
pub fn holds(when: &When, ev: &Evidence, measures: &Measures) -> Option<String> {
    let line_of = |kind: FactKind, value: &str| ev.find(kind, value).map(|f| f.line);
    let at = |line: Option<usize>| {
        line.filter(|_| ev.line_count() > 1)
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default()
    };
    match when {
        When::Measure { what, cmp, value } => {
            let got = measures.get(*what);
            (got > 0 && cmp.holds(got, *value)).then(|| format!("{} {got}", what.name().replace('_', " ")))
        }
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

fn apply_priors(kb: &Kb, ev: &Evidence, priors: &Priors, by_entry: &mut HashMap<usize, Candidate>) {
    let key = ev.key();
    if key.is_empty() {
        return;
    }
    let Some(stats) = priors.by_key.get(&key) else { return };
    for (id, st) in stats {
        let Some(i) = kb.index_of(id) else { continue };
        let Some(c) = by_entry.get_mut(&i) else { continue };
        let nudge = (0.03 * f64::from(st.fixed) + 0.015 * f64::from(st.helpful)
            - 0.02 * f64::from(st.unhelpful)
            - 0.04 * f64::from(st.wrong))
        .clamp(-hand::PRIOR_MAX, hand::PRIOR_MAX);
        if nudge == 0.0 {
            continue;
        }
        let plural = |n: u32| if n == 1 { "" } else { "s" };
        let mut parts = Vec::new();
        if st.fixed > 0 {
            parts.push(format!("fixed {} earlier case{} like this", st.fixed, plural(st.fixed)));
        }
        if st.wrong > 0 {
            parts.push(format!("judged wrong in {} earlier case{}", st.wrong, plural(st.wrong)));
        }
        if st.helpful > 0 {
            parts.push(format!("{} helpful vote{}", st.helpful, plural(st.helpful)));
        }
        if parts.is_empty() {
            parts.push(format!("{} unhelpful vote{}", st.unhelpful, plural(st.unhelpful)));
        }
        c.prior += nudge;
        c.hand += nudge;
        c.reasons.push((nudge.abs(), parts.join(", ")));
    }
}
