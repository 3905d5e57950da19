//! The compiled knowledge base, kept between runs so that a one-shot command does not parse
//! and validate every TOML file again.
//!
//! A snapshot is keyed by the hash of the KB's files (see [`super::source`]) and by the code
//! that compiles them, so an edit to `kb/` or a new binary simply misses the old snapshot and
//! builds a new one; nothing is ever invalidated by time stamps. Snapshots are written to a
//! temporary file and renamed into place, so two processes starting at once each either read a
//! whole snapshot or build their own and publish it; a reader never sees half a file. Any
//! problem with the cache (no cache directory, a corrupt or foreign file, a full disk) falls
//! back to building from the files: the cache can make a start faster, never make it fail.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::source::KbFiles;
use super::{Answer, Certainty, Condition, Entry, Pattern, Reference, Step, When};

/// Bumped when the snapshot layout changes. The code hash below catches most changes anyway.
const FORMAT: u32 = 1;
/// Snapshots kept in the cache directory; older ones are removed when a new one is written.
const KEEP: usize = 8;

mod code {
    include!(concat!(env!("OUT_DIR"), "/kb_code_hash.rs"));
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    code: String,
    kb_hash: String,
    entries: Vec<SnapEntry>,
    warnings: Vec<String>,
}

/// [`Entry`] with everything the loader computed (pattern anchors and lines, the file).
#[derive(Serialize, Deserialize)]
struct SnapEntry {
    id: String,
    title: String,
    topics: Vec<String>,
    tags: Vec<String>,
    certainty: Certainty,
    releases: Option<String>,
    unprompted: bool,
    triage: bool,
    message_ids: Vec<String>,
    error_codes: Vec<u32>,
    nt_status: Vec<String>,
    phrases: Vec<String>,
    examples: Vec<String>,
    patterns: Vec<SnapPattern>,
    conditions: Vec<SnapCondition>,
    cause: String,
    steps: Vec<Step>,
    confirm: Option<String>,
    checks: Vec<String>,
    next: Vec<String>,
    references: Vec<Reference>,
    file: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct SnapPattern {
    source: String,
    weight: f64,
    anchors: Option<super::anchor::Anchors>,
    line: usize,
}

#[derive(Serialize, Deserialize)]
struct SnapCondition {
    when: String,
    effect: f64,
}

impl From<&Entry> for SnapEntry {
    fn from(e: &Entry) -> SnapEntry {
        // Destructured so that a new field in `Entry` fails to compile here until the
        // snapshot carries it too.
        let Entry {
            id,
            title,
            topics,
            tags,
            certainty,
            releases,
            unprompted,
            triage,
            message_ids,
            error_codes,
            nt_status,
            phrases,
            examples,
            patterns,
            conditions,
            answer:
                Answer {
                    cause,
                    steps,
                    confirm,
                    checks,
                    next,
                },
            references,
            file,
        } = e;
        SnapEntry {
            id: id.clone(),
            title: title.clone(),
            topics: topics.clone(),
            tags: tags.clone(),
            certainty: *certainty,
            releases: releases.clone(),
            unprompted: *unprompted,
            triage: *triage,
            message_ids: message_ids.clone(),
            error_codes: error_codes.clone(),
            nt_status: nt_status.clone(),
            phrases: phrases.clone(),
            examples: examples.clone(),
            patterns: patterns
                .iter()
                .map(|p| SnapPattern {
                    source: p.source.clone(),
                    weight: p.weight,
                    anchors: p.anchors.clone(),
                    line: p.line,
                })
                .collect(),
            conditions: conditions
                .iter()
                .map(|c| SnapCondition {
                    when: c.source.clone(),
                    effect: c.effect,
                })
                .collect(),
            cause: cause.clone(),
            steps: steps.clone(),
            confirm: confirm.clone(),
            checks: checks.clone(),
            next: next.clone(),
            references: references.clone(),
            file: file.clone(),
        }
    }
}

impl SnapEntry {
    fn into_entry(self) -> Option<Entry> {
        let mut conditions = Vec::with_capacity(self.conditions.len());
        for c in self.conditions {
            // The loader parsed these already; a failure means a foreign snapshot.
            let when = When::parse(&c.when).ok()?;
            conditions.push(Condition {
                when,
                source: c.when,
                effect: c.effect,
            });
        }
        Some(Entry {
            id: self.id,
            title: self.title,
            topics: self.topics,
            tags: self.tags,
            certainty: self.certainty,
            releases: self.releases,
            unprompted: self.unprompted,
            triage: self.triage,
            message_ids: self.message_ids,
            error_codes: self.error_codes,
            nt_status: self.nt_status,
            phrases: self.phrases,
            examples: self.examples,
            patterns: self
                .patterns
                .into_iter()
                .map(|p| Pattern::new(p.source, p.weight, p.anchors, p.line))
                .collect(),
            conditions,
            answer: Answer {
                cause: self.cause,
                steps: self.steps,
                confirm: self.confirm,
                checks: self.checks,
                next: self.next,
            },
            references: self.references,
            file: self.file,
        })
    }
}

/// Validated entries and the warnings found while validating them.
pub struct Loaded {
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
    /// Whether they came from a snapshot (false: parsed from the files just now).
    pub from_snapshot: bool,
}

/// Loads the KB from its snapshot in `cache`, or from the files (then writes the snapshot).
/// `Err` carries the validation errors, one per line, exactly as loading the files reports
/// them; an invalid KB is never snapshotted.
pub fn load(files: &KbFiles, cache: Option<&Path>) -> Result<Loaded, Vec<String>> {
    let name = file_name(files);
    if let Some(dir) = cache
        && let Some(loaded) = read(&dir.join(&name), files)
    {
        return Ok(loaded);
    }
    let report = super::load_files(files);
    if report.has_errors() {
        return Err(report.errors().map(ToString::to_string).collect());
    }
    let warnings: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    if let Some(dir) = cache {
        write(dir, &name, files, &report.entries, &warnings);
    }
    Ok(Loaded {
        entries: report.entries,
        warnings,
        from_snapshot: false,
    })
}

/// Where snapshots are kept: `QNTCBOT_CACHE_DIR`, else the user's cache directory
/// (`$XDG_CACHE_HOME/qntcbot` or `~/.cache/qntcbot`). `None`: no caching.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("QNTCBOT_CACHE_DIR") {
        return Some(d);
    }
    var("XDG_CACHE_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("qntcbot"))
}

