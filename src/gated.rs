//! Built-in regexes that are compiled only for texts that could match them.
//!
//! Building a `regex::Regex` costs 0.1-3 ms even for a small pattern (Unicode classes become
//! UTF-8 automata, compiled forwards and in reverse), while a one-shot `qntcbot analyze` of a
//! chat message needs a handful of the ~80 built-in patterns. Each [`Gated`] regex names the
//! literals every match must contain, as clauses in the form of [`crate::kb::anchor`]: one
//! literal of every clause. One Aho-Corasick pass over the folded text ([`Literals::scan`])
//! tells which literals occur; a regex whose clauses are not all present cannot match, so it
//! is neither compiled nor run and the result is the same as running it.
//!
//! The clauses are written by hand next to each pattern; [`check`] (run by the unit tests of
//! every module that has gated regexes) proves them against the clauses derived from the
//! parsed pattern, so a pattern edited without its clauses fails the tests.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;

/// Clauses of lower-case literals: every match contains one literal of each clause.
pub type Needs = &'static [&'static [&'static str]];

pub struct Gated {
    pattern: &'static str,
    needs: Needs,
    build: fn(&str) -> Regex,
    re: OnceLock<Regex>,
}

impl Gated {
    /// `build` compiles `pattern` (a module may rewrite it first, e.g. for ASCII `\b`).
    pub const fn new(pattern: &'static str, needs: Needs, build: fn(&str) -> Regex) -> Gated {
        Gated {
            pattern,
            needs,
            build,
            re: OnceLock::new(),
        }
    }

    pub fn pattern(&self) -> &'static str {
        self.pattern
    }

    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// The compiled regex, when the literals found in the text allow a match.
    pub fn regex_for(&self, present: &Present) -> Option<&Regex> {
        present.allows(self.needs).then(|| self.regex())
    }

    /// The compiled regex, compiled now if need be.
    pub fn regex(&self) -> &Regex {
        self.re.get_or_init(|| (self.build)(self.pattern))
    }
}

/// One automaton for the literals of a group of gated regexes.
pub struct Literals {
    ac: Option<AhoCorasick>,
    literals: Vec<&'static str>,
}

impl Literals {
    pub fn new<'g>(gates: impl IntoIterator<Item = &'g Gated>) -> Literals {
        Literals::of_needs(gates.into_iter().map(Gated::needs))
    }

    /// For regexes kept some other way than as [`Gated`], with their clauses.
    pub fn of_needs(needs: impl IntoIterator<Item = Needs>) -> Literals {
        let mut literals: Vec<&'static str> = needs
            .into_iter()
            .flat_map(|n| n.iter().flat_map(|c| c.iter().copied()))
            .collect();
        literals.sort_unstable();
        literals.dedup();
        // A contiguous NFA builds in a fraction of a DFA's time and scans texts of the sizes
        // evidence is taken from about as fast.
        #[allow(clippy::expect_used)]
        let ac = (!literals.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::Standard)
                .build(&literals)
                .expect("literals of built-in patterns build an automaton")
        });
        Literals { ac, literals }
    }

    /// The literals that occur in `folded` (text folded by [`crate::kb::anchor::fold`]).
    pub fn scan(&self, folded: &str) -> Present {
        let mut found = vec![false; self.literals.len()];
        if let Some(ac) = &self.ac {
            crate::work::add(folded.len());
            for m in ac.find_overlapping_iter(folded) {
                found[m.pattern().as_usize()] = true;
            }
        }
        Present {
            literals: self
                .literals
                .iter()
                .zip(found)
                .filter_map(|(l, f)| f.then_some(*l))
                .collect(),
        }
    }
}

/// Literals found in one text.
pub struct Present {
    /// Sorted: the automaton's literals are.
    literals: Vec<&'static str>,
}

impl Present {
    pub fn has(&self, literal: &str) -> bool {
        self.literals.binary_search(&literal).is_ok()
    }

