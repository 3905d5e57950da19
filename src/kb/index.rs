//! The knowledge base compiled for matching. Every lookup structure is built once per load so
//! that diagnosing a text costs one pass per kind of evidence, whatever the number of entries:
//! hash maps for ids and codes, one Aho-Corasick automaton for every phrase, one for the
//! literal anchors of every pattern (only patterns whose anchor occurs are compiled and run),
//! and a deletion index for typo-tolerant terms.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

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
    /// Every distinct phrase, and the same folded to ASCII lower case (what the phrase
    /// automaton compares, which ignores ASCII case).
    phrase_list: Vec<String>,
    phrase_folded: Vec<String>,
    /// Phrase index -> entries that list the phrase.
    phrase_owners: Vec<Vec<usize>>,
    /// Anchor literals of all patterns; literal index -> (pattern slot, clause) pairs.
    anchor_list: Vec<String>,
    anchor_owners: Vec<Vec<(usize, usize)>>,
    /// One automaton for the phrases and one for the anchors, built when a text is long or
    /// the process has looked at enough texts (see [`Kb::automata`]); until then each
    /// literal is looked for on its own, which gives the same hits.
    automata: OnceLock<Option<Automata>>,
    /// Texts looked at without the automata.
    short_scans: AtomicUsize,
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
    skimmer: OnceLock<crate::skim::Skimmer>,
}

/// The automata of [`Kb::phrase_hits`] and [`Kb::pattern_hits`].
#[derive(Debug)]
struct Automata {
    phrases: Option<AhoCorasick>,
    anchors: Option<AhoCorasick>,
}

/// Texts up to this long are searched literal by literal while the automata are not built:
/// building them costs some 20 M instructions (about 4 ms), more than a one-shot command
/// spends on a chat message in all; a literal-by-literal search (memchr's vectorised
/// `memmem`) costs a few hundred instructions per literal plus about one per 16 bytes of
/// text, some 5 M for the KB's ~1,200 literals at this length (the lines a skim selects
/// from a large job log are usually shorter).
const SHORT_TEXT: usize = 64 * 1024;
/// After this many texts a process (the chat bot) builds the automata once.
const SHORT_SCANS: usize = 16;

