//! An [`Answer`] as Discord embeds, within Discord's size limits.
//!
//! Rendering goes through [`EmbedSpec`], a plain struct, so the limits are unit-tested without
//! serenity. Long answers are split between fields and embeds at line boundaries; a step and
//! its command always stay together, so a command is never cut, and no cut ever leaves a code
//! fence or an inline code span open ([`clip`]).

use std::fmt::Write as _;

use serenity::all::{Colour, CreateEmbed, CreateEmbedFooter};

use crate::conversation::{Answer, Case, CaseStats, Explanation, Finding, Step};

// Discord's documented embed limits.
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELDS_MAX: usize = 25;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FOOTER_MAX: usize = 2048;
/// Sum of title, description, field names and values and footer of all embeds in one message.
pub const MESSAGE_EMBED_CHARS_MAX: usize = 6000;
pub const EMBEDS_PER_MESSAGE_MAX: usize = 10;

const COLOUR_CONFIDENT: u32 = 0x2e7d32;
const COLOUR_TENTATIVE: u32 = 0xf9a825;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedSpec {
    pub title: String,
    pub description: String,
    pub fields: Vec<(String, String)>,
    pub footer: Option<String>,
    pub colour: u32,
}

impl EmbedSpec {
    /// Characters Discord counts against the 6,000 limit.
    pub fn chars(&self) -> usize {
        count(&self.title)
            + count(&self.description)
            + self.fields.iter().map(|(n, v)| count(n) + count(v)).sum::<usize>()
            + self.footer.as_deref().map_or(0, count)
    }

    pub fn to_embed(&self) -> CreateEmbed {
        let mut e = CreateEmbed::new().colour(Colour::new(self.colour));
        if !self.title.is_empty() {
            e = e.title(&self.title);
        }
        if !self.description.is_empty() {
            e = e.description(&self.description);
        }
        for (name, value) in &self.fields {
            e = e.field(name, value, false);
        }
        if let Some(f) = &self.footer {
            e = e.footer(CreateEmbedFooter::new(f));
        }
        e
    }
}

fn count(s: &str) -> usize {
    s.chars().count()
}

const FENCE: &str = "```";
const CLOSE_FENCE: &str = "\n```";

/// Cuts `s` to at most `max` characters, marking the cut with `…`. A cut never leaves a code
/// fence (```` ``` ````) or an inline code span open: an open fence is closed within the limit,
/// and a half inline span is dropped.
pub fn clip(s: &str, max: usize) -> String {
    if count(s) <= max {
        return s.to_string();
    }
    let mut take = max.saturating_sub(1);
    loop {
        let mut out: String = s.chars().take(take).collect();
        // Never end on part of a fence marker.
        while out.ends_with('`') {
            out.pop();
        }
        let fences = out.matches(FENCE).count();
        if fences % 2 == 1 {
            if count(&out) + 1 + count(CLOSE_FENCE) <= max {
                out.push('…');
                out.push_str(CLOSE_FENCE);
                return out;
            }
            if take == 0 {
                return String::new();
            }
            take = take.saturating_sub(count(CLOSE_FENCE));
            continue;
        }
        // Outside fences, an odd number of single backticks means a span was cut open.
        let singles = out.replace(FENCE, "").matches('`').count();
        if singles % 2 == 1
            && let Some(last) = out.rfind('`')
        {
            out.truncate(last);
        }
        out.push('…');
        return out;
    }
}

/// `text` as one code block of at most `max` characters: shortened inside, fence always closed.
pub fn code_block(text: &str, max: usize) -> String {
    // A fence inside the text would end the block early.
    let inner = text.replace(FENCE, "'''");
    let room = max.saturating_sub(count("```\n") + count(CLOSE_FENCE));
    let body: String = if count(&inner) > room {
        let mut b: String = inner.chars().take(room.saturating_sub(1)).collect();
        if room > 0 {
            b.push('…');
        }
        b
    } else {
        inner
    };
    format!("```\n{body}{CLOSE_FENCE}")
}

/// Text that cannot break out of an inline code span.
fn code(cmd: &str) -> String {
    let cmd = cmd.replace('`', "'");
    format!("`{cmd}`")
}

