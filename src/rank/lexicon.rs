//! The words people use for each problem, learned from the labelled cases: a multinomial
//! naive Bayes over the words, word pairs and (for Japanese and Chinese) character pairs of
//! a text. The KB's own wording (examples, phrases) covers what its authors thought of; the
//! lexicon covers how administrators actually describe a problem, in the languages the
//! training cases are written in, without a message id.
//!
//! It is one more feature of the ranking model, not a verdict: the fitted weights decide how
//! much it counts next to message ids, patterns and conditions. `qntcbot train` fits it out of
//! fold (each case is scored by a lexicon that never saw it), so the weights learn what it is
//! worth on text it has not seen, and writes it to `kb/model/lexicon.tsv`.
//!
//! The file holds counts, not floats: it is exact, diffable and the same on every machine.

use rustc_hash::FxHashMap as HashMap;

use crate::kb::flat::{Keys, Lists};

use super::model::round4;

/// Characters of a text read: job logs repeat themselves (see [`tokens`]).
const MAX_CHARS: usize = 6000;
/// Tokens of one text that count (a bound on work for pathological input).
const MAX_TOKENS: usize = 3000;
/// Additive smoothing of the per-entry token distributions.
const ALPHA: f64 = 0.02;
/// A token seen in fewer training texts than this is noise, and not kept.
pub const MIN_DF: usize = 2;
/// The posterior is tempered by the square root of the token count: naive Bayes multiplies
/// evidence it should not, and long texts would otherwise be certain of anything.
const MIN_TEMPERATURE: f64 = 1.0;

/// The column of the texts about no entry (the ones the bot must stay quiet on). It is not an
/// entry: the ranking never sees it, only the relevance gate, as [`LexScores::quiet`].
pub const QUIET: &str = "_quiet";

/// The L2 penalty of the reply and entry classifiers is this over the number of training
/// texts (on the mean log loss). Chosen on cross-validated figures of the training sets
/// (0.3 against 1 and 3: recall 0.897 against 0.892; session 7).
const REPLY_L2: f64 = 0.3;
/// Adam steps of both classifiers (see [`super::fit::adam`]); they are convex. Not checked for
/// convergence beyond the cross-validated figures this number gave.
const REPLY_STEPS: usize = 300;

/// What the lexicon says about a text: per entry, its tempered posterior and its per-token
/// likelihood relative to the best entry; and how much more the text is worded like the
/// texts about nothing than like any entry's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LexScores {
    pub posterior: Vec<f64>,
    pub relative: Vec<f64>,
    /// The tempered posterior of the quiet column next to every entry (0 without one).
    pub quiet: f64,
    /// The reply classifier's log-odds that the text is about some entry rather than about
    /// nothing (0 without one).
    pub reply: f64,
    /// Per entry: the entry classifier's probability among the entries (all 0 without one).
    pub chosen: Vec<f64>,
}

/// The counts are laid out flat (see [`crate::kb::flat`]) so that the KB snapshot keeps the
/// lexicon as read, instead of parsing the file's text on every start.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lexicon {
    /// Entry ids in the order of the count columns (the KB's order when it was fitted).
    ids: Vec<String>,
    /// Column -> KB entry index; `None` for an entry the KB no longer has (and the quiet column).
    columns: Vec<Option<usize>>,
    /// The [`QUIET`] column, when the lexicon was fitted with texts about nothing.
    quiet: Option<usize>,
    /// Token occurrences per column.
    #[serde(with = "crate::kb::packed")]
    totals: Vec<u64>,
    /// Every token it knows ...
    tokens: Keys,
    /// ... -> (column, texts of that entry containing it), by column.
    counts: Lists<(u32, u32)>,
    /// Per column: ln(α / (total + α·V)), the log-probability of a token it never saw.
    #[serde(with = "crate::kb::packed")]
    floor: Vec<f64>,
    /// Entries of the KB it scores against.
    entries: usize,
    /// Per token (in the order of `tokens`): its weight in a logistic regression of "about
    /// some entry" against "about nothing" on which tokens a text holds. Naive Bayes
    /// counts each word as if it were independent of the others, and a thank-you that quotes
    /// a whole error report is full of words of the error; the regression weighs each word
    /// by what it adds to the others. Empty when the file has none.
    /// Four decimals, so `f32` (half the snapshot and memory of `f64`) keeps them exactly as
    /// the file does.
    #[serde(with = "crate::kb::packed")]
    reply: Vec<f32>,
    reply_bias: f64,
    /// Per item of `counts` (a token seen in a column's texts), in the same order: its weight
    /// in a multinomial logistic regression over the columns, the entry classifier; and per
    /// column its bias. A token has weights only for the columns it was seen with, so the
    /// file stays as sparse as the counts. Empty when the file has none.
    #[serde(with = "crate::kb::packed")]
    column_w: Vec<f32>,
    #[serde(with = "crate::kb::packed")]
    column_bias: Vec<f64>,
}

