//! `qntcbot cases list|show|resolve|stats|export|purge`, and recording for `analyze --record`.

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Context, EXIT_NOTHING, EXIT_USAGE};
use crate::cases::{Case, CaseFilter, CaseStats, Status};
use crate::db::Db;

#[derive(Debug, clap::Subcommand)]
pub enum CasesCmd {
    /// List cases, newest first.
    List {
        /// A topic of an offered entry.
        #[arg(long)]
        topic: Option<String>,
        /// A KB entry that was offered or fixed it.
        #[arg(long)]
        entry: Option<String>,
        /// A message id, error code or NT status in the evidence (CPDB053, 3401).
        #[arg(long = "message-id", value_name = "ID")]
        message_id: Option<String>,
        /// Platform user id or display name.
        #[arg(long)]
        user: Option<String>,
        /// Channel id or name.
        #[arg(long)]
        channel: Option<String>,
        /// Current status of the case.
        #[arg(long, value_parser = status_parser())]
        status: Option<Status>,
        /// Opened since an age (30d, 12h, 2w) or a date (2026-01-31).
        #[arg(long, value_parser = parse_when, value_name = "AGE|DATE")]
        since: Option<DateTime<Utc>>,
        /// Opened before an age or a date.
        #[arg(long, value_parser = parse_when, value_name = "AGE|DATE")]
        until: Option<DateTime<Utc>>,
        /// Words that must all occur in the case text; `word*` matches by prefix.
        #[arg(long = "text", visible_alias = "search", value_name = "WORDS")]
        text: Option<String>,
        /// How many cases to list at most.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print a JSON array of cases.
        #[arg(long)]
        json: bool,
    },
    /// Show one case with its offered entries, events and feedback.
    Show {
        id: i64,
        /// Print the case as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Mark a case resolved, optionally naming the KB entry that fixed it.
    Resolve {
        id: i64,
        #[arg(long, value_name = "KBID")]
        entry: Option<String>,
        /// Who resolved it (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// A note kept in the case history.
        #[arg(long)]
        note: Option<String>,
        /// Resolve again a case that is already resolved (recorded as "re-resolved").
        #[arg(long)]
        force: bool,
    },
    /// Cases per topic and week, top problems, helpfulness, time to resolution.
    Stats {
        /// Age (30d, 12h, 2w) or date; everything when omitted.
        #[arg(long, value_parser = parse_when, value_name = "AGE|DATE")]
        since: Option<DateTime<Utc>>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print every case (optionally since an age or date) as CSV or JSON.
    Export {
        /// Output format; times are RFC 3339 UTC in both.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Only cases opened since an age (30d) or a date.
        #[arg(long, value_parser = parse_when, value_name = "AGE|DATE")]
        since: Option<DateTime<Utc>>,
    },
    /// Delete cases opened before an age (180d) or a date; the text is overwritten, not just
    /// unlinked.
    Purge {
        /// Cases opened before this age (180d) or date are deleted.
        #[arg(long = "older-than", value_parser = parse_when, value_name = "AGE|DATE")]
        older_than: DateTime<Utc>,
        /// Only say how many cases would be deleted.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask before deleting every case (the question is only asked on a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected a whole number followed by s, m, h, d or w (e.g. 30d, 12h, 2w)")]
pub struct BadDuration(pub String);

/// Parses `30d`, `12h`, `2w`, `90m`, `45s`.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, BadDuration> {
    let bad = || BadDuration(s.to_string());
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(secs_per)
        .and_then(chrono::Duration::try_seconds)
        .ok_or_else(bad)
}

/// An age before now (`30d`), a date (`2026-01-31`, midnight UTC) or an RFC 3339 time.
pub fn parse_when(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(age) = parse_duration(s) {
        return Utc::now()
            .checked_sub_signed(age)
            .ok_or_else(|| format!("{s:?} reaches too far back"));
    }
    if let Ok(date) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    Err(format!("{}, or a date like 2026-01-31", BadDuration(s.to_string())))
}

/// `--status` with its values listed in `--help` and in the error for a wrong one.
fn status_parser() -> impl clap::builder::TypedValueParser<Value = Status> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Status::ALL.map(Status::as_str)).try_map(|s| s.parse::<Status>())
}

/// Opens the configured database (and, to check `resolve --entry`, the knowledge base) and
/// runs `cmd`.
pub async fn run_ctx(cmd: &CasesCmd, ctx: &Context) -> anyhow::Result<ExitCode> {
    if let CasesCmd::Resolve { entry: Some(_), .. } = cmd {
        let engine = ctx.engine().await?;
        let kb = engine.kb();
        let known = |id: &str| kb.index_of(&id.to_ascii_lowercase()).is_some();
        let out = run(cmd, engine.db(), &known).await;
        engine.db().close().await;
        return out;
    }
    let db = Db::open(&ctx.config.db_path()).await?;
    let out = run(cmd, &db, &|_| false).await;
    db.close().await;
    out
}

/// Runs `cmd`; `known_entry` says whether a KB entry id exists.
pub async fn run(cmd: &CasesCmd, db: &Db, known_entry: &dyn Fn(&str) -> bool) -> anyhow::Result<ExitCode> {
    match cmd {
        CasesCmd::List {
            topic,
            entry,
            message_id,
            user,
            channel,
            status,
            since,
            until,
            text,
            limit,
            json,
        } => {
            let filter = CaseFilter {
                topic: topic.clone(),
                entry: entry.clone(),
                message_id: message_id.clone(),
                user: user.clone(),
                channel: channel.clone(),
                status: *status,
                since: *since,
                until: *until,
                text: text.clone(),
                limit: Some(*limit),
            };
            let cases = db.list_cases(&filter).await?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&cases)?)?;
            } else if cases.is_empty() {
                outln!("no cases")?;
            } else {
                out!("{}", case_table(&cases))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CasesCmd::Show { id, json } => match db.get_case(*id).await? {
            Some(case) if *json => {
                outln!("{}", serde_json::to_string_pretty(&case)?)?;
                Ok(ExitCode::SUCCESS)
            }
            Some(case) => {
                out!("{}", case_detail(&case))?;
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("qntcbot: case {id} does not exist");
                Ok(ExitCode::from(EXIT_NOTHING))
            }
        },
        CasesCmd::Resolve {
            id,
            entry,
            by,
            note,
            force,
        } => {
            let Some(case) = db.get_case(*id).await? else {
                eprintln!("qntcbot: case {id} does not exist");
                return Ok(ExitCode::from(EXIT_NOTHING));
            };
            if let Some(e) = entry
                && !known_entry(e)
                && !case.matches.iter().any(|m| m.entry_id.eq_ignore_ascii_case(e))
            {
                eprintln!(
                    "qntcbot: {e:?} is not a knowledge-base entry (`qntcbot kb list` shows them); case {id} is unchanged"
                );
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            let again = case.status == Status::Resolved;
            if again && !*force {
                eprintln!(
                    "qntcbot: case {id} is already resolved{}; add --force to resolve it again",
                    case.fixed_by
                        .as_deref()
                        .map(|f| format!(" (fixed by {f})"))
                        .unwrap_or_default()
                );
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            let note = match (again, note) {
                (true, Some(n)) => Some(format!("re-resolved: {n}")),
                (true, None) => Some("re-resolved".to_string()),
                (false, n) => n.clone(),
            };
            let by = by
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "cli".to_string());
            let entry = entry.as_deref().map(str::to_ascii_lowercase);
            match db
                .set_case_status(*id, Status::Resolved, &by, entry.as_deref(), note.as_deref())
                .await
            {
                Ok(()) => {
                    outln!(
                        "case {id} {}{}",
                        if again { "re-resolved" } else { "resolved" },
                        entry.as_ref().map(|e| format!(", fixed by {e}")).unwrap_or_default()
                    )?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::cases::CaseError::NotFound(_)) => {
                    eprintln!("qntcbot: case {id} does not exist");
                    Ok(ExitCode::from(EXIT_NOTHING))
                }
                Err(e) => Err(e.into()),
            }
        }
        CasesCmd::Stats { since, json } => {
            let stats = db.case_stats(*since).await?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&stats)?)?;
            } else {
                out!("{}", stats_text(&stats))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CasesCmd::Export { format, since } => {
            let cases = db
                .list_cases(&CaseFilter {
                    since: *since,
                    ..CaseFilter::default()
                })
                .await?;
            let bar = super::progress::items(cases.len() as u64, "exporting");
            match format {
                ExportFormat::Json => outln!("{}", serde_json::to_string_pretty(&cases)?)?,
                ExportFormat::Csv => out!("{}", cases_csv(&cases, bar.as_ref()))?,
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            Ok(ExitCode::SUCCESS)
        }
        CasesCmd::Purge {
            older_than,
            dry_run,
            yes,
        } => {
            let when = older_than.format("%Y-%m-%d %H:%M UTC");
            let count = db.count_purgeable(*older_than).await?;
            if *dry_run {
                outln!(
                    "would purge {} of {} case(s): those opened before {when}",
                    count.cases,
                    count.total
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            if count.cases > 0 && count.cases == count.total && !*yes && !confirm_delete_all(count.total) {
                eprintln!("qntcbot: nothing deleted");
                return Ok(ExitCode::from(EXIT_NOTHING));
            }
            let n = db.purge_cases(*older_than).await?;
            outln!("purged {n} case(s) opened before {when}")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Asks on the terminal before every case is deleted. Scripts (stdin not a terminal) are not
/// asked: cron jobs run purges unattended.
fn confirm_delete_all(total: u64) -> bool {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return true;
    }
    eprint!("This deletes all {total} case(s) in the database. Type \"yes\" to go on: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    answer.trim().eq_ignore_ascii_case("yes")
}

/// Chat text can carry terminal escape sequences; a table cell shows them as spaces.
fn cell(s: &str, max: usize) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let clean = clean.trim();
    if clean.chars().count() <= max {
        clean.to_string()
    } else {
        let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (c, w) in cells.zip(&widths) {
            let pad = w.saturating_sub(c.chars().count());
            let _ = write!(l, "{c}{}  ", " ".repeat(pad));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn case_table(cases: &[Case]) -> String {
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.created_at.format("%Y-%m-%d %H:%M").to_string(),
                c.status.to_string(),
                cell(c.user_name.as_deref().or(c.user_id.as_deref()).unwrap_or("-"), 16),
                cell(c.channel.as_deref().unwrap_or("-"), 16),
                c.best().map_or("-".to_string(), |m| cell(&m.entry_id, 28)),
                c.best()
                    .map_or("-".to_string(), |m| crate::reply::percent(m.confidence)),
                cell(c.text.lines().find(|l| !l.trim().is_empty()).unwrap_or(""), 50),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "OPENED (UTC)",
            "STATUS",
            "USER",
            "CHANNEL",
            "ENTRY",
            "CONF",
            "TEXT",
        ],
        &rows,
    )
}

fn case_detail(c: &Case) -> String {
    let mut out = String::new();
    let opt = |v: &Option<String>| v.as_deref().map(|s| cell(s, 200)).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "Case {}  [{}]{}",
        c.id,
        c.status,
        if c.replied { "  answered by qntcbot" } else { "" }
    );
    let _ = writeln!(out, "Opened     {}", c.created_at.format("%Y-%m-%d %H:%M:%S UTC"));
    let _ = writeln!(
        out,
        "Where      {} / {} / {}",
        c.platform,
        opt(&c.workspace),
        opt(&c.channel)
    );
    if let Some(link) = &c.message_link {
        let _ = writeln!(out, "Message    {}", cell(link, 200));
    }
    let _ = writeln!(out, "Who        {} ({})", opt(&c.user_name), opt(&c.user_id));
    if !c.evidence_key.is_empty() {
        let _ = writeln!(out, "Evidence   {}", c.evidence_key);
    }
    if c.repeats > 0 {
        let _ = writeln!(out, "Repeats    {}", c.repeats);
    }
    if let Some(fix) = &c.fixed_by {
        let _ = writeln!(out, "Fixed by   {fix}");
    }
    if let Some(earlier) = c.follow_up_of {
        let _ = writeln!(out, "Follows up case {earlier}");
    }
    let _ = writeln!(out, "\nOffered:");
    if c.matches.is_empty() {
        let _ = writeln!(out, "  (nothing)");
    } else {
        let rows: Vec<Vec<String>> = c
            .matches
            .iter()
            .enumerate()
            .map(|(i, m)| {
                vec![
                    (i + 1).to_string(),
                    crate::reply::percent(m.confidence),
                    m.entry_id.clone(),
                    cell(&m.title, 80),
                ]
            })
            .collect();
        for line in table(&["#", "CONF", "ENTRY", "TITLE"], &rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
        for (i, m) in c.matches.iter().enumerate().filter(|(_, m)| !m.evidence.is_empty()) {
            let _ = writeln!(out, "  Why #{}:", i + 1);
            for e in m.evidence.iter().filter_map(|e| crate::reply::tidy_why(e)) {
                let _ = writeln!(out, "    - {}", cell(&e, 120));
            }
        }
    }
    let _ = writeln!(out, "\nHistory:");
    for e in &c.events {
        let _ = write!(out, "  {}  {}", e.at.format("%Y-%m-%d %H:%M"), event_words(e));
        if let Some(entry) = &e.entry {
            let _ = write!(out, "  entry {entry}");
        }
        if let Some(note) = &e.note {
            let _ = write!(out, "  \"{}\"", cell(note, 100));
        }
        out.push('\n');
    }
    if !c.feedback.is_empty() {
        let _ = writeln!(out, "\nFeedback:");
        for f in &c.feedback {
            let verdict = if f.helpful { "helpful" } else { "not helpful" };
            let comment = f
                .comment
                .as_deref()
                .map(|s| format!("  \"{}\"", cell(s, 100)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {verdict} ({}){comment}",
                f.at.format("%Y-%m-%d %H:%M"),
                cell(&f.by, 40)
            );
        }
    }
    let _ = writeln!(out, "\nText{}:", if c.text_truncated { " (cut)" } else { "" });
    for line in c.text.lines() {
        let _ = writeln!(out, "  {}", cell(line, 500));
    }
    out
}

/// One history line in words: who did what. The bot's own answer is "answered by qntcbot",
/// never attributed to the person who asked.
fn event_words(e: &crate::cases::CaseEvent) -> String {
    let by = cell(&e.by, 40);
    match (e.kind.as_str(), e.status) {
        ("opened", Status::Answered) => format!("opened by {by}, answered by qntcbot"),
        ("opened", _) => format!("opened by {by}, not answered"),
        ("repeat", Status::Answered) => format!("reported again by {by}, answered by qntcbot"),
        ("repeat", _) => format!("reported again by {by}"),
        (_, status) => format!("{status} by {by}"),
    }
}

fn stats_text(s: &CaseStats) -> String {
    let mut out = String::new();
    let since = s
        .since
        .map(|t| format!(" since {}", t.format("%Y-%m-%d")))
        .unwrap_or_default();
    let _ = writeln!(out, "{} case(s){since}, {} repeat report(s)", s.total, s.repeats);
    let statuses: Vec<String> = s.by_status.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        out,
        "Status: {}",
        if statuses.is_empty() {
            "-".into()
        } else {
            statuses.join(", ")
        }
    );
    let _ = writeln!(out, "Unanswered and still open: {}", s.unanswered);
    let _ = writeln!(out, "Nothing offered: {}", s.unmatched);
    let median = s.median_resolution_secs.map_or("-".to_string(), human_secs);
    let _ = writeln!(out, "Median time to resolution: {median}");
    if !s.top_entries.is_empty() {
        let _ = writeln!(out, "\nTop problems (entry offered first):");
        let rows: Vec<Vec<String>> = s
            .top_entries
            .iter()
            .map(|e| {
                vec![
                    e.cases.to_string(),
                    e.reports.to_string(),
                    e.entry_id.clone(),
                    cell(&e.title, 60),
                ]
            })
            .collect();
        out.push_str(&table(&["CASES", "REPORTS", "ENTRY", "TITLE"], &rows));
    }
    if !s.top_topics.is_empty() {
        let _ = writeln!(out, "\nTop topics:");
        let rows: Vec<Vec<String>> = s
            .top_topics
            .iter()
            .map(|t| vec![t.cases.to_string(), t.topic.clone()])
            .collect();
        out.push_str(&table(&["CASES", "TOPIC"], &rows));
    }
    if !s.per_topic_week.is_empty() {
        let _ = writeln!(out, "\nPer week:");
        let rows: Vec<Vec<String>> = s
            .per_topic_week
            .iter()
            .map(|t| vec![t.week.clone(), t.cases.to_string(), t.topic.clone()])
            .collect();
        out.push_str(&table(&["WEEK", "CASES", "TOPIC"], &rows));
    }
    if !s.helpfulness.is_empty() {
        let _ = writeln!(out, "\nFeedback:");
        let rows: Vec<Vec<String>> = s
            .helpfulness
            .iter()
            .map(|h| {
                vec![
                    format!("{:.0}%", h.rate * 100.0),
                    h.helpful.to_string(),
                    h.unhelpful.to_string(),
                    h.entry_id.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["HELPFUL", "YES", "NO", "ENTRY"], &rows));
    }
    out
}

fn human_secs(secs: f64) -> String {
    match secs {
        s if s < 120.0 => format!("{s:.0}s"),
        s if s < 7200.0 => format!("{:.0}m", s / 60.0),
        s if s < 172_800.0 => format!("{:.1}h", s / 3600.0),
        s => format!("{:.1}d", s / 86_400.0),
    }
}

/// One CSV field (RFC 4180). Text that a spreadsheet would run as a formula gets a leading
/// apostrophe: case text comes from strangers.
fn csv_text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Times in CSV exactly as the JSON export writes them (chrono's serde form: RFC 3339, UTC
/// as `Z`, fractional seconds only when there are any).
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn cases_csv(cases: &[Case], bar: Option<&indicatif::ProgressBar>) -> String {
    let mut out = String::from(
        "id,created_at,status,platform,workspace,channel,user_id,user_name,replied,evidence_key,entry,confidence,topics,fixed_by,resolved_at,repeats,follow_up_of,text\n",
    );
    for c in cases {
        let opt = |v: &Option<String>| csv_text(v.as_deref().unwrap_or(""));
        let fields = [
            c.id.to_string(),
            rfc3339(c.created_at),
            c.status.to_string(),
            csv_text(&c.platform),
            opt(&c.workspace),
            opt(&c.channel),
            opt(&c.user_id),
            opt(&c.user_name),
            c.replied.to_string(),
            csv_text(&c.evidence_key),
            c.best().map(|m| csv_text(&m.entry_id)).unwrap_or_default(),
            c.best().map(|m| format!("{:.3}", m.confidence)).unwrap_or_default(),
            c.best().map(|m| csv_text(&m.topics.join(" "))).unwrap_or_default(),
            opt(&c.fixed_by),
            c.resolved_at.map(rfc3339).unwrap_or_default(),
            c.repeats.to_string(),
            c.follow_up_of.map(|i| i.to_string()).unwrap_or_default(),
            csv_text(&c.text),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
        if let Some(b) = bar {
            b.inc(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(chrono::Duration::days(30)));
        assert_eq!(parse_duration("12h"), Ok(chrono::Duration::hours(12)));
        assert_eq!(parse_duration("2w"), Ok(chrono::Duration::weeks(2)));
        assert_eq!(parse_duration("90m"), Ok(chrono::Duration::minutes(90)));
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-3d",
            "3.5d",
            "99999999999999999999d",
            "9223372036854775807w",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.to_string().contains("e.g. 30d"), "{bad}: {e}");
        }
    }

    #[test]
    fn when_accepts_ages_dates_and_times() {
        let t = parse_when("1d").unwrap();
        let age = Utc::now() - t;
        assert!(age >= chrono::Duration::hours(23) && age <= chrono::Duration::hours(25));
        assert_eq!(
            parse_when("2026-01-31").unwrap().to_rfc3339(),
            "2026-01-31T00:00:00+00:00"
        );
        assert_eq!(
            parse_when("2026-01-31T10:00:00+02:00").unwrap().to_rfc3339(),
            "2026-01-31T08:00:00+00:00"
        );
        assert!(parse_when("yesterday").unwrap_err().contains("2026-01-31"));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_text("plain"), "plain");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }

    #[test]
    fn cells_drop_control_characters_and_truncate() {
        assert_eq!(cell("a\u{1b}[31mb", 20), "a [31mb");
        assert_eq!(cell("abcdef", 4), "abc…");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["ID", "X"],
            &[vec!["1".into(), "long".into()], vec!["22".into(), "y".into()]],
        );
        assert_eq!(t, "ID  X\n1   long\n22  y\n");
    }
}
