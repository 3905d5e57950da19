//! The labelled case sets of `eval/`, scored the way `qntcbot eval` scores them:
//!
//! - `eval/blind/`: written from public sources by authors who never saw the KB, the code or
//!   the training cases. Reported, never tuned on; the floors below are regression guards set
//!   a little under the figures measured when the set arrived, not targets.
//! - `eval/train/`: what the model is fitted on. Its in-sample figures only show that the
//!   fitted weights are the ones shipped and still learn the data; they are no evidence of
//!   accuracy (the README reports the cross-validated ones).
//!
//! And `kb/model/weights.toml` must be what `qntcbot train` fits from `eval/train/` now.

mod common;

use qntcbot::diagnose::{self, Priors, Settings};
use qntcbot::engine::read_kb;
use qntcbot::kb::Kb;
use qntcbot::rank::dataset::{self, Case};
use qntcbot::rank::metrics::{self, Outcome, Report};
use qntcbot::rank::{Model, fit};
use qntcbot::{evidence, input};

fn kb() -> Kb {
    read_kb(&common::repo_path("kb")).expect("the repository KB loads").0
}

fn score(kb: &Kb, cases: &[Case]) -> Report {
    let outcomes: Vec<Outcome> = cases
        .iter()
        .map(|c| {
            let d = match input::normalize(c.text.as_bytes()) {
                Ok(n) => diagnose::diagnose(
                    kb,
                    evidence::extract(&n.text),
                    &n.text,
                    &Priors::default(),
                    &Settings::default(),
                ),
                Err(_) => diagnose::Diagnosis::default(),
            };
            Outcome {
                ranked: d.matches.iter().take(3).map(|m| m.topics.clone()).collect(),
                confidence: d.best().map_or(0.0, |m| m.confidence),
                reply: d.reply,
            }
        })
        .collect();
    metrics::report(cases, &outcomes)
}

fn print(label: &str, r: &Report) {
    println!(
        "{label}: {} cases, top-1 {:.3}, top-3 {:.3}, recall {:.3}, false replies {:.3}, wrong answers {:.3}, ECE {:.3}",
        r.cases, r.top1, r.top3, r.recall, r.false_replies, r.wrong_answers, r.ece
    );
}

fn cases(dir: &str) -> Vec<Case> {
    dataset::load_all(&[common::repo_path(dir)]).expect("case files parse")
}

/// Blind figures must not fall below what they were when the sets arrived (minus a margin for
/// honest changes elsewhere). Do not edit the KB or the training data to pass these cases:
/// that would make the set useless as a measure.
#[test]
fn blind_sets_stay_above_their_floor() {
    let r = score(&kb(), &cases("eval/blind"));
    print("blind", &r);
    assert!(r.cases >= 200, "the blind set should have at least 200 cases");
    assert!(r.top1 >= BLIND_FLOOR.top1, "blind top-1 fell to {:.3}", r.top1);
    assert!(r.recall >= BLIND_FLOOR.recall, "blind recall fell to {:.3}", r.recall);
    assert!(
        r.false_replies <= BLIND_FLOOR.false_replies,
        "blind false replies rose to {:.3}",
        r.false_replies
    );
    assert!(r.ece <= BLIND_FLOOR.ece, "blind calibration error rose to {:.3}", r.ece);
}

struct Floor {
    top1: f64,
    recall: f64,
    false_replies: f64,
    ece: f64,
}

