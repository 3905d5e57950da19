//! The fitted model: how much each kind of evidence is worth (`[rank]`), how the relevance gate
//! weighs its signals (`[gate]`), the calibration that turns scores into confidences that
//! mean what they say, and the reply threshold. Stored as `kb/model/weights.toml`, written by
//! `qntcbot train` and reviewed like the rest of the KB.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::features::{FEATURES, NF};
use super::gate::Cues;

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// One weight per [`FEATURES`] entry.
    pub rank: [f64; NF],
    /// The score of "none of the entries" in the ranking softmax.
    pub none: f64,
    /// One weight per gate feature ([`Cues::feature_names`]).
    pub gate: Vec<f64>,
    /// Calibration: confidence = σ(a·logit(gate) + c·logit(rank probability) + b), fitted on
    /// held-out predictions.
    pub calib_a: f64,
    pub calib_c: f64,
    pub calib_b: f64,
    pub reply_threshold: f64,
    pub gate_threshold: f64,
    /// What the weights were fitted on, for `--version` and reviewers.
    pub trained: Option<Training>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Training {
    pub cases: usize,
    pub data_hash: String,
    #[serde(default)]
    pub cv: BTreeMap<String, f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    reply_threshold: f64,
    gate_threshold: f64,
    rank: BTreeMap<String, f64>,
    gate: BTreeMap<String, f64>,
    calibration: Calibration,
    #[serde(default)]
    training: Option<Training>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Calibration {
    /// weight of logit(gate)
    a: f64,
    /// weight of logit(rank probability)
    c: f64,
    b: f64,
}

impl Model {
    /// Used when the KB has no `model/weights.toml`: the first version's hand-set sum as the only
    /// ranking feature, and the QNTC-context flag as the gate. Scaled so that a message id alone
    /// lands near the old 0.5 threshold.
    pub fn fallback(cues: &Cues) -> Model {
        let mut rank = [0.0; NF];
        if let Some(k) = FEATURES.iter().position(|f| *f == "hand") {
            rank[k] = 6.0;
        }
        let names = cues.feature_names();
        let mut gate = vec![0.0; names.len()];
        gate[0] = -3.0;
        if let Some(k) = names.iter().position(|n| n == "qntc_context") {
            gate[k] = 6.0;
        }
        Model {
            rank,
            none: 3.0,
            gate,
            calib_a: 1.0,
            calib_c: 1.0,
            calib_b: 0.0,
            reply_threshold: 0.5,
            gate_threshold: 0.5,
            trained: None,
        }
    }

    pub fn parse(text: &str, cues: &Cues) -> Result<Model, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.version != 1 {
            return Err(format!("unknown weights version {}", file.version));
        }
        let mut rank = [0.0; NF];
        let mut none = None;
        for (name, w) in &file.rank {
            if name == "none" {
                none = Some(*w);
                continue;
            }
            let k = FEATURES
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| format!("[rank] names unknown feature {name:?}"))?;
            rank[k] = *w;
        }
        let none = none.ok_or("[rank] has no `none` weight")?;
        if let Some(missing) = FEATURES.iter().find(|f| !file.rank.contains_key(**f)) {
            return Err(format!("[rank] has no weight for {missing:?}: run `qntcbot train`"));
        }
        let names = cues.feature_names();
        let mut gate = vec![0.0; names.len()];
        for (name, w) in &file.gate {
            let k = names.iter().position(|n| n == name).ok_or_else(|| {
                format!("[gate] names {name:?}, which model/gate.toml does not define: run `qntcbot train`")
            })?;
            gate[k] = *w;
        }
        if let Some(missing) = names.iter().find(|n| !file.gate.contains_key(*n)) {
            return Err(format!("[gate] has no weight for {missing:?}: run `qntcbot train`"));
        }
        for (what, v) in [
            ("reply_threshold", file.reply_threshold),
            ("gate_threshold", file.gate_threshold),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{what} {v} must be within 0..1"));
            }
        }
        let finite = rank
            .iter()
            .chain(&gate)
            .chain([&none, &file.calibration.a, &file.calibration.c, &file.calibration.b])
            .all(|w| w.is_finite());
        if !finite {
            return Err("a weight is not a finite number".into());
        }
        Ok(Model {
            rank,
            none,
            gate,
            calib_a: file.calibration.a,
            calib_c: file.calibration.c,
            calib_b: file.calibration.b,
            reply_threshold: file.reply_threshold,
            gate_threshold: file.gate_threshold,
            trained: file.training,
        })
    }

    /// The weights file, rounded so that a re-fit on another machine compares equal.
    pub fn to_toml(&self, cues: &Cues) -> String {
        let r = round4;
        let mut rank: BTreeMap<String, f64> = FEATURES
            .iter()
            .zip(self.rank)
            .map(|(n, w)| ((*n).to_string(), r(w)))
            .collect();
        rank.insert("none".into(), r(self.none));
        let gate = cues
            .feature_names()
            .into_iter()
            .zip(&self.gate)
            .map(|(n, w)| (n, r(*w)))
            .collect();
        let file = File {
            version: 1,
            reply_threshold: r(self.reply_threshold),
            gate_threshold: r(self.gate_threshold),
            rank,
            gate,
            calibration: Calibration {
                a: r(self.calib_a),
                c: r(self.calib_c),
                b: r(self.calib_b),
            },
            training: self.trained.clone().map(|mut t| {
                t.cv.values_mut().for_each(|v| *v = (*v * 1e3).round() / 1e3);
                t
            }),
        };
        let body = toml::to_string_pretty(&file).unwrap_or_default();
        format!(
            "# Fitted by `qntcbot train` from eval/train/*.jsonl; do not edit by hand.\n\
             # Review it like code: a weight that changes sign or jumps is worth a question.\n\n{body}"
        )
    }

    /// The ranking score of a candidate's features.
    pub fn score(&self, x: &[f64; NF]) -> f64 {
        self.rank.iter().zip(x).map(|(w, v)| w * v).sum()
    }

    /// The gate's probability that the text is a QNTC problem report.
    pub fn gate_probability(&self, x: &[f64]) -> f64 {
        sigmoid(self.gate.iter().zip(x).map(|(w, v)| w * v).sum())
    }

    /// Turns the gate's and the ranking's probabilities into one calibrated confidence.
    pub fn calibrate(&self, gate: f64, rank: f64) -> f64 {
        sigmoid(self.calib_a * logit(gate) + self.calib_c * logit(rank) + self.calib_b)
    }
}

