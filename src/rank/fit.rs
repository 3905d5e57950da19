//! Fitting the model on labelled cases, with k-fold cross-validation for honest figures and
//! for the calibration and threshold, which must be fitted on predictions the weights did not
//! see.
//!
//! - Ranking: a conditional logit (softmax over the candidate entries plus "none of them"),
//!   maximising the probability of the right entries; L2-regularised; full-batch Adam.
//! - Gate: logistic regression on text-level signals.
//! - Calibration: Platt scaling of logit(gate × ranking probability), on the cross-validated
//!   predictions.
//!
//! Everything is deterministic: the same cases and KB give the same weights on any machine
//! (up to the rounding the weights file applies).

use std::collections::BTreeMap;

use crate::diagnose::Priors;
use crate::evidence;
use crate::input;
use crate::kb::Kb;

use super::dataset::{Case, stable_hash};
use super::features::{Candidate, NF};
use super::gate::{self, Cues};
use super::lexicon::Lexicon;
use super::metrics::{self, Outcome, Report};
use super::model::{Model, Training, logit, sigmoid};
use super::{Scored, rank};

pub const FOLDS: u64 = 5;
/// Cross-validated on 5,424 cases (session 8): 0.002 -> 0.0005 took top-1 0.942 -> 0.946 and
/// wrong answers 6.2 -> 5.9 %; 0.0001 was 0.1 points better again, within the noise, so the
/// stronger penalty stays (the same rule chose the gate's).
const RANK_L2: f64 = 0.0005;
/// The gate's cues are rare binary features (a resolved-message cue fires on 4 % of the cases):
/// with the loss averaged over cases, 0.002 kept the resolved cue at -1.9 (-3.7 at 0.0005,
/// -6.0 at 0.0001), and resolved follow-ups still got answers. Cross-validated, 0.0005 gave +0.8
/// points of recall at the same false replies; 0.0001 +0.4 more, but with weights growing on
/// features that fire on both kinds (length, n-gram similarity), so not that far.
const GATE_L2: f64 = 0.0005;
const ITERATIONS: usize = 1500;
const LEARNING_RATE: f64 = 0.05;
/// Bounds on the held-out figures that choose the reply threshold. False replies: the issue's
/// target is 3 % on text nobody tuned for, and two blind sets scored with a threshold chosen at
/// 3 % here came out 0.8-0.9 points above the cross-validated figure (new authors write
/// look-alikes the training set lacks), so the bound leaves that much room. (At 2.5 % with the
/// older, easier training negatives, the threshold had been 0.89 and a plain CPDB053 paste went
/// unanswered; the gate's cues for resolved and "nothing broken" messages have since moved most
/// look-alikes out of the way, and 2 % now costs under a point of recall.)
const MAX_FALSE_REPLIES: f64 = 0.02;
const MAX_WRONG_ANSWERS: f64 = 0.08;

/// One case with its features computed once (evidence and similarity are the slow part).
pub struct Prepared {
    pub case: Case,
    pub candidates: Vec<Candidate>,
    pub gate_x: Vec<f64>,
    pub fold: u64,
}

/// Prepares every case; its lexicon features come from a lexicon fitted on the other folds,
/// so the weights learn what the lexicon is worth on text it never saw.
pub fn prepare(kb: &Kb, cases: &[Case]) -> Vec<Prepared> {
    let folds: Vec<u64> = cases.iter().map(|c| stable_hash(c.text.as_bytes()) % FOLDS).collect();
    let lexicons: Vec<Lexicon> = (0..FOLDS)
        .map(|f| {
            let rest = cases.iter().zip(&folds).filter(|(_, k)| **k != f).map(|(c, _)| c);
            fit_lexicon(kb, rest)
        })
        .collect();
    let priors = Priors::default();
    cases
        .iter()
        .zip(folds)
        .map(|(c, fold)| {
            // The same path as the bot: normalise, extract, collect.
            let text = input::normalize(c.text.as_bytes()).map_or_else(|_| c.text.clone(), |n| n.text);
            let ev = evidence::extract(&text);
            let lexicon = &lexicons[fold as usize];
            let (candidates, signals) = super::features::collect_with(kb, lexicon, &ev, &text, &priors);
            let gate_x = gate::features(&kb.cues, &ev, &text, &signals, 0.0);
            Prepared {
                case: c.clone(),
                candidates,
                gate_x,
                fold,
            }
        })
        .collect()
}