/// Measured 2026-11-30. When sets C and D arrived (model fitted on 1,148 training cases): top-1
/// 0.825, recall 0.759, false replies 0.096, ECE 0.089. When set E arrived, before anything was
/// refitted: E alone top-1 0.802, recall 0.725, false replies 0.092, wrong answers 0.154. Then
/// 829 training cases (look-alike-heavy, and public-source style) were added and the model
/// refitted, its reply threshold chosen on cross-validated training figures only: C+D+E top-1
/// 0.811, recall 0.614, false replies 0.035, wrong answers 0.114, ECE 0.058 - fewer wrong and
/// unwanted answers, fewer answers. Session 4: a learned lexicon (chosen on leave-one-author-out
/// training figures) and 848 more training cases, and matches listed down to a 5 % share:
/// C+D+E top-1 0.908 (0.851 at the old 20 % listing floor), top-3 0.947, recall 0.697, false
/// replies 0.040, wrong answers 0.070, ECE 0.047. Set F (160) arrived after that model was fixed:
/// top-1 0.955, recall 0.750, false replies 0.083, ECE 0.070; all four sets: 0.921 / 0.712 /
/// 0.051 / 0.051. Session 5: 840 more training cases (forum-style reports; hard look-alikes)
/// and a "nothing" column in the lexicon as a gate feature, the threshold again chosen on
/// cross-validated training figures only (0.83, false replies at most the 3 %). Set G
/// (220) arrived before that model was fitted: top-1 0.935, top-3 0.935, recall 0.796, false
/// replies 0.009, wrong answers 0.023, ECE 0.040 (it was also scored once at the stricter
/// 2.5 % bound, threshold 0.89: recall 0.741, no false or wrong replies). All five sets (809):
/// top-1 0.929, top-3 0.950, recall 0.736, false replies 0.018, wrong answers 0.037, ECE 0.017.
/// Session 6: 800 more training cases, threshold 0.78; set H (230) recall 0.778; all six sets
/// (1,039) top-1 0.939, recall 0.787, false replies 0.018, ECE 0.026. Session 7: a reply
/// classifier and an entry classifier (logistic regressions on the lexicon's tokens) as gate
/// and ranking features, chosen on cross-validation only (recall 0.746 -> 0.897, threshold
/// 0.56). Set J (238) arrived before they were fitted: top-1 0.962, recall 0.900, false
/// replies 0.037 (4 of 108), ECE 0.034. Set K (241), written after the model was fixed: top-1
/// 0.939, recall 0.908, false replies 0.036 (4 of 110), ECE 0.040. All nine sets (1,745):
/// top-1 0.944, top-3 0.962, recall 0.884, false replies 0.023, wrong answers 0.060, ECE 0.013.
/// Session 8: J and K, then L and M (scored once: recall 0.854 / 0.831, false replies 3.6 %
/// each), then N, O, P and Q (scored once: N+O met the targets, P+Q not top-1 0.888 or recall
/// 0.869) retired to training; gate cues for messages that report nothing broken, weaker L2,
/// the threshold at a 2 % bound on cross-validated false replies. Sets R and S (480), written
/// while the final model was refitted: top-1 0.930, recall 0.922, false replies 0.009, ECE
/// 0.014. The nine blind sets now (C-I, R, S; 1,746): top-1 0.952, recall 0.941, false
/// replies 0.018, ECE 0.010. Recall's floor rose to 0.88, the target.
/// These floors only stop it getting worse.
const BLIND_FLOOR: Floor = Floor {
    top1: 0.92,
    recall: 0.88,
    false_replies: 0.03,
    ece: 0.05,
};

#[test]
fn training_sets_are_labelled_with_known_topics_and_cover_every_topic() {
    let all = cases("eval/train");
    let mut seen = std::collections::HashSet::new();
    for c in &all {
        for t in &c.expect {
            assert!(qntcbot::kb::topics::is_known(t), "{}: unknown topic {t}", c.origin);
            seen.insert(t.as_str());
        }
    }
    for t in qntcbot::kb::topics::TOPICS {
        assert!(seen.contains(t), "no training case for topic {t}");
    }
    let negatives = all.iter().filter(|c| !c.wants_reply()).count();
    assert!(
        negatives * 10 >= all.len() * 3,
        "only {negatives} of {} training cases are must-stay-quiet",
        all.len()
    );
}

