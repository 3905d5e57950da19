//! The relevance gate: "is this text a report of a QNTC problem, now?" — asked of the text as
//! a whole, apart from which entry fits best. A thank-you that quotes CPDB053, smbclient in
//! PASE, a NAS's own Samba log or a PC mapping a drive *to* the IBM i all name things the
//! knowledge base knows, and none of them is a QNTC problem to answer.
//!
//! The cues (named groups of patterns) live in `kb/model/gate.toml`, reviewed like the rest of
//! the KB; how much each cue counts is fitted (see [`super::fit`]).

use serde::Deserialize;

use crate::evidence::{Evidence, FactKind};

use super::features::TextSignals;

/// Gate features that every gate has, before the cues (`cue:<name>`).
pub const BASE: &[&str] = &[
    "bias",
    "qntc_context",
    "qntc_path",
    "qntc_word",
    "logon_family",
    "known_id",
    "other_path_only",
    "top_rank",
    "top_hand",
    "top_ngram",
    "top_bm25",
    "length",
    "lex_quiet",
    "lex_reply",
];

/// A named cue: any of its patterns in the text turns it on.
#[derive(Debug, Clone)]
pub struct Cue {
    pub name: String,
    pub about: String,
    /// Compiled lazily through the KB's own fast path, behind its literal anchors, so a cue
    /// costs nothing until a text could match it.
    patterns: Vec<crate::kb::Pattern>,
}

impl Cue {
    /// A cue as the KB snapshot keeps it: its patterns parsed, validated and anchored.
    pub fn from_parts(name: String, about: String, patterns: Vec<crate::kb::Pattern>) -> Cue {
        Cue { name, about, patterns }
    }

    pub fn patterns(&self) -> &[crate::kb::Pattern] {
        &self.patterns
    }