/// Every finding of `answer` as embeds, best first, each within the per-embed limits and with
/// the total of each group from [`messages`] within the per-message limit.
pub fn embeds(answer: &Answer, case_id: Option<i64>) -> Vec<EmbedSpec> {
    let mut out = Vec::new();
    for (i, f) in answer.findings.iter().enumerate() {
        let headline = if i == 0 { Some(answer.headline.as_str()) } else { None };
        out.extend(finding(f, headline, case_id));
    }
    if out.is_empty() {
        out.push(EmbedSpec {
            title: clip(&answer.headline, TITLE_MAX),
            description: answer
                .note
                .as_deref()
                .map(|n| clip(n, DESCRIPTION_MAX))
                .unwrap_or_default(),
            colour: COLOUR_TENTATIVE,
            ..Default::default()
        });
    } else if let (Some(note), Some(last)) = (&answer.note, out.last_mut()) {
        push_field(last, "Note", &clip(note, FIELD_VALUE_MAX));
    }
    out
}

/// Only the first finding, with the others listed by name: the unprompted reply stays short.
pub fn summary(answer: &Answer, case_id: Option<i64>) -> Vec<EmbedSpec> {
    let Some(first) = answer.findings.first() else {
        return embeds(answer, case_id);
    };
    let mut out = finding(first, Some(&answer.headline), case_id);
    let others: Vec<String> = answer.findings[1..]
        .iter()
        .take(5)
        .map(|f| {
            format!(
                "• {} ({:.0}%) `{}`",
                f.title,
                f.confidence * 100.0,
                f.entry_id.replace('`', "'")
            )
        })
        .collect();
    if let Some(last) = out.last_mut() {
        if !others.is_empty() {
            let value = join_within(&others, FIELD_VALUE_MAX);
            push_field(last, "Other possibilities", &value);
        }
        if let Some(note) = &answer.note {
            push_field(last, "Note", &clip(note, FIELD_VALUE_MAX));
        }
    }
    out
}

/// Groups embeds into messages: at most ten per message and 6,000 characters in total.
pub fn messages(embeds: Vec<EmbedSpec>) -> Vec<Vec<EmbedSpec>> {
    let mut out: Vec<Vec<EmbedSpec>> = Vec::new();
    let mut used = 0;
    for e in embeds {
        let n = e.chars();
        match out.last_mut() {
            Some(cur) if cur.len() < EMBEDS_PER_MESSAGE_MAX && used + n <= MESSAGE_EMBED_CHARS_MAX => {
                used += n;
                cur.push(e);
            }
            _ => {
                used = n;
                out.push(vec![e]);
            }
        }
    }
    out
}

/// Adds a field, starting a new embed is the caller's job: this only refuses to overflow.
fn push_field(e: &mut EmbedSpec, name: &str, value: &str) -> bool {
    let name = clip(name, FIELD_NAME_MAX);
    if e.fields.len() >= FIELDS_MAX
        || count(value) > FIELD_VALUE_MAX
        || e.chars() + count(&name) + count(value) > MESSAGE_EMBED_CHARS_MAX
    {
        return false;
    }
    e.fields.push((name, value.to_string()));
    true
}

/// Joins lines with newlines, dropping whole lines that would not fit (with a marker).
fn join_within(lines: &[String], max: usize) -> String {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let extra = if out.is_empty() { count(l) } else { count(l) + 1 };
        if count(&out) + extra > max.saturating_sub(2) {
            if i < lines.len() {
                out.push_str(if out.is_empty() { "…" } else { "\n…" });
            }
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(l);
    }
    out
}

/// One step as display lines: the text, then its command on its own line. A command longer
/// than a field is never cut; it is replaced by a pointer to the KB entry.
fn step_block(n: usize, step: &Step, entry: &str) -> String {
    let (text, command) = (&step.text, step.command.as_deref());
    let mut s = String::new();
    let command = command.map(code);
    let cmd_len = command.as_deref().map_or(0, |c| count(c) + 4);
    let prefix = format!("{n}. ");
    let room = FIELD_VALUE_MAX.saturating_sub(cmd_len + count(&prefix));
    let _ = write!(s, "{prefix}{}", clip(text, room.max(40)));
    match command {
        Some(c) if count(&s) + count(&c) + 4 <= FIELD_VALUE_MAX => {
            let _ = write!(s, "\n   {c}");
        }
        Some(_) => {
            let _ = write!(s, "\n   (command too long to show here; see `qntc lookup {entry}`)");
        }
        None => {}
    }
    // The caution stays in the same block as its command, so a split never separates them.
    if let Some(c) = &step.caution {
        let _ = write!(s, "\n   ⚠️ {}", c.replace('*', "\\*"));
    }
    clip(&s, FIELD_VALUE_MAX)
}

