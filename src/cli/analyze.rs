//! `qntcbot analyze [FILE|-] [--json]`

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Context, EXIT_NOTHING, EXIT_USAGE, read_input};

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// The text to diagnose; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
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

pub async fn run(args: &AnalyzeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if !args.record {
        return run_streaming(args, ctx).await;
    }
    let raw = match read_input(args.input.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let engine = ctx.engine().await?;
    let diagnosis = match engine.diagnose_bytes(&raw) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    // Recorded before printing: a reader that closes the pipe early must not cost the case.
    if args.record {
        let text = String::from_utf8_lossy(&raw);
        let r = super::cases::record_cli(
            engine.db(),
            engine.case_settings(),
            &text,
            &diagnosis,
            args.user.as_deref(),
            args.channel.as_deref(),
        )
        .await?;
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
async fn run_streaming(args: &AnalyzeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (reader, size): (Box<dyn std::io::Read>, Option<u64>) = match args.input.as_deref() {
        Some(p) if p.as_os_str() != "-" => match std::fs::File::open(p) {
            Ok(f) => {
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(f), size)
            }
            Err(e) => {
                eprintln!("qntcbot: cannot read {}: {e}", p.display());
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        },
        _ => (Box::new(std::io::stdin().lock()), None),
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
        out!("{}", answer.to_text())?;
        outln!(
            "\n({})",
            if diagnosis.reply {
                "In a watched channel the bot would answer this."
            } else {
                "In a watched channel the bot would stay quiet: not sure enough, or not about QNTC."
            }
        )?;
    }
    Ok(if diagnosis.matches.is_empty() {
        ExitCode::from(EXIT_NOTHING)
    } else {
        ExitCode::SUCCESS
    })
}