/// The lexicon of `cases`: each positive case's text counts for the entries it accepts, each
/// case that must stay quiet for the quiet column.
pub fn fit_lexicon<'a>(kb: &Kb, cases: impl IntoIterator<Item = &'a Case>) -> Lexicon {
    let ids: Vec<String> = kb.entries.iter().map(|e| e.id.clone()).collect();
    let labelled = cases.into_iter().filter_map(|c| {
        let entries: Vec<usize> = (0..kb.entries.len())
            .filter(|&i| c.accepts(&kb.entries[i].topics))
            .collect();
        // A problem no entry covers teaches nothing, and is not a text about nothing.
        (entries.is_empty() != c.is_positive()).then_some((c.text.as_str(), entries))
    });
    Lexicon::fit(&ids, labelled)
}

/// The bot's decision for a prepared case under `model`.
pub fn predict(kb: &Kb, model: &Model, p: &Prepared) -> (Scored, Outcome) {
    let s = rank(model, p.candidates.clone(), p.gate_x.clone());
    let outcome = outcome_of(kb, model, &s);
    (s, outcome)
}

/// The outcome as `qntcbot eval` sees it, from a scored text.
pub fn outcome_of(kb: &Kb, model: &Model, s: &Scored) -> Outcome {
    let confidence = s.confidence_of(model, 0);
    let unprompted = s.candidates.first().is_some_and(|c| kb.entries[c.entry].unprompted);
    Outcome {
        ranked: s
            .candidates
            .iter()
            .take(3)
            .map(|c| kb.entries[c.entry].topics.clone())
            .collect(),
        confidence,
        reply: unprompted && s.gate >= model.gate_threshold && confidence >= model.reply_threshold,
    }
}

/// Fits a model on `train`, with calibration and threshold from cross-validation inside it,
/// and reports the cross-validated figures.
pub fn train(kb: &Kb, cues: &Cues, cases: &[Case]) -> (Model, Lexicon, Report) {
    let t = train_in_detail(kb, cues, cases);
    (t.model, t.lexicon, t.report)
}

/// One row of the threshold sweep: (threshold, recall, false replies, wrong answers).
pub type SweepRow = (f64, f64, f64, f64);

/// What training produced, with the cross-validated detail behind its figures.
pub struct Trained {
    pub model: Model,
    pub report: Report,
    /// Figures at every reply threshold tried.
    pub sweep: Vec<SweepRow>,
    /// Each case's held-out outcome at the chosen threshold, in the order of the cases.
    pub outcomes: Vec<Outcome>,
    /// The lexicon of all the cases, which goes with the model.
    pub lexicon: Lexicon,
}