/// The tokens of `text` that the lexicon reads, each once: lower-case words of two or more
/// characters, pairs of neighbouring words, and pairs of neighbouring CJK characters. Of a
/// long text, its start and its end: people write above a paste, and a job log ends with the
/// failure that ended the job; the middle of a long log is its routine.
pub fn tokens(text: &str) -> Vec<String> {
    let half = MAX_CHARS / 2;
    let (head, tail) = match text.char_indices().nth(MAX_CHARS) {
        None => (text, ""),
        Some(_) => {
            let head_end = text.char_indices().nth(half).map_or(text.len(), |(i, _)| i);
            let tail_start = text.char_indices().rev().nth(half - 1).map_or(head_end, |(i, _)| i);
            (&text[..head_end], &text[tail_start.max(head_end)..])
        }
    };
    let mut out: Vec<String> = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    for part in [head, tail] {
        tokens_of(part, &mut out, &mut seen);
    }
    out
}

fn tokens_of(part: &str, out: &mut Vec<String>, seen: &mut rustc_hash::FxHashSet<String>) {
    let mut push = |t: String, out: &mut Vec<String>| {
        if out.len() < MAX_TOKENS && seen.insert(t.clone()) {
            out.push(t);
        }
    };
    let mut prev: Option<String> = None;
    for word in part.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if lower.chars().any(is_cjk) {
            let chars: Vec<char> = lower.chars().collect();
            for pair in chars.windows(2) {
                push(pair.iter().collect(), out);
            }
            if chars.len() == 1 {
                push(lower, out);
            }
            prev = None;
            continue;
        }
        if lower.chars().count() < 2 {
            prev = None;
            continue;
        }
        if let Some(p) = prev.take() {
            push(format!("{p} {lower}"), out);
        }
        push(lower.clone(), out);
        prev = Some(lower);
    }
}

/// Fits the reply classifier: an L2-regularised logistic regression of each text's label on
/// which of the `v` tokens it holds (each example: its token indices, and whether it is about
/// some entry). Weights are rounded as the file keeps them.
fn fit_reply(examples: &[(Vec<u32>, bool)], v: usize) -> (Vec<f32>, f64) {
    if examples.is_empty() {
        return (Vec::new(), 0.0);
    }
    let n = examples.len() as f64;
    let l2 = REPLY_L2 / n;
    // Weights, then the bias last.
    let mut w = super::fit::adam(v + 1, REPLY_STEPS, |w| {
        let mut g = vec![0.0; v + 1];
        for (toks, about) in examples {
            let z = w[v] + toks.iter().map(|&k| w[k as usize]).sum::<f64>();
            let d = (super::model::sigmoid(z) - f64::from(u8::from(*about))) / n;
            for &k in toks {
                g[k as usize] += d;
            }
            g[v] += d;
        }
        for k in 0..v {
            g[k] += l2 * w[k];
        }
        g
    });
    let bias = round4(w[v]);
    w.truncate(v);
    (w.into_iter().map(|x| round4(x) as f32).collect(), bias)
}

