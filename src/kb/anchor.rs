//! Literal anchors of a regex: lower-case strings of which every match must contain at least
//! one. They let the matcher skip (and never compile) the patterns that cannot match a text:
//! one Aho-Corasick pass over the text picks the few candidates, so the cost of patterns
//! grows with what the text could match, not with the size of the knowledge base.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Beyond this many alternatives a pattern is simply always run.
const MAX_ANCHORS: usize = 64;
/// Anchors shorter than this select too much text to be worth it.
const MIN_ANCHOR: usize = 3;

/// The anchors of a parsed pattern, or `None` when no literal is required (the pattern must
/// be tried on every text).
pub fn anchors(hir: &Hir) -> Option<Vec<String>> {
    required(hir).filter(|set| set.iter().all(|s| s.chars().count() >= MIN_ANCHOR))
}

fn required(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0).ok().map(|s| vec![s.to_lowercase()]),
        HirKind::Class(class) => single_char(class).map(|c| vec![c.to_string()]),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Concat(items) => concat(items),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(required(b)?);
                if all.len() > MAX_ANCHORS {
                    return None;
                }
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        _ => None,
    }
}

/// In a sequence, adjacent literals and single characters form one string; each run and each
/// item with requirements of its own is a candidate, and the most selective one (longest
/// shortest literal) wins.
fn concat(items: &[Hir]) -> Option<Vec<String>> {
    let mut candidates: Vec<Vec<String>> = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, candidates: &mut Vec<Vec<String>>| {
        if !run.is_empty() {
            candidates.push(vec![std::mem::take(run)]);
        }
    };
    for item in items {
        match item.kind() {
            HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
                Ok(s) => run.push_str(&s.to_lowercase()),
                Err(_) => flush(&mut run, &mut candidates),
            },
            HirKind::Class(class) => match single_char(class) {
                Some(c) => run.push(c),
                None => flush(&mut run, &mut candidates),
            },
            // Word boundaries and anchors consume nothing: the run goes on across them.
            HirKind::Look(_) => {}
            _ => {
                flush(&mut run, &mut candidates);
                if let Some(set) = required(item) {
                    candidates.push(set);
                }
            }
        }
    }
    flush(&mut run, &mut candidates);
    candidates.into_iter().max_by_key(|set| set.iter().map(|s| s.chars().count()).min().unwrap_or(0))
}

/// A class that only spells one letter in different cases ((?i)d = [Dd], (?i)k = [Kk\u{212A}]),
/// as that letter in lower case.
fn single_char(class: &Class) -> Option<char> {
    let chars: Vec<char> = match class {
        Class::Unicode(u) => {
            let mut v = Vec::new();
            for r in u.ranges() {
                if (r.end() as u32) - (r.start() as u32) > 3 {
                    return None;
                }
                v.extend(r.start()..=r.end());
                if v.len() > 4 {
                    return None;
                }
            }
            v
        }
        Class::Bytes(_) => return None,
    };
    let lower: Vec<char> = chars.iter().flat_map(|c| c.to_lowercase()).collect();
    let first = *lower.first()?;
    if lower.iter().all(|&c| c == first) {
        return Some(first);
    }
    // Unicode case folding adds look-alikes (the Kelvin sign for k, the long s for s): the
    // ASCII letter stands for the class when every other member is not ASCII.
    let ascii: Vec<char> = lower.iter().copied().filter(char::is_ascii).collect();
    (!ascii.is_empty() && ascii.iter().all(|&c| c == ascii[0])).then_some(ascii[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(pattern: &str) -> Option<Vec<String>> {
        anchors(&regex_syntax::Parser::new().parse(pattern).unwrap())
    }

    #[test]
    fn literals_and_case_insensitive_words() {
        assert_eq!(of(r"(?i)\bdomain\b.{0,40}\bnetserver"), Some(vec!["netserver".into()]));
        assert_eq!(of(r"error code (?:was )?3401"), Some(vec!["error code ".into()]));
        assert_eq!(of(r"(?i)kennwort"), Some(vec!["kennwort".into()]));
        assert_eq!(of(r"(?i)session\s+setup"), Some(vec!["session".into()]));
    }

    #[test]
    fn alternations_give_every_branch() {
        assert_eq!(of(r"(?i)\b(?:upgrade|migration)\b"), Some(vec!["migration".into(), "upgrade".into()]));
        assert_eq!(of(r"(?i)パスワード|password"), Some(vec!["password".into(), "パスワード".into()]));
    }

    #[test]
    fn patterns_without_a_required_literal_have_none() {
        assert_eq!(of(r"\d{4}"), None);
        assert_eq!(of(r"(?i)(?:foo)?bar?"), None, "'ba' is too short to select anything");
        assert_eq!(of(r"(?:abc|\w+)"), None);
    }

    #[test]
    fn anchors_are_sound_on_samples() {
        let samples = [
            (r"(?i)\bqpwd\w*\s*(?:is|=)\s*[01]\b", "Our QPWDLVL is 0"),
            (r"(?i)ntlm\s*v2", "server requires NTLMv2 only"),
            (r"(?i)\b(cpfa0a9|object not found)\b", "CPFA0A9 Object not found"),
        ];
        for (p, text) in samples {
            let re = regex::Regex::new(p).unwrap();
            assert!(re.is_match(text));
            let a = of(p).unwrap();
            let lower = text.to_lowercase();
            assert!(a.iter().any(|s| lower.contains(s.as_str())), "{p}: {a:?} not in {text:?}");
        }
    }
}
