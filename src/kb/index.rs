//! The knowledge base compiled for matching. Every lookup structure is built once per load so
//! that diagnosing a text costs one pass per kind of evidence, whatever the number of entries:
//! hash maps for ids and codes, one Aho-Corasick automaton for every phrase, one for the
//! literal anchors of every pattern (only patterns whose anchor occurs are compiled and run),
//! and a deletion index for typo-tolerant terms.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::Entry;

/// Terms shorter than this are not indexed for words or typos: too many false friends.
const MIN_TERM: usize = 4;

#[derive(Debug)]
pub struct Kb {
    pub entries: Vec<Arc<Entry>>,
    by_id: HashMap<String, usize>,
    by_message: HashMap<String, Vec<usize>>,
    by_code: HashMap<u32, Vec<usize>>,
    by_status: HashMap<String, Vec<usize>>,
    phrases: Option<AhoCorasick>,
    /// Phrase automaton pattern index -> entries that list the phrase.
    phrase_owners: Vec<Vec<usize>>,
    /// Anchor literals of all patterns; automaton index -> (pattern slot, clause) pairs.
    anchors: Option<AhoCorasick>,
    anchor_owners: Vec<Vec<(usize, usize)>>,
    /// Pattern slot -> (entry, pattern within the entry, number of clauses).
    anchored: Vec<(usize, usize, usize)>,
    /// Patterns without a required literal: tried on every text.
    unanchored: Vec<(usize, usize)>,
    /// Term -> entries whose title, tags, phrases or ids contain it, and its inverse document
    /// frequency.
    terms: HashMap<String, (Vec<usize>, f64)>,
    /// Typo index: every term with one or two characters deleted -> the terms it came from.
    deletions: HashMap<String, Vec<String>>,
    /// Word and character-trigram similarity to each entry (see `crate::rank::sim`).
    pub sim: crate::rank::sim::SimIndex,
    /// The fitted ranking model and relevance gate (`kb/model/`); the fallback until
    /// [`Kb::with_model`] sets the KB's own.
    pub model: crate::rank::Model,
    pub cues: crate::rank::Cues,
    /// The words of each problem learned from the labelled cases (`kb/model/lexicon.tsv`);
    /// empty until [`Kb::with_lexicon`] sets the KB's own.
    pub lexicon: crate::rank::Lexicon,
    /// Every phrase and pattern anchor, for skimming large inputs (see [`crate::skim`]).
    literals: Vec<String>,
    skimmer: std::sync::OnceLock<crate::skim::Skimmer>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot compile the knowledge base: {0}")]
pub struct CompileError(String);

impl Kb {
    pub fn build(entries: Vec<Entry>) -> Result<Kb, CompileError> {
        let entries: Vec<Arc<Entry>> = entries.into_iter().map(Arc::new).collect();
        let mut by_id = HashMap::new();
        let mut by_message: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_code: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut by_status: HashMap<String, Vec<usize>> = HashMap::new();
        let mut phrase_ix: HashMap<String, usize> = HashMap::new();
        let mut phrase_list: Vec<String> = Vec::new();
        let mut phrase_owners: Vec<Vec<usize>> = Vec::new();
        let mut anchor_ix: HashMap<String, usize> = HashMap::new();
        let mut anchor_list: Vec<String> = Vec::new();
        let mut anchor_owners: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut anchored = Vec::new();
        let mut unanchored = Vec::new();
        let mut docs: Vec<HashSet<String>> = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            by_id.insert(e.id.clone(), i);
            for m in &e.message_ids {
                by_message.entry(m.clone()).or_default().push(i);
            }
            for c in &e.error_codes {
                by_code.entry(*c).or_default().push(i);
            }
            for s in &e.nt_status {
                by_status.entry(s.clone()).or_default().push(i);
            }
            for p in &e.phrases {
                let ix = *phrase_ix.entry(p.clone()).or_insert_with(|| {
                    phrase_list.push(p.clone());
                    phrase_owners.push(Vec::new());
                    phrase_list.len() - 1
                });
                phrase_owners[ix].push(i);
            }
            for (j, p) in e.patterns.iter().enumerate() {
                match &p.anchors {
                    Some(clauses) => {
                        let slot = anchored.len();
                        anchored.push((i, j, clauses.len()));
                        for (k, clause) in clauses.iter().enumerate() {
                            for lit in clause {
                                let ix = *anchor_ix.entry(lit.clone()).or_insert_with(|| {
                                    anchor_list.push(lit.clone());
                                    anchor_owners.push(Vec::new());
                                    anchor_list.len() - 1
                                });
                                anchor_owners[ix].push((slot, k));
                            }
                        }
                    }
                    None => unanchored.push((i, j)),
                }
            }
            let mut doc = HashSet::new();
            for text in std::iter::once(&e.title)
                .chain(&e.tags)
                .chain(&e.phrases)
                .chain(&e.message_ids)
                .chain(&e.nt_status)
            {
                doc.extend(terms_of(text));
            }
            docs.push(doc);
        }
        let phrases = if phrase_list.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&phrase_list)
                    .map_err(|e| CompileError(e.to_string()))?,
            )
        };
        let anchors = if anchor_list.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&anchor_list).map_err(|e| CompileError(e.to_string()))?)
        };
        let literals: Vec<String> = phrase_list.iter().chain(&anchor_list).cloned().collect();
        let n = entries.len().max(1) as f64;
        let mut postings: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, doc) in docs.into_iter().enumerate() {
            for t in doc {
                postings.entry(t).or_default().push(i);
            }
        }
        let mut deletions: HashMap<String, Vec<String>> = HashMap::new();
        let terms = postings
            .into_iter()
            .map(|(t, owners)| {
                for d in deletion_variants(&t) {
                    deletions.entry(d).or_default().push(t.clone());
                }
                let df = owners.len() as f64;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                (t, (owners, idf))
            })
            .collect();
        let sim = crate::rank::sim::SimIndex::build(&entries);
        let cues = crate::rank::Cues::default();
        Ok(Kb {
            model: crate::rank::Model::fallback(&cues),
            cues,
            lexicon: crate::rank::Lexicon::default(),
            sim,
            entries,
            by_id,
            by_message,
            by_code,
            by_status,
            phrases,
            phrase_owners,
            anchors,
            anchor_owners,
            anchored,
            unanchored,
            terms,
            deletions,
            literals,
            skimmer: std::sync::OnceLock::new(),
        })
    }

    /// Sets the fitted model and the gate's cues that belong to this KB.
    pub fn with_model(mut self, model: crate::rank::Model, cues: crate::rank::Cues) -> Kb {
        self.model = model;
        self.cues = cues;
        self
    }

    /// Sets the lexicon fitted for this KB.
    pub fn with_lexicon(mut self, lexicon: crate::rank::Lexicon) -> Kb {
        self.lexicon = lexicon;
        self
    }

    /// Every phrase and pattern anchor of the KB (lower case).
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.literals.iter().map(String::as_str)
    }

    /// What makes a line of a large input worth reading for this KB; built on first use.
    pub fn skimmer(&self) -> &crate::skim::Skimmer {
        self.skimmer.get_or_init(|| crate::skim::Skimmer::new(self))
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Entry>> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn with_message(&self, id: &str) -> &[usize] {
        self.by_message.get(id).map_or(&[], Vec::as_slice)
    }

    pub fn knows_message(&self, id: &str) -> bool {
        self.by_message.contains_key(id)
    }

    pub fn with_code(&self, code: u32) -> &[usize] {
        self.by_code.get(&code).map_or(&[], Vec::as_slice)
    }

    pub fn with_status(&self, status: &str) -> &[usize] {
        self.by_status.get(status).map_or(&[], Vec::as_slice)
    }

    /// Every (entry, phrase) pair whose phrase occurs in `text`, each pair once.
    pub fn phrase_hits(&self, text: &str) -> Vec<(usize, String)> {
        let Some(ac) = &self.phrases else { return Vec::new() };
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        for m in ac.find_overlapping_iter(text) {
            let ix = m.pattern().as_usize();
            if !seen.insert(ix) {
                continue;
            }
            let phrase = &text[m.start()..m.end()];
            if !at_word_bounds(text, m.start(), m.end()) {
                continue;
            }
            for &owner in &self.phrase_owners[ix] {
                hits.push((owner, phrase.to_lowercase()));
            }
        }
        hits
    }

    /// Every (entry, pattern index) whose regex matches somewhere in `text`; `lower` is
    /// `text` in lower case, where the anchors are looked for.
    pub fn pattern_hits(&self, text: &str, lower: &str) -> Vec<(usize, usize)> {
        let mut candidates: Vec<(usize, usize)> = self.unanchored.clone();
        if let Some(ac) = &self.anchors {
            let mut seen_literal = HashSet::new();
            let mut present: HashSet<(usize, usize)> = HashSet::new();
            for m in ac.find_overlapping_iter(lower) {
                if seen_literal.insert(m.pattern().as_usize()) {
                    present.extend(self.anchor_owners[m.pattern().as_usize()].iter().copied());
                }
            }
            let mut clauses_present: HashMap<usize, usize> = HashMap::new();
            for (slot, _) in &present {
                *clauses_present.entry(*slot).or_default() += 1;
            }
            for (slot, n) in clauses_present {
                let (i, j, needed) = self.anchored[slot];
                if n == needed {
                    candidates.push((i, j));
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter(|&(i, j)| self.entries[i].patterns[j].is_match(text))
            .collect()
    }

    /// The indexed term for `token`: itself when indexed, else the closest indexed term within
    /// one edit (two for long words), e.g. "qpwdlevel" -> "qpwdlvl", "cpdb53" -> "cpdb053".
    pub fn term_for(&self, token: &str) -> Option<(&str, bool)> {
        if let Some((key, _)) = self.terms.get_key_value(token) {
            return Some((key.as_str(), false));
        }
        let len = token.chars().count();
        if len < 5 {
            return None;
        }
        let limit = if len >= 8 { 2 } else { 1 };
        let mut best: Option<(&str, usize)> = None;
        let mut consider = |candidate: &str| {
            if let Some((key, _)) = self.terms.get_key_value(candidate) {
                let d = strsim::damerau_levenshtein(token, key);
                // Equal distances are settled by the term itself, not by hash-map order, so the
                // same text reads the same way in every process (and training is repeatable).
                if d <= limit && best.is_none_or(|(bt, bd)| d < bd || (d == bd && key.as_str() < bt)) {
                    best = Some((key.as_str(), d));
                }
            }
        };
        if let Some(origins) = self.deletions.get(token) {
            origins.iter().for_each(|o| consider(o));
        }
        for d in deletion_variants(token) {
            consider(&d);
            if let Some(origins) = self.deletions.get(&d) {
                origins.iter().for_each(|o| consider(o));
            }
        }
        best.map(|(t, _)| (t, true))
    }

    pub fn term_postings(&self, term: &str) -> Option<(&[usize], f64)> {
        self.terms.get(term).map(|(owners, idf)| (owners.as_slice(), *idf))
    }
}

/// Lower-cased alphanumeric words of at least [`MIN_TERM`] characters, minus words too common
/// in support chat to tell problems apart.
pub fn terms_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| w.chars().count() >= MIN_TERM)
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()))
}