/// [`train`], with the threshold sweep and the held-out outcomes.
pub fn train_in_detail(kb: &Kb, cues: &Cues, cases: &[Case]) -> Trained {
    let data = prepare(kb, cases);
    let all: Vec<&Prepared> = data.iter().collect();

    // Cross-validated predictions: each fold scored by a model that never saw it.
    let mut cv_models = Vec::new();
    for fold in 0..FOLDS {
        let train: Vec<&Prepared> = data.iter().filter(|p| p.fold != fold).collect();
        cv_models.push(fit_uncalibrated(kb, cues, &train));
    }
    // Calibration on the held-out predictions: (logit gate, logit rank probability) -> right.
    let cal: Vec<(Vec<f64>, bool)> = data
        .iter()
        .map(|p| {
            let m = &cv_models[p.fold as usize];
            let (s, o) = predict(kb, m, p);
            let r = s.probs.first().copied().unwrap_or(0.0);
            (vec![logit(s.gate), logit(r), 1.0], metrics::right(&p.case, &o))
        })
        .collect();
    let w = logistic_newton(&cal);
    let (a, c, b) = (w[0], w[1], w[2]);

    // The reply threshold: the lowest whose held-out false replies and wrong answers stay
    // within bounds. A wrong answer at 2 a.m. costs more than a missed one.
    let mut sweep = Vec::new();
    let mut chosen = None;
    for step in 0..=65 {
        let t = 0.3 + 0.01 * f64::from(step);
        let outcomes = cv_outcomes(kb, &data, &cv_models, (a, c, b), t);
        let r = metrics::report(cases, &outcomes);
        sweep.push((t, r.recall, r.false_replies, r.wrong_answers));
        if chosen.is_none() && r.false_replies <= MAX_FALSE_REPLIES && r.wrong_answers <= MAX_WRONG_ANSWERS {
            chosen = Some(t);
        }
    }
    let threshold = chosen.unwrap_or(0.95);
    let outcomes = cv_outcomes(kb, &data, &cv_models, (a, c, b), threshold);
    let cv_report = metrics::report(cases, &outcomes);

    let mut model = fit_uncalibrated(kb, cues, &all);
    model.calib_a = a;
    model.calib_c = c;
    model.calib_b = b;
    model.reply_threshold = threshold;
    let mut cv = BTreeMap::new();
    cv.insert("top1".into(), cv_report.top1);
    cv.insert("top3".into(), cv_report.top3);
    cv.insert("recall".into(), cv_report.recall);
    cv.insert("false_replies".into(), cv_report.false_replies);
    cv.insert("ece".into(), cv_report.ece);
    model.trained = Some(Training {
        cases: cases.len(),
        data_hash: format!("{:016x}", fingerprint(cases)),
        cv,
    });
    Trained {
        model,
        report: cv_report,
        sweep,
        outcomes,
        lexicon: fit_lexicon(kb, cases),
    }
}

fn cv_outcomes(kb: &Kb, data: &[Prepared], models: &[Model], calib: (f64, f64, f64), threshold: f64) -> Vec<Outcome> {
    data.iter()
        .map(|p| {
            let mut m = models[p.fold as usize].clone();
            (m.calib_a, m.calib_c, m.calib_b) = calib;
            m.reply_threshold = threshold;
            predict(kb, &m, p).1
        })
        .collect()
}

/// A fingerprint of the training data, so a weights file says what it was fitted on.
pub fn fingerprint(cases: &[Case]) -> u64 {
    let mut bytes = Vec::new();
    for c in cases {
        bytes.extend_from_slice(c.text.as_bytes());
        bytes.push(0);
        for t in &c.expect {
            bytes.extend_from_slice(t.as_bytes());
            bytes.push(1);
        }
        bytes.push(u8::from(c.wants_reply()));
    }
    stable_hash(&bytes)
}

/// Ranking and gate weights, calibration left as identity.
fn fit_uncalibrated(kb: &Kb, cues: &Cues, data: &[&Prepared]) -> Model {
    let (rank_w, none) = fit_rank(kb, data);
    let mut model = Model::fallback(cues);
    model.rank = rank_w;
    model.none = none;
    model.gate = fit_gate(kb, &model, data);
    (model.calib_a, model.calib_c, model.calib_b) = (1.0, 1.0, 0.0);
    model.reply_threshold = 0.5;
    model
}