/// Packs blocks into field values of at most 1,024 characters without splitting a block.
fn pack(blocks: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for b in blocks {
        match out.last_mut() {
            Some(cur) if count(cur) + 1 + count(b) <= FIELD_VALUE_MAX => {
                cur.push('\n');
                cur.push_str(b);
            }
            _ => out.push(b.clone()),
        }
    }
    out
}

fn finding(f: &Finding, headline: Option<&str>, case_id: Option<i64>) -> Vec<EmbedSpec> {
    let colour = if f.tentative {
        COLOUR_TENTATIVE
    } else {
        COLOUR_CONFIDENT
    };
    let confidence = format!(
        "{:.0}%{}",
        (f.confidence.clamp(0.0, 1.0)) * 100.0,
        if f.tentative { ", tentative" } else { "" }
    );
    let mut description = String::new();
    if let Some(h) = headline.filter(|h| !h.is_empty()) {
        let _ = writeln!(description, "**{}**\n", h.replace('*', "\\*"));
    }
    let _ = write!(description, "Confidence: {confidence}\n\n{}", f.cause);
    let footer = match case_id {
        Some(id) => format!("KB {} · case #{id}", f.entry_id),
        None => format!("KB {}", f.entry_id),
    };

    // Sections in reading order; each is a list of blocks that must not be split.
    let mut sections: Vec<(&str, Vec<String>)> = Vec::new();
    let steps: Vec<String> = f
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| step_block(i + 1, s, &f.entry_id))
        .collect();
    sections.push(("Fix", steps));
    sections.push((
        "Check",
        f.checks
            .iter()
            .map(|c| clip(&format!("• {c}"), FIELD_VALUE_MAX))
            .collect(),
    ));
    if let Some(c) = &f.confirm {
        sections.push(("Confirm", vec![clip(c, FIELD_VALUE_MAX)]));
    }
    sections.push((
        "If that does not fix it",
        f.next
            .iter()
            .enumerate()
            .map(|(i, (id, title))| clip(&format!("{}. {title} (`{id}`)", i + 1), FIELD_VALUE_MAX))
            .collect(),
    ));
    sections.push((
        "Why it matched",
        f.why.iter().map(|w| clip(&format!("• {w}"), FIELD_VALUE_MAX)).collect(),
    ));
    let refs = f
        .references
        .iter()
        .map(|r| {
            let label = match &r.id {
                Some(id) => format!("{} ({id})", r.title),
                None => r.title.clone(),
            };
            let line = match &r.url {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                    format!("• [{label}]({u})")
                }
                _ => format!("• {label}"),
            };
            clip(&line, FIELD_VALUE_MAX)
        })
        .collect();
    sections.push(("References", refs));

    let new_embed = |title: String| EmbedSpec {
        title,
        description: String::new(),
        fields: Vec::new(),
        footer: Some(clip(&footer, FOOTER_MAX)),
        colour,
    };
    let mut first = new_embed(clip(&f.title, TITLE_MAX));
    first.description = clip(&description, DESCRIPTION_MAX);
    let mut out = vec![first];
    for (name, blocks) in sections {
        for (i, value) in pack(&blocks).into_iter().enumerate() {
            let name = if i == 0 {
                name.to_string()
            } else {
                format!("{name} (continued)")
            };
            let fits = out.last_mut().is_some_and(|e| push_field(e, &name, &value));
            if !fits {
                let mut next = new_embed(clip(&format!("{} (continued)", f.title), TITLE_MAX));
                push_field(&mut next, &name, &value);
                out.push(next);
            }
        }
    }
    out
}

/// Who asked, as shown: display name and id, or whichever is known.
fn asker(c: &Case) -> String {
    match (c.user_name.as_deref(), c.user_id.as_deref()) {
        (Some(n), Some(id)) if n != id => format!("{n} ({id})"),
        (Some(n), _) => n.to_string(),
        (None, Some(id)) => id.to_string(),
        (None, None) => "-".to_string(),
    }
}

