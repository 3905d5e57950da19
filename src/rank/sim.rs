//! Text similarity between a message and each knowledge-base entry, two ways:
//!
//! - **BM25** over words, against a document per entry made of its title, tags, phrases,
//!   example utterances and cause. Finds the entry whose vocabulary the message shares.
//! - **Character trigrams** (TF-IDF cosine) against each example utterance. Survives typos,
//!   German compounds and Japanese, which has no spaces between words.
//!
//! Both are built once per KB load; scoring a text costs one pass over (a bounded prefix of)
//! the text plus the postings it touches.

// Keys are words and already-hashed trigrams of our own KB: a fast non-keyed hash is enough.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::super::kb::Entry;
use super::super::kb::flat::{Keys, Lists};
use super::super::kb::index::terms_of;

/// Longer texts are job logs: their first few thousand characters carry the prose around the
/// paste, and similarity over megabytes of log would only measure length.
const MAX_SIM_CHARS: usize = 6000;
/// Distinct words of a text that BM25 looks at.
const MAX_TERMS: usize = 2000;
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Laid out flat (see [`crate::kb::flat`]) so that the KB snapshot keeps it as built.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimIndex {
    /// The words of all entry documents.
    terms: Keys,
    /// term -> (entry, term frequency in its document)
    postings: Lists<(u32, f64)>,
    /// inverse document frequency per term
    #[serde(with = "crate::kb::packed")]
    idf: Vec<f64>,
    #[serde(with = "crate::kb::packed")]
    doc_len: Vec<f64>,
    avg_len: f64,
    /// Every trigram of the examples, sorted.
    #[serde(with = "crate::kb::packed")]
    gram_keys: Vec<u64>,
    /// trigram -> (example, tf-idf weight in it); example vectors are unit length.
    grams: Lists<(u32, f64)>,
    #[serde(with = "crate::kb::packed")]
    gram_idf: Vec<f64>,
    /// The largest trigram idf: what a trigram no example has weighs.
    max_gram_idf: f64,
    /// example -> (entry, text)
    examples: Vec<(usize, String)>,
    entries: usize,
}

/// What the text shares with one entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Similarity {
    pub bm25: f64,
    /// Best cosine over the entry's examples, and which example.
    pub ngram: f64,
    pub example: Option<usize>,
}

/// BM25's inverse document frequency of a term found in `df` of `docs` documents (the "+1"
/// form, never negative). The KB's term index uses it too.
pub fn bm25_idf(docs: f64, df: usize) -> f64 {
    let df = df as f64;
    ((docs - df + 0.5) / (df + 0.5) + 1.0).ln()
}

impl SimIndex {
    pub fn build(entries: &[std::sync::Arc<Entry>]) -> SimIndex {
        let mut postings: HashMap<String, Vec<(usize, f64)>> = HashMap::default();
        let mut doc_len = Vec::with_capacity(entries.len());
        let mut examples = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let mut tf: HashMap<String, f64> = HashMap::default();
            let mut len = 0.0;
            // The title says what the entry is about; count it twice.
            let fields = [e.title.as_str(), e.title.as_str(), e.answer.cause.as_str()]
                .into_iter()
                .chain(e.tags.iter().map(String::as_str))
                .chain(e.phrases.iter().map(String::as_str))
                .chain(e.examples.iter().map(String::as_str));
            for field in fields {
                for t in terms_of(field) {
                    *tf.entry(t).or_default() += 1.0;
                    len += 1.0;
                }
            }
            doc_len.push(len);
            for (t, n) in tf {
                postings.entry(t).or_default().push((i, n));
            }
            for x in std::iter::once(&e.title).chain(&e.examples) {
                examples.push((i, x.clone()));
            }
        }
        let n = entries.len().max(1) as f64;
        let (terms, postings) = Keys::build(postings);
        let idf = postings.iter().map(|p| bm25_idf(n, p.len())).collect();
        let postings = Lists::from_vecs(
            postings
                .into_iter()
                .map(|p| p.into_iter().map(|(i, tf)| (index(i), tf)).collect()),
        );
        let avg_len = doc_len.iter().sum::<f64>() / n;

