//! The figures of an evaluation: top-1, top-3, recall (answered unprompted and right first),
//! false replies on the cases that must stay quiet, wrong answers, expected calibration error
//! with its reliability table, and a per-topic confusion list.

use std::collections::BTreeMap;

use serde::Serialize;

use super::dataset::Case;

/// What the bot did with one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Topics of the matches, best first (at most three are looked at).
    pub ranked: Vec<Vec<String>>,
    /// Confidence of the best match (0 when there is none).
    pub confidence: f64,
    pub reply: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cases: usize,
    pub positives: usize,
    pub negatives: usize,
    pub top1: f64,
    pub top3: f64,
    pub recall: f64,
    /// Share of the must-stay-quiet cases that got an answer.
    pub false_replies: f64,
    /// Share of the answers given that named the wrong problem (or answered a quiet case).
    pub wrong_answers: f64,
    pub ece: f64,
    pub reliability: Vec<Bin>,
    pub per_topic: BTreeMap<String, TopicReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bin {
    pub from: f64,
    pub to: f64,
    pub cases: usize,
    pub confidence: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TopicReport {
    pub cases: usize,
    pub top1: f64,
    pub recall: f64,
    /// Topic answered instead (or "(nothing)"), with how often.
    pub confused_with: BTreeMap<String, usize>,
}

/// Was answering with this top match right? The label calibration is fitted and judged on.
pub fn right(case: &Case, o: &Outcome) -> bool {
    case.wants_reply() && o.ranked.first().is_some_and(|t| case.accepts(t))
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

pub fn report(cases: &[Case], outcomes: &[Outcome]) -> Report {
    let mut positives = 0;
    let mut top1 = 0;
    let mut top3 = 0;
    let mut should_reply = 0;
    let mut recall = 0;
    let mut quiet = 0;
    let mut false_replies = 0;
    let mut answers = 0;
    let mut wrong = 0;
    // topic -> (cases, right first, should reply, answered right, confused with)
    type Tally = (usize, usize, usize, usize, BTreeMap<String, usize>);
    let mut per_topic: BTreeMap<String, Tally> = BTreeMap::new();
    for (c, o) in cases.iter().zip(outcomes) {
        let first_ok = o.ranked.first().is_some_and(|t| c.accepts(t));
        if o.reply {
            answers += 1;
            if !(c.wants_reply() && first_ok) {
                wrong += 1;
            }
        }
        if c.is_positive() {
            positives += 1;
            top1 += usize::from(first_ok);
            top3 += usize::from(o.ranked.iter().take(3).any(|t| c.accepts(t)));
            let slot = per_topic.entry(c.expect[0].clone()).or_default();
            slot.0 += 1;
            slot.1 += usize::from(first_ok);
            if c.wants_reply() {
                slot.2 += 1;
                slot.3 += usize::from(first_ok && o.reply);
            }
            if !first_ok {
                let instead = o
                    .ranked
                    .first()
                    .and_then(|t| t.first().cloned())
                    .unwrap_or_else(|| "(nothing)".into());
                *slot.4.entry(instead).or_default() += 1;
            }
        }
        if c.wants_reply() {
            should_reply += 1;
            recall += usize::from(first_ok && o.reply);
        } else {
            quiet += 1;
            false_replies += usize::from(o.reply);
        }
    }
    let (ece, reliability) = calibration(cases, outcomes);
    Report {
        cases: cases.len(),
        positives,
        negatives: cases.len() - positives,
        top1: ratio(top1, positives),
        top3: ratio(top3, positives),
        recall: ratio(recall, should_reply),
        false_replies: ratio(false_replies, quiet),
        wrong_answers: ratio(wrong, answers),
        ece,
        reliability,
        per_topic: per_topic
            .into_iter()
            .map(|(t, (n, ok, want, answered, confused))| {
                (
                    t,
                    TopicReport {
                        cases: n,
                        top1: ratio(ok, n),
                        recall: ratio(answered, want),
                        confused_with: confused,
                    },
                )
            })
            .collect(),
    }
}

/// Expected calibration error over ten equal-width bins of the best match's confidence, with
/// "right" meaning that answering with it would have been right ([`right`]).
pub fn calibration(cases: &[Case], outcomes: &[Outcome]) -> (f64, Vec<Bin>) {
    let mut bins: Vec<(usize, f64, usize)> = vec![(0, 0.0, 0); 10];
    for (c, o) in cases.iter().zip(outcomes) {
        let k = ((o.confidence * 10.0).floor() as usize).min(9);
        bins[k].0 += 1;
        bins[k].1 += o.confidence;
        bins[k].2 += usize::from(right(c, o));
    }
    let n = cases.len().max(1) as f64;
    let mut ece = 0.0;
    let mut table = Vec::new();
    for (k, (count, conf, ok)) in bins.into_iter().enumerate() {
        if count == 0 {
            continue;
        }
        let conf = conf / count as f64;
        let acc = ok as f64 / count as f64;
        ece += count as f64 / n * (conf - acc).abs();
        table.push(Bin {
            from: k as f64 / 10.0,
            to: (k + 1) as f64 / 10.0,
            cases: count,
            confidence: conf,
            accuracy: acc,
        });
    }
    (ece, table)
}
