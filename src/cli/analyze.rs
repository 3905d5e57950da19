//! `qntcbot analyze [TEXT|FILE|-] [--json]`

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::conversation::{Conversation, Origin, Settings};

use super::{Context, EXIT_NOTHING, EXIT_USAGE, read_input};

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// What to diagnose: a sentence ("CPDB053 error code 3401 after the upgrade"), a file
    /// (an existing path is read as a file), or `-` / nothing to read standard input.
    #[arg(value_name = "TEXT|FILE|-", num_args = 0..)]
    pub input: Vec<String>,
    /// Print `{"reply": bool, "matches": [...]}` instead of readable text.
    #[arg(long)]
    pub json: bool,
    /// Also record the diagnosis as a case (platform "cli").
    #[arg(long)]
    pub record: bool,
    /// With --record: who asked.
    #[arg(long, requires = "record")]
    pub user: Option<String>,
    /// With --record: where it was asked.
    #[arg(long, requires = "record")]
    pub channel: Option<String>,
}

/// What the arguments mean: text typed on the command line, a file, or standard input.
#[derive(Debug, PartialEq, Eq)]
pub enum Source<'a> {
    Text(String),
    File(&'a Path),
    Stdin,
}

/// One argument that names an existing path is a file; `-` or nothing is stdin; anything
/// else is the text itself. A lone word that looks like a file name (`joblog.txt`,
/// `logs/x`) but does not exist is an error rather than a one-word diagnosis.
pub fn source(args: &[String]) -> Result<Source<'_>, String> {
    match args {
        [] => Ok(Source::Stdin),
        [one] if one == "-" => Ok(Source::Stdin),
        [one] if Path::new(one).exists() => Ok(Source::File(Path::new(one))),
        [one] if looks_like_path(one) => Err(format!(
            "cannot read {one}: no such file (to diagnose these words as text, add a second word)"
        )),
        words => Ok(Source::Text(words.join(" "))),
    }
}

fn looks_like_path(s: &str) -> bool {
    if s.chars().any(char::is_whitespace) {
        return false;
    }
    let ext = Path::new(s).extension().and_then(|e| e.to_str());
    s.contains('/')
        || s.contains('\\')
        || ext.is_some_and(|e| {
            ["txt", "log", "joblog", "out", "csv", "text", "lst", "spl"].contains(&e.to_ascii_lowercase().as_str())
        })
}

pub async fn run(args: &AnalyzeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let source = match source(&args.input) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if !args.record {
        return run_streaming(source, args, ctx).await;
    }
    let raw = match match source {
        Source::Text(t) => Ok(t.into_bytes()),
        Source::File(p) => read_input(Some(p)),
        Source::Stdin => read_input(None),
    } {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    // Decoded once here (UTF-16/32, EBCDIC, chat formatting): the diagnosis, the recorded
    // case and the redaction all see the same text.
    let text = match crate::input::normalize(&raw) {
        Ok(n) => n.text,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    drop(raw);
    let engine = Arc::new(ctx.engine().await?);
    let diagnosis = match engine.diagnose_bytes(text.as_bytes()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    // Recorded before printing: a reader that closes the pipe early must not cost the case.
    if args.record {
        // The same path as a chat message's case, with the command line as the platform.
        let conv = Conversation::new(engine.clone(), Settings::new("cli"));
        let user = args.user.clone().unwrap_or_default();
        let origin = Origin {
            channel: args.channel.clone().unwrap_or_default(),
            user_name: user.clone(),
            user_id: user,
            ..Origin::default()
        };
        let r = conv
            .record(&origin, &text, &diagnosis, diagnosis.reply)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!(
            "qntcbot: recorded case {}{}",
            r.id,
            if r.folded { " (repeat)" } else { "" }
        );
    }
    let code = print(args, &engine, &diagnosis);
    engine.close().await;
    code
}

/// Without `--record` nothing needs the whole input at once: it is streamed (a large file is
/// skimmed in chunks, see `qntcbot::skim`) and the database is never opened.
async fn run_streaming(source: Source<'_>, args: &AnalyzeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let opened: Result<(Box<dyn std::io::Read>, Option<u64>), String> = match source {
        Source::Text(t) => {
            let size = t.len() as u64;
            Ok((Box::new(std::io::Cursor::new(t.into_bytes())), Some(size)))
        }
        Source::File(p) => super::open_file(p).map(|(f, size)| (Box::new(f) as Box<dyn std::io::Read>, size)),
        Source::Stdin => {
            super::check_stdin().map(|size| (Box::new(std::io::stdin().lock()) as Box<dyn std::io::Read>, size))
        }
    };
    let (reader, size) = match opened {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let engine = ctx.engine_lazy()?;
    let bar = super::progress::bytes(size.unwrap_or(0), "analysing");
    let result = engine.diagnose_reader(reader, size, |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let diagnosis = match result {
        Ok(d) => d,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    print(args, &engine, &diagnosis)
}

fn print(
    args: &AnalyzeArgs,
    engine: &crate::engine::Engine,
    diagnosis: &crate::diagnose::Diagnosis,
) -> anyhow::Result<ExitCode> {
    if args.json {
        outln!("{}", serde_json::to_string_pretty(diagnosis)?)?;
    } else {
        let answer = engine.answer(diagnosis);
        out!("{}", answer.to_text_width(super::width()))?;
        let line = format!("({})", decision(diagnosis, diagnosis.threshold));
        outln!("\n{}", crate::reply::wrap(&line, super::width(), "", "").trim_end())?;
    }
    // 0 means "the bot would answer this", so scripts can tell a diagnosis from a guess.
    Ok(if diagnosis.reply {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOTHING)
    })
}

/// The watched-channel decision in words that agree with the percentage shown above it.
fn decision(d: &crate::diagnose::Diagnosis, threshold: f64) -> String {
    if d.reply {
        return "In a watched channel the bot would answer this.".into();
    }
    match d.best() {
        None => "In a watched channel the bot would stay quiet: nothing in the knowledge base fits.".into(),
        Some(b) if b.confidence < threshold => format!(
            "In a watched channel the bot would stay quiet: {} is under the {} needed to answer.",
            crate::reply::percent(b.confidence),
            crate::reply::percent(threshold)
        ),
        Some(_) => "In a watched channel the bot would stay quiet: this does not look like a QNTC problem.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_are_text_file_or_stdin() {
        assert_eq!(source(&[]), Ok(Source::Stdin));
        assert_eq!(source(&s(&["-"])), Ok(Source::Stdin));
        assert_eq!(source(&s(&["Cargo.toml"])), Ok(Source::File(Path::new("Cargo.toml"))));
        assert_eq!(
            source(&s(&["CPDB053 error code 3401"])),
            Ok(Source::Text("CPDB053 error code 3401".into()))
        );
        assert_eq!(
            source(&s(&["CPDB053", "3401"])),
            Ok(Source::Text("CPDB053 3401".into()))
        );
        assert_eq!(source(&s(&["CPDB053"])), Ok(Source::Text("CPDB053".into())));
        assert!(
            source(&s(&["missing-joblog.txt"]))
                .unwrap_err()
                .contains("no such file")
        );
        assert!(source(&s(&["logs/x"])).is_err());
    }
}