/// The gate's cues for messages that report nothing broken now are meant to fire on those
/// and almost never on a report that wants an answer (the README says how often). Counted on
/// the training cases with the engine's own cue matching, not a copy of the patterns.
#[test]
fn nothing_now_cues_rarely_fire_on_reports() {
    let kb = kb();
    let all = cases("eval/train");
    let signals = qntcbot::rank::features::TextSignals::default();
    let mut on_reports = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    let mut on_quiet = std::collections::BTreeMap::<&str, usize>::new();
    let reports = all.iter().filter(|c| c.wants_reply()).count();
    for c in &all {
        let text = input::normalize(c.text.as_bytes()).map_or_else(|_| c.text.clone(), |n| n.text);
        let x = qntcbot::rank::gate::features(&kb.cues, &evidence::extract(&text), &text, &signals, 0.0);
        for cue in qntcbot::rank::gate::fired(&kb.cues, &x) {
            if !["resolved", "nothing_broken", "not_qntc"].contains(&cue) {
                continue;
            }
            if c.wants_reply() {
                on_reports.entry(cue).or_default().push(c.origin.as_str());
            } else {
                *on_quiet.entry(cue).or_default() += 1;
            }
        }
    }
    println!("of {reports} reports and {} quiet cases:", all.len() - reports);
    for cue in ["resolved", "nothing_broken", "not_qntc"] {
        let hits = on_reports.get(cue).map_or(&[][..], Vec::as_slice);
        println!(
            "  {cue}: {} reports {hits:?}, {} quiet",
            hits.len(),
            on_quiet.get(cue).unwrap_or(&0)
        );
        assert!(
            hits.len() * 200 <= reports,
            "{cue} fires on {} of {reports} reports (over 0.5 %): {hits:?}",
            hits.len()
        );
        assert!(
            on_quiet.get(cue).is_some_and(|n| *n >= 20),
            "{cue} hardly fires on quiet cases"
        );
    }
}

/// The shipped weights are the ones the training data gives: nobody edited them by hand, and
/// nobody changed the KB or the cases without re-fitting. (`qntcbot train --write` re-fits.)
#[test]
fn shipped_weights_are_what_training_fits() {
    let (entries, _) = qntcbot::engine::read_kb_entries(&common::repo_path("kb")).expect("KB entries load");
    let all = cases("eval/train");
    let (fitted, lexicon, cv) = fit::train(&entries, &entries.cues, &all);
    let kb = kb();
    print("training, cross-validated", &cv);
    let shipped = std::fs::read_to_string(common::repo_path("kb/model/weights.toml")).expect("weights file");
    let shipped = Model::parse(&shipped, &kb.cues).expect("weights parse");
    let refit = Model::parse(&fitted.to_toml(&kb.cues), &kb.cues).expect("own output parses");
    assert_eq!(
        shipped.trained.as_ref().map(|t| t.data_hash.clone()),
        refit.trained.as_ref().map(|t| t.data_hash.clone()),
        "kb/model/weights.toml was fitted on other data: run `qntcbot train --write`"
    );
    for (k, (a, b)) in shipped.rank.iter().zip(&refit.rank).enumerate() {
        assert!(
            (a - b).abs() <= 2e-3 * (1.0 + a.abs()),
            "rank weight {} is {a} in the file but training gives {b}",
            qntcbot::rank::features::FEATURES[k]
        );
    }
    let shipped_lexicon = std::fs::read_to_string(common::repo_path("kb/model/lexicon.tsv")).expect("lexicon file");
    assert!(
        shipped_lexicon == lexicon.to_text(),
        "kb/model/lexicon.tsv is not what the training data gives: run `qntcbot train --write`"
    );
    // In-sample figures of the shipped model: a fitted model that cannot even learn its own
    // training data is broken, whatever the blind figures say.
    let r = score(&kb, &all);
    print("training, in-sample", &r);
    assert!(
        r.top1 >= 0.8 && r.false_replies <= 0.1,
        "the model no longer learns its data"
    );
}
