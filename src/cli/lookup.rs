//! `qntcbot lookup QUERY` and `qntcbot explain CODE`

use std::process::ExitCode;

use super::{Context, EXIT_NOTHING, EXIT_USAGE};
use crate::reply::Answer;

#[derive(Debug, clap::Args)]
pub struct LookupArgs {
    /// A KB id, message id (CPDB053), error code (3401, CPE3401, EACCES) or words.
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// How many entries to show at most.
    #[arg(long, default_value_t = 3)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// 3401, CPE3401, EACCES, CPFA0AD ...
    pub code: String,
    #[arg(long)]
    pub json: bool,
}

fn print(answers: &[Answer], json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(answers)?)?;
    } else {
        let texts: Vec<String> = answers.iter().map(Answer::to_text).collect();
        out!("{}", texts.join("\n----------------------------------------\n\n"))?;
    }
    Ok(())
}

pub async fn run(args: &LookupArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let query = args.query.join(" ");
    if query.trim().is_empty() {
        eprintln!("qntcbot: the query is empty");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let engine = ctx.engine().await?;
    let mut answers = engine.lookup(&query, args.limit.max(1)).await;
    if answers.is_empty()
        && let Some(a) = engine.explain_code(&query)
    {
        answers.push(a);
    }
    engine.db().close().await;
    if answers.is_empty() {
        if !args.json {
            eprintln!("Nothing in the knowledge base matches {query:?}.");
        } else {
            outln!("[]")?;
        }
        return Ok(ExitCode::from(EXIT_NOTHING));
    }
    print(&answers, args.json)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn explain(args: &ExplainArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine().await?;
    let answer = engine.explain_code(&args.code);
    engine.db().close().await;
    match answer {
        Some(a) => {
            print(std::slice::from_ref(&a), args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "{:?} is neither an IBM i errno (3401, CPE3401, EACCES) nor a message id (CPFA0AD).",
                args.code
            );
            Ok(ExitCode::from(EXIT_NOTHING))
        }
    }
}