/// Full-batch Adam from zero over `n` parameters for `steps` steps; `grad` returns the
/// gradient at a point. Deterministic: the same gradients give the same weights anywhere.
pub(super) fn adam(n: usize, steps: usize, mut grad: impl FnMut(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let (b1, b2, eps) = (0.9, 0.999, 1e-8);
    let mut w = vec![0.0; n];
    let mut m = vec![0.0; n];
    let mut v = vec![0.0; n];
    for t in 1..=steps {
        let g = grad(&w);
        let t = t as i32;
        for k in 0..n {
            m[k] = b1 * m[k] + (1.0 - b1) * g[k];
            v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
            let mh = m[k] / (1.0 - b1.powi(t));
            let vh = v[k] / (1.0 - b2.powi(t));
            w[k] -= LEARNING_RATE * mh / (vh.sqrt() + eps);
        }
    }
    w
}

/// Conditional logit over each case's candidates and "none"; parameters: NF weights + none.
fn fit_rank(kb: &Kb, data: &[&Prepared]) -> ([f64; NF], f64) {
    // Per case: candidate features, which are right, and whether "none" is the right answer.
    let rows: Vec<(Vec<[f64; NF]>, Vec<bool>, bool)> = data
        .iter()
        .filter_map(|p| {
            let xs: Vec<[f64; NF]> = p.candidates.iter().map(|c| c.x).collect();
            let ok: Vec<bool> = p
                .candidates
                .iter()
                .map(|c| p.case.is_positive() && p.case.accepts(&kb.entries[c.entry].topics))
                .collect();
            let none_right = !p.case.is_positive();
            // A problem none of whose right entries has any evidence teaches nothing here.
            (none_right || ok.iter().any(|b| *b)).then_some((xs, ok, none_right))
        })
        .collect();
    let n = rows.len().max(1) as f64;
    let w = adam(NF + 1, ITERATIONS, |w| {
        let mut g = vec![0.0; NF + 1];
        let none = w[NF];
        for (xs, ok, none_right) in &rows {
            let s: Vec<f64> = xs.iter().map(|x| x.iter().zip(w).map(|(a, b)| a * b).sum()).collect();
            let max = s.iter().copied().fold(none, f64::max);
            let e: Vec<f64> = s.iter().map(|v| (v - max).exp()).collect();
            let e_none = (none - max).exp();
            let z = e_none + e.iter().sum::<f64>();
            let z_ok = if *none_right {
                e_none
            } else {
                e.iter().zip(ok).filter(|(_, o)| **o).map(|(v, _)| v).sum()
            };
            for (k, x) in xs.iter().enumerate() {
                let p = e[k] / z;
                let q = if ok[k] && !none_right { e[k] / z_ok } else { 0.0 };
                for (j, xj) in x.iter().enumerate() {
                    g[j] += (p - q) * xj / n;
                }
            }
            g[NF] += (e_none / z - f64::from(u8::from(*none_right))) / n;
        }
        for j in 0..NF {
            g[j] += RANK_L2 * w[j];
        }
        g
    });
    let mut out = [0.0; NF];
    out.copy_from_slice(&w[..NF]);
    (out, w[NF])
}

/// Logistic regression: is this case one to answer?
fn fit_gate(kb: &Kb, model: &Model, data: &[&Prepared]) -> Vec<f64> {
    let rows: Vec<(Vec<f64>, f64)> = data
        .iter()
        .map(|p| {
            let (s, _) = predict(kb, model, p);
            (s.gate_x, f64::from(u8::from(p.case.wants_reply())))
        })
        .collect();
    let dim = rows.first().map_or(0, |r| r.0.len());
    let n = rows.len().max(1) as f64;
    adam(dim, ITERATIONS, |w| {
        let mut g = vec![0.0; dim];
        for (x, y) in &rows {
            let z: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
            let p = sigmoid(z);
            for j in 0..dim {
                g[j] += (p - y) * x[j] / n;
            }
        }
        // The bias is not shrunk.
        for j in 1..dim {
            g[j] += GATE_L2 * w[j];
        }
        g
    })
}

/// Logistic regression by Newton's method (for the few calibration parameters; the last
/// feature is the constant 1). A whisker of ridge keeps it finite on separable data.
fn logistic_newton(rows: &[(Vec<f64>, bool)]) -> Vec<f64> {
    let dim = rows.first().map_or(0, |r| r.0.len());
    let mut w = vec![0.0; dim];
    if dim == 0 {
        return w;
    }
    w[..dim - 1].iter_mut().for_each(|v| *v = 1.0);
    for _ in 0..100 {
        let mut g = vec![0.0; dim];
        let mut h = vec![vec![0.0; dim]; dim];
        for (k, row) in h.iter_mut().enumerate() {
            row[k] = 1e-4;
        }
        for (x, y) in rows {
            let q = sigmoid(x.iter().zip(&w).map(|(a, b)| a * b).sum());
            let d = q - f64::from(u8::from(*y));
            let s = q * (1.0 - q);
            for i in 0..dim {
                g[i] += d * x[i];
                for j in 0..dim {
                    h[i][j] += s * x[i] * x[j];
                }
            }
        }
        for i in 0..dim {
            g[i] += 1e-4 * w[i];
        }
        let Some(step) = solve(h, g) else { break };
        // Backtracking: a full Newton step can overshoot on nearly separable data.
        let before = log_loss(rows, &w);
        let mut scale = 1.0;
        let mut next: Vec<f64> = w.iter().zip(&step).map(|(v, d)| v - d).collect();
        while log_loss(rows, &next) > before && scale > 1e-6 {
            scale *= 0.5;
            next = w.iter().zip(&step).map(|(v, d)| v - scale * d).collect();
        }
        let size: f64 = step.iter().map(|v| (scale * v).abs()).sum();
        w = next;
        if size < 1e-10 {
            break;
        }
    }
    w
}

fn log_loss(rows: &[(Vec<f64>, bool)], w: &[f64]) -> f64 {
    rows.iter()
        .map(|(x, y)| {
            let q = sigmoid(x.iter().zip(w).map(|(a, b)| a * b).sum());
            -(if *y { q } else { 1.0 - q }).max(1e-300).ln()
        })
        .sum::<f64>()
        + 0.5e-4 * w.iter().map(|v| v * v).sum::<f64>()
}

/// Solves h·x = g by Gaussian elimination with partial pivoting; `None` if singular.
fn solve(mut h: Vec<Vec<f64>>, mut g: Vec<f64>) -> Option<Vec<f64>> {
    let n = g.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&a, &b| h[a][col].abs().total_cmp(&h[b][col].abs()))?;
        if h[pivot][col].abs() < 1e-12 {
            return None;
        }
        h.swap(col, pivot);
        g.swap(col, pivot);
        let (top, rest) = h.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (k, row) in rest.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (a, b) in row.iter_mut().zip(pivot_row).skip(col) {
                *a -= f * b;
            }
            g[col + 1 + k] -= f * g[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| h[row][k] * x[k]).sum();
        x[row] = (g[row] - rest) / h[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_recovers_a_known_scaling() {
        // Labels drawn deterministically so that P(right | p) = σ(2·logit(p) − 1).
        let mut pts = Vec::new();
        for i in 1..200 {
            let p = f64::from(i) / 200.0;
            let truth = sigmoid(2.0 * logit(p) - 1.0);
            for k in 0..400 {
                pts.push((vec![logit(p), 1.0], (f64::from(k) + 0.5) / 400.0 < truth));
            }
        }
        let w = logistic_newton(&pts);
        assert!((w[0] - 2.0).abs() < 0.2 && (w[1] + 1.0).abs() < 0.2, "{w:?}");
    }

    #[test]
    fn adam_minimises_a_bowl() {
        let w = adam(2, ITERATIONS, |w| vec![2.0 * (w[0] - 3.0), 2.0 * (w[1] + 1.0)]);
        assert!((w[0] - 3.0).abs() < 1e-3 && (w[1] + 1.0).abs() < 1e-3, "{w:?}");
    }
}
