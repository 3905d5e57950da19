//! The learned diagnosis: features of a text against every entry ([`features`], [`sim`],
//! [`measure`]), a ranking model and a relevance gate fitted on labelled cases ([`model`],
//! [`gate`], [`fit`]), and the figures that say how well it works ([`metrics`], [`dataset`]).
//!
//! The scoring here is the one both the running bot and `qntcbot train` use, so what the
//! cross-validation measures is what the bot does.

pub mod dataset;
pub mod features;
pub mod fit;
pub mod gate;
pub mod lexicon;
pub mod measure;
pub mod metrics;
pub mod model;
pub mod sim;

use crate::diagnose::Priors;
use crate::evidence::Evidence;
use crate::kb::Kb;

pub use features::Candidate;
pub use gate::Cues;
pub use lexicon::Lexicon;
pub use model::Model;

/// What the case log has learned moves an entry's score by at most this much (model units):
/// enough to reorder close calls, never enough to beat an exact message id.
const PRIOR_SCALE: f64 = 10.0;

/// Index of `top_rank` among the gate's features.
const TOP_RANK: usize = 7;

/// A text scored against the KB: candidates best first, each with its model score and its
/// probability (next to "none of them"), and the gate's verdict on the text.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    pub candidates: Vec<Candidate>,
    pub scores: Vec<f64>,
    pub probs: Vec<f64>,
    pub gate_x: Vec<f64>,
    pub gate: f64,
}

impl Scored {
    /// The calibrated confidence of the k-th candidate: the gate's and the ranking's
    /// probabilities combined.
    pub fn confidence_of(&self, model: &Model, k: usize) -> f64 {
        self.probs.get(k).map_or(0.0, |p| model.calibrate(self.gate, *p))
    }
}

/// Scores `text` (with its evidence) against the KB with the KB's own model.
pub fn score(kb: &Kb, ev: &Evidence, text: &str, priors: &Priors) -> Scored {
    let (candidates, signals) = features::collect(kb, ev, text, priors);
    let gate_x = gate::features(&kb.cues, ev, text, &signals, 0.0);
    rank(&kb.model, candidates, gate_x)
}

/// Orders candidates by the model and runs the gate. Ties in score are broken by evidence:
/// the first version's hand score, then exact message ids, then the number of reasons.
pub fn rank(model: &Model, candidates: Vec<Candidate>, mut gate_x: Vec<f64>) -> Scored {
    let mut scored: Vec<(f64, Candidate)> = candidates
        .into_iter()
        .map(|c| (model.score(&c.x) + PRIOR_SCALE * c.prior, c))
        .collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        sb.total_cmp(sa)
            .then_with(|| b.hand.total_cmp(&a.hand))
            .then_with(|| b.x[0].total_cmp(&a.x[0]))
            .then_with(|| b.reasons.len().cmp(&a.reasons.len()))
    });
    let scores: Vec<f64> = scored.iter().map(|(s, _)| *s).collect();
    let probs = model::softmax_with_none(&scores, model.none);
    let top = scores.first().map_or(0.0, |s| s - model.none);
    if let Some(slot) = gate_x.get_mut(TOP_RANK) {
        *slot = (top / 4.0).tanh();
    }
    let gate = model.gate_probability(&gate_x);
    Scored {
        candidates: scored.into_iter().map(|(_, c)| c).collect(),
        scores,
        probs,
        gate_x,
        gate,
    }
}

/// The gate's cues, `model/gate.toml` of the KB (none when it has no such file).
pub fn cues_from_files(files: &crate::kb::KbFiles) -> Result<Cues, String> {
    match model_file(files, CUES_FILE)? {
        Some(text) => Cues::parse(&text).map_err(|e| format!("{}: {e}", files.path_of(CUES_FILE).display())),
        None => Ok(Cues::default()),
    }
}

/// The gate's cues and the fitted model, `model/gate.toml` and `model/weights.toml` of the KB.
/// A missing weights file gives the fallback model; broken files an error naming the file.
pub fn model_from_files(files: &crate::kb::KbFiles) -> Result<(Model, Cues), String> {
    let cues = cues_from_files(files)?;
    let model = model_for_cues(files, &cues)?;
    Ok((model, cues))
}

/// The fitted model, `model/weights.toml` of the KB, for cues already read (the KB snapshot
/// keeps them parsed); the fallback model when there is no weights file.
pub fn model_for_cues(files: &crate::kb::KbFiles, cues: &Cues) -> Result<Model, String> {
    match model_file(files, WEIGHTS_FILE)? {
        Some(text) => Model::parse(&text, cues).map_err(|e| format!("{}: {e}", files.path_of(WEIGHTS_FILE).display())),
        None => Ok(Model::fallback(cues)),
    }
}

/// The fitted lexicon, `model/lexicon.tsv` of the KB, read against the KB's entry ids (an
/// empty lexicon when there is no such file); a broken file is an error naming it.
pub fn lexicon_from_files(files: &crate::kb::KbFiles, ids: &[&str]) -> Result<Lexicon, String> {
    match model_file(files, LEXICON_FILE)? {
        Some(text) => Lexicon::parse(&text, ids).map_err(|e| format!("{}: {e}", files.path_of(LEXICON_FILE).display())),
        None => Ok(Lexicon::default()),
    }
}

/// Where the gate's cues and the fitted weights live, relative to the KB directory.
pub const CUES_FILE: &str = "model/gate.toml";
pub const WEIGHTS_FILE: &str = "model/weights.toml";
pub const LEXICON_FILE: &str = "model/lexicon.tsv";

fn model_file(files: &crate::kb::KbFiles, name: &str) -> Result<Option<String>, String> {
    files
        .get(name)
        .map(|b| {
            String::from_utf8(b.to_vec()).map_err(|_| format!("{}: not valid UTF-8", files.path_of(name).display()))
        })
        .transpose()
}