fn file_name(files: &KbFiles) -> String {
    format!("kb-{}-{}.snapshot.json", files.hash(), &code::HASH[..16])
}

fn read(path: &Path, files: &KbFiles) -> Option<Loaded> {
    let bytes = std::fs::read(path).ok()?;
    crate::work::add(bytes.len());
    let snap: Snapshot = match serde_json::from_slice(&bytes) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(path = %path.display(), "ignoring an unreadable KB snapshot: {e}");
            return None;
        }
    };
    if snap.format != FORMAT || snap.code != code::HASH || snap.kb_hash != files.hash() {
        return None;
    }
    let entries = snap
        .entries
        .into_iter()
        .map(SnapEntry::into_entry)
        .collect::<Option<Vec<_>>>()?;
    tracing::debug!(path = %path.display(), "knowledge base from its snapshot");
    Some(Loaded {
        entries,
        warnings: snap.warnings,
        from_snapshot: true,
    })
}

fn write(dir: &Path, name: &str, files: &KbFiles, entries: &[Entry], warnings: &[String]) {
    let snap = Snapshot {
        format: FORMAT,
        code: code::HASH.to_string(),
        kb_hash: files.hash().to_string(),
        entries: entries.iter().map(SnapEntry::from).collect(),
        warnings: warnings.to_vec(),
    };
    let result = publish(dir, name, &snap);
    match result {
        Ok(()) => prune(dir, name),
        Err(e) => tracing::debug!(dir = %dir.display(), "cannot write the KB snapshot: {e}"),
    }
}

/// Writes `snap` under a name no other process uses, then renames it over `name`.
fn publish(dir: &Path, name: &str, snap: &Snapshot) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let body = serde_json::to_vec(snap).map_err(std::io::Error::other)?;
    // A name no other process uses, then an atomic rename over the final name.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    std::fs::write(&tmp, body)?;
    if let Err(e) = std::fs::rename(&tmp, dir.join(name)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Keeps the newest [`KEEP`] snapshots (a developer editing `kb/` makes one per edit).
fn prune(dir: &Path, keep_name: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut snaps: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("kb-") && n.ends_with(".snapshot.json") && n != keep_name
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if snaps.len() < KEEP {
        return;
    }
    snaps.sort();
    for (_, p) in &snaps[..snaps.len() + 1 - KEEP] {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("qntcbot-snap-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_snapshot_round_trips_the_embedded_kb() {
        let cache = temp("roundtrip");
        let files = KbFiles::embedded();
        let built = load(&files, Some(&cache)).unwrap();
        assert!(!built.from_snapshot);
        let again = load(&files, Some(&cache)).unwrap();
        assert!(again.from_snapshot);
        assert_eq!(built.entries.len(), again.entries.len());
        for (a, b) in built.entries.iter().zip(&again.entries) {
            // Serialize covers every field shown or stored; anchors and lines separately.
            assert_eq!(serde_json::to_value(a).unwrap(), serde_json::to_value(b).unwrap());
            let pa: Vec<_> = a.patterns.iter().map(|p| (&p.anchors, p.line)).collect();
            let pb: Vec<_> = b.patterns.iter().map(|p| (&p.anchors, p.line)).collect();
            assert_eq!(pa, pb);
            assert_eq!(a.file, b.file);
        }
        assert_eq!(built.warnings, again.warnings);
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn a_corrupt_snapshot_is_rebuilt() {
        let cache = temp("corrupt");
        let files = KbFiles::embedded();
        std::fs::write(cache.join(file_name(&files)), b"{\"format\": 1, \"code\":").unwrap();
        let l = load(&files, Some(&cache)).unwrap();
        assert!(!l.from_snapshot);
        assert!(load(&files, Some(&cache)).unwrap().from_snapshot);
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn an_invalid_kb_is_never_snapshotted() {
        let cache = temp("invalid");
        let kb = temp("invalid-kb");
        std::fs::write(kb.join("broken.toml"), "id = ").unwrap();
        let files = KbFiles::read_dir(&kb).unwrap();
        assert!(load(&files, Some(&cache)).is_err());
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
        std::fs::remove_dir_all(&cache).unwrap();
        std::fs::remove_dir_all(&kb).unwrap();
    }
}
