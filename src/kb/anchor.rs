//! Literal anchors of a regex: clauses of lower-case strings such that every match contains
//! at least one string of every clause. They let the matcher skip (and never compile) the
//! patterns that cannot match a text: one Aho-Corasick pass over the text finds which clauses
//! are present, and only patterns whose clauses are all present are compiled and run. The
//! cost of patterns thus grows with what the text could match, not with the size of the KB.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Beyond this many alternatives a clause selects too little to be worth keeping.
const MAX_ALTERNATIVES: usize = 64;
/// Anchors shorter than this select too much text to be worth it.
const MIN_ANCHOR: usize = 3;

/// A conjunction of clauses; each clause is a disjunction of literals.
pub type Anchors = Vec<Vec<String>>;

/// The anchors of a parsed pattern, or `None` when no literal is required (the pattern must
/// be tried on every text). Dropping a clause only weakens the requirement, so clauses that
/// select too little are simply left out.
pub fn anchors(hir: &Hir) -> Option<Anchors> {
    let clauses: Anchors = required(hir)
        .into_iter()
        .filter(|c| !c.is_empty() && c.len() <= MAX_ALTERNATIVES && c.iter().all(|s| s.chars().count() >= MIN_ANCHOR))
        .collect();
    (!clauses.is_empty()).then_some(clauses)
}

/// Every clause the pattern requires, before the length limits of [`anchors`]; for checking
/// hand-written clauses (see [`crate::gated`]).
pub fn required_clauses(hir: &Hir) -> Anchors {
    required(hir).into_iter().filter(|c| !c.is_empty()).collect()
}

fn required(hir: &Hir) -> Anchors {
    match hir.kind() {
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0)
            .map(|s| vec![vec![s.to_lowercase()]])
            .unwrap_or_default(),
        HirKind::Class(class) => single_char(class)
            .map(|c| vec![vec![c.to_string()]])
            .unwrap_or_default(),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Concat(items) => concat(items),
        HirKind::Alternation(branches) => alternation(branches),
        _ => Vec::new(),
    }
}

/// Clauses kept per branch when an alternation's clauses are combined.
const PICKS_PER_BRANCH: usize = 3;
/// Beyond this many combinations only each branch's most selective clause is used.
const MAX_COMBINATIONS: usize = 64;

/// An alternation requires, for every way of picking one clause from each branch, the union
/// of the picks. `(A and B) | (C and B)` thus requires `B` and `A or C`: both clauses are
/// kept, where taking only each branch's best clause would keep `B` alone and let every text
/// with `B` through. A few picks per branch are combined, and a union that contains another
/// is dropped as the weaker of the two.
fn alternation(branches: &[Hir]) -> Anchors {
    let mut picks: Vec<Anchors> = Vec::with_capacity(branches.len());
    for b in branches {
        let mut clauses: Anchors = required(b).into_iter().filter(|c| !c.is_empty()).collect();
        if clauses.is_empty() {
            // A branch that requires nothing: neither does the alternation.
            return Vec::new();
        }
        // Most selective first; among equals the last one, as `max_by_key` would pick it (the
        // gated patterns' hand-written clauses are proven against this choice).
        clauses.sort_by_key(|c| selectivity(c));
        clauses.reverse();
        clauses.truncate(PICKS_PER_BRANCH);
        picks.push(clauses);
    }
    let combinations = picks
        .iter()
        .try_fold(1usize, |n, p| n.checked_mul(p.len()))
        .filter(|&n| n <= MAX_COMBINATIONS);
    if combinations.is_none() {
        picks.iter_mut().for_each(|p| p.truncate(1));
    }
    let mut unions: Anchors = vec![Vec::new()];
    for clauses in &picks {
        unions = unions
            .iter()
            .flat_map(|u| {
                clauses.iter().map(move |c| {
                    let mut next = u.clone();
                    next.extend(c.iter().cloned());
                    next
                })
            })
            .collect();
    }
    for u in &mut unions {
        u.sort();
        u.dedup();
    }
    unions.sort();
    unions.dedup();
    let contains = |big: &[String], small: &[String]| small.iter().all(|s| big.binary_search(s).is_ok());
    unions
        .iter()
        .filter(|u| !unions.iter().any(|o| o.len() < u.len() && contains(u, o)))
        .cloned()
        .collect()
}

/// How much a clause narrows the texts it admits: its shortest literal first, then fewer
/// alternatives.
fn selectivity(c: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    (
        c.iter().map(|s| s.chars().count()).min().unwrap_or(0),
        std::cmp::Reverse(c.len()),
    )
}

