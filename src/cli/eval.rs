//! `qntcbot eval FILE...` scores labelled case sets with the shipped model; `qntcbot train`
//! fits the model on the training sets and writes (or checks) `kb/model/weights.toml`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::diagnose::{self, Priors};
use crate::engine::{read_kb, read_kb_entries};
use crate::rank::dataset::{self, Case};
use crate::rank::metrics::{self, Outcome, Report};
use crate::rank::{Model, fit};
use crate::{evidence, input};

use super::{Context, EXIT_NOTHING, EXIT_USAGE};

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Case files (JSON lines `{"text", "expect": [topics]}`) or directories of them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print `{"cases","top1","top3","recall","false_replies","ece","per_topic",...}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Training case files or directories (default: eval/train).
    pub files: Vec<PathBuf>,
    /// Write the fitted weights to <KB>/model/weights.toml.
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Fail (exit 1) unless <KB>/model/weights.toml is what training produces now.
    #[arg(long)]
    pub check: bool,
    /// Print the cross-validated figures as JSON.
    #[arg(long)]
    pub json: bool,
}

fn load_cases(files: &[PathBuf]) -> Result<Vec<Case>, String> {
    let cases = dataset::load_all(files)?;
    if cases.is_empty() {
        return Err("no cases in the given files".into());
    }
    Ok(cases)
}

pub async fn eval(args: &EvalArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let cases = match load_cases(&args.files) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let (kb, _) = read_kb(&ctx.config.kb_dir())?;
    let settings = ctx.config.diagnose;
    let priors = Priors::default();
    let mut outcomes = Vec::with_capacity(cases.len());
    for c in &cases {
        // The bot's own path: normalise the bytes, extract evidence, diagnose.
        let d = match input::normalize(c.text.as_bytes()) {
            Ok(n) => diagnose::diagnose(&kb, evidence::extract(&n.text), &n.text, &priors, &settings),
            Err(_) => diagnose::Diagnosis::default(),
        };
        outcomes.push(Outcome {
            ranked: d.matches.iter().take(3).map(|m| m.topics.clone()).collect(),
            confidence: d.best().map_or(0.0, |m| m.confidence),
            reply: d.reply,
        });
    }
    let report = metrics::report(&cases, &outcomes);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_report("", &report)?;
    }
    // The global -v/--verbose also lists every case the bot got wrong.
    if ctx.verbose > 0 {
        print_misses(&cases, &outcomes)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_misses(cases: &[Case], outcomes: &[Outcome]) -> std::io::Result<()> {
    for (c, o) in cases.iter().zip(outcomes) {
        let first = o
            .ranked
            .first()
            .map(|t| t.join("+"))
            .unwrap_or_else(|| "(nothing)".into());
        let ok = o.ranked.first().is_some_and(|t| c.accepts(t));
        let problem = if c.is_positive() && !ok {
            Some("wrong first match")
        } else if c.wants_reply() && !o.reply {
            Some("stayed quiet")
        } else if !c.wants_reply() && o.reply {
            Some("false reply")
        } else {
            None
        };
        if let Some(p) = problem {
            outln!(
                "{}: {p}: expected {} got {first} ({:.2}{})",
                c.origin,
                if c.expect.is_empty() {
                    "quiet".into()
                } else {
                    c.expect.join("+")
                },
                o.confidence,
                if o.reply { ", answered" } else { "" }
            )?;
        }
    }
    Ok(())
}

fn print_report(title: &str, r: &Report) -> std::io::Result<()> {
    if !title.is_empty() {
        outln!("{title}")?;
    }
    outln!(
        "{} cases ({} problems, {} that must stay quiet)",
        r.cases,
        r.positives,
        r.negatives
    )?;
    outln!("  top-1            {:>6.1} %", 100.0 * r.top1)?;
    outln!("  top-3            {:>6.1} %", 100.0 * r.top3)?;
    outln!(
        "  recall           {:>6.1} %   answered unprompted and right",
        100.0 * r.recall
    )?;
    outln!(
        "  false replies    {:>6.1} %   of the cases that must stay quiet",
        100.0 * r.false_replies
    )?;
    outln!(
        "  wrong answers    {:>6.1} %   of the answers given",
        100.0 * r.wrong_answers
    )?;
    outln!("  calibration err. {:>6.3}     (ECE, 10 bins)", r.ece)?;
    outln!("\n  confidence   cases   mean conf.   right")?;
    for b in &r.reliability {
        outln!(
            "  {:.1}-{:.1}   {:>8}   {:>10.2}   {:>5.2}",
            b.from,
            b.to,
            b.cases,
            b.confidence,
            b.accuracy
        )?;
    }
    let weak: Vec<_> = r.per_topic.iter().filter(|(_, t)| t.top1 < 1.0).collect();
    if !weak.is_empty() {
        outln!("\n  topic                              cases  top-1  confused with")?;
        for (topic, t) in weak {
            let confused = t
                .confused_with
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            outln!("  {topic:<34} {:>5}  {:>4.0} %  {confused}", t.cases, 100.0 * t.top1)?;
        }
    }
    Ok(())
}

pub async fn train(args: &TrainArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let files = if args.files.is_empty() {
        vec![PathBuf::from("eval/train")]
    } else {
        args.files.clone()
    };
    let cases = match load_cases(&files) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let kb_dir = ctx.config.kb_dir();
    let (kb, _) = read_kb_entries(&kb_dir)?;
    let fit::Trained {
        model,
        report: cv,
        sweep,
        outcomes,
        lexicon,
    } = fit::train_in_detail(&kb, &kb.cues, &cases);
    let text = model.to_toml(&kb.cues);
    let path = kb_dir.join("model").join("weights.toml");
    let lexicon_text = lexicon.to_text();
    let lexicon_path = kb_dir.join(crate::rank::LEXICON_FILE);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&cv)?)?;
    } else {
        print_report(
            &format!(
                "cross-validated ({} folds) on {} training cases:",
                fit::FOLDS,
                cases.len()
            ),
            &cv,
        )?;
    }
    // The global -v/--verbose also shows the threshold sweep.
    if ctx.verbose > 0 {
        outln!("\n  threshold  recall  false replies  wrong answers")?;
        for (t, recall, fr, wrong) in sweep {
            let chosen = if (t - model.reply_threshold).abs() < 1e-9 {
                "  <- chosen"
            } else {
                ""
            };
            outln!("  {t:>9.2}  {recall:>6.3}  {fr:>13.3}  {wrong:>13.3}{chosen}")?;
        }
    }
    // -vv: every training case the held-out model got wrong.
    if ctx.verbose > 1 {
        outln!("")?;
        print_misses(&cases, &outcomes)?;
    }
    if args.write {
        std::fs::create_dir_all(kb_dir.join("model"))?;
        std::fs::write(&path, &text)?;
        std::fs::write(&lexicon_path, &lexicon_text)?;
        eprintln!("qntcbot: wrote {} and {}", path.display(), lexicon_path.display());
    }
    if args.check {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let same = Model::parse(&current, &kb.cues)
            .ok()
            .zip(Model::parse(&text, &kb.cues).ok())
            .is_some_and(|(a, b)| close(&a, &b))
            && std::fs::read_to_string(&lexicon_path).is_ok_and(|l| l == lexicon_text);
        if !same {
            eprintln!(
                "qntcbot: {} is not what `qntcbot train --write` fits from {} now; re-run it and commit the result",
                path.display(),
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            return Ok(ExitCode::from(EXIT_NOTHING));
        }
        eprintln!("qntcbot: {} matches the training data", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Equal up to the rounding of the weights file (another machine's floating point may differ
/// in the last digits).
fn close(a: &Model, b: &Model) -> bool {
    let near = |x: f64, y: f64| (x - y).abs() <= 2e-3 * (1.0 + x.abs().max(y.abs()));
    a.rank.iter().zip(&b.rank).all(|(x, y)| near(*x, *y))
        && a.gate.len() == b.gate.len()
        && a.gate.iter().zip(&b.gate).all(|(x, y)| near(*x, *y))
        && near(a.none, b.none)
        && near(a.calib_a, b.calib_a)
        && near(a.calib_c, b.calib_c)
        && near(a.calib_b, b.calib_b)
        && near(a.reply_threshold, b.reply_threshold)
        && a.trained.as_ref().map(|t| &t.data_hash) == b.trained.as_ref().map(|t| &t.data_hash)
}