    fn matches(&self, text: &str, lower: &str) -> bool {
        self.patterns.iter().any(|p| {
            let anchored = p
                .anchors
                .as_ref()
                .is_none_or(|clauses| clauses.iter().all(|c| c.iter().any(|lit| lower.contains(lit.as_str()))));
            anchored && p.is_match(text)
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Cues {
    pub cues: Vec<Cue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    cue: Vec<RawCue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCue {
    name: String,
    about: String,
    patterns: Vec<String>,
}

impl Cues {
    /// Parses `model/gate.toml`. Errors say what is wrong; the caller names the file.
    pub fn parse(text: &str) -> Result<Cues, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut cues = Vec::new();
        for c in raw.cue {
            if c.name.is_empty() || !c.name.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_') {
                return Err(format!("cue name {:?} must be lower-case letters and _", c.name));
            }
            if cues.iter().any(|x: &Cue| x.name == c.name) {
                return Err(format!("cue {:?} is defined twice", c.name));
            }
            let mut patterns = Vec::new();
            for (k, p) in c.patterns.iter().enumerate() {
                let hir = regex_syntax::Parser::new()
                    .parse(p)
                    .map_err(|e| format!("cue {:?}: invalid pattern {p:?}: {e}", c.name))?;
                if hir.properties().minimum_len() == Some(0) {
                    return Err(format!("cue {:?}: pattern {p:?} matches empty text", c.name));
                }
                patterns.push(crate::kb::Pattern::new(
                    p.clone(),
                    1.0,
                    crate::kb::anchor::anchors(&hir),
                    k,
                ));
            }
            cues.push(Cue {
                name: c.name,
                about: c.about,
                patterns,
            });
        }
        Ok(Cues { cues })
    }

    /// Compiles every pattern now, as the runtime would: what `kb check` runs.
    pub fn compile_all(&self) -> Result<(), String> {
        for c in &self.cues {
            for p in &c.patterns {
                p.compile()
                    .map_err(|e| format!("cue {:?}: pattern {:?} does not compile: {e}", c.name, p.source))?;
            }
        }
        Ok(())
    }

    /// All gate feature names: [`BASE`], then one `cue:<name>` per cue.
    pub fn feature_names(&self) -> Vec<String> {
        BASE.iter()
            .map(|s| (*s).to_string())
            .chain(self.cues.iter().map(|c| format!("cue:{}", c.name)))
            .collect()
    }
}

/// Longer texts are job logs; the cues are about what people write around them.
const MAX_CUE_BYTES: usize = 16 * 1024;

/// The gate's features of one text. `top_rank` is the best entry's model score.
pub fn features(cues: &Cues, ev: &Evidence, text: &str, signals: &TextSignals, top_rank: f64) -> Vec<f64> {
    let lower_has = |needle: &str| {
        text.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    let qntc_path = ev.of(FactKind::QntcPath).next().is_some();
    let other_path = ev.of(FactKind::OtherPath).next().is_some();
    let known_id = ev.of(FactKind::MessageId).next().is_some();
    let logon = ev.of(FactKind::MessageId).any(|f| f.value.starts_with("CPDB05"));
    let head = head(text, MAX_CUE_BYTES);
    let lower = crate::kb::anchor::fold(head);
    let mut x = vec![
        1.0,
        f64::from(u8::from(ev.qntc_context)),
        f64::from(u8::from(qntc_path)),
        f64::from(u8::from(lower_has("qntc"))),
        f64::from(u8::from(logon)),
        f64::from(u8::from(known_id)),
        f64::from(u8::from(other_path && !qntc_path)),
        (top_rank / 4.0).tanh(),
        (signals.best_hand / 1.5).tanh(),
        signals.best_ngram,
        (1.0 + signals.best_bm25).ln() / 3.0,
        ((text.len() as f64).ln_1p() / 10.0).min(1.5),
        signals.lex_quiet,
        (signals.lex_reply / 4.0).tanh(),
    ];
    for c in &cues.cues {
        x.push(f64::from(u8::from(c.matches(head, &lower))));
    }
    x
}

fn head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The names of the cues that fired, for explaining a decision to stay quiet.
pub fn fired<'a>(cues: &'a Cues, x: &[f64]) -> Vec<&'a str> {
    cues.cues
        .iter()
        .enumerate()
        .filter(|(k, _)| x.get(BASE.len() + k).is_some_and(|v| *v > 0.0))
        .map(|(_, c)| c.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cues_and_refuses_bad_ones() {
        let c = Cues::parse("[[cue]]\nname = \"resolved\"\nabout = \"over\"\npatterns = ['(?i)\\bthanks\\b']\n")
            .expect("valid");
        assert_eq!(c.feature_names().last().map(String::as_str), Some("cue:resolved"));
        assert!(Cues::parse("[[cue]]\nname = \"x\"\nabout = \"\"\npatterns = ['a*']\n").is_err());
        assert!(Cues::parse("[[cue]]\nname = \"Bad\"\nabout = \"\"\npatterns = ['a']\n").is_err());
        assert!(Cues::parse("[[cue]]\nname = \"x\"\nabout = \"\"\npatterns = ['(']\n").is_err());
        let ok =
            Cues::parse("[[cue]]\nname = \"x\"\nabout = \"\"\npatterns = ['(?i)\\bsmbclient\\b']\n").expect("valid");
        assert!(ok.compile_all().is_ok());
    }

    #[test]
    fn cue_fires_on_its_pattern_only() {
        let cues = Cues::parse("[[cue]]\nname = \"resolved\"\nabout = \"over\"\npatterns = ['(?i)\\bthanks\\b']\n")
            .expect("valid");
        let text = "CPDB053 is gone now, thanks!";
        let ev = crate::evidence::extract(text);
        let x = features(&cues, &ev, text, &TextSignals::default(), 0.0);
        assert_eq!(fired(&cues, &x), vec!["resolved"]);
        let text = "CPDB053 again";
        let x = features(
            &cues,
            &crate::evidence::extract(text),
            text,
            &TextSignals::default(),
            0.0,
        );
        assert!(fired(&cues, &x).is_empty());
    }

    /// The shipped cues for messages that report nothing broken now, on messages of that kind
    /// and on reports that share their words (a comparison "the PCs are fine", a workaround
    /// "then it works again", thanks in advance), which must not set them off.
    #[test]
    fn shipped_look_alike_cues_fire_on_their_kind_only() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/kb/model/gate.toml"))
            .expect("kb/model/gate.toml");
        let cues = Cues::parse(&text).expect("the shipped cues parse");
        let on = |t: &str| {
            let x = features(&cues, &crate::evidence::extract(t), t, &TextSignals::default(), 0.0);
            fired(&cues, &x).into_iter().map(str::to_owned).collect::<Vec<_>>()
        };
        for (t, cue) in [
            (
                "fixed! changed the NetServer domain, /QNTC/FS01 shows the shares again",
                "resolved",
            ),
            ("false alarm, that was last month's job log", "resolved"),
            ("Hat sich erledigt, läuft wieder.", "resolved"),
            ("C'est réglé, merci !", "resolved"),
            (
                "FYI the slow /QNTC browsing is fixed: QIBM_ZLC_NO_BROWSE = 1",
                "resolved",
            ),
            (
                "Hoy todo funciona, ¿hay que planificar algo para el cifrado SMB?",
                "nothing_broken",
            ),
            (
                "Out of curiosity, when did QNTC get SMB2? Asking for our internal wiki.",
                "nothing_broken",
            ),
            (
                "Domanda storica, niente di rotto: serviva reimpostare le password?",
                "nothing_broken",
            ),
            ("念のため、ドキュメント用に確認したいだけです。", "nothing_broken"),
            ("On ne passe pas par /QNTC, c'est du FTP pur.", "not_qntc"),
            (
                "CWBSY0002 on the PC. No QNTC involved, it's the 5250 sign-on.",
                "not_qntc",
            ),
        ] {
            assert!(
                on(t).iter().any(|c| c == cue),
                "{cue} should fire on {t:?}: {:?}",
                on(t)
            );
        }
        for t in [
            "after the IPL the copy fails, someone runs CRTDIR and it works again until the next IPL",
            "Merci d'avance : CPDB053 code 3401 sur /QNTC/FS01 depuis ce matin",
            "7.1 から QNTC で共有にアクセスできません。Windows クライアントは問題ありません。",
            "Upgrade auf V7R3 erledigt, seitdem CPDB053 auf /QNTC",
        ] {
            let fired = on(t);
            for cue in ["resolved", "nothing_broken", "not_qntc"] {
                assert!(!fired.iter().any(|c| c == cue), "{cue} fired on {t:?}");
            }
        }
    }
}
