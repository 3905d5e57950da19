//! The `qntcbot` command line. Each subcommand lives in its own file; this one parses the
//! global options and dispatches.
//!
//! Exit codes: 0 success (and, for analyze/lookup, something was found); 1 nothing found;
//! 2 usage or input error (bad flags, unreadable/empty/binary input); 3 the knowledge base or
//! the database could not be used.

/// `print!` that reports a closed stdout as an error instead of panicking.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::emit(&format!($($t)*)) };
}

/// `println!` that reports a closed stdout as an error instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::emit(&format!("{}\n", format_args!($($t)*))) };
}

pub mod analyze;
pub mod cases;
pub mod discord;
pub mod kb;
pub mod lookup;
pub mod parse;
pub mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::engine::Engine;

pub const EXIT_NOTHING: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_ENVIRONMENT: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "qntcbot",
    version = env!("QNTCBOT_VERSION"),
    about = "Diagnoses IBM i QNTC problems from chat text and job logs"
)]
pub struct Cli {
    /// SQLite database file (created on first use).
    #[arg(long, global = true, env = "QNTCBOT_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Knowledge-base directory (default: the reviewed KB built into the binary).
    #[arg(long = "kb", global = true, env = "QNTCBOT_KB", value_name = "DIR")]
    pub kb_dir: Option<PathBuf>,
    /// Configuration file (default: ./qntcbot.toml when it exists).
    #[arg(long, global = true, env = "QNTCBOT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose a chat message or job log (file, or - / nothing for stdin).
    Analyze(analyze::AnalyzeArgs),
    /// Look up a KB entry by id, message id, error code or words.
    Lookup(lookup::LookupArgs),
    /// Explain an IBM i error code or message id (3401, CPE3401, EACCES, CPFA0AD).
    Explain(lookup::ExplainArgs),
    /// Show the messages, requests and job the job-log parser finds (file, - or stdin).
    Parse(parse::ParseArgs),
    /// Check or list the knowledge base.
    Kb {
        #[command(subcommand)]
        cmd: kb::KbCmd,
    },
    /// Run the Discord bot (token from QNTCBOT_DISCORD_TOKEN or DISCORD_TOKEN).
    Discord,
    /// List, show, resolve, report on, export or purge recorded cases.
    Cases {
        #[command(subcommand)]
        cmd: cases::CasesCmd,
    },
}

/// What every command that needs settings gets.
pub struct Context {
    pub config: Config,
}

impl Context {
    /// The engine with its database open (migrated, holding the KB, learned priors loaded).
    pub async fn engine(&self) -> anyhow::Result<Engine> {
        let engine = self.engine_lazy()?;
        engine.database().await?;
        Ok(engine)
    }

    /// The engine without touching the database until something needs it: diagnosing does
    /// not, so a plain `analyze` starts in milliseconds and never creates the file.
    pub fn engine_lazy(&self) -> anyhow::Result<Engine> {
        Ok(
            Engine::open_lazy(&self.config.db_path(), self.config.kb_source(), self.config.diagnose)?
                .with_case_settings(self.config.cases.settings()),
        )
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("qntcbot: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if cli.db.is_some() {
        config.db = cli.db.clone();
    }
    if cli.kb_dir.is_some() {
        config.kb_dir = cli.kb_dir.clone();
    }
    init_tracing(&config, cli.verbose);
    let ctx = Context { config };
    let result = match &cli.command {
        Command::Analyze(args) => analyze::run(args, &ctx).await,
        Command::Lookup(args) => lookup::run(args, &ctx).await,
        Command::Explain(args) => lookup::explain(args, &ctx).await,
        Command::Kb { cmd } => kb::run(cmd, &ctx).await,
        Command::Discord => discord::run(&ctx, cli.config.as_deref()).await,
        Command::Parse(args) => parse::run(args),
        Command::Cases { cmd } => cases::run_ctx(cmd, &ctx).await,
    };
    match result {
        Ok(code) => code,
        // The reader went away (`qntcbot ... | head`): what it wanted, it got.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qntcbot: {e:#}");
            ExitCode::from(EXIT_ENVIRONMENT)
        }
    }
}

fn init_tracing(config: &Config, verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => config.log.clone().unwrap_or_else(|| "warn".into()),
        1 => "info".into(),
        _ => "debug".into(),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Reads a file, or stdin for `-` or no path.
pub fn read_input(path: Option<&std::path::Path>) -> Result<Vec<u8>, String> {
    use std::io::Read;
    match path {
        Some(p) if p.as_os_str() != "-" => std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display())),
        _ => {
            let mut buf = Vec::new();
            // Read one byte past the limit so oversized input is reported, not truncated.
            std::io::stdin()
                .take(crate::input::MAX_INPUT_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(buf)
        }
    }
}

/// Writes to stdout; fails (instead of panicking like `print!`) when stdout is closed.
pub fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