/// In a sequence, adjacent literals and single characters form one string; every item's
/// clauses must all hold, so they are all kept.
fn concat(items: &[Hir]) -> Anchors {
    let mut clauses: Anchors = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, clauses: &mut Anchors| {
        if !run.is_empty() {
            clauses.push(vec![std::mem::take(run)]);
        }
    };
    for item in items {
        match item.kind() {
            HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
                Ok(s) => run.push_str(&s.to_lowercase()),
                Err(_) => flush(&mut run, &mut clauses),
            },
            HirKind::Class(class) => match single_char(class) {
                Some(c) => run.push(c),
                None => flush(&mut run, &mut clauses),
            },
            // Word boundaries and anchors consume nothing: the run goes on across them.
            HirKind::Look(_) => {}
            _ => {
                flush(&mut run, &mut clauses);
                clauses.extend(required(item));
            }
        }
    }
    flush(&mut run, &mut clauses);
    clauses
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
    // ASCII letter stands for the class only when every member folds to it. "ö" does not
    // fold to "o", so [oö] is no single letter and breaks the literal.
    let ascii = lower.iter().copied().find(char::is_ascii)?;
    chars.iter().all(|&c| fold_char(c) == Some(ascii)).then_some(ascii)
}

/// Lower case, with the long s read as s; the only simple case fold onto an ASCII letter that
/// `to_lowercase` leaves alone (the Kelvin sign already lowercases to k).
fn fold_char(c: char) -> Option<char> {
    if c == '\u{17F}' {
        return Some('s');
    }
    let mut l = c.to_lowercase();
    let first = l.next()?;
    l.next().is_none().then_some(first)
}

/// The text as the anchors are written: folded the same way, so that every text a pattern
/// matches contains its anchors.
pub fn fold(text: &str) -> String {
    let lower = text.to_lowercase();
    if lower.contains('\u{17F}') {
        lower.replace('\u{17F}', "s")
    } else {
        lower
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(pattern: &str) -> Option<Anchors> {
        anchors(&regex_syntax::Parser::new().parse(pattern).unwrap())
    }

    fn v(clauses: &[&[&str]]) -> Option<Anchors> {
        Some(
            clauses
                .iter()
                .map(|c| c.iter().map(|s| s.to_string()).collect())
                .collect(),
        )
    }

    #[test]
    fn every_required_part_is_a_clause() {
        assert_eq!(
            of(r"(?i)\bdomain\b.{0,40}\bnetserver"),
            v(&[&["domain"], &["netserver"]])
        );
        assert_eq!(of(r"error code (?:was )?3401"), v(&[&["error code "], &["3401"]]));
        assert_eq!(of(r"(?i)session\s+setup"), v(&[&["session"], &["setup"]]));
        assert_eq!(of(r"(?i)kennwort"), v(&[&["kennwort"]]));
    }

    #[test]
    fn alternations_give_every_branch() {
        assert_eq!(of(r"(?i)\b(?:upgrade|migration)\b"), v(&[&["migration", "upgrade"]]));
        assert_eq!(of(r"(?i)パスワード|password"), v(&[&["password", "パスワード"]]));
        assert_eq!(
            of(r"(?is)\b(password|kennw[oö]rt\w*)\b.{0,80}\b(upper|lower)"),
            v(&[&["kennw", "password"], &["lower", "upper"]])
        );
    }

    #[test]
    fn an_alternation_keeps_what_every_branch_requires() {
        // Both branches need "/qntc" and one of the commands: both are kept. (The parser
        // factors "chgown|chgaut" into "chg" + "own|aut"; every clause is still implied.)
        let both = of(r"(?is)\b(chgown|chgaut)\b.{0,200}/qntc|/qntc.{0,200}\b(chgown|wrkaut)\b").unwrap();
        assert!(both.contains(&vec!["/qntc".to_string()]), "{both:?}");
        assert!(
            both.iter()
                .any(|c| c.contains(&"wrkaut".to_string()) && !c.contains(&"/qntc".to_string())),
            "{both:?}"
        );
        // Nothing in common: one clause, each branch's best literal.
        assert_eq!(
            of(r"(?i)netserver\s+domain|domain\s+mismatch"),
            v(&[&["domain"], &["mismatch", "netserver"]])
        );
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
            (
                r"(?is)\b(password|kennw[oö]rt\w*)\b.{0,80}\b(upper|lower)",
                "Das Kennwort hat upper case",
            ),
            (r"(?i)kennw[oö]rt", "KENNWÖRT"),
            (r"(?i)\bask\b", "A\u{17F}\u{212A}"),
            (
                r"(?is)\b(chgown|chgaut)\b.{0,200}/qntc|/qntc.{0,200}\b(chgown|wrkaut)\b",
                "on /QNTC/nas/x WRKAUT fails",
            ),
            (r"(?i)netserver\s+domain|domain\s+mismatch", "Domain  MISMATCH again"),
        ];
        for (p, text) in samples {
            let re = regex::Regex::new(p).unwrap();
            assert!(re.is_match(text));
            let lower = fold(text);
            for clause in of(p).unwrap() {
                assert!(
                    clause.iter().any(|s| lower.contains(s.as_str())),
                    "{p}: {clause:?} not in {text:?}"
                );
            }
        }
    }
}
