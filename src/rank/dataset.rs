//! Labelled case sets: JSON lines `{"text": ..., "expect": ["topic", ...]}`, where an empty
//! `expect` means the bot must stay quiet. Optional fields: `reply` (false: the best match must
//! carry the topic but the bot stays quiet, as for NetServer-direction questions), `lang`,
//! `form`, `name`, `source`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub text: String,
    #[serde(default)]
    pub expect: Vec<String>,
    #[serde(default)]
    pub reply: Option<bool>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub form: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Where the case was read from (`file:line`), filled by the loader.
    #[serde(skip)]
    pub origin: String,
}

impl Case {
    /// Should the bot answer this one unprompted?
    pub fn wants_reply(&self) -> bool {
        self.reply.unwrap_or(!self.expect.is_empty())
    }

    pub fn is_positive(&self) -> bool {
        !self.expect.is_empty()
    }

    /// Is this entry's topic list a right answer?
    pub fn accepts(&self, topics: &[String]) -> bool {
        topics.iter().any(|t| self.expect.contains(t))
    }
}

/// Files named on the command line: a directory stands for its `*.jsonl` files, sorted.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(format!("{}: no *.jsonl case files in this directory", p.display()));
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads every case of `path`; a line that is not a case is an error naming `file:line`.
pub fn load(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let mut c: Case =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: not a case: {e}", path.display(), n + 1))?;
        if c.text.trim().is_empty() {
            return Err(format!("{}:{}: empty text", path.display(), n + 1));
        }
        c.origin = format!("{}:{}", path.display(), n + 1);
        cases.push(c);
    }
    Ok(cases)
}

pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Case>, String> {
    let mut all = Vec::new();
    for p in expand(paths)? {
        all.extend(load(&p)?);
    }
    Ok(all)
}

/// FNV-1a: a hash that is the same on every machine and every run, for fold assignment and the
/// training-data fingerprint.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cases_and_names_bad_lines() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("a.jsonl");
        std::fs::write(
            &p,
            "{\"text\":\"CPDB053\",\"expect\":[\"netserver-domain-mismatch\"]}\n\n{\"text\":\"hi\",\"expect\":[]}\n",
        )
        .expect("write");
        let cases = load(&p).expect("loads");
        assert_eq!(cases.len(), 2);
        assert!(cases[0].wants_reply() && !cases[1].wants_reply());
        assert_eq!(cases[1].origin, format!("{}:3", p.display()));
        std::fs::write(&p, "{\"text\":\"x\"}\nnot json\n").expect("write");
        let err = load(&p).expect_err("bad line");
        assert!(err.contains("a.jsonl:2"), "{err}");
        assert_eq!(expand(&[dir.path().to_path_buf()]).expect("dir").len(), 1);
    }
}
