//! Messages recognised by their first-level text when the id is missing: the DSPJOBLOG list
//! view shows texts only, and people paste just the sentence.
//!
//! Texts as IBM i prints them in English (sources: shared/research/errno-map.md and
//! qntc-facts.md; CPFA0A7 and CPFA0A2 from the IFS API message lists, wording to be confirmed
//! against a live system). `&n` is a substitution variable.

use regex::Regex;
use std::sync::LazyLock;

const KNOWN: &[(&str, &str)] = &[
    (
        "CPDB053",
        "Error exchanging security information for user &2 on network server &5.",
    ),
    ("CPFA0A9", "Object not found.  Object is &1."),
    ("CPFA09C", "Not authorized to object.  Object is &1."),
    ("CPFA0AD", "Function not supported by file system."),
    ("CPF2817", "Copy command ended because of error."),
    ("CPFA097", "Object not copied.  Object is &1."),
    ("CPFA0A7", "Path name too long."),
    ("CPFA0A2", "Information passed to this operation was not valid."),
];

/// In chat prose a short text ("path name too long") is as likely the user's own words as the
/// message; only texts at least this long are taken as the message there.
const PROSE_MIN_LITERAL: usize = 20;

struct Matcher {
    id: &'static str,
    re: Regex,
    literal_len: usize,
}

static MATCHERS: LazyLock<Vec<Matcher>> = LazyLock::new(|| {
    KNOWN
        .iter()
        .map(|(id, text)| {
            let (pattern, literal_len) = pattern_for(text);
            Matcher {
                id,
                re: super::patterns::re(&pattern),
                literal_len,
            }
        })
        .collect()
});

/// Builds a pattern that tolerates any whitespace between words, a hard wrap inside a word,
/// any case, and a text cut off after its last substitution variable.
fn pattern_for(text: &str) -> (String, usize) {
    // What follows the last variable (usually a full stop) may be lost to a cut; keep only
    // what comes before it.
    let body = match text.rfind('&') {
        Some(i) => &text[..i + 2],
        None => text.trim_end_matches('.'),
    };
    let mut p = String::from("(?i)");
    let mut literal_len = 0;
    let mut chars = body.chars().peekable();
    let mut need_sep = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            need_sep = true;
            continue;
        }
        if c == '&' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            p.push_str(r"\s*\S.*?");
            need_sep = false;
            continue;
        }
        if !p.ends_with("(?i)") {
            p.push_str(if need_sep { r"\s*" } else { r"\s?" });
        }
        need_sep = false;
        p.push_str(&regex::escape(&c.to_string()));
        literal_len += 1;
    }
    if !text.contains('&') {
        p.push_str(r"\.?");
    }
    (p, literal_len)
}

/// A message recognised in `text`: its id and the byte range of the match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    pub id: &'static str,
    pub start: usize,
    pub end: usize,
}

/// The earliest known message text in one message's text.
pub fn recognise(text: &str) -> Option<&'static str> {
    crate::work::add(text.len() * MATCHERS.len());
    MATCHERS
        .iter()
        .filter_map(|m| m.re.find(text).map(|f| (f.start(), m.id)))
        .min_by_key(|(s, _)| *s)
        .map(|(_, id)| id)
}

/// Every known message text in chat prose, in order, not overlapping.
pub fn find_in_prose(text: &str) -> Vec<Recognised> {
    crate::work::add(text.len() * MATCHERS.len());
    let mut found: Vec<Recognised> = Vec::new();
    for m in MATCHERS.iter().filter(|m| m.literal_len >= PROSE_MIN_LITERAL) {
        for f in m.re.find_iter(text) {
            found.push(Recognised {
                id: m.id,
                start: f.start(),
                end: f.end(),
            });
        }
    }
    found.sort_by_key(|r| r.start);
    let mut out: Vec<Recognised> = Vec::with_capacity(found.len());
    for r in found {
        if out.last().is_none_or(|l| r.start >= l.end) {
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_with_odd_spacing_and_case() {
        assert_eq!(recognise("Object not found. Object is /QNTC/NAS01/x."), Some("CPFA0A9"));
        assert_eq!(recognise("object  not\nfound.  object is /home/x"), Some("CPFA0A9"));
        assert_eq!(
            recognise("Not authorized to object.  Object is /QNTC/a."),
            Some("CPFA09C")
        );
        assert_eq!(
            recognise("Error exchanging security information for user JSMITH on network server NAS01."),
            Some("CPDB053")
        );
        assert_eq!(recognise("Function not supported by file system."), Some("CPFA0AD"));
        assert_eq!(recognise("Path name too long."), Some("CPFA0A7"));
    }

    #[test]
    fn tolerates_a_word_split_by_a_wrap() {
        assert_eq!(
            recognise("Error exchanging security informa tion for user X on network server Y"),
            Some("CPDB053")
        );
    }

    #[test]
    fn does_not_recognise_near_misses() {
        assert_eq!(recognise("Object not found."), None);
        assert_eq!(recognise("Object not copied. Object is"), None);
        assert_eq!(recognise("Copy command ended normally."), None);
    }

    #[test]
    fn prose_skips_short_texts() {
        let found = find_in_prose("the path name too long? then Object not copied.  Object is /QNTC/a/b.");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "CPFA097");
    }
}
