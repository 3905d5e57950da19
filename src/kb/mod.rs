//! The knowledge base: `kb/*.toml` files -> validated [`Entry`]s -> a [`Kb`] ready for
//! matching -> SQLite (see [`store`]).

pub mod anchor;
pub mod condition;
pub mod fast;
pub mod flat;
pub mod index;
pub mod lint;
pub mod load;
pub mod packed;
pub mod snapshot;
pub mod source;
pub mod store;
pub mod topics;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Serialize;

pub use condition::When;
pub use index::Kb;
pub use load::{LoadReport, Problem, Severity, load_dir, load_files};
pub use source::{KbFiles, KbSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    High,
    Medium,
    Low,
}

impl Certainty {
    /// The highest confidence an entry of this certainty may reach: a medium or low entry is
    /// never presented as sure, however much evidence points at it.
    pub fn cap(self) -> f64 {
        match self {
            Certainty::High => 0.97,
            Certainty::Medium => 0.8,
            Certainty::Low => 0.6,
        }
    }
}

/// A KB regex. It is parsed (validated) at load time but compiled only the first time a text
/// contains one of its anchors: most patterns never need compiling in a one-shot CLI run.
#[derive(Debug, Clone, Serialize)]
pub struct Pattern {
    #[serde(rename = "regex")]
    pub source: String,
    pub weight: f64,
    /// Clauses of lower-case literals; every match contains one literal of each clause.
    /// `None`: always try it.
    #[serde(skip)]
    pub anchors: Option<anchor::Anchors>,
    /// Line in the KB file, for problems found after loading.
    #[serde(skip)]
    pub line: usize,
    #[serde(skip)]
    compiled: OnceLock<Option<regex_automata::meta::Regex>>,
}

/// Big enough for any sensible KB pattern, small enough that one bad pattern cannot take the
/// process's memory.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

impl Pattern {
    pub fn new(source: String, weight: f64, anchors: Option<anchor::Anchors>, line: usize) -> Pattern {
        Pattern {
            source,
            weight,
            anchors,
            line,
            compiled: OnceLock::new(),
        }
    }

    /// Compiles now (what `kb check` does for every pattern); see [`fast`].
    pub fn compile(&self) -> Result<regex_automata::meta::Regex, String> {
        let hir = regex_syntax::Parser::new()
            .parse(&self.source)
            .map_err(|e| e.to_string())?;
        fast::compile(&hir, MAX_REGEX_SIZE).map_err(|e| e.to_string())
    }

    /// The part of `text` the pattern matches, for showing as evidence.
    pub fn find<'t>(&self, text: &'t str) -> Option<std::borrow::Cow<'t, str>> {
        let m = self.regex()?.find(text)?;
        // Byte-level classes may end a match inside a multi-byte character.
        Some(match text.get(m.range()) {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => String::from_utf8_lossy(&text.as_bytes()[m.range()]),
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex().is_some_and(|re| re.is_match(text))
    }

    /// The compiled regex; `None` if it does not compile (only possible when a pattern parses
    /// but exceeds the size limit, which `kb check` reports).
    pub fn regex(&self) -> Option<&regex_automata::meta::Regex> {
        self.compiled
            .get_or_init(|| match self.compile() {
                Ok(re) => Some(re),
                Err(e) => {
                    tracing::warn!(pattern = %self.source, "KB pattern does not compile: {e}");
                    None
                }
            })
            .as_ref()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    pub when: When,
    pub source: String,
    pub effect: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub text: String,
    #[serde(default)]
    pub command: Option<String>,
    /// Shown next to the command: what the step disrupts (sessions dropped, IPL needed ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caution: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub title: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub cause: String,
    pub steps: Vec<Step>,
    pub confirm: Option<String>,
    pub checks: Vec<String>,
    /// Entries to check next, in order, when this one's steps do not fix it (the order the
    /// sources give, e.g. IBM's CPDB053 technote: NetServer domain, then password case).
    pub next: Vec<String>,
}

/// One validated knowledge-base entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub topics: Vec<String>,
    pub tags: Vec<String>,
    pub certainty: Certainty,
    pub releases: Option<String>,
    pub unprompted: bool,
    pub triage: bool,
    pub message_ids: Vec<String>,
    pub error_codes: Vec<u32>,
    pub nt_status: Vec<String>,
    pub phrases: Vec<String>,
    /// Example utterances (see `kb/README.md`): features for the learned ranking.
    pub examples: Vec<String>,
    pub patterns: Vec<Pattern>,
    pub conditions: Vec<Condition>,
    pub answer: Answer,
    pub references: Vec<Reference>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// IBM i message ids: a 3-letter prefix naming the component, then 4 hex digits
/// (CPF9801, CPFA0A9, CPDB053, SQL0204, CPE3401).
pub fn is_message_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
        && b[3..].iter().any(u8::is_ascii_digit)
}