/// Fits the entry classifier: a multinomial logistic regression over `columns` classes (the
/// entries and the quiet column) on which tokens a text holds, with a weight for each item of
/// `counts` only (a token and a column it was seen with). A text about several entries aims
/// at each equally. L2-regularised like [`fit_reply`]; weights rounded as the file keeps them.
fn fit_columns(examples: &[(&[u32], &[usize])], counts: &Lists<(u32, u32)>, columns: usize) -> (Vec<f32>, Vec<f64>) {
    let items = counts.items().len();
    if examples.is_empty() || columns == 0 {
        return (Vec::new(), Vec::new());
    }
    let n = examples.len() as f64;
    let l2 = REPLY_L2 / n;
    let mut z = vec![0.0; columns];
    // Item weights, then one bias per column.
    let mut w = super::fit::adam(items + columns, REPLY_STEPS, |w| {
        let mut g = vec![0.0; items + columns];
        for (toks, targets) in examples {
            z.copy_from_slice(&w[items..]);
            for &k in *toks {
                let range = counts.range(k as usize);
                for (&(c, _), wi) in counts.get(k as usize).iter().zip(&w[range]) {
                    z[c as usize] += wi;
                }
            }
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
            // z becomes the gradient of the loss in z: p - y, over n.
            let share = 1.0 / targets.len().max(1) as f64;
            for v in z.iter_mut() {
                *v = (*v - max).exp() / sum / n;
            }
            for &t in *targets {
                if let Some(v) = z.get_mut(t) {
                    *v -= share / n;
                }
            }
            for &k in *toks {
                let range = counts.range(k as usize);
                for (&(c, _), gi) in counts.get(k as usize).iter().zip(&mut g[range]) {
                    *gi += z[c as usize];
                }
            }
            for (gb, zc) in g[items..].iter_mut().zip(&z) {
                *gb += zc;
            }
        }
        for k in 0..items {
            g[k] += l2 * w[k];
        }
        g
    });
    let bias = w[items..].iter().map(|&x| round4(x)).collect();
    w.truncate(items);
    (w.into_iter().map(|x| round4(x) as f32).collect(), bias)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

impl Lexicon {
    /// Fits the counts: `labelled` gives each text with the KB entries it is about; a text
    /// about none of them counts for the [`QUIET`] column. `ids` are the KB's entry ids.
    pub fn fit<'a>(ids: &[String], labelled: impl IntoIterator<Item = (&'a str, Vec<usize>)>) -> Lexicon {
        let quiet = ids.len();
        let mut df: HashMap<String, usize> = HashMap::default();
        let mut per_text: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
        for (text, entries) in labelled {
            let entries = if entries.is_empty() { vec![quiet] } else { entries };
            let toks = tokens(text);
            for t in &toks {
                *df.entry(t.clone()).or_default() += 1;
            }
            per_text.push((toks, entries));
        }
        let mut counts: HashMap<String, Vec<(u32, u32)>> = HashMap::default();
        let mut totals = vec![0u64; ids.len() + 1];
        for (toks, entries) in &per_text {
            for t in toks.iter().filter(|t| df.get(*t).is_some_and(|n| *n >= MIN_DF)) {
                let row = counts.entry(t.clone()).or_default();
                for &e in entries {
                    totals[e] += 1;
                    match row.iter_mut().find(|(c, _)| *c as usize == e) {
                        Some((_, n)) => *n += 1,
                        None => row.push((e as u32, 1)),
                    }
                }
            }
        }
        for row in counts.values_mut() {
            row.sort_unstable();
        }
        let mut columns: Vec<Option<usize>> = (0..ids.len()).map(Some).collect();
        columns.push(None);
        let mut all_ids = ids.to_vec();
        all_ids.push(QUIET.to_string());
        let (tokens, rows) = Keys::build(counts);
        let examples: Vec<(Vec<u32>, bool)> = per_text
            .iter()
            .map(|(toks, entries)| {
                let known = toks
                    .iter()
                    .filter_map(|t| tokens.get(t).and_then(|k| u32::try_from(k).ok()))
                    .collect();
                (known, entries.as_slice() != [quiet])
            })
            .collect();
        let (reply, reply_bias) = fit_reply(&examples, tokens.len());
        let counts = Lists::from_vecs(rows);
        let labelled: Vec<(&[u32], &[usize])> = examples
            .iter()
            .zip(&per_text)
            .map(|((toks, _), (_, entries))| (toks.as_slice(), entries.as_slice()))
            .collect();
        let (column_w, column_bias) = fit_columns(&labelled, &counts, ids.len() + 1);
        let mut lex = Lexicon {
            ids: all_ids,
            columns,
            quiet: Some(quiet),
            totals,
            tokens,
            counts,
            floor: Vec::new(),
            entries: ids.len(),
            reply,
            reply_bias,
            column_w,
            column_bias,
        };
        lex.finish();
        lex
    }

    fn finish(&mut self) {
        let v = self.tokens.len().max(1) as f64;
        self.floor = self
            .totals
            .iter()
            .map(|&n| (ALPHA / (n as f64 + ALPHA * v)).ln())
            .collect();
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether a lexicon read back from a snapshot is whole and scores against a KB of
    /// `entries` entries without going out of range.
    pub fn is_sound(&self, entries: usize) -> bool {
        let columns = self.ids.len();
        // A KB without a lexicon file has the empty one, which scores nothing.
        let empty = *self == Lexicon::default();
        (self.entries == entries || empty)
            && self.columns.len() == columns
            && self.columns.iter().all(|c| c.is_none_or(|e| e < entries))
            && self
                .quiet
                .is_none_or(|q| self.columns.get(q).is_some_and(Option::is_none))
            && self.totals.len() == columns
            && self.floor.len() == columns
            && (self.reply.is_empty() || self.reply.len() == self.tokens.len())
            && self.reply_bias.is_finite()
            && self.reply.iter().all(|w| w.is_finite())
            && (self.column_w.is_empty()
                || (self.column_w.len() == self.counts.items().len() && self.column_bias.len() == columns))
            && self.column_w.iter().all(|w| w.is_finite())
            && self.column_bias.iter().all(|w| w.is_finite())
            && self.tokens.is_sound()
            && self
                .counts
                .is_sound(self.tokens.len(), |&(c, _)| (c as usize) < columns)
    }

    /// Scores `text` against every entry of the KB. An empty lexicon, or a text with no
    /// token it knows, says nothing (all zeros).
    pub fn score(&self, text: &str) -> LexScores {
        let mut posterior = vec![0.0; self.entries];
        let mut relative = vec![0.0; self.entries];
        if self.is_empty() {
            return LexScores {
                chosen: vec![0.0; self.entries],
                posterior,
                relative,
                quiet: 0.0,
                reply: 0.0,
            };
        }
        let ks: Vec<usize> = tokens(text).iter().filter_map(|t| self.tokens.get(t)).collect();
        let reply = if self.reply.is_empty() {
            0.0
        } else {
            self.reply_bias + ks.iter().map(|&k| f64::from(self.reply[k])).sum::<f64>()
        };
        let chosen = self.chosen(&ks);
        let nothing = |posterior, relative| LexScores {
            posterior,
            relative,
            quiet: 0.0,
            reply,
            chosen: chosen.clone(),
        };
        let known: Vec<&[(u32, u32)]> = ks.iter().map(|&k| self.counts.get(k)).collect();
        if known.is_empty() {
            return nothing(posterior, relative);
        }
        let n = known.len() as f64;
        // Log-likelihood per column: every token at the floor, then the seen ones lifted.
        let mut ll: Vec<f64> = self.floor.iter().map(|f| f * n).collect();
        for row in &known {
            for &(c, k) in row.iter() {
                let c = c as usize;
                ll[c] += (f64::from(k) + ALPHA).ln() - ALPHA.ln();
            }
        }
        let live: Vec<(usize, f64)> = self
            .columns
            .iter()
            .zip(&ll)
            .filter_map(|(col, l)| col.map(|e| (e, *l)))
            .collect();
        let Some(max) = live.iter().map(|(_, l)| *l).max_by(f64::total_cmp) else {
            return nothing(posterior, relative);
        };
        let temperature = n.sqrt().max(MIN_TEMPERATURE);
        let z: f64 = live.iter().map(|(_, l)| ((l - max) / temperature).exp()).sum();
        for &(e, l) in &live {
            posterior[e] = ((l - max) / temperature).exp() / z;
            relative[e] = ((l - max) / n).exp();
        }
        // The quiet column against the entries, on the same tempered scale: its weight is
        // exp((lq - max) / T) next to the entries' `z`, written so that neither overflows.
        let quiet = self
            .quiet
            .and_then(|q| ll.get(q))
            .map_or(0.0, |&lq| 1.0 / (1.0 + z * ((max - lq) / temperature).exp()));
        LexScores {
            posterior,
            relative,
            quiet,
            reply,
            chosen,
        }
    }

    /// The entry classifier on the tokens `ks`: each entry's probability among the entries
    /// (the quiet column is the gate's business, not the ranking's).
    fn chosen(&self, ks: &[usize]) -> Vec<f64> {
        let mut out = vec![0.0; self.entries];
        if self.column_w.is_empty() {
            return out;
        }
        let mut z = self.column_bias.clone();
        for &k in ks {
            let range = self.counts.range(k);
            for (&(c, _), w) in self.counts.get(k).iter().zip(&self.column_w[range]) {
                if let Some(zc) = z.get_mut(c as usize) {
                    *zc += f64::from(*w);
                }
            }
        }
        let live: Vec<(usize, f64)> = self
            .columns
            .iter()
            .zip(&z)
            .filter_map(|(col, &zc)| col.map(|e| (e, zc)))
            .collect();
        let max = live.iter().map(|(_, zc)| *zc).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = live.iter().map(|(_, zc)| (zc - max).exp()).sum();
        if sum > 0.0 && sum.is_finite() {
            for (e, zc) in live {
                if let Some(o) = out.get_mut(e) {
                    *o = (zc - max).exp() / sum;
                }
            }
        }
        out
    }

    /// The file form: a header naming the columns, then one token per line with its counts.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# Fitted by `qntcbot train` from eval/train/*.jsonl; do not edit by hand.\n\
             # How often each word, word pair or character pair occurs in the training texts\n\
             # about each entry (naive Bayes counts; see src/rank/lexicon.rs).\n",
        );
        out.push_str("entries");
        for id in &self.ids {
            out.push('\t');
            out.push_str(id);
        }
        out.push_str("\ntotals");
        for t in &self.totals {
            out.push('\t');
            out.push_str(&t.to_string());
        }
        out.push('\n');
        if !self.reply.is_empty() {
            out.push_str(&format!("reply_bias\t{}\n", self.reply_bias));
        }
        if !self.column_w.is_empty() {
            out.push_str("column_bias");
            for b in &self.column_bias {
                out.push_str(&format!("\t{b}"));
            }
            out.push('\n');
        }
        let mut rows: Vec<(&str, usize)> = self.tokens.iter().enumerate().map(|(k, t)| (t, k)).collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (token, k) in rows {
            out.push_str(token);
            if let Some(w) = self.reply.get(k) {
                out.push_str(&format!("\t={w}"));
            }
            let weights = self.column_w.get(self.counts.range(k)).unwrap_or_default();
            for (j, (c, n)) in self.counts.get(k).iter().enumerate() {
                out.push('\t');
                match weights.get(j) {
                    Some(w) => out.push_str(&format!("{c}:{n}:{w}")),
                    None => out.push_str(&format!("{c}:{n}")),
                }
            }
            out.push('\n');
        }
        out
    }

    /// Reads the file form against the KB's entry ids. Columns of entries the KB no longer
    /// has are kept but never scored; a malformed line is an error naming its line.
    pub fn parse(text: &str, kb_ids: &[&str]) -> Result<Lexicon, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
        let header = |want: &str, got: Option<(usize, &str)>| -> Result<Vec<String>, String> {
            let (n, line) = got.ok_or_else(|| format!("no `{want}` line"))?;
            let mut parts = line.split('\t');
            if parts.next() != Some(want) {
                return Err(format!("line {}: expected the `{want}` line", n + 1));
            }
            Ok(parts.map(str::to_string).collect())
        };
        let ids = header("entries", lines.next())?;
        let totals: Vec<u64> = header("totals", lines.next())?
            .iter()
            .map(|t| t.parse::<u64>().map_err(|_| format!("totals: {t:?} is not a count")))
            .collect::<Result<_, _>>()?;
        if totals.len() != ids.len() {
            return Err(format!("{} entries but {} totals", ids.len(), totals.len()));
        }
        let mut lines = lines.peekable();
        let mut reply_bias = None;
        if let Some((n, line)) = lines.next_if(|(_, l)| l.starts_with("reply_bias\t")) {
            let b = header("reply_bias", Some((n, line)))?;
            reply_bias = Some(
                b.first()
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("line {}: reply_bias is not a number", n + 1))?,
            );
        }
        let mut column_bias = None;
        if let Some((n, line)) = lines.next_if(|(_, l)| l.starts_with("column_bias\t")) {
            let b = header("column_bias", Some((n, line)))?;
            let parsed: Option<Vec<f64>> = b
                .iter()
                .map(|v| v.parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect();
            match parsed {
                Some(b) if b.len() == ids.len() => column_bias = Some(b),
                _ => return Err(format!("line {}: column_bias needs a number per column", n + 1)),
            }
        }
        // Per token: its counts, its reply weight, its column weights (when the file has them).
        type Row = (Vec<(u32, u32)>, f32, Vec<f32>);
        let mut counts: HashMap<String, Row> = HashMap::default();
        for (n, line) in lines {
            let mut parts = line.split('\t').peekable();
            let token = parts.next().unwrap_or_default().to_string();
            let mut weight = 0.0f32;
            if let Some(w) = parts.next_if(|c| c.starts_with('=')) {
                weight = w[1..]
                    .parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("line {}: {w:?} is not =weight", n + 1))?;
            }
            let mut row = Vec::new();
            let mut column_w = Vec::new();
            for cell in parts {
                let mut fields = cell.splitn(3, ':');
                let c = fields.next().and_then(|c| c.parse::<u32>().ok());
                let k = fields.next().and_then(|k| k.parse::<u32>().ok());
                let w = match fields.next() {
                    None => Some(None),
                    Some(w) => w.parse::<f32>().ok().filter(|w| w.is_finite()).map(Some),
                };
                match (c, k, w) {
                    (Some(c), Some(k), Some(w)) if (c as usize) < ids.len() && w.is_some() == column_bias.is_some() => {
                        row.push((c, k));
                        column_w.extend(w);
                    }
                    _ => return Err(format!("line {}: {cell:?} is not column:count[:weight]", n + 1)),
                }
            }
            if counts.insert(token.clone(), (row, weight, column_w)).is_some() {
                return Err(format!("line {}: token {token:?} appears twice", n + 1));
            }
        }
        let columns = ids.iter().map(|id| kb_ids.iter().position(|k| k == id)).collect();
        let quiet = ids.iter().position(|id| id == QUIET);
        let (tokens, rows) = Keys::build(counts);
        let mut weights = Vec::with_capacity(rows.len());
        let mut column_w = Vec::new();
        let rows: Vec<Vec<(u32, u32)>> = rows
            .into_iter()
            .map(|(row, w, cw)| {
                weights.push(w);
                column_w.extend(cw);
                row
            })
            .collect();
        let mut lex = Lexicon {
            ids,
            columns,
            quiet,
            totals,
            tokens,
            counts: Lists::from_vecs(rows),
            floor: Vec::new(),
            entries: kb_ids.len(),
            reply: if reply_bias.is_some() { weights } else { Vec::new() },
            reply_bias: reply_bias.unwrap_or(0.0),
            column_bias: column_bias.unwrap_or_default(),
            column_w,
        };
        lex.finish();
        Ok(lex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["smb".into(), "auth".into()]
    }

    #[test]
    fn tokens_are_words_pairs_and_cjk_pairs() {
        let t = tokens("Server NOT listed, サーバーが見えない");
        assert!(t.contains(&"server".to_string()));
        assert!(t.contains(&"not listed".to_string()));
        assert!(t.contains(&"サー".to_string()));
        // Each token once, whatever the repetition.
        assert_eq!(tokens("qntc qntc qntc").iter().filter(|t| *t == "qntc").count(), 1);
    }

    /// Two entries, two texts each, and three texts about neither.
    fn sample() -> Lexicon {
        Lexicon::fit(
            &ids(),
            [
                ("the dialect is pinned to smb1 on the nas", vec![0]),
                ("nas speaks only the old dialect", vec![0]),
                ("password has lower case letters", vec![1]),
                ("the password case after qpwdlvl", vec![1]),
                ("thanks it works now", vec![]),
                ("solved, thanks again", vec![]),
                ("nothing to learn here", vec![]),
            ],
        )
    }

    #[test]
    fn learned_words_point_at_their_entry() {
        let lex = sample();
        let s = lex.score("our nas wants an old dialect");
        assert!(s.posterior[0] > s.posterior[1], "{s:?}");
        assert!((s.posterior.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(s.relative[0], 1.0);
        let s = lex.score("password case");
        assert!(s.posterior[1] > s.posterior[0]);
        // Words it never saw say nothing.
        assert_eq!(lex.score("völlig unbekannt").posterior, vec![0.0, 0.0]);
        assert_eq!(lex.score("völlig unbekannt").quiet, 0.0);
    }

    #[test]
    fn texts_about_nothing_have_a_column_of_their_own() {
        let lex = sample();
        let thanks = lex.score("thanks, it works");
        let dialect = lex.score("the nas dialect");
        assert!(thanks.quiet > 0.5, "{thanks:?}");
        assert!(dialect.quiet < 0.5, "{dialect:?}");
        // The quiet column is no entry: the entries' posteriors still sum to one.
        assert!((thanks.posterior.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(thanks.posterior.len(), 2);
    }

    #[test]
    fn a_long_text_is_read_at_its_start_and_its_end() {
        let routine = "routine line ".repeat(1000);
        let text = format!("qntc broken {routine} middleword {routine} cpdb053 3401");
        let t = tokens(&text);
        assert!(t.contains(&"qntc broken".to_string()) && t.contains(&"cpdb053 3401".to_string()));
        assert!(
            !t.contains(&"middleword".to_string()),
            "the middle of a long text is not read"
        );
        // Every character counts once: no token from a seam inside a character.
        let wide = format!("{}サーバー", "é".repeat(7000));
        assert!(tokens(&wide).contains(&"サー".to_string()));
    }

    #[test]
    fn the_reply_classifier_weighs_words_against_the_texts_about_nothing() {
        let lex = sample();
        let thanks = lex.score("thanks, it works now");
        let dialect = lex.score("the nas dialect is pinned");
        assert!(thanks.reply < 0.0, "{thanks:?}");
        assert!(dialect.reply > 0.0, "{dialect:?}");
        // Word by word: one of the texts about nothing against one of the entries'.
        assert!(lex.score("thanks").reply < lex.reply_bias && lex.reply_bias < lex.score("nas").reply);
        // Unknown words leave the prior: the bias alone.
        assert_eq!(lex.score("völlig unbekannt").reply, lex.reply_bias);
        // Fitting is deterministic.
        assert_eq!(sample(), lex);
    }

    #[test]
    fn a_file_without_reply_weights_scores_no_reply() {
        let text = sample().to_text();
        // The file as session 6 wrote it: counts only.
        let old: String = text
            .lines()
            .filter(|l| !l.starts_with("reply_bias") && !l.starts_with("column_bias"))
            .map(|l| {
                let cells: Vec<&str> = l
                    .split('\t')
                    .filter(|c| !c.starts_with('='))
                    .map(|c| match c.match_indices(':').nth(1) {
                        Some((i, _)) if !l.starts_with("entries") => &c[..i],
                        _ => c,
                    })
                    .collect();
                cells.join("\t") + "\n"
            })
            .collect();
        let back = Lexicon::parse(&old, &["smb", "auth"]).expect("parses");
        assert_eq!(back.score("thanks it works").reply, 0.0);
        assert_eq!(back.score("nas dialect").chosen, vec![0.0, 0.0]);
        assert!(back.score("thanks it works").quiet > 0.5);
        assert!(back.is_sound(2));
        let bad = text.replacen("\t=", "\t=x", 1);
        assert!(Lexicon::parse(&bad, &["smb", "auth"]).unwrap_err().contains("=weight"));
    }

    #[test]
    fn the_entry_classifier_picks_the_entry_a_text_is_worded_like() {
        let lex = sample();
        let smb = lex.score("the nas dialect");
        assert!(smb.chosen[0] > 0.5 && smb.chosen[0] > smb.chosen[1], "{smb:?}");
        let auth = lex.score("password case");
        assert!(auth.chosen[1] > auth.chosen[0], "{auth:?}");
        assert!(
            (auth.chosen.iter().sum::<f64>() - 1.0).abs() < 1e-9,
            "a share among the entries"
        );
        // Weights only where the counts are: the file stays as sparse as the counts.
        assert_eq!(lex.column_w.len(), lex.counts.items().len());
        assert_eq!(lex.column_bias.len(), 3);
        // A column weight the file cannot read is an error naming its line.
        let text = lex.to_text();
        let line = text
            .lines()
            .find(|l| l.matches(':').count() >= 2 && !l.starts_with("entries"))
            .unwrap();
        let broken = text.replace(line, &format!("{line}:x"));
        assert!(
            Lexicon::parse(&broken, &["smb", "auth"])
                .unwrap_err()
                .starts_with("line ")
        );
        let short_bias = text.replacen("column_bias\t", "column_bias\t1\t", 1);
        assert!(
            Lexicon::parse(&short_bias, &["smb", "auth"])
                .unwrap_err()
                .contains("column_bias")
        );
    }

    #[test]
    fn file_round_trip_and_errors() {
        let lex = sample();
        let text = lex.to_text();
        let back = Lexicon::parse(&text, &["smb", "auth"]).expect("parses");
        assert_eq!(back.score("nas dialect"), lex.score("nas dialect"));
        assert_eq!(back.score("solved thanks"), lex.score("solved thanks"));
        assert!(back.score("solved thanks").quiet > 0.5);
        assert_eq!(back, lex, "the weights are kept as fitted");
        // Against a KB whose entries moved, the columns follow the ids.
        let moved = Lexicon::parse(&text, &["auth", "new", "smb"]).expect("parses");
        let s = moved.score("nas dialect");
        assert!(s.posterior[2] > s.posterior[0] && s.posterior[1] == 0.0);
        let broken = text.replace("\t0:", "\tx:");
        assert!(
            Lexicon::parse(&broken, &["smb", "auth"])
                .unwrap_err()
                .starts_with("line ")
        );
        assert!(Lexicon::parse("totals\t1\n", &["smb"]).is_err());
    }
}
