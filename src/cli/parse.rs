//! `qntcbot parse [FILE|-] [--json]`: shows what the job-log parser made of a paste, for
//! checking a sample or debugging a diagnosis.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_NOTHING, EXIT_USAGE, read_input};
use crate::joblog::{self, ParsedLog};

#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// The text to parse; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    /// Print the parse as JSON instead of a listing.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ParseArgs) -> anyhow::Result<ExitCode> {
    let raw = match read_input(args.input.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let text = match crate::input::normalize(&raw) {
        Ok(n) => n.text,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let spinner = super::progress::spinner(raw.len() as u64, "parsing");
    drop(raw);
    let parsed = joblog::parse(&text);
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&parsed)?)?;
    } else {
        out!("{}", listing(&parsed))?;
    }
    Ok(if parsed.messages.is_empty() && parsed.requests.is_empty() {
        ExitCode::from(EXIT_NOTHING)
    } else {
        ExitCode::SUCCESS
    })
}

/// One readable block per message, then requests and jobs.
pub fn listing(p: &ParsedLog) -> String {
    let mut s = String::new();
    let form = serde_json::to_value(p.form)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "form: {form}, {} message(s), {} request(s)",
        p.messages.len(),
        p.requests.len()
    );
    for j in &p.jobs {
        let f = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
        let _ = writeln!(
            s,
            "job {}/{}/{} ({}, {})",
            f(&j.number),
            f(&j.user),
            f(&j.job_name),
            j.job_type.as_deref().unwrap_or("type unknown"),
            j.release.as_deref().unwrap_or("release unknown")
        );
    }
    for m in &p.messages {
        let id = match (&m.id, m.id_source) {
            (Some(id), Some(joblog::IdSource::RecognisedByText)) => format!("{id} (by text)"),
            (Some(id), _) => id.clone(),
            (None, _) => "-------".into(),
        };
        let sev = m.severity.map_or_else(|| "--".into(), |v| format!("{v:02}"));
        let _ = writeln!(
            s,
            "\nlines {}-{}  {id}  {}  sev {sev}",
            m.lines.0,
            m.lines.1,
            m.msg_type.as_deref().unwrap_or("-")
        );
        let _ = writeln!(s, "  {}", m.text);
        if m.error_class.is_some() || m.error_code.is_some() {
            let _ = writeln!(
                s,
                "  error class {}, code {}",
                m.error_class.as_deref().unwrap_or("?"),
                m.error_code.as_deref().unwrap_or("?")
            );
        }
        for path in &m.paths {
            let _ = writeln!(s, "  path {path}");
        }
    }
    if !p.requests.is_empty() {
        let _ = writeln!(s);
    }
    for r in &p.requests {
        let _ = writeln!(s, "line {}  request {}: {}", r.line, r.command, r.text);
    }
    s
}
