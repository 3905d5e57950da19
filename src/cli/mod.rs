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
pub mod docs;
pub mod eval;
pub mod kb;
pub mod lookup;
pub mod parse;
pub mod progress;
pub mod slack;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::engine::Engine;

/// `--help` lists these apart from each command's own options.
const GLOBAL: &str = "Global options";

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
    /// SQLite database file, a plain path (created on first use; its directory must exist,
    /// except for the default location).
    #[arg(long, global = true, env = "QNTCBOT_DB", value_name = "PATH", help_heading = GLOBAL)]
    pub db: Option<PathBuf>,
    /// Knowledge-base directory (default: the reviewed KB built into the binary).
    #[arg(long = "kb", global = true, env = "QNTCBOT_KB", value_name = "DIR", help_heading = GLOBAL)]
    pub kb_dir: Option<PathBuf>,
    /// Configuration file (default: ./qntcbot.toml when it exists).
    #[arg(long, global = true, env = "QNTCBOT_CONFIG", value_name = "FILE", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug); coloured only on a terminal, never
    /// with NO_COLOR set.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
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
    /// Score labelled case sets (JSON lines) with the shipped model: top-1, recall, false
    /// replies, calibration.
    Eval(eval::EvalArgs),
    /// Fit the ranking model and relevance gate on the training sets (kb/model/weights.toml).
    Train(eval::TrainArgs),
    /// Check or list the knowledge base.
    Kb {
        #[command(subcommand)]
        cmd: kb::KbCmd,
    },
    /// Run the Discord bot (token from QNTCBOT_DISCORD_TOKEN or DISCORD_TOKEN).
    Discord,
    /// Serve Slack over HTTP (QNTCBOT_SLACK_BOT_TOKEN and QNTCBOT_SLACK_SIGNING_SECRET).
    Slack,
    /// List, show, resolve, report on, export or purge recorded cases.
    Cases {
        #[command(subcommand)]
        cmd: cases::CasesCmd,
    },
    /// Print a shell completion script (e.g. `qntcbot completions bash > /etc/bash_completion.d/qntcbot`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: docs::Shell,
    },
    /// Print the man page (roff), e.g. `qntcbot man > qntcbot.1 && man ./qntcbot.1`.
    Man,
}

/// What every command that needs settings gets.
pub struct Context {
    pub config: Config,
    /// How many -v were given: logs, and for `eval`/`train` the per-case detail.
    pub verbose: u8,
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
    // Only the default location is created; a `--db` into a missing directory is an error.
    let uses_db = !matches!(
        cli.command,
        Command::Parse(_) | Command::Completions { .. } | Command::Man | Command::Eval(_) | Command::Train(_)
    );
    if uses_db
        && config.db.is_none()
        && let Err(e) = crate::db::ensure_default_dir()
    {
        eprintln!("qntcbot: {}", message(&anyhow::Error::new(e)));
        return ExitCode::from(EXIT_ENVIRONMENT);
    }
    let ctx = Context {
        config,
        verbose: cli.verbose,
    };
    let result = match &cli.command {
        Command::Analyze(args) => analyze::run(args, &ctx).await,
        Command::Lookup(args) => lookup::run(args, &ctx).await,
        Command::Explain(args) => lookup::explain(args, &ctx).await,
        Command::Kb { cmd } => kb::run(cmd, &ctx).await,
        Command::Discord => discord::run(&ctx, cli.config.as_deref()).await,
        Command::Slack => slack::run(&ctx, cli.config.as_deref()).await,
        Command::Parse(args) => parse::run(args),
        Command::Eval(args) => eval::eval(args, &ctx).await,
        Command::Train(args) => eval::train(args, &ctx).await,
        Command::Cases { cmd } => cases::run_ctx(cmd, &ctx).await,
        Command::Completions { shell } => docs::completions(*shell),
        Command::Man => docs::man(),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`qntcbot ... | head`): what it wanted, it got.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qntcbot: {}", message(&e));
            ExitCode::from(EXIT_ENVIRONMENT)
        }
    }
}

/// An error and its causes, each said once: error types that print their source in their own
/// message (`cannot open X: <source>`) would otherwise repeat it for every level.
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Colour in logs only on a terminal, and never when `NO_COLOR` is set to anything non-empty
/// (<https://no-color.org>): a log file or journald gets plain text.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
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
        .with_ansi(colour_logs())
        .try_init();
}

