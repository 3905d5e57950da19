//! Answers as Slack Block Kit, within Slack's limits, and Slack's text escaping both ways.
//!
//! Limits kept (Slack's documented ones): 50 blocks per message, 3,000 characters of text per
//! section, 150 per header, 75 per button label, 2,000 per button value. Text is built from
//! units that are never split (a step with its command, a quoted line, one code block), so a
//! code fence is never cut: a unit too long for a section loses its command (replaced by a
//! pointer to `/qntc lookup`) or is cut as prose, outside any fence.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::reply::{Answer, Finding};

pub const MAX_BLOCKS: usize = 50;
pub const SECTION_MAX: usize = 3000;
pub const HEADER_MAX: usize = 150;
pub const BUTTON_LABEL_MAX: usize = 75;
pub const BUTTON_VALUE_MAX: usize = 2000;
pub const CONTEXT_MAX: usize = 2000;
/// The notification text that goes with blocks.
pub const FALLBACK_MAX: usize = 3000;

fn count(s: &str) -> usize {
    s.chars().count()
}

/// Cuts prose to `max` characters, marking the cut. Never used on text with code fences.
pub fn clip(s: &str, max: usize) -> String {
    if count(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text for Slack: `&`, `<` and `>` escaped (so nothing in it becomes a mention, a link or a
/// broadcast), and `@channel` / `@here` / `@everyone` broken by a zero-width space so they are
/// not echoed as broadcasts either.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    defuse_broadcasts(&out)
}

/// Breaks `@channel`, `@here` and `@everyone` (any case) with a zero-width space after `@`.
pub fn defuse_broadcasts(s: &str) -> String {
    const WORDS: [&[u8]; 3] = [b"channel", b"here", b"everyone"];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let head = rest.as_bytes();
        if WORDS
            .iter()
            .any(|w| head.len() >= w.len() && head[..w.len()].eq_ignore_ascii_case(w))
        {
            out.push('\u{200B}');
        }
    }
    out.push_str(rest);
    out
}

/// Message text as Slack sends it -> the plain text a person typed: Slack's markup
/// (`<@U1>`, `<!here>`, `<https://x|label>`) reduced to what it shows, then `&lt;`, `&gt;`
/// and `&amp;` undone, in one pass so `&amp;lt;` stays `&lt;`.
pub fn plain_text(slack: &str) -> String {
    let mut out = String::with_capacity(slack.len());
    let mut rest = slack;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('>') {
            Some(close) => {
                out.push_str(&markup_text(&after[..close]));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    unescape(&out)
}

/// What one `<...>` markup shows.
fn markup_text(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l).filter(|l| !l.is_empty())),
        None => (inner, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        return format!("@{}", label.unwrap_or(user));
    }
    if let Some(channel) = target.strip_prefix('#') {
        return format!("#{}", label.unwrap_or(channel));
    }
    if target.starts_with('!') {
        // Broadcasts and dates say nothing about the problem.
        return String::new();
    }
    label
        .unwrap_or_else(|| target.strip_prefix("mailto:").unwrap_or(target))
        .to_string()
}

/// Undoes Slack's three entities in one pass.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let (c, n) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(c);
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// A code block whose content cannot close it early.
fn fence(code: &str) -> String {
    format!("```{}```", escape(&code.replace("```", "'''")))
}

/// Inline code that cannot break out of its backticks.
fn inline_code(code: &str) -> String {
    format!("`{}`", escape(&code.replace('`', "'")))
}

pub fn header(text: &str) -> Value {
    let t = clip(&defuse_broadcasts(text.trim()), HEADER_MAX);
    json!({"type": "header", "text": {"type": "plain_text", "text": if t.is_empty() { "qntcbot".to_string() } else { t }, "emoji": false}})
}

/// A section of mrkdwn; `text` must already be escaped and within [`SECTION_MAX`].
pub fn section(mrkdwn: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}})
}

pub fn context(mrkdwn: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(mrkdwn, CONTEXT_MAX)}]})
}

pub fn divider() -> Value {
    json!({"type": "divider"})
}

/// One button under an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    /// Unique within the message: Slack rejects two elements with the same `action_id`.
    pub action_id: String,
    /// The action token carried back on a press.
    pub value: String,
    pub style: Option<&'static str>,
}