/// The terms of the KB's entries for word and typo-tolerant lookups, laid out flat (see
/// [`super::flat`]) so that the KB snapshot keeps it as built.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Words {
    /// Every term of a title, tag, phrase or id (see [`terms_of`]).
    terms: Keys,
    /// Term -> entries whose title, tags, phrases or ids contain it.
    owners: Lists<usize>,
    /// Term -> its inverse document frequency.
    #[serde(with = "super::packed")]
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
            phrase_folded: phrase_list.iter().map(|p| p.to_ascii_lowercase()).collect(),
            phrase_list,
            phrase_owners,
            anchor_list,
            anchor_owners,
            automata: OnceLock::new(),
            short_scans: AtomicUsize::new(0),
            anchored,
            unanchored,
            words,
            skimmer: OnceLock::new(),
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
        self.phrase_list.iter().chain(&self.anchor_list).map(String::as_str)
    }

    /// The automata, when `text_len` or the number of texts seen makes them worth building.
    fn automata(&self, text_len: usize) -> Option<&Automata> {
        if let Some(a) = self.automata.get() {
            return a.as_ref();
        }
        if text_len <= SHORT_TEXT && self.short_scans.fetch_add(1, Ordering::Relaxed) < SHORT_SCANS {
            return None;
        }
        self.automata
            .get_or_init(|| match self.build_automata() {
                Ok(a) => Some(a),
                Err(e) => {
                    // Only a KB far beyond any real size could get here; the literal-by-literal
                    // search gives the same hits, slower.
                    tracing::warn!("cannot build the phrase and anchor automata: {e}");
                    None
                }
            })
            .as_ref()
    }

    fn build_automata(&self) -> Result<Automata, aho_corasick::BuildError> {
        let phrases = if self.phrase_list.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .dense_depth(0)
                    .build(&self.phrase_list)?,
            )
        };
        let anchors = if self.anchor_list.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .dense_depth(0)
                    .build(&self.anchor_list)?,
            )
        };
        Ok(Automata { phrases, anchors })
    }

    /// Each phrase's first occurrence in `text` as (end, length, phrase), in the order the
    /// phrase automaton's overlapping search reports first occurrences: by end, then longer
    /// phrases first (a state's own match before those of its suffixes), then phrase order.
    fn first_phrases(&self, text: &str, automata: Option<&Automata>) -> Vec<(usize, usize, usize)> {
        let mut firsts = Vec::new();
        if let Some(ac) = automata.and_then(|a| a.phrases.as_ref()) {
            let mut seen = HashSet::new();
            for m in ac.find_overlapping_iter(text) {
                let ix = m.pattern().as_usize();
                if seen.insert(ix) {
                    firsts.push((m.end(), m.len(), ix));
                }
            }
            return firsts;
        }
        crate::work::add(text.len());
        // ASCII folding keeps every byte where it was, so positions are the text's.
        let folded = text.as_bytes().to_ascii_lowercase();
        for (ix, p) in self.phrase_folded.iter().enumerate() {
            if let Some(start) = memchr::memmem::find(&folded, p.as_bytes()) {
                firsts.push((start + p.len(), p.len(), ix));
            }
        }
        firsts.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        firsts
    }

    /// The anchor literals that occur in `lower`.
    fn present_anchors(&self, lower: &str, automata: Option<&Automata>) -> Vec<usize> {
        if let Some(ac) = automata.and_then(|a| a.anchors.as_ref()) {
            let mut seen = vec![false; self.anchor_list.len()];
            return ac
                .find_overlapping_iter(lower)
                .map(|m| m.pattern().as_usize())
                .filter(|&ix| seen.get_mut(ix).is_some_and(|s| !std::mem::replace(s, true)))
                .collect();
        }
        crate::work::add(lower.len());
        let hay = lower.as_bytes();
        (0..self.anchor_list.len())
            .filter(|&ix| memchr::memmem::find(hay, self.anchor_list[ix].as_bytes()).is_some())
            .collect()
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
        self.phrase_hits_with(text, self.automata(text.len()))
    }

    fn phrase_hits_with(&self, text: &str, automata: Option<&Automata>) -> Vec<(usize, String)> {
        let mut hits = Vec::new();
        for (end, len, ix) in self.first_phrases(text, automata) {
            let start = end - len;
            let phrase = &text[start..end];
            if !at_word_bounds(text, start, end) {
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
        self.pattern_candidates(lower, self.automata(lower.len()))
            .into_iter()
            .filter(|&(i, j)| self.entries[i].patterns[j].is_match(text))
            .collect()
    }

    /// Builds now the phrase and anchor automata that any large text needs, for a thread
    /// that has nothing else to do while a large input is skimmed.
    pub fn warm(&self) {
        let _ = self.automata(usize::MAX);
    }

    /// Compiles now the patterns [`Kb::pattern_hits`] will run on the text `lower` is the
    /// fold of, so that another thread can do it while the caller extracts the evidence of a
    /// large input (each pattern is compiled once, by whichever thread asks first).
    pub fn precompile_patterns(&self, lower: &str) {
        for (i, j) in self.pattern_candidates(lower, self.automata(lower.len())) {
            let _ = self.entries[i].patterns[j].regex();
        }
    }

    /// The patterns whose anchors all occur in `lower`, sorted.
    fn pattern_candidates(&self, lower: &str, automata: Option<&Automata>) -> Vec<(usize, usize)> {
        let mut candidates: Vec<(usize, usize)> = self.unanchored.clone();
        if !self.anchor_list.is_empty() {
            // (slot, clause) pairs whose literal is in the text; sorted and counted per slot
            // rather than hashed (a chat message turns up a few hundred of them).
            let mut present: Vec<(usize, usize)> = Vec::new();
            for ix in self.present_anchors(lower, automata) {
                present.extend_from_slice(&self.anchor_owners[ix]);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Kb {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kb");
        crate::engine::read_kb(&dir).expect("the shipped KB loads").0
    }

    /// The literal-by-literal search and the automata agree on `text`: the same phrase hits in
    /// the same order, and the same pattern candidates.
    fn agree(kb: &Kb, automata: &Automata, text: &str) {
        let lower = crate::kb::anchor::fold(text);
        for t in [text, lower.as_str()] {
            assert_eq!(
                kb.phrase_hits_with(t, None),
                kb.phrase_hits_with(t, Some(automata)),
                "phrases of {t:?}"
            );
        }
        assert_eq!(
            kb.pattern_candidates(&lower, None),
            kb.pattern_candidates(&lower, Some(automata)),
            "anchors of {lower:?}"
        );
    }

    #[test]
    fn literal_search_finds_what_the_automata_find() {
        let kb = shipped();
        let automata = kb.build_automata().expect("automata build");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/train");
        let mut texts = 0;
        for file in std::fs::read_dir(dir).expect("eval/train").filter_map(Result::ok) {
            let body = std::fs::read_to_string(file.path()).expect("readable");
            for line in body.lines().filter(|l| !l.trim().is_empty()) {
                let case: serde_json::Value = serde_json::from_str(line).expect("json line");
                agree(&kb, &automata, case["text"].as_str().expect("text"));
                texts += 1;
            }
        }
        assert!(texts > 100, "only {texts} texts");
        // Phrases inside each other, side by side, in other cases and glued to words.
        let some: Vec<&str> = kb
            .phrase_list
            .iter()
            .chain(&kb.anchor_list)
            .map(String::as_str)
            .step_by(7)
            .collect();
        let mut text = String::new();
        for (k, p) in some.iter().enumerate() {
            let p = if k % 3 == 0 {
                p.to_ascii_uppercase()
            } else {
                (*p).to_string()
            };
            text.push_str(&p);
            text.push_str(["", " ", "x", ". ", "\n"][k % 5]);
        }
        agree(&kb, &automata, &text);
        agree(&kb, &automata, "");
    }

    proptest::proptest! {
        #[test]
        fn literal_search_agrees_on_mixed_literals(picks in proptest::collection::vec((0usize..4000, 0usize..6, proptest::bool::ANY), 0..40)) {
            static KB: std::sync::LazyLock<(Kb, Automata)> = std::sync::LazyLock::new(|| {
                let kb = shipped();
                let a = kb.build_automata().expect("automata build");
                (kb, a)
            });
            let (kb, automata) = &*KB;
            let all: Vec<&str> = kb.phrase_list.iter().chain(&kb.anchor_list).map(String::as_str).collect();
            let mut text = String::new();
            for (i, sep, upper) in picks {
                let lit = all[i % all.len()];
                // Half a literal, too, so that prefixes and overlaps come up.
                let lit = if sep == 5 { lit.get(..lit.len() / 2).unwrap_or(lit) } else { lit };
                text.push_str(&if upper { lit.to_ascii_uppercase() } else { lit.to_string() });
                text.push_str(["", " ", "é", "-", "\n", ""][sep]);
            }
            agree(kb, automata, &text);
        }
    }
}