        // Trigram idf over examples, then unit-length tf-idf vectors.
        let counts: Vec<HashMap<u64, f64>> = examples.iter().map(|(_, x)| trigram_counts(x)).collect();
        let mut df: HashMap<u64, f64> = HashMap::default();
        for c in &counts {
            for g in c.keys() {
                *df.entry(*g).or_default() += 1.0;
            }
        }
        let m = examples.len().max(1) as f64;
        let gram_idf: HashMap<u64, f64> = df.into_iter().map(|(g, d)| (g, (m / d).ln() + 1.0)).collect();
        let mut grams: HashMap<u64, Vec<(usize, f64)>> = HashMap::default();
        for (k, c) in counts.into_iter().enumerate() {
            let weighted: Vec<(u64, f64)> = c
                .into_iter()
                .map(|(g, n)| (g, (1.0 + n.ln()) * gram_idf.get(&g).copied().unwrap_or(1.0)))
                .collect();
            let norm = weighted.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
            if norm == 0.0 {
                continue;
            }
            for (g, w) in weighted {
                grams.entry(g).or_default().push((k, w / norm));
            }
        }
        let max_gram_idf = gram_idf.values().copied().fold(1.0, f64::max);
        let mut gram_keys: Vec<u64> = gram_idf.keys().copied().collect();
        gram_keys.sort_unstable();
        let grams = Lists::from_vecs(gram_keys.iter().map(|g| {
            grams
                .remove(g)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, w)| (index(k), w))
                .collect()
        }));
        let gram_idf = gram_keys
            .iter()
            .map(|g| gram_idf.get(g).copied().unwrap_or(1.0))
            .collect();
        SimIndex {
            terms,
            postings,
            idf,
            doc_len,
            avg_len,
            gram_keys,
            grams,
            gram_idf,
            max_gram_idf,
            examples,
            entries: entries.len(),
        }
    }

    /// Similarity of `text` to every entry, indexed like the KB's entries.
    pub fn score(&self, text: &str) -> Vec<Similarity> {
        let mut out = vec![Similarity::default(); self.entries];
        let text = bounded(text);

        let mut seen = HashSet::default();
        for t in terms_of(text).filter(|t| seen.insert(t.clone())).take(MAX_TERMS) {
            let Some(k) = self.terms.get(&t) else {
                continue;
            };
            let (list, idf) = (self.postings.get(k), self.idf.get(k).copied().unwrap_or_default());
            for &(i, tf) in list {
                let i = i as usize;
                let norm = 1.0 - B + B * self.doc_len[i] / self.avg_len.max(1.0);
                out[i].bm25 += idf * tf * (K1 + 1.0) / (tf + K1 * norm);
            }
        }

        let counts = trigram_counts(text);
        // Trigrams no example has still count towards the text's length (weighing like the
        // rarest known ones): a long text that happens to contain an example's words is less
        // like it than the example itself.
        let mut norm = 0.0;
        let mut weighted: Vec<(usize, f64)> = Vec::with_capacity(counts.len());
        for (g, n) in counts {
            let known = self.gram_keys.binary_search(&g).ok();
            let idf = known.and_then(|k| self.gram_idf.get(k).copied());
            let w = (1.0 + n.ln()) * idf.unwrap_or(self.max_gram_idf);
            norm += w * w;
            if let Some(k) = known {
                weighted.push((k, w));
            }
        }
        let norm = f64::sqrt(norm);
        if norm > 0.0 {
            let mut dots = vec![0.0; self.examples.len()];
            for &(g, w) in &weighted {
                for &(k, v) in self.grams.get(g) {
                    if let Some(d) = dots.get_mut(k as usize) {
                        *d += w * v;
                    }
                }
            }
            for (k, dot) in dots.into_iter().enumerate().filter(|(_, d)| *d > 0.0) {
                let cos = dot / norm;
                let i = self.examples[k].0;
                if cos > out[i].ngram {
                    out[i].ngram = cos;
                    out[i].example = Some(k);
                }
            }
        }
        out
    }

    /// Whether an index read back from a snapshot is whole and consistent with a KB of
    /// `entries` entries: every position it holds is in range, so scoring cannot fail.
    pub fn is_sound(&self, entries: usize) -> bool {
        let examples = self.examples.len();
        self.entries == entries
            && self.doc_len.len() == entries
            && self.terms.is_sound()
            && self.idf.len() == self.terms.len()
            && self
                .postings
                .is_sound(self.terms.len(), |&(i, _)| (i as usize) < entries)
            && self.gram_keys.is_sorted()
            && self.gram_idf.len() == self.gram_keys.len()
            && self
                .grams
                .is_sound(self.gram_keys.len(), |&(k, _)| (k as usize) < examples)
            && self.examples.iter().all(|&(i, _)| i < entries)
    }

    pub fn example_text(&self, k: usize) -> Option<&str> {
        self.examples.get(k).map(|(_, x)| x.as_str())
    }
}

/// An entry or example position as stored (a KB has far fewer than 2^32 of either).
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn bounded(text: &str) -> &str {
    match text.char_indices().nth(MAX_SIM_CHARS) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Character trigrams of the lower-cased text with every run of non-alphanumerics folded into
/// one space, hashed to u64.
fn trigram_counts(text: &str) -> HashMap<u64, f64> {
    let mut counts = HashMap::default();
    let mut window: [char; 3] = [' '; 3];
    let mut filled = 1; // a leading space marks the start of the first word
    let mut last_space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = if c.is_alphanumeric() { c } else { ' ' };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        window = [window[1], window[2], c];
        filled += 1;
        if filled >= 3 {
            *counts.entry(hash3(window)).or_insert(0.0) += 1.0;
        }
    }
    if !last_space {
        window = [window[1], window[2], ' '];
        *counts.entry(hash3(window)).or_insert(0.0) += 1.0;
    }
    counts
}

fn hash3(w: [char; 3]) -> u64 {
    (u64::from(u32::from(w[0])) << 42) ^ (u64::from(u32::from(w[1])) << 21) ^ u64::from(u32::from(w[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_fold_punctuation_and_case() {
        assert_eq!(trigram_counts("QNTC, qntc!"), trigram_counts("qntc qntc"));
        assert!(trigram_counts("").is_empty());
        // Japanese: every character counts, no spaces needed.
        assert_eq!(trigram_counts("共有が見えない").len(), 7);
    }

    #[test]
    fn an_example_is_most_like_itself_and_its_entry() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kb");
        let report = crate::kb::load_dir(&dir);
        let entries: Vec<std::sync::Arc<Entry>> = report.entries.into_iter().map(std::sync::Arc::new).collect();
        let index = SimIndex::build(&entries);
        let (i, e) = entries
            .iter()
            .enumerate()
            .find(|(_, e)| !e.examples.is_empty())
            .expect("an entry with examples");
        let scores = index.score(&e.examples[0]);
        assert!((scores[i].ngram - 1.0).abs() < 1e-9, "{}", scores[i].ngram);
        let k = scores[i].example.expect("the best example");
        assert_eq!(index.example_text(k), Some(e.examples[0].as_str()));
        // Extra words the examples never use make the text less like it.
        let longer = format!("{} zzqx wvyk jjqp", e.examples[0]);
        assert!(index.score(&longer)[i].ngram < scores[i].ngram);
    }
}