/// An actions block; buttons whose value would not fit are left out rather than cut (a cut
/// token could never be read back).
pub fn actions(buttons: &[Button]) -> Option<Value> {
    let elements: Vec<Value> = buttons
        .iter()
        .filter(|b| count(&b.value) <= BUTTON_VALUE_MAX && !b.value.is_empty())
        .map(|b| {
            let mut e = json!({
                "type": "button",
                "text": {"type": "plain_text", "text": clip(&b.label, BUTTON_LABEL_MAX), "emoji": false},
                "action_id": b.action_id,
                "value": b.value,
            });
            if let Some(s) = b.style {
                e["style"] = json!(s);
            }
            e
        })
        .collect();
    (!elements.is_empty()).then(|| json!({"type": "actions", "block_id": "qntc_actions", "elements": elements}))
}

/// Packs units (already escaped, each never split) into section texts of at most
/// [`SECTION_MAX`] characters, the first one starting with `title`.
fn pack(title: &str, units: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = title.to_string();
    for u in units {
        let u = if count(u) + count(title) + 1 > SECTION_MAX {
            // Only prose reaches here (see `step_unit`); cut it as prose.
            clip(u, SECTION_MAX - count(title) - 1)
        } else {
            u.clone()
        };
        if !cur.is_empty() && count(&cur) + 1 + count(&u) > SECTION_MAX {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(&u);
    }
    if !cur.is_empty() && cur != title {
        out.push(cur);
    }
    out
}

/// A numbered step with its command as a code block and its caution. A command that cannot
/// fit a section whole is never cut: the step points to the full entry instead.
fn step_unit(n: usize, text: &str, command: Option<&str>, caution: Option<&str>, entry: &str) -> String {
    let budget = SECTION_MAX - 40;
    let mut unit = format!("{n}. {}", escape(text));
    if let Some(c) = caution.filter(|c| !c.trim().is_empty()) {
        let _ = write!(unit, "\n:warning: {}", escape(c));
    }
    if count(&unit) > budget / 2 {
        unit = clip(&unit, budget / 2);
    }
    if let Some(cmd) = command {
        let code = fence(cmd);
        if count(&unit) + 1 + count(&code) <= budget {
            unit.push('\n');
            unit.push_str(&code);
        } else {
            let _ = write!(
                unit,
                "\n(the command is too long to show here: run {})",
                inline_code(&format!("/qntc lookup {entry}"))
            );
        }
    }
    unit
}

/// Blocks for one finding: title, confidence and cause, steps, checks, how to confirm, why it
/// matched (quoted), references.
pub fn finding_blocks(f: &Finding, headline: Option<&str>) -> Vec<Value> {
    let mut blocks = vec![header(&f.title)];
    let mut intro = String::new();
    if let Some(h) = headline.filter(|h| !h.trim().is_empty()) {
        let _ = writeln!(intro, "*{}*", escape(h).replace('*', "\u{2217}"));
    }
    let _ = write!(
        intro,
        "*Confidence:* {:.0}%{}",
        f.confidence.clamp(0.0, 1.0) * 100.0,
        if f.tentative {
            " (not certain: treat the steps as things to check)"
        } else {
            ""
        }
    );
    if let Some(r) = &f.releases {
        let _ = write!(intro, "\n*Releases:* {}", escape(r));
    }
    let _ = write!(intro, "\n*Cause:* {}", escape(&f.cause));
    blocks.extend(pack("", &[intro]).into_iter().map(|t| section(&t)));

    let steps: Vec<String> = f
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| step_unit(i + 1, &s.text, s.command.as_deref(), s.caution.as_deref(), &f.entry_id))
        .collect();
    let sections: [(&str, Vec<String>); 6] = [
        ("*What to do*", steps),
        (
            "*Questions that tell the causes apart*",
            f.checks.iter().map(|c| format!("• {}", escape(c))).collect(),
        ),
        ("*How to confirm*", f.confirm.iter().map(|c| escape(c)).collect()),
        (
            "*If that does not fix it, check next*",
            f.next
                .iter()
                .enumerate()
                .map(|(i, (id, title))| format!("{}. {} (`{id}`)", i + 1, escape(title)))
                .collect(),
        ),
        (
            "*Why I think so*",
            f.why
                .iter()
                .map(|w| format!("> {}", escape(&w.replace('\n', " "))))
                .collect(),
        ),
        ("*References*", f.references.iter().map(reference).collect()),
    ];
    for (title, units) in sections {
        if units.is_empty() {
            continue;
        }
        blocks.extend(pack(title, &units).into_iter().map(|t| section(&t)));
    }
    blocks
}

