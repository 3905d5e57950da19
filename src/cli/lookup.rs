//! `qntcbot lookup QUERY` and `qntcbot explain CODE`
//!
//! Both exit 0 when they show something (an entry, or the decoding of a code) and 1 when
//! nothing fits, so scripts treat them alike.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::{Context, EXIT_NOTHING, EXIT_USAGE};
use crate::engine::Engine;
use crate::reply::{Answer, Finding};

#[derive(Debug, clap::Args)]
pub struct LookupArgs {
    /// A KB id, message id (CPDB053), error code (3401, CPE3401, EACCES) or words.
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// How many entries to show in full at most (for an error code: in brief, the rest as
    /// one line each).
    #[arg(long, default_value_t = 3)]
    pub limit: usize,
    /// Print the answers as a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// 3401, CPE3401, EACCES, CPFA0AD ...
    pub code: String,
    /// How many of the entries the code points to are shown in brief; the rest get one line.
    #[arg(long, default_value_t = 3)]
    pub limit: usize,
    /// Print the answer as a JSON object.
    #[arg(long)]
    pub json: bool,
}

fn print(answers: &[Answer], json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(answers)?)?;
    } else {
        let width = super::width();
        let texts: Vec<String> = answers.iter().map(|a| a.to_text_width(width)).collect();
        out!("{}", texts.join("\n----------------------------------------\n\n"))?;
    }
    Ok(())
}

/// Is `query` an error code or message id that [`Engine::explain_code`] decodes?
fn is_code(query: &str) -> bool {
    let upper = query.trim().to_ascii_uppercase();
    crate::errno::lookup(query.trim()).is_some() || crate::kb::is_message_id(&upper) || upper == "5"
}

pub async fn run(args: &LookupArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let query = args.query.join(" ");
    if query.trim().is_empty() {
        eprintln!("qntcbot: the query is empty");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let limit = args.limit.max(1);
    let engine = ctx.engine().await?;
    let mut answers = engine.lookup(&query, limit).await;
    // An error code comes back as its decoding with every entry that lists it: rank them and
    // show `limit` in brief, like `explain`.
    let decoded = answers.len() == 1 && is_code(&query) && answers[0].headline.contains(" = ");
    if decoded {
        let a = rank_code_answer(&engine, &query, answers.remove(0));
        engine.db().close().await;
        return show_code(&a, limit, false, args.json);
    }
    if answers.is_empty()
        && let Some(a) = engine.explain_code(&query)
    {
        let a = rank_code_answer(&engine, &query, a);
        engine.db().close().await;
        return show_code(&a, limit, false, args.json);
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
    answers.truncate(limit);
    print(&answers, args.json)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn explain(args: &ExplainArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine().await?;
    let answer = engine
        .explain_code(&args.code)
        .map(|a| rank_code_answer(&engine, &args.code, a));
    engine.db().close().await;
    match answer {
        Some(a) => show_code(&a, args.limit.max(1), true, args.json),
        None => {
            eprintln!(
                "{:?} is neither an IBM i errno (3401, CPE3401, EACCES) nor a message id (CPFA0AD).",
                args.code
            );
            Ok(ExitCode::from(EXIT_NOTHING))
        }
    }
}

/// Orders the entries a code points to, best first: the entry the diagnosis ranks first for a
/// message carrying the code (when it stands out from the rest), then entries for the message
/// ids the code's QNTC note names (3401 -> CPDB053), triage checklists before single causes,
/// then the most specific (fewest codes and ids listed). Ties are not broken by name alone.
fn rank_code_answer(engine: &Engine, query: &str, mut answer: Answer) -> Answer {
    let q = query.trim();
    let errno = crate::errno::lookup(q);
    let probe = match errno {
        Some(e) => format!("error code {} {}", e.number, e.message_id()),
        None => q.to_ascii_uppercase(),
    };
    let d = engine.diagnose(&probe);
    let standout = match d.matches.as_slice() {
        [first, second, ..] if first.confidence > second.confidence + 0.05 => Some(first),
        [first] => Some(first),
        _ => None,
    };
    let note = answer.note.clone().unwrap_or_default().to_ascii_uppercase();
    let kb = engine.kb();
    let key = |f: &Finding| {
        let e = kb.index_of(&f.entry_id).map(|i| &kb.entries[i]);
        (
            standout.is_none_or(|m| m.id != f.entry_id),
            !e.is_some_and(|e| e.message_ids.iter().any(|id| note.contains(id.as_str()))),
            !e.is_some_and(|e| e.triage),
            e.map_or(usize::MAX, |e| e.error_codes.len() + e.message_ids.len()),
        )
    };
    answer
        .findings
        .sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.entry_id.cmp(&b.entry_id)));
    answer
}

/// The decoding, then the first `limit` entries in brief (cause, first step), then (for
/// `explain`, `all`) one line for each of the rest: a screen, not 350 lines. `lookup` shows
/// `limit` entries and only counts the rest.
fn show_code(a: &Answer, limit: usize, all: bool, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let mut shown = a.clone();
        if !all {
            shown.findings.truncate(limit);
        }
        outln!("{}", serde_json::to_string_pretty(&[shown])?)?;
    } else {
        out!("{}", code_text(a, limit, all, super::width()))?;
    }
    // A decoded code is an answer even when no entry lists it; an unknown message id is not.
    let decoded = a.headline.contains(" = ");
    Ok(if decoded || !a.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOTHING)
    })
}