/// Four decimals: what the fitted files keep, so that a re-fit on another machine compares
/// equal.
pub fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// Softmax probabilities of `scores` next to a "none of them" option scored `none`.
pub fn softmax_with_none(scores: &[f64], none: f64) -> Vec<f64> {
    let max = scores.iter().copied().fold(none, f64::max);
    let z: f64 = (none - max).exp() + scores.iter().map(|s| (s - max).exp()).sum::<f64>();
    scores.iter().map(|s| (s - max).exp() / z).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_trip() {
        let cues = Cues::parse("[[cue]]\nname = \"resolved\"\nabout = \"x\"\npatterns = ['thanks']\n").expect("cues");
        let mut m = Model::fallback(&cues);
        m.rank[0] = 1.23456789;
        m.gate[2] = -0.5;
        let text = m.to_toml(&cues);
        let back = Model::parse(&text, &cues).expect("parses");
        assert!((back.rank[0] - 1.2346).abs() < 1e-12);
        assert_eq!(back.gate[2], -0.5);
        // A weights file from another set of cues is refused, not half-read.
        assert!(Model::parse(&text, &Cues::default()).is_err());
    }

    #[test]
    fn softmax_sums_to_one_with_none() {
        let p = softmax_with_none(&[1.0, 2.0], 0.5);
        let none = 1.0 - p.iter().sum::<f64>();
        assert!(none > 0.0 && p[1] > p[0]);
        assert!(softmax_with_none(&[800.0], 0.0)[0] > 0.99);
    }
}