fn reference(r: &crate::reply::Reference) -> String {
    let mut label = escape(&r.title);
    if let Some(id) = &r.id {
        let _ = write!(label, " ({})", escape(id));
    }
    let label = label.replace('|', "/");
    match &r.url {
        // A URL with markup characters in it is shown as text, not as a link.
        Some(u) if (u.starts_with("https://") || u.starts_with("http://")) && !u.contains(['<', '>', '|', ' ']) => {
            format!("• <{}|{label}>", u.replace('&', "&amp;"))
        }
        _ => format!("• {label}"),
    }
}

/// A whole answer: the best finding in full, the others by name, the note, the case, the
/// buttons. Always within [`MAX_BLOCKS`], the buttons always kept.
pub fn answer_blocks(a: &Answer, case: Option<i64>, buttons: &[Button]) -> Vec<Value> {
    let mut blocks = match a.findings.first() {
        Some(f) => finding_blocks(f, Some(&a.headline)),
        None => vec![section(&clip(&format!("*{}*", escape(&a.headline)), SECTION_MAX))],
    };
    if a.findings.len() > 1 {
        let others: Vec<String> = a.findings[1..]
            .iter()
            .map(|f| {
                format!(
                    "• {} ({:.0}%) {}",
                    escape(&f.title),
                    f.confidence * 100.0,
                    inline_code(&format!("/qntc lookup {}", f.entry_id))
                )
            })
            .collect();
        blocks.extend(pack("*Also possible*", &others).into_iter().map(|t| section(&t)));
    }
    if let Some(n) = &a.note {
        blocks.extend(pack("", &[escape(n)]).into_iter().map(|t| section(&t)));
    }
    let mut foot = Vec::new();
    if let Some(f) = a.findings.first() {
        foot.push(format!("KB {}", escape(&f.entry_id)));
    }
    if let Some(c) = case {
        foot.push(format!("case #{c}"));
    }
    let tail: Vec<Value> = [(!foot.is_empty()).then(|| context(&foot.join(" · "))), actions(buttons)]
        .into_iter()
        .flatten()
        .collect();
    fit(blocks, tail, a.findings.first().map(|f| f.entry_id.as_str()))
}

/// Keeps `body` + `tail` within [`MAX_BLOCKS`]: body blocks beyond the room are replaced by one
/// pointer to the full entry.
pub fn fit(mut body: Vec<Value>, tail: Vec<Value>, entry: Option<&str>) -> Vec<Value> {
    if body.len() + tail.len() > MAX_BLOCKS {
        body.truncate(MAX_BLOCKS - tail.len() - 1);
        let more = match entry {
            Some(e) => format!(
                "(shortened; the whole entry: {})",
                inline_code(&format!("/qntc lookup {e}"))
            ),
            None => "(shortened)".to_string(),
        };
        body.push(section(&more));
    }
    body.extend(tail);
    body
}