    pub fn allows(&self, needs: Needs) -> bool {
        // A text usually holds a handful of the literals, and a clause can list thirty
        // (the password labels of every language): walk whichever side is shorter.
        needs.iter().all(|clause| {
            if clause.len() > 4 * self.literals.len() {
                self.literals.iter().any(|l| clause.contains(l))
            } else {
                clause.iter().any(|l| self.has(l))
            }
        })
    }
}

/// Whether `needs` is implied by the clauses derived from the parsed `pattern`: for each
/// hand-written clause, some derived clause has every literal contain one of its literals.
/// `Err` says which clause is not proven. For the unit tests of modules with gated regexes.
pub fn check(pattern: &str, needs: Needs) -> Result<(), String> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("{pattern:?}: {e}"))?;
    let derived = derived(&hir);
    for clause in needs {
        if clause.iter().any(|l| l.is_empty() || crate::kb::anchor::fold(l) != *l) {
            return Err(format!("{pattern:?}: clause {clause:?} is not folded"));
        }
        let proven = derived
            .iter()
            .any(|d| !d.is_empty() && d.iter().all(|lit| clause.iter().any(|l| lit.contains(l))));
        if !proven {
            return Err(format!("{pattern:?}: clause {clause:?} not implied by {derived:?}"));
        }
    }
    Ok(())
}

/// The derived clauses, without the length limits the KB index applies.
fn derived(hir: &regex_syntax::hir::Hir) -> Vec<Vec<String>> {
    crate::kb::anchor::required_clauses(hir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(p: &str) -> Regex {
        Regex::new(p).unwrap()
    }

    static WORD: Gated = Gated::new(r"(?i)\bkerberos\b|\bsso\b", &[&["kerberos", "sso"]], build);
    static PAIR: Gated = Gated::new(r"(?i)error\s+code\s*(\d+)", &[&["error"], &["code"]], build);

    #[test]
    fn only_texts_with_the_literals_reach_the_regex() {
        let lits = Literals::new([&WORD, &PAIR]);
        let p = lits.scan(&crate::kb::anchor::fold("KERBEROS ticket, error 5"));
        assert!(WORD.regex_for(&p).is_some_and(|r| r.is_match("KERBEROS")));
        assert!(PAIR.regex_for(&p).is_none());
        // The Kelvin sign folds to k: the gate never hides a match the regex would find.
        let text = "\u{212A}erberos";
        assert!(WORD.regex().is_match(text));
        assert!(WORD.regex_for(&lits.scan(&crate::kb::anchor::fold(text))).is_some());
    }

    /// Long clauses are walked from the text's side, short ones from the clause's: the same
    /// answer either way.
    #[test]
    fn a_clause_is_met_by_any_of_its_literals_long_or_short() {
        const LONG: &[&str] = &["a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8", "i9", "j0"];
        static NEEDS: &[&[&str]] = &[LONG, &["zz"]];
        let lits = Literals::of_needs([NEEDS]);
        let scan = |t: &str| lits.scan(&crate::kb::anchor::fold(t));
        assert!(scan("x h8 zz").allows(NEEDS));
        assert!(scan("A1 ZZ").allows(NEEDS));
        assert!(!scan("h8 only").allows(NEEDS), "the second clause is missing");
        assert!(!scan("zz only").allows(NEEDS), "none of the long clause");
        assert!(!scan("nothing").allows(NEEDS));
        assert!(scan("nothing").allows(&[]), "no clause: always allowed");
        // Many literals present, short clause: looked up in the text's list.
        assert!(scan("a1 b2 c3 d4 e5 f6 g7 zz").allows(&[&["zz"]]));
        assert!(!scan("a1 b2 c3 d4 e5 f6 g7").allows(&[&["zz"]]));
    }

    #[test]
    fn clauses_are_checked_against_the_pattern() {
        assert!(check(WORD.pattern, WORD.needs).is_ok());
        assert!(check(PAIR.pattern, PAIR.needs).is_ok());
        assert!(check(r"(?i)error|code", &[&["error"]]).is_err());
        assert!(check(r"(?i)error\s+code", &[&["Error"]]).is_err());
        assert!(check(r"(?i)errors?", &[&["err"]]).is_ok());
        assert!(check(r"(?i)\w+", &[&["a"]]).is_err());
    }
}
