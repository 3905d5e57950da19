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
    let raw = match read_input(args.input.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qntcbot: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    // Only recording needs the database; diagnosing alone never opens it.
    let engine = if args.record {
        ctx.engine().await?
    } else {
        ctx.engine_lazy()?
    };
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
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&diagnosis)?)?;
    } else {
        let answer = engine.answer(&diagnosis);
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
    engine.close().await;
    Ok(if diagnosis.matches.is_empty() {
        ExitCode::from(EXIT_NOTHING)
    } else {
        ExitCode::SUCCESS
    })
}