/// Long free text (a case's message) as code blocks of at most a section each, split at line
/// ends where it can (a longer line is cut between characters, never inside an entity), each
/// block closed. At most `max_blocks` blocks.
pub fn code_sections(raw: &str, max_blocks: usize) -> Vec<Value> {
    let budget = SECTION_MAX - 6;
    let mut out: Vec<Value> = Vec::new();
    let mut cur = String::new();
    let mut cur_n = 0usize;
    let mut full = false;
    let flush = |cur: &mut String, cur_n: &mut usize, out: &mut Vec<Value>| {
        if !cur.is_empty() {
            out.push(section(&format!("```{cur}```")));
            cur.clear();
            *cur_n = 0;
        }
    };
    'lines: for line in raw.replace("```", "'''").lines() {
        // Units that must stay whole: one character, or one entity (`&amp;` ...).
        let escaped = escape(line);
        let mut units: Vec<&str> = Vec::new();
        let mut rest = escaped.as_str();
        while let Some(c) = rest.chars().next() {
            let len = if c == '&' {
                rest.find(';').map_or(1, |i| i + 1)
            } else {
                c.len_utf8()
            };
            units.push(&rest[..len]);
            rest = &rest[len..];
        }
        let line_n: usize = units.iter().map(|u| count(u)).sum();
        if cur_n > 0 && cur_n + 1 + line_n > budget {
            flush(&mut cur, &mut cur_n, &mut out);
        }
        if cur_n > 0 {
            cur.push('\n');
            cur_n += 1;
        }
        for u in units {
            let n = count(u);
            if cur_n + n > budget {
                flush(&mut cur, &mut cur_n, &mut out);
            }
            if out.len() >= max_blocks {
                full = true;
                break 'lines;
            }
            cur.push_str(u);
            cur_n += n;
        }
        if cur.is_empty() && out.len() >= max_blocks {
            full = true;
            break;
        }
    }
    flush(&mut cur, &mut cur_n, &mut out);
    if full || out.len() > max_blocks {
        out.truncate(max_blocks.saturating_sub(1));
        out.push(section("(the rest of the text is not shown)"));
    }
    out
}