const STOP: &[&str] = &[
    "with", "from", "that", "this", "have", "when", "after", "does", "what", "there", "they", "then", "than", "your",
    "into", "only", "also", "ibm", "error", "fails", "failed", "works", "work", "server", "file", "files", "user",
];

fn deletion_variants(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    if chars.len() < 5 || chars.len() > 24 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(chars.len() * 2);
    for i in 0..chars.len() {
        let one: String = chars
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != i)
            .map(|(_, c)| *c)
            .collect();
        if chars.len() >= 8 {
            for j in i + 1..chars.len() {
                out.push(
                    chars
                        .iter()
                        .enumerate()
                        .filter(|&(k, _)| k != i && k != j)
                        .map(|(_, c)| *c)
                        .collect(),
                );
            }
        }
        out.push(one);
    }
    out
}

/// Phrases must start and end on word boundaries so "ipl" does not fire inside "multiple".
fn at_word_bounds(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let first = text[start..end].chars().next();
    let last = text[start..end].chars().next_back();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    // CJK text has no spaces between words: a boundary check would reject every phrase.
    let cjk = |c: Option<char>| c.is_some_and(|c| !c.is_ascii() && !c.is_alphabetic() || c > '\u{2E80}');
    (!word(before) || !word(first) || cjk(first)) && (!word(after) || !word(last) || cjk(last))
}
