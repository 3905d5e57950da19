//! The knowledge base compiled for matching. Every lookup structure is built once per load so
//! that diagnosing a text costs one pass per kind of evidence, whatever the number of entries:
//! hash maps for ids and codes, one Aho-Corasick automaton for every phrase, one for the
//! literal anchors of every pattern (only patterns whose anchor occurs are compiled and run),
//! and a deletion index for typo-tolerant terms.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::Entry;
use super::flat::{Keys, Lists};

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
    /// Terms and their typo index.
    words: Words,
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

/// The terms of the KB's entries for word and typo-tolerant lookups, laid out flat (see
/// [`super::flat`]) so that the KB snapshot keeps it as built.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Words {
    /// Every term of a title, tag, phrase or id (see [`terms_of`]).
    terms: Keys,
    /// Term -> entries whose title, tags, phrases or ids contain it.
    owners: Lists<usize>,
    /// Term -> its inverse document frequency.
    idf: Vec<f64>,
    /// Typo index: every term with one or two characters deleted ...
    deletions: Keys,
    /// ... -> the terms it came from (positions in `terms`).
    origins: Lists<u32>,
}

impl Words {
    fn build(entries: &[Arc<Entry>]) -> Words {
        let n = entries.len().max(1) as f64;
        let mut postings: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let mut doc = HashSet::new();
            for text in std::iter::once(&e.title)
                .chain(&e.tags)
                .chain(&e.phrases)
                .chain(&e.message_ids)
                .chain(&e.nt_status)
            {
                doc.extend(terms_of(text));
            }
            for t in doc {
                postings.entry(t).or_default().push(i);
            }
        }
        let (terms, owners) = Keys::build(postings);
        let idf = owners.iter().map(|o| crate::rank::sim::bm25_idf(n, o.len())).collect();
        let mut deletions: HashMap<String, Vec<u32>> = HashMap::new();
        for (k, t) in terms.iter().enumerate() {
            for d in deletion_variants(t) {
                deletions
                    .entry(d)
                    .or_default()
                    .push(u32::try_from(k).unwrap_or(u32::MAX));
            }
        }
        let (deletions, origins) = Keys::build(deletions);
        Words {
            terms,
            owners: Lists::from_vecs(owners),
            idf,
            deletions,
            origins: Lists::from_vecs(origins),
        }
    }

    /// Whether an index read back from a snapshot is whole for a KB of `entries` entries.
    pub fn is_sound(&self, entries: usize) -> bool {
        let terms = self.terms.len();
        self.terms.is_sound()
            && self.owners.is_sound(terms, |&i| i < entries)
            && self.idf.len() == terms
            && self.deletions.is_sound()
            && self.origins.is_sound(self.deletions.len(), |&k| (k as usize) < terms)
    }
}

/// What of a compiled KB its snapshot keeps (see [`super::snapshot`]).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Built {
    pub words: Words,
    pub sim: crate::rank::sim::SimIndex,
}

impl Built {
    pub fn is_sound(&self, entries: usize) -> bool {
        self.words.is_sound(entries) && self.sim.is_sound(entries)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot compile the knowledge base: {0}")]
pub struct CompileError(String);

impl Kb {
    pub fn build(entries: Vec<Entry>) -> Result<Kb, CompileError> {
        Kb::build_with(entries, None)
    }

    /// The term index, for the snapshot (see [`Built`]).
    pub fn words(&self) -> &Words {
        &self.words
    }

    /// [`Kb::build`] with the term and similarity indexes of these entries from a snapshot
    /// (`None`: build them). `built` must be sound for the entries (see [`Built::is_sound`]).
    pub fn build_with(entries: Vec<Entry>, built: Option<Built>) -> Result<Kb, CompileError> {
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
        }
        let phrases = if phrase_list.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .dense_depth(0)
                    .build(&phrase_list)
                    .map_err(|e| CompileError(e.to_string()))?,
            )
        };
        let anchors = if anchor_list.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .dense_depth(0)
                    .build(&anchor_list)
                    .map_err(|e| CompileError(e.to_string()))?,
            )
        };
        let literals: Vec<String> = phrase_list.iter().chain(&anchor_list).cloned().collect();
        let Built { words, sim } = built.unwrap_or_else(|| Built {
            words: Words::build(&entries),
            sim: crate::rank::sim::SimIndex::build(&entries),
        });
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
            words,
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
            // (slot, clause) pairs whose literal is in the text; sorted and counted per slot
            // rather than hashed (a chat message turns up a few hundred of them).
            let mut seen_literal = vec![false; self.anchor_owners.len()];
            let mut present: Vec<(usize, usize)> = Vec::new();
            for m in ac.find_overlapping_iter(lower) {
                let p = m.pattern().as_usize();
                if let Some(seen) = seen_literal.get_mut(p)
                    && !std::mem::replace(seen, true)
                {
                    present.extend_from_slice(&self.anchor_owners[p]);
                }
            }
            present.sort_unstable();
            present.dedup();
            for run in present.chunk_by(|a, b| a.0 == b.0) {
                let (i, j, needed) = self.anchored[run[0].0];
                if run.len() == needed {
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
        let w = &self.words;
        if let Some(k) = w.terms.get(token) {
            return Some((w.terms.key(k), false));
        }
        let len = token.chars().count();
        if len < 5 {
            return None;
        }
        let limit = if len >= 8 { 2 } else { 1 };
        let mut best: Option<(&str, usize)> = None;
        let mut consider = |k: usize| {
            let key = w.terms.key(k);
            let d = strsim::damerau_levenshtein(token, key);
            // Equal distances are settled by the term itself, not by table order, so the
            // same text reads the same way in every process (and training is repeatable).
            if d <= limit && best.is_none_or(|(bt, bd)| d < bd || (d == bd && key < bt)) {
                best = Some((key, d));
            }
        };
        let origins = |d: &str| w.deletions.get(d).map_or(&[][..], |k| w.origins.get(k));
        for &o in origins(token) {
            consider(o as usize);
        }
        for d in deletion_variants(token) {
            if let Some(k) = w.terms.get(&d) {
                consider(k);
            }
            for &o in origins(&d) {
                consider(o as usize);
            }
        }
        best.map(|(t, _)| (t, true))
    }

    pub fn term_postings(&self, term: &str) -> Option<(&[usize], f64)> {
        let w = &self.words;
        let k = w.terms.get(term)?;
        Some((w.owners.get(k), w.idf.get(k).copied().unwrap_or_default()))
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