/// The notification text sent with blocks (shown in notifications and by clients without
/// Block Kit).
pub fn fallback(text: &str) -> String {
    clip(&escape(text), FALLBACK_MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reply::{Step, sample_finding};

    /// The shared sample, with evidence that Slack must escape.
    pub fn finding(n: usize, steps: usize, step_len: usize) -> Finding {
        Finding {
            why: vec!["line 3: CPDB053 <@U1> & @here".into()],
            ..sample_finding(n, steps, step_len)
        }
    }

    /// Every Slack limit this module promises, and every code fence closed in its own text.
    pub fn check_limits(blocks: &[Value]) {
        assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
        for b in blocks {
            match b["type"].as_str().unwrap() {
                "header" => assert!(count(b["text"]["text"].as_str().unwrap()) <= HEADER_MAX),
                "section" => {
                    let t = b["text"]["text"].as_str().unwrap();
                    assert!(!t.is_empty());
                    assert!(count(t) <= SECTION_MAX, "section of {}", count(t));
                    assert_eq!(t.matches("```").count() % 2, 0, "cut code block: {t}");
                }
                "actions" => {
                    for e in b["elements"].as_array().unwrap() {
                        assert!(count(e["text"]["text"].as_str().unwrap()) <= BUTTON_LABEL_MAX);
                        assert!(count(e["value"].as_str().unwrap()) <= BUTTON_VALUE_MAX);
                    }
                }
                "context" | "divider" => {}
                other => panic!("unexpected block {other}"),
            }
        }
        let all = serde_json::to_string(blocks).unwrap().to_ascii_lowercase();
        for bad in ["@channel", "@here", "@everyone", "<!channel>", "<!here>", "<!everyone>"] {
            assert!(!all.contains(bad), "{bad} echoed");
        }
    }

    fn buttons() -> Vec<Button> {
        ["Fixed it", "Not it", "Dismiss"]
            .iter()
            .enumerate()
            .map(|(i, l)| Button {
                label: l.to_string(),
                action_id: format!("a{i}"),
                value: format!("qntc:fix:1:entry-{i}"),
                style: None,
            })
            .collect()
    }

    #[test]
    fn escaping_both_ways() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(unescape("a&lt;b&gt;&amp;c &amp;lt; &x"), "a<b>&c &lt; &x");
        assert_eq!(
            plain_text("x &lt;y&gt; &amp; <@U1> <https://a.b|label> <!here> <#C1|gen> <https://z>"),
            "x <y> & @U1 label  #gen https://z"
        );
        assert_eq!(plain_text("unclosed <tag"), "unclosed <tag");
        for s in ["@channel", "@HERE", "hi @everyone!", "<!channel>"] {
            let e = escape(s).to_ascii_lowercase();
            assert!(
                !e.contains("@channel") && !e.contains("@here") && !e.contains("@everyone") && !e.contains("<!"),
                "{e}"
            );
        }
        assert_eq!(escape("mail me @ home"), "mail me @ home");
        assert_eq!(escape("ü@"), "ü@");
    }

    #[test]
    fn small_answer_has_everything_and_the_three_buttons() {
        let a = Answer {
            headline: "Most likely: Finding 0 (80%)".into(),
            findings: vec![finding(0, 2, 5), finding(1, 1, 1)],
            note: None,
        };
        let b = answer_blocks(&a, Some(7), &buttons());
        check_limits(&b);
        let all = serde_json::to_string(&b).unwrap();
        assert!(all.contains("```CHGNETSVR DOMAIN(STEP1)```"), "{all}");
        assert!(all.contains("80%"));
        assert!(all.contains("> line 3: CPDB053 &lt;@U1&gt; &amp;"), "{all}");
        assert!(all.contains("<https://www.ibm.com/support/pages/node/123|IBM technote (123)>"));
        assert!(all.contains("case #7") && all.contains("Also possible") && all.contains("Finding 1"));
        let labels: Vec<&str> = b.last().unwrap()["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["text"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["Fixed it", "Not it", "Dismiss"]);
        assert_eq!(b[0]["type"], "header");
    }

    #[test]
    fn huge_answers_stay_within_limits_and_keep_buttons() {
        let mut f = finding(0, 200, 900);
        f.title = "T".repeat(400);
        f.why = (0..300).map(|i| format!("line {i}: {}", "w".repeat(200))).collect();
        f.steps[3].command = Some(format!("CALL {}", "P".repeat(5000)));
        f.cause = "c".repeat(9000);
        let a = Answer {
            headline: "h".repeat(5000),
            findings: vec![f],
            note: Some("n".repeat(7000)),
        };
        let b = answer_blocks(&a, Some(1), &buttons());
        check_limits(&b);
        assert_eq!(b.len(), MAX_BLOCKS);
        assert_eq!(b.last().unwrap()["type"], "actions");
        let all = serde_json::to_string(&b).unwrap();
        assert!(!all.contains("PPPPPPPPPP"), "an over-long command is replaced, not cut");
        assert!(all.contains("/qntc lookup entry-0"));
    }

    #[test]
    fn buttons_with_oversized_values_are_dropped_and_labels_clipped() {
        let mut bs = buttons();
        bs[0].value = "v".repeat(2001);
        bs[1].label = "L".repeat(100);
        let b = actions(&bs).unwrap();
        let els = b["elements"].as_array().unwrap();
        assert_eq!(els.len(), 2);
        assert_eq!(count(els[0]["text"]["text"].as_str().unwrap()), BUTTON_LABEL_MAX);
        assert!(actions(&[]).is_none());
    }

    #[test]
    fn code_sections_never_cut_a_fence() {
        let text = format!("first ``` line\n{}\n{}\n&<>", "a".repeat(7000), "b\n".repeat(3000));
        let b = code_sections(&text, 10);
        check_limits(&b);
        assert!(b.len() <= 10);
        let all = serde_json::to_string(&b).unwrap();
        assert!(all.contains("first ''' line"));
        let amp = code_sections(&"&".repeat(4000), 5);
        check_limits(&amp);
        for s in amp
            .iter()
            .filter(|s| s["text"]["text"].as_str().unwrap().starts_with("```"))
        {
            let t = s["text"]["text"].as_str().unwrap();
            assert!(t.trim_matches('`').split("&amp;").all(str::is_empty), "entity cut: {t}");
        }
    }

    #[test]
    fn caution_and_step_without_command() {
        let mut f = finding(0, 1, 1);
        f.steps[0].caution = Some("Ends all NetServer sessions".into());
        f.steps.push(Step {
            text: "Ask the Windows admin".into(),
            command: None,
            caution: None,
        });
        let b = finding_blocks(&f, None);
        check_limits(&b);
        let all = serde_json::to_string(&b).unwrap();
        assert!(all.contains("Ends all NetServer sessions") && all.contains("2. Ask the Windows admin"));
    }

    #[test]
    fn empty_answer_renders() {
        let a = Answer {
            headline: "No known QNTC problem matches this.".into(),
            findings: vec![],
            note: Some("Paste the job log".into()),
        };
        let b = answer_blocks(&a, None, &[]);
        check_limits(&b);
        assert_eq!(b.len(), 2);
    }
}