/// Reads a file, or stdin for `-` or no path. Never reads more than
/// [`MAX_INPUT_BYTES`](crate::input::MAX_INPUT_BYTES) + 1 bytes: a regular file is refused by
/// its size before reading, a device by its type, a pipe once it passes the limit.
pub fn read_input(path: Option<&std::path::Path>) -> Result<Vec<u8>, String> {
    match path {
        Some(p) if p.as_os_str() != "-" => read_file(p),
        _ => read_stdin(),
    }
}

const LIMIT: u64 = crate::input::MAX_INPUT_BYTES as u64;

fn too_large(what: &str, size: u64) -> String {
    format!("{what} is {size} bytes; the limit is {LIMIT} bytes")
}

/// A file argument: refused before reading when it is a directory, a device or too large.
pub fn read_file(p: &std::path::Path) -> Result<Vec<u8>, String> {
    let (file, size) = open_file(p)?;
    let name = p.display();
    read_bounded(file, size).map_err(|e| match e {
        Bounded::TooLarge => format!("{name} is larger than the limit of {LIMIT} bytes"),
        Bounded::Io(e) => format!("cannot read {name}: {e}"),
    })
}

/// Opens a file argument for reading (its size when it is a regular file), after the same
/// checks as [`read_file`].
pub fn open_file(p: &std::path::Path) -> Result<(std::fs::File, Option<u64>), String> {
    let name = p.display();
    let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {name}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{name} is a directory, not a file"));
    }
    if is_device(&meta) {
        return Err(format!("{name} is a device, not a file"));
    }
    if meta.is_file() && meta.len() > LIMIT {
        return Err(too_large(&name.to_string(), meta.len()));
    }
    let file = std::fs::File::open(p).map_err(|e| format!("cannot read {name}: {e}"))?;
    Ok((file, meta.is_file().then_some(meta.len())))
}

fn read_stdin() -> Result<Vec<u8>, String> {
    let size = check_stdin()?;
    read_bounded(std::io::stdin().lock(), size).map_err(|e| match e {
        Bounded::TooLarge => format!("standard input is larger than the limit of {LIMIT} bytes"),
        Bounded::Io(e) => format!("cannot read standard input: {e}"),
    })
}

/// Refuses a device or an oversized file on standard input, and tells a person at a
/// terminal what to do. Returns the size when standard input is a regular file.
pub fn check_stdin() -> Result<Option<u64>, String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprintln!("qntcbot: paste the text, then Ctrl-D on a line of its own (Ctrl-Z, Enter on Windows)");
        return Ok(None);
    }
    let Some(meta) = stdin_metadata() else {
        return Ok(None);
    };
    if is_device(&meta) {
        return Err("standard input is a device, not text".into());
    }
    if meta.is_file() && meta.len() > LIMIT {
        return Err(too_large("standard input", meta.len()));
    }
    Ok(meta.is_file().then_some(meta.len()))
}

enum Bounded {
    TooLarge,
    Io(std::io::Error),
}

/// Reads at most the limit plus one byte; the caller names the source in the error.
fn read_bounded(r: impl std::io::Read, size_hint: Option<u64>) -> Result<Vec<u8>, Bounded> {
    use std::io::Read;
    let capacity = size_hint.map_or(64 * 1024, |n| n.min(LIMIT) + 1);
    let mut buf = Vec::with_capacity(usize::try_from(capacity).unwrap_or(64 * 1024));
    r.take(LIMIT + 1).read_to_end(&mut buf).map_err(Bounded::Io)?;
    if buf.len() as u64 > LIMIT {
        return Err(Bounded::TooLarge);
    }
    Ok(buf)
}

#[cfg(unix)]
fn is_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    t.is_char_device() || t.is_block_device() || t.is_socket()
}

#[cfg(not(unix))]
fn is_device(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn stdin_metadata() -> Option<std::fs::Metadata> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    std::fs::File::from(fd).metadata().ok()
}

#[cfg(not(unix))]
fn stdin_metadata() -> Option<std::fs::Metadata> {
    None
}

/// The width answers are wrapped to: the terminal's when stdout is one, else `COLUMNS`, else
/// 100 columns.
pub fn width() -> usize {
    use std::io::IsTerminal;
    let tty = std::io::stdout()
        .is_terminal()
        .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .flatten();
    let cols = tty.or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()));
    cols.unwrap_or(100).clamp(40, 200)
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
