//! `qntcbot kb check [DIR]` and `qntcbot kb list [--json]`

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::Context;
use crate::kb::{Severity, load_files};

#[derive(Debug, clap::Subcommand)]
pub enum KbCmd {
    /// Validate every entry; prints `file:line: problem` and exits 1 on any error.
    Check {
        /// Directory to check (default: the configured KB directory).
        dir: Option<PathBuf>,
    },
    /// List the entries.
    List {
        /// Print `[{"id","title","topics"}]` instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    title: &'a str,
    topics: &'a [String],
}

pub async fn run(cmd: &KbCmd, ctx: &Context) -> anyhow::Result<ExitCode> {
    match cmd {
        KbCmd::Check { dir } => {
            let source = match dir {
                Some(d) => crate::kb::KbSource::Dir(d.clone()),
                None => ctx.config.kb_source(),
            };
            let files = source
                .files()
                .map_err(|e| anyhow::anyhow!("cannot read the knowledge base {source}: {e}"))?;
            let dir = files.dir.clone();
            let mut report = load_files(&files);
            report.compile_patterns();
            crate::kb::lint::lint(&mut report, &files);
            // The fitted model and the gate's cues belong to the KB: a stale weights file or a
            // cue that does not compile is an error here, as it would be at start-up.
            let ids: Vec<&str> = report.entries.iter().map(|e| e.id.as_str()).collect();
            let model = crate::rank::model_from_files(&files)
                .and_then(|(_, cues)| cues.compile_all())
                .and_then(|()| crate::rank::lexicon_from_files(&files, &ids).map(drop));
            if let Err(message) = model {
                report.problems.push(crate::kb::Problem {
                    file: dir.join("model"),
                    line: 0,
                    severity: crate::kb::Severity::Error,
                    message,
                });
            }
            for p in &report.problems {
                outln!("{p}")?;
            }
            let errors = report.errors().count();
            let warnings = report
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Warning)
                .count();
            eprintln!(
                "{}: {} file(s), {} valid entr{}, {errors} error(s), {warnings} warning(s)",
                dir.display(),
                report.files,
                report.entries.len(),
                if report.entries.len() == 1 { "y" } else { "ies" }
            );
            Ok(if errors > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        KbCmd::List { json } => {
            let source = ctx.config.kb_source();
            let files = source
                .files()
                .map_err(|e| anyhow::anyhow!("cannot read the knowledge base {source}: {e}"))?;
            let dir = files.dir.clone();
            let report = load_files(&files);
            if report.has_errors() {
                for p in report.errors() {
                    eprintln!("{p}");
                }
                anyhow::bail!(
                    "the knowledge base in {} is invalid; run `qntcbot kb check`",
                    dir.display()
                );
            }
            let mut entries = report.entries;
            entries.sort_by(|a, b| a.id.cmp(&b.id));
            if *json {
                let listed: Vec<Listed> = entries
                    .iter()
                    .map(|e| Listed {
                        id: &e.id,
                        title: &e.title,
                        topics: &e.topics,
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&listed)?)?;
            } else {
                let width = entries.iter().map(|e| e.id.len()).max().unwrap_or(0);
                for e in &entries {
                    outln!("{:width$}  {}  [{}]", e.id, e.title, e.topics.join(", "))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