/// `/qntc case show`: the case text as a code block that is always closed, and its facts.
pub fn case_embed(c: &Case) -> EmbedSpec {
    const TEXT_MAX: usize = 1500;
    let mut e = EmbedSpec {
        title: clip(&format!("Case #{} ({})", c.id, c.status), TITLE_MAX),
        description: code_block(&c.text, TEXT_MAX),
        colour: COLOUR_TENTATIVE,
        ..Default::default()
    };
    let mut facts: Vec<(&str, String)> = vec![
        ("Asked by", asker(c)),
        ("Opened", c.created_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        ("Answered", if c.replied { "yes" } else { "no" }.to_string()),
    ];
    if !c.matches.is_empty() {
        let offered: Vec<String> = c
            .matches
            .iter()
            .map(|m| format!("{} ({:.0}%)", m.entry_id, m.confidence * 100.0))
            .collect();
        facts.push(("Offered", offered.join(", ")));
    }
    if let Some(r) = &c.fixed_by {
        facts.push(("Resolved with", r.clone()));
    }
    let mut topics: Vec<&str> = Vec::new();
    for t in c.matches.iter().flat_map(|m| &m.topics) {
        if !topics.contains(&t.as_str()) {
            topics.push(t);
        }
    }
    if !topics.is_empty() {
        facts.push(("Topics", topics.join(", ")));
    }
    if c.repeats > 0 {
        facts.push(("Repeats", c.repeats.to_string()));
    }
    if let Some(l) = &c.message_link {
        facts.push(("Message", l.clone()));
    }
    let history: Vec<String> = c
        .events
        .iter()
        .map(|ev| {
            let entry = ev
                .entry
                .as_deref()
                .map(|x| format!(" `{}`", x.replace('`', "'")))
                .unwrap_or_default();
            format!(
                "{} {} → {} by {}{entry}",
                ev.at.format("%m-%d %H:%M"),
                ev.kind,
                ev.status,
                ev.by
            )
        })
        .collect();
    if !history.is_empty() {
        facts.push(("History", join_within(&history, FIELD_VALUE_MAX)));
    }
    for (name, value) in facts {
        push_field(&mut e, name, &clip(&value, FIELD_VALUE_MAX));
    }
    e
}

/// One line per case for `/qntc case list`.
pub fn case_list(cases: &[Case]) -> EmbedSpec {
    let lines: Vec<String> = cases
        .iter()
        .map(|c| {
            let entry = c
                .fixed_by
                .as_deref()
                .or(c.matches.first().map(|m| m.entry_id.as_str()))
                .unwrap_or("-");
            let text: String = c.text.split_whitespace().collect::<Vec<_>>().join(" ");
            // Chat text must not open formatting in a list line.
            let text = text.replace('`', "'");
            format!(
                "#{} [{}] {} · {} · {} · {}",
                c.id,
                c.status,
                c.created_at.format("%Y-%m-%d %H:%M"),
                clip(&asker(c), 40),
                entry,
                clip(&text, 60)
            )
        })
        .collect();
    EmbedSpec {
        title: format!("{} case(s)", cases.len()),
        description: join_within(&lines, DESCRIPTION_MAX),
        colour: COLOUR_TENTATIVE,
        ..Default::default()
    }
}

/// `/qntc stats`: the service's numbers in words.
pub fn stats_embed(s: &CaseStats, days: u32) -> EmbedSpec {
    let count = |k: &str| s.by_status.get(k).copied().unwrap_or(0);
    let mut lines = vec![
        format!("{} case(s), {} repeat report(s)", s.total, s.repeats),
        format!(
            "{} resolved, {} answered, {} open, {} wrong, {} dismissed; {} unanswered",
            count("resolved"),
            count("answered"),
            count("open"),
            count("wrong"),
            count("dismissed"),
            s.unanswered
        ),
    ];
    if let Some(m) = s.median_resolution_secs {
        lines.push(format!("median time to resolution: {:.1} h", m / 3600.0));
    }
    if !s.top_topics.is_empty() {
        let top: Vec<String> = s
            .top_topics
            .iter()
            .take(5)
            .map(|t| format!("{} ({})", t.topic, t.cases))
            .collect();
        lines.push(format!("top problems: {}", top.join(", ")));
    }
    if !s.top_entries.is_empty() {
        let top: Vec<String> = s
            .top_entries
            .iter()
            .take(5)
            .map(|t| format!("`{}` ({})", t.entry_id.replace('`', "'"), t.cases))
            .collect();
        lines.push(format!("most offered: {}", top.join(", ")));
    }
    EmbedSpec {
        title: format!("Cases in the last {days} days"),
        description: join_within(&lines, DESCRIPTION_MAX),
        colour: COLOUR_CONFIDENT,
        ..Default::default()
    }
}

/// `/qntc explain`: the decoding and the leading entries as one message, and the other
/// entries as a list (sent privately by the caller), within one message's limits each.
pub fn explanation(x: &Explanation) -> (Vec<EmbedSpec>, Option<EmbedSpec>) {
    let mut head = EmbedSpec {
        title: clip(&x.headline, TITLE_MAX),
        description: x.note.as_deref().map(|n| clip(n, DESCRIPTION_MAX)).unwrap_or_default(),
        colour: COLOUR_CONFIDENT,
        ..Default::default()
    };
    if !x.more.is_empty() {
        head.footer = Some(format!(
            "{} more entr{} listed for you below.",
            x.more.len(),
            if x.more.len() == 1 { "y" } else { "ies" }
        ));
    }
    let mut public = vec![head];
    let mut used = public[0].chars();
    for f in &x.leads {
        let answer = Answer {
            headline: String::new(),
            findings: vec![f.clone()],
            note: None,
        };
        // Each lead in its shortest form; leads that would not fit the one message are listed
        // with the rest instead.
        let s = summary(&answer, None);
        let n: usize = s.iter().map(EmbedSpec::chars).sum();
        if public.len() + s.len() <= EMBEDS_PER_MESSAGE_MAX && used + n <= MESSAGE_EMBED_CHARS_MAX {
            used += n;
            public.extend(s);
        }
    }
    let shown: Vec<&str> = public.iter().filter_map(|e| e.footer.as_deref()).collect();
    let mut rest: Vec<String> = Vec::new();
    for f in &x.leads {
        if !shown.iter().any(|s| s.starts_with(&format!("KB {}", f.entry_id))) {
            rest.push(format!("• {} — `{}`", f.title, f.entry_id.replace('`', "'")));
        }
    }
    rest.extend(
        x.more
            .iter()
            .map(|m| format!("• {} — `{}`", m.title, m.entry_id.replace('`', "'"))),
    );
    let more = (!rest.is_empty()).then(|| EmbedSpec {
        title: "Also listed for this code".into(),
        description: join_within(&rest, DESCRIPTION_MAX),
        footer: Some("/qntc lookup <id> shows one in full.".into()),
        colour: COLOUR_TENTATIVE,
        ..Default::default()
    });
    (public, more)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::sample_finding as finding;

    fn check_limits(embeds: &[EmbedSpec]) {
        for e in embeds {
            assert!(count(&e.title) <= TITLE_MAX);
            assert!(count(&e.description) <= DESCRIPTION_MAX);
            assert!(e.fields.len() <= FIELDS_MAX);
            for (n, v) in &e.fields {
                assert!(count(n) <= FIELD_NAME_MAX);
                assert!(count(v) <= FIELD_VALUE_MAX, "field {n} has {}", count(v));
                assert!(!v.is_empty());
            }
            assert!(e.chars() <= MESSAGE_EMBED_CHARS_MAX);
        }
        for m in messages(embeds.to_vec()) {
            assert!(m.len() <= EMBEDS_PER_MESSAGE_MAX);
            assert!(m.iter().map(EmbedSpec::chars).sum::<usize>() <= MESSAGE_EMBED_CHARS_MAX);
        }
    }

    #[test]
    fn small_answer_is_one_embed_with_everything() {
        let a = Answer {
            headline: "Logon refused".into(),
            findings: vec![finding(0, 2, 5)],
            note: None,
        };
        let e = embeds(&a, Some(7));
        assert_eq!(e.len(), 1);
        check_limits(&e);
        let all = format!("{:?}", e[0]);
        assert!(all.contains("`CHGNETSVR DOMAIN(STEP1)`"));
        assert!(all.contains("80%"));
        assert!(all.contains("line 3: CPDB053"));
        assert!(all.contains("https://www.ibm.com/support/pages/node/123"));
        assert_eq!(e[0].footer.as_deref(), Some("KB entry-0 · case #7"));
        let steps = &e[0].fields[0].1;
        assert!(steps.starts_with("1. Step 0"), "{steps}");
    }

    #[test]
    fn long_answers_split_without_cutting_commands() {
        let a = Answer {
            headline: "h".repeat(5000),
            findings: (0..4).map(|i| finding(i, 40, 300)).collect(),
            note: Some("n".repeat(3000)),
        };
        let e = embeds(&a, Some(1));
        assert!(e.len() > 4);
        check_limits(&e);
        let text: String = e.iter().flat_map(|e| e.fields.iter().map(|(_, v)| v.clone())).collect();
        for f in 0..4 {
            for i in 0..40 {
                let _ = f;
                assert!(text.contains(&format!("`CHGNETSVR DOMAIN(STEP{i})`")), "step {i} lost");
            }
        }
    }

    #[test]
    fn huge_command_is_replaced_not_cut() {
        let mut f = finding(0, 1, 1);
        f.steps[0].command = Some(format!("CALL {}", "P".repeat(3000)));
        let e = embeds(
            &Answer {
                headline: String::new(),
                findings: vec![f],
                note: None,
            },
            None,
        );
        check_limits(&e);
        let v = &e[0].fields[0].1;
        assert!(!v.contains("PPPP"));
        assert!(v.contains("qntc lookup entry-0"));
    }

    #[test]
    fn backticks_in_commands_cannot_break_formatting() {
        let mut f = finding(0, 1, 1);
        f.steps[0].command = Some("echo `id`".into());
        let e = embeds(
            &Answer {
                headline: String::new(),
                findings: vec![f],
                note: None,
            },
            None,
        );
        assert!(e[0].fields[0].1.contains("`echo 'id'`"));
    }

    #[test]
    fn summary_lists_the_others() {
        let a = Answer {
            headline: "h".into(),
            findings: (0..3).map(|i| finding(i, 1, 1)).collect(),
            note: None,
        };
        let s = summary(&a, None);
        check_limits(&s);
        assert_eq!(s.len(), 1);
        let others = s[0].fields.iter().find(|(n, _)| n == "Other possibilities").unwrap();
        assert!(others.1.contains("Finding 1") && others.1.contains("Finding 2"));
    }

    #[test]
    fn empty_answer_still_renders() {
        let e = embeds(
            &Answer {
                headline: "Nothing found".into(),
                findings: vec![],
                note: Some("try".into()),
            },
            None,
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].title, "Nothing found");
    }

    #[test]
    fn multibyte_text_counts_characters() {
        let mut f = finding(0, 30, 200);
        f.cause = "é".repeat(9000);
        f.title = "ü".repeat(400);
        let e = embeds(
            &Answer {
                headline: "ß".repeat(100),
                findings: vec![f],
                note: None,
            },
            None,
        );
        check_limits(&e);
    }

    #[test]
    fn clip_never_leaves_a_fence_or_code_span_open() {
        let text = format!(
            "Intro\n```\n{}\n```\nafter `WRKLNK '/QNTC'` done",
            "line of log\n".repeat(300)
        );
        for max in [5, 10, 20, 50, 100, 1000, 1024, 3000, 3605, 3610, 4096] {
            let c = clip(&text, max);
            assert!(count(&c) <= max, "{max}: {}", count(&c));
            assert_eq!(c.matches("```").count() % 2, 0, "{max}: {c}");
            assert_eq!(c.replace("```", "").matches('`').count() % 2, 0, "{max}: {c}");
        }
        assert_eq!(clip("short", 10), "short");
    }

    #[test]
    fn code_block_is_always_closed() {
        for text in ["", "x", &"y".repeat(5000), "has ``` inside ``` it"] {
            for max in [8, 20, 1500] {
                let b = code_block(text, max);
                assert!(b.starts_with("```\n") && b.ends_with("\n```"), "{b}");
                assert_eq!(b.matches("```").count(), 2, "{b}");
                assert!(count(&b) <= max.max(8), "{max}: {}", count(&b));
            }
        }
    }
}