pub fn code_text(a: &Answer, limit: usize, all: bool, width: usize) -> String {
    let wrap = |text: &str, first: &str, rest: &str| {
        let opts = textwrap::Options::new(width.max(40))
            .initial_indent(first)
            .subsequent_indent(rest)
            .break_words(false)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        textwrap::wrap(text.trim(), opts).join("\n")
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", wrap(&a.headline, "", "  "));
    if let Some(n) = &a.note {
        for line in n.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(out, "{}", wrap(line, "  ", "  "));
        }
    }
    if a.findings.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nWhat it points to, most likely first:");
    for (i, f) in a.findings.iter().take(limit).enumerate() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            wrap(&format!("{}. {} [{}]", i + 1, f.title, f.entry_id), "", "   ")
        );
        let _ = writeln!(out, "{}", wrap(&first_sentence(&f.cause), "   ", "   "));
        if let Some(s) = f.steps.first() {
            let _ = writeln!(out, "{}", wrap(&format!("First step: {}", s.text), "   ", "   "));
            if let Some(c) = &s.command {
                let _ = writeln!(out, "       {}", c.lines().next().unwrap_or(""));
            }
        }
    }
    let rest: Vec<&Finding> = a.findings.iter().skip(limit).collect();
    if !rest.is_empty() && !all {
        let _ = writeln!(
            out,
            "\n{} more entr{} list it (qntcbot explain shows them all).",
            rest.len(),
            if rest.len() == 1 { "y" } else { "ies" }
        );
    } else if !rest.is_empty() {
        let _ = writeln!(out, "\nAlso related:");
        for f in rest {
            let _ = writeln!(
                out,
                "{}",
                wrap(&format!("- {} [{}]", f.title, f.entry_id), "  ", "    ")
            );
        }
    }
    let _ = writeln!(out, "\nThe full entry with every step: qntcbot lookup ENTRY-ID");
    out
}

/// The first sentence of a cause (KB causes are hard-wrapped paragraphs).
fn first_sentence(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.find(". ") {
        Some(i) => joined[..=i].to_string(),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentence_joins_wrapped_lines() {
        assert_eq!(
            first_sentence("The server\nrefused it. Then more."),
            "The server refused it."
        );
        assert_eq!(first_sentence("No full stop"), "No full stop");
    }
}
