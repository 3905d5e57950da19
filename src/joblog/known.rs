//! Messages recognised by their first-level text when the id is missing: the DSPJOBLOG list
//! view shows texts only, and people paste just the sentence.
//!
//! Texts as IBM i prints them in English (sources: shared/research/errno-map.md and
//! qntc-facts.md; CPFA0A7 and CPFA0A2 from the IFS API message lists, wording to be confirmed
//! against a live system). `&n` is a substitution variable.

use regex::Regex;
use std::sync::{LazyLock, OnceLock};

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
    pattern: String,
    /// Compiled the first time a text could match (most chat messages hold none of these
    /// texts, and the eight patterns, Unicode-aware, cost a few milliseconds to compile).
    re: OnceLock<Regex>,
    literal_len: usize,
    /// The text's characters before its first variable, [`fold`]ed: every match holds them
    /// in order, with at most whitespace between them.
    needle: String,
}

impl Matcher {
    fn re(&self) -> &Regex {
        self.re.get_or_init(|| super::patterns::re(&self.pattern))
    }

    /// False only when `folded` (a text passed through [`fold`]) cannot hold a match.
    fn could_match(&self, folded: &str) -> bool {
        folded.contains(&self.needle)
    }
}

static MATCHERS: LazyLock<Vec<Matcher>> = LazyLock::new(|| {
    KNOWN
        .iter()
        .map(|(id, text)| {
            let (pattern, literal_len) = pattern_for(text);
            // What every match holds: the words before the first variable, or for a text
            // without one, the text without its final full stop (which `pattern_for` makes
            // optional).
            let head = match text.find('&') {
                Some(i) => &text[..i],
                None => text.trim_end_matches('.'),
            };
            Matcher {
                id,
                pattern,
                re: OnceLock::new(),
                literal_len,
                needle: fold(head),
            }
        })
        .collect()
});

/// `text` as the patterns' `(?i)` and `\s` see it, reduced to what every match must hold:
/// whitespace (`\s` is Unicode's White_Space, as `char::is_whitespace`) dropped, and upper
/// case folded to lower for every character that folds to an ASCII letter (the ASCII capitals,
/// U+017F long s and U+212A Kelvin sign, by Unicode's simple case folding). The known texts
/// are ASCII, so nothing else can match their letters.
fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{17F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

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
    let folded = fold(text);
    MATCHERS
        .iter()
        .filter(|m| m.could_match(&folded))
        .filter_map(|m| m.re().find(text).map(|f| (f.start(), m.id)))
        .min_by_key(|(s, _)| *s)
        .map(|(_, id)| id)
}

/// Every known message text in chat prose, in order, not overlapping.
pub fn find_in_prose(text: &str) -> Vec<Recognised> {
    crate::work::add(text.len() * MATCHERS.len());
    let mut found: Vec<Recognised> = Vec::new();
    let folded = fold(text);
    for m in MATCHERS
        .iter()
        .filter(|m| m.literal_len >= PROSE_MIN_LITERAL && m.could_match(&folded))
    {
        for f in m.re().find_iter(text) {
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

    #[test]
    fn the_literal_gate_never_hides_a_match() {
        // Every way the patterns bend a text (case, Unicode folds, whitespace, wraps inside a
        // word, a cut after the last variable) still passes the gate; unrelated text does not.
        for (id, text) in KNOWN {
            let bent: String = text
                .chars()
                .enumerate()
                .map(|(i, c)| match c {
                    's' if i % 2 == 0 => "\u{17F}".to_string(),
                    'k' | 'K' => "\u{212A}".to_string(),
                    ' ' => "\u{a0}\n ".to_string(),
                    c if i % 3 == 0 => c.to_ascii_uppercase().to_string(),
                    c if i % 7 == 0 => format!("{c}\u{2009}"),
                    c => c.to_string(),
                })
                .collect();
            let m = MATCHERS.iter().find(|m| m.id == *id).unwrap();
            let folded = fold(&bent);
            assert!(m.could_match(&folded), "{id}: {bent:?}");
            assert!(m.re().is_match(&bent), "{id}: the regex matches it too: {bent:?}");
            assert_eq!(recognise(&bent), Some(*id), "{bent:?}");
            assert!(!m.could_match(&fold("the share is gone after the upgrade")));
        }
        // A text without variables may lose its final full stop (found by the proptest below).
        assert_eq!(recognise("PathnametoolongObject"), Some("CPFA0A7"));
    }

    proptest::proptest! {
        /// On any text, gated and ungated give the same answer.
        #[test]
        fn the_gate_changes_no_answer(text in "(?s)(Object|not|found|OBJECT|ſ|K|\\.|\\s|is|/x|Error|exchanging|security|information|for|user|on|network|server|Path|name|too|long|[a-z ]){0,40}") {
            let ungated = MATCHERS
                .iter()
                .filter_map(|m| m.re().find(&text).map(|f| (f.start(), m.id)))
                .min_by_key(|(s, _)| *s)
                .map(|(_, id)| id);
            proptest::prop_assert_eq!(recognise(&text), ungated);
        }
    }
}
