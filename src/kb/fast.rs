//! KB patterns compiled for speed. A pattern is parsed with full Unicode syntax, then the parts
//! that make Unicode regexes slow to build and slow to run are replaced by byte-level
//! equivalents that agree on ASCII text:
//!
//! - a large class (`\w`, `\d`, `\s`, big negated sets) keeps its ASCII members and takes any
//!   non-ASCII byte, instead of spelling out thousands of code points as UTF-8 automata
//!   (`.` and `[^\n]` become "one ASCII byte or one whole UTF-8 sequence", so `.{0,40}`
//!   still counts characters, in Japanese text too);
//! - word boundaries (`\b`) are ASCII boundaries, which the lazy DFA can run on any input
//!   (a Unicode `\b` makes it give up as soon as it meets a non-ASCII byte).
//!
//! Small classes such as `[oö]` or `[eé]` are kept exactly. The difference is at the edges of
//! non-ASCII text: a non-ASCII letter counts as a word character for `\w` but not for `\b`.

use regex_automata::meta;
use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, Hir, HirKind, Look, Repetition};

/// Above this many non-ASCII code points a class is "large" and becomes byte-level.
const LARGE_CLASS: u32 = 512;

/// Compiles `hir` (a parsed KB pattern) with the rewrite above.
pub fn compile(hir: &Hir, size_limit: usize) -> Result<meta::Regex, Box<meta::BuildError>> {
    let rewritten = rewrite(hir.clone());
    meta::Builder::new()
        .configure(meta::Config::new().nfa_size_limit(Some(size_limit)).utf8_empty(false))
        .build_from_hir(&rewritten)
        .map_err(Box::new)
}

fn rewrite(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Class(Class::Unicode(c)) if is_dot_like(&c) => any_char(&c),
        HirKind::Class(Class::Unicode(c)) if non_ascii_size(&c) > LARGE_CLASS => Hir::class(Class::Bytes(bytes_of(&c))),
        HirKind::Look(look) => Hir::look(ascii_look(look)),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(rewrite(*r.sub)),
            ..r
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            sub: Box::new(rewrite(*c.sub)),
            ..c
        }),
        HirKind::Concat(items) => Hir::concat(items.into_iter().map(rewrite).collect()),
        HirKind::Alternation(items) => Hir::alternation(items.into_iter().map(rewrite).collect()),
        HirKind::Class(c) => Hir::class(c),
        HirKind::Literal(l) => Hir::literal(l.0),
        HirKind::Empty => Hir::empty(),
    }
}

/// `.` and `[^\n]`: every code point but a handful. Their UTF-8 automaton is small and
/// cheap, and keeping them exact makes `.{0,40}` count characters in Japanese text too.
fn is_dot_like(c: &ClassUnicode) -> bool {
    // A range may span the surrogate gap numerically, so the gap's 0x800 values are allowed
    // on top of the handful of excluded characters.
    let covered: u32 = c.ranges().iter().map(|r| r.end() as u32 - r.start() as u32 + 1).sum();
    0x11_0000u32.saturating_sub(covered) <= 0x800 + 4
}

/// One whole character as bytes: an ASCII byte of the class, or a lead byte with its
/// continuation bytes. Counts characters like the Unicode class does, with a fraction of the
/// automaton.
fn any_char(c: &ClassUnicode) -> Hir {
    let byte = |lo: u8, hi: u8| Hir::class(Class::Bytes(ClassBytes::new([ClassBytesRange::new(lo, hi)])));
    let cont = || byte(0x80, 0xBF);
    let ascii: Vec<ClassBytesRange> = c
        .ranges()
        .iter()
        .filter(|r| (r.start() as u32) < 0x80)
        .map(|r| ClassBytesRange::new(r.start() as u8, (r.end() as u32).min(0x7F) as u8))
        .collect();
    Hir::alternation(vec![
        Hir::class(Class::Bytes(ClassBytes::new(ascii))),
        Hir::concat(vec![byte(0xC2, 0xDF), cont()]),
        Hir::concat(vec![byte(0xE0, 0xEF), cont(), cont()]),
        Hir::concat(vec![byte(0xF0, 0xF4), cont(), cont(), cont()]),
    ])
}

fn non_ascii_size(c: &ClassUnicode) -> u32 {
    c.ranges()
        .iter()
        .map(|r| (r.end() as u32).saturating_sub((r.start() as u32).max(0x80)) + u32::from(r.end() as u32 >= 0x80))
        .sum()
}

fn bytes_of(c: &ClassUnicode) -> ClassBytes {
    let mut ranges: Vec<ClassBytesRange> = c
        .ranges()
        .iter()
        .filter(|r| (r.start() as u32) < 0x80)
        .map(|r| ClassBytesRange::new(r.start() as u8, (r.end() as u32).min(0x7F) as u8))
        .collect();
    ranges.push(ClassBytesRange::new(0x80, 0xFF));
    ClassBytes::new(ranges)
}

fn ascii_look(look: Look) -> Look {
    match look {
        Look::WordUnicode => Look::WordAscii,
        Look::WordUnicodeNegate => Look::WordAsciiNegate,
        Look::WordStartUnicode => Look::WordStartAscii,
        Look::WordEndUnicode => Look::WordEndAscii,
        Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
        Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> meta::Regex {
        compile(&regex_syntax::Parser::new().parse(p).unwrap(), 1 << 20).unwrap()
    }

    #[test]
    fn agrees_with_regex_on_ascii_text() {
        let cases = [
            (
                r"(?is)\b(password|kennw[oö]rt\w*)\b.{0,20}\b(upper|lower)",
                "the Password has Upper case",
                true,
            ),
            (
                r"(?is)\b(password|kennw[oö]rt\w*)\b.{0,20}\b(upper|lower)",
                "passwords never lower",
                false,
            ),
            (r"(?i)\bqpwd\w*\s*(?:is|=)\s*[01]\b", "our QPWDLEVEL = 1 today", true),
            (r"(?i)\bipl\b", "multiple", false),
            (r"(?i)/qntc/[^\s/]{13,}/", "/QNTC/SRV/ACCOUNTINGEXPORT/x", false),
        ];
        for (p, text, want) in cases {
            assert_eq!(
                regex::Regex::new(p).unwrap().is_match(text),
                want,
                "regex: {p} on {text}"
            );
            assert_eq!(re(p).is_match(text), want, "fast: {p} on {text}");
        }
    }

    #[test]
    fn keeps_small_non_ascii_classes_and_literals() {
        assert!(re(r"(?i)kennw[oö]rt").is_match("KENNWÖRT vergessen"));
        assert!(!re(r"(?i)kennw[oö]rt").is_match("kennwxrt"));
        assert!(re(r"パスワード.{0,20}大文字").is_match("パスワードに大文字"));
        // Dots count characters, as in `regex`: 12 Japanese characters are 36 bytes.
        assert!(re(r"(?s)IPL.{0,15}消え").is_match("IPLのあとでディレクトリが全部消えた"));
        assert!(re(r"(?i)groß").is_match("Groß"));
    }

    #[test]
    fn matches_never_panic_on_non_ascii_boundaries() {
        let r = re(r"(?s)x\w{1,3}");
        let text = "x日本語";
        let m = r.find(text).unwrap();
        assert!(text.get(m.range()).is_none() || text.is_char_boundary(m.end()));
    }
}
