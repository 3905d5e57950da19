//! The compiled knowledge base, kept between runs so that a one-shot command does not parse
//! and validate every TOML file, build the term and similarity indexes and parse the learned
//! lexicon again.
//!
//! A snapshot is keyed by the hash of the KB's files (see [`super::source`]) and by the code
//! that compiles them, so an edit to `kb/` or a new binary simply misses the old snapshot and
//! builds a new one; nothing is ever invalidated by time stamps. Snapshots are written to a
//! temporary file and renamed into place, so two processes starting at once each either read a
//! whole snapshot or build their own and publish it; a reader never sees half a file. Any
//! problem with the cache (no cache directory, a corrupt, truncated or foreign file, a full
//! disk) falls back to building from the files: the cache can make a start faster, never make
//! it fail.
//!
//! The file is binary: a magic line, the format, a checksum and the length of the body, then
//! the body in postcard (the indexes are flat arrays, see [`super::flat`], so reading it back
//! costs a few allocations, not one per word). A body that decodes but does not fit the
//! entries it came with (positions out of range) is refused like a corrupt one.

use std::borrow::Cow;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::{Built, Kb, Words};
use super::source::KbFiles;
use super::{Answer, Certainty, Condition, Entry, Pattern, Reference, Step, When};
use crate::rank::Lexicon;
use crate::rank::gate::{Cue, Cues};
use crate::rank::sim::SimIndex;

/// Bumped when the snapshot layout changes. The code hash below catches most changes anyway.
const FORMAT: u32 = 6;
/// The first bytes of every snapshot file.
const MAGIC: &[u8; 8] = b"qntckb\n\0";
/// Magic, format (u32), checksum (u64) and body length (u64), little-endian.
const HEADER: usize = 8 + 4 + 8 + 8;
/// Snapshots kept in the cache directory; older ones are removed when a new one is written.
const KEEP: usize = 8;
/// A snapshot's temporary file older than this was left by a writer that died.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(3600);

mod code {
    include!(concat!(env!("OUT_DIR"), "/kb_code_hash.rs"));
}

#[derive(Serialize, Deserialize)]
struct Snapshot<'a> {
    code: Cow<'a, str>,
    kb_hash: Cow<'a, str>,
    entries: Vec<SnapEntry>,
    warnings: Cow<'a, [String]>,
    words: Cow<'a, Words>,
    sim: Cow<'a, SimIndex>,
    lexicon: Cow<'a, Lexicon>,
    /// The gate's cues (`model/gate.toml`), parsed and anchored: parsing the TOML and each
    /// pattern again had cost a start some 13 M instructions.
    cues: Vec<SnapCue>,
}

#[derive(Serialize, Deserialize)]
struct SnapCue {
    name: String,
    about: String,
    patterns: Vec<SnapPattern>,
}

impl From<&Cue> for SnapCue {
    fn from(c: &Cue) -> SnapCue {
        SnapCue {
            name: c.name.clone(),
            about: c.about.clone(),
            patterns: c.patterns().iter().map(SnapPattern::from).collect(),
        }
    }
}

impl From<&Pattern> for SnapPattern {
    fn from(p: &Pattern) -> SnapPattern {
        SnapPattern {
            source: p.source.clone(),
            weight: p.weight,
            anchors: p.anchors.clone(),
            line: p.line,
        }
    }
}

impl SnapPattern {
    fn into_pattern(self) -> Pattern {
        Pattern::new(self.source, self.weight, self.anchors, self.line)
    }
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
    steps: Vec<SnapStep>,
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

/// [`Step`] without its `skip_serializing_if`, which a format without field names cannot
/// read back.
#[derive(Serialize, Deserialize)]
struct SnapStep {
    text: String,
    command: Option<String>,
    caution: Option<String>,
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
            patterns: patterns.iter().map(SnapPattern::from).collect(),
            conditions: conditions
                .iter()
                .map(|c| SnapCondition {
                    when: c.source.clone(),
                    effect: c.effect,
                })
                .collect(),
            cause: cause.clone(),
            steps: steps
                .iter()
                .map(|s| SnapStep {
                    text: s.text.clone(),
                    command: s.command.clone(),
                    caution: s.caution.clone(),
                })
                .collect(),
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
            patterns: self.patterns.into_iter().map(SnapPattern::into_pattern).collect(),
            conditions,
            answer: Answer {
                cause: self.cause,
                steps: self
                    .steps
                    .into_iter()
                    .map(|s| Step {
                        text: s.text,
                        command: s.command,
                        caution: s.caution,
                    })
                    .collect(),
                confirm: self.confirm,
                checks: self.checks,
                next: self.next,
            },
            references: self.references,
            file: self.file,
        })
    }
}

/// A compiled KB with its fitted model and lexicon, and the warnings found validating it.
pub struct Compiled {
    pub kb: Kb,
    pub warnings: Vec<String>,
    /// Whether the entries and indexes came from a snapshot (false: built just now).
    pub from_snapshot: bool,
}

/// Why a KB could not be compiled.
#[derive(Debug)]
pub enum Failure {
    /// Validation errors of the entries, the model or the lexicon, one per line, exactly as
    /// loading the files reports them.
    Invalid(Vec<String>),
    Compile(super::index::CompileError),
}

/// The compiled KB of `files`: entries, term and similarity indexes and lexicon from its
/// snapshot in `cache` when there is one, else built from the files (and then snapshotted,
/// once everything, the model and lexicon included, has proven valid: an invalid KB is never
/// snapshotted). The fitted model is read from the files either way (a few hundred bytes).
pub fn compile(files: &KbFiles, cache: Option<&Path>) -> Result<Compiled, Failure> {
    let snap = cache.and_then(|dir| read(&dir.join(file_name(files)), files));
    let from_snapshot = snap.is_some();
    let (entries, warnings, built, lexicon, cues) = match snap {
        Some(s) => (s.entries, s.warnings, Some(s.built), Some(s.lexicon), Some(s.cues)),
        None => {
            let report = super::load_files(files);
            if report.has_errors() {
                return Err(Failure::Invalid(report.errors().map(ToString::to_string).collect()));
            }
            let warnings = report.problems.iter().map(ToString::to_string).collect();
            (report.entries, warnings, None, None, None)
        }
    };
    // Cues a snapshot kept that the weights do not fit (only a forged snapshot could have
    // such) are read again from the files, which then say what is wrong.
    let (model, cues) = match cues.map(|c| (crate::rank::model_for_cues(files, &c), c)) {
        Some((Ok(model), cues)) => (model, cues),
        _ => crate::rank::model_from_files(files).map_err(|e| Failure::Invalid(vec![e]))?,
    };
    let kb = Kb::build_with(entries, built)
        .map_err(Failure::Compile)?
        .with_model(model, cues);
    let lexicon = match lexicon {
        Some(l) => l,
        None => {
            let ids: Vec<&str> = kb.entries.iter().map(|e| e.id.as_str()).collect();
            crate::rank::lexicon_from_files(files, &ids).map_err(|e| Failure::Invalid(vec![e]))?
        }
    };
    let kb = kb.with_lexicon(lexicon);
    if !from_snapshot && let Some(dir) = cache {
        save(files, dir, &kb, &warnings);
    }
    Ok(Compiled {
        kb,
        warnings,
        from_snapshot,
    })
}

/// Keeps the compiled `kb` of `files` (with its lexicon and load `warnings`) in `dir`. A
/// failure to write is only logged: the next start builds again.
fn save(files: &KbFiles, dir: &Path, kb: &Kb, warnings: &[String]) {
    let name = file_name(files);
    let snap = Snapshot {
        code: Cow::Borrowed(code::HASH),
        kb_hash: Cow::Borrowed(files.hash()),
        entries: kb.entries.iter().map(|e| SnapEntry::from(&**e)).collect(),
        warnings: Cow::Borrowed(warnings),
        words: Cow::Borrowed(kb.words()),
        sim: Cow::Borrowed(&kb.sim),
        lexicon: Cow::Borrowed(&kb.lexicon),
        cues: kb.cues.cues.iter().map(SnapCue::from).collect(),
    };
    let result = encode(&snap).and_then(|body| publish(dir, &name, &body));
    match result {
        Ok(()) => prune(dir, &name),
        Err(e) => tracing::debug!(dir = %dir.display(), "cannot write the KB snapshot: {e}"),
    }
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
    format!("kb-{}-{}.snapshot", files.hash(), &code::HASH[..16])
}

/// A checksum of the body: a few bytes changed on disk are a rebuild, not a wrong answer.
/// Eight bytes at a time, so that it costs well under a millisecond.
fn checksum(body: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    let mut words = body.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h.write_u64(u64::from_le_bytes(b));
    }
    h.write(words.remainder());
    h.write_usize(body.len());
    h.finish()
}

fn encode(snap: &Snapshot<'_>) -> std::io::Result<Vec<u8>> {
    let body = postcard::to_stdvec(snap).map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&checksum(&body).to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The body of a whole snapshot file of this format, or why not.
fn body(bytes: &[u8]) -> Result<&[u8], &'static str> {
    let (head, body) = bytes.split_at_checked(HEADER).ok_or("shorter than its header")?;
    let field = |at: usize, len: usize| head.get(at..at + len).unwrap_or_default();
    let u64_at = |at: usize| field(at, 8).try_into().map(u64::from_le_bytes).unwrap_or_default();
    if field(0, 8) != MAGIC {
        return Err("not a KB snapshot");
    }
    if field(8, 4) != FORMAT.to_le_bytes() {
        return Err("another format");
    }
    if u64_at(20) != body.len() as u64 {
        return Err("truncated or extended");
    }
    if u64_at(12) != checksum(body) {
        return Err("checksum mismatch");
    }
    Ok(body)
}

/// What a snapshot gives back.
struct Read {
    entries: Vec<Entry>,
    warnings: Vec<String>,
    built: Built,
    lexicon: Lexicon,
    cues: Cues,
}

/// The entries, warnings, indexes, lexicon and cues of the snapshot at `path`, if it is a
/// whole snapshot of `files` made by this code.
fn read(path: &Path, files: &KbFiles) -> Option<Read> {
    let bytes = std::fs::read(path).ok()?;
    crate::work::add(bytes.len());
    let unreadable = |why: &dyn std::fmt::Display| {
        tracing::debug!(path = %path.display(), "ignoring an unreadable KB snapshot: {why}");
    };
    let snap: Snapshot<'_> = match body(&bytes).map(postcard::from_bytes) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            unreadable(&e);
            return None;
        }
        Err(e) => {
            unreadable(&e);
            return None;
        }
    };
    if snap.code != code::HASH || snap.kb_hash != files.hash() {
        return None;
    }
    let entries = snap
        .entries
        .into_iter()
        .map(SnapEntry::into_entry)
        .collect::<Option<Vec<_>>>()?;
    let built = Built {
        words: snap.words.into_owned(),
        sim: snap.sim.into_owned(),
    };
    let lexicon = snap.lexicon.into_owned();
    if !built.is_sound(entries.len()) || !lexicon.is_sound(entries.len()) {
        unreadable(&"indexes do not fit the entries");
        return None;
    }
    let cues = Cues {
        cues: snap
            .cues
            .into_iter()
            .map(|c| {
                Cue::from_parts(
                    c.name,
                    c.about,
                    c.patterns.into_iter().map(SnapPattern::into_pattern).collect(),
                )
            })
            .collect(),
    };
    tracing::debug!(path = %path.display(), "knowledge base from its snapshot");
    Some(Read {
        entries,
        warnings: snap.warnings.into_owned(),
        built,
        lexicon,
        cues,
    })
}

/// Writes `body` under a name no other process uses, then renames it over `name`.
fn publish(dir: &Path, name: &str, body: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
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
    let entries: Vec<std::fs::DirEntry> = rd.filter_map(Result::ok).collect();
    // The temporary file of a writer that was killed mid-write: a write takes milliseconds,
    // so one this old is nobody's any more.
    for e in &entries {
        let n = e.file_name();
        let n = n.to_string_lossy();
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TMP);
        if n.starts_with(".kb-") && n.ends_with(".tmp") && stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut snaps: Vec<(std::time::SystemTime, PathBuf)> = entries
        .into_iter()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            // Also the JSON snapshots of earlier versions.
            n.starts_with("kb-") && (n.ends_with(".snapshot") || n.ends_with(".snapshot.json")) && n != keep_name
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

    fn compiled(files: &KbFiles, cache: &Path) -> Compiled {
        match compile(files, Some(cache)) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        }
    }

    /// The snapshot of `files` in `cache` (there must be one).
    fn snapshot_path(files: &KbFiles, cache: &Path) -> PathBuf {
        let p = cache.join(file_name(files));
        assert!(p.is_file(), "no snapshot at {}", p.display());
        p
    }

    fn assert_same_kb(a: &Kb, b: &Kb) {
        assert_eq!(a.entries.len(), b.entries.len());
        for (a, b) in a.entries.iter().zip(&b.entries) {
            // Serialize covers every field shown or stored; anchors and lines separately.
            assert_eq!(serde_json::to_value(&**a).unwrap(), serde_json::to_value(&**b).unwrap());
            let pa: Vec<_> = a.patterns.iter().map(|p| (&p.anchors, p.line)).collect();
            let pb: Vec<_> = b.patterns.iter().map(|p| (&p.anchors, p.line)).collect();
            assert_eq!(pa, pb);
            assert_eq!(a.file, b.file);
        }
        assert!(a.words() == b.words(), "term index differs");
        assert!(a.sim == b.sim, "similarity index differs");
        assert!(a.lexicon == b.lexicon, "lexicon differs");
        let cues = |kb: &Kb| -> Vec<_> {
            kb.cues
                .cues
                .iter()
                .map(|c| {
                    let patterns: Vec<_> = c
                        .patterns()
                        .iter()
                        .map(|p| (p.source.clone(), p.weight, p.anchors.clone(), p.line))
                        .collect();
                    (c.name.clone(), c.about.clone(), patterns)
                })
                .collect()
        };
        assert!(!cues(a).is_empty(), "the shipped KB has gate cues");
        assert_eq!(cues(a), cues(b), "gate cues differ");
        assert!(a.model == b.model, "model differs");
    }

    #[test]
    fn a_dead_writers_temporary_file_is_removed_and_a_live_ones_kept() {
        let dir = temp("stale-tmp");
        let old = dir.join(".kb-x-y.snapshot.1.2.tmp");
        let fresh = dir.join(".kb-x-y.snapshot.3.4.tmp");
        std::fs::write(&old, b"").unwrap();
        std::fs::write(&fresh, b"").unwrap();
        let two_hours = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(two_hours)
            .unwrap();
        prune(&dir, "kb-x-y.snapshot");
        assert!(!old.exists(), "a writer dead for two hours");
        assert!(fresh.exists(), "a writer that may be writing now");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_snapshot_round_trips_the_embedded_kb() {
        let cache = temp("roundtrip");
        let files = KbFiles::embedded();
        let built = compiled(&files, &cache);
        assert!(!built.from_snapshot);
        assert!(!built.kb.lexicon.is_empty(), "the shipped lexicon is part of it");
        let again = compiled(&files, &cache);
        assert!(again.from_snapshot);
        assert_same_kb(&built.kb, &again.kb);
        assert_eq!(built.warnings, again.warnings);
        // The same answers for a text that uses every index (ids, typos, words, trigrams).
        let text = "CPDB053 eror code 3401 after upgrding to 7.4, the NetServr domian is wrong";
        let score = |kb: &Kb| {
            let term = kb.term_for("upgrding").map(|(t, typo)| (t.to_string(), typo));
            (kb.sim.score(text), kb.lexicon.score(text), term)
        };
        assert_eq!(score(&built.kb), score(&again.kb));
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn corrupt_truncated_and_altered_snapshots_are_rebuilt() {
        let cache = temp("corrupt");
        let files = KbFiles::embedded();
        let reference = compiled(&files, &cache).kb;
        let path = snapshot_path(&files, &cache);
        let whole = std::fs::read(&path).unwrap();
        let mut flipped = whole.clone();
        let mid = HEADER + (whole.len() - HEADER) / 2;
        flipped[mid] ^= 0x40;
        let damaged: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"{\"format\": 1, \"code\":".to_vec()),
            ("empty", Vec::new()),
            ("header only", whole[..HEADER].to_vec()),
            ("truncated", whole[..whole.len() / 2].to_vec()),
            ("one byte short", whole[..whole.len() - 1].to_vec()),
            ("extended", [whole.as_slice(), b"x"].concat()),
            ("one bit changed", flipped),
        ];
        for (what, bytes) in damaged {
            std::fs::write(&path, &bytes).unwrap();
            let c = compiled(&files, &cache);
            assert!(!c.from_snapshot, "{what}: not trusted");
            assert_same_kb(&reference, &c.kb);
            assert_eq!(std::fs::read(&path).unwrap(), whole, "{what}: written again");
            assert!(compiled(&files, &cache).from_snapshot, "{what}: then used");
        }
        std::fs::remove_dir_all(&cache).unwrap();
    }

    /// A small KB of its own: one entry from the shipped KB.
    fn small_kb(tag: &str) -> PathBuf {
        let kb = temp(tag);
        let name = "chmod-ignored.toml";
        let text = KbFiles::embedded()
            .get(name)
            .map(<[u8]>::to_vec)
            .expect("shipped entry");
        std::fs::write(kb.join(name), text).unwrap();
        kb
    }

    #[test]
    fn a_snapshot_of_another_kb_is_not_used() {
        let cache = temp("foreign");
        let files = KbFiles::embedded();
        let reference = compiled(&files, &cache).kb;
        let small = small_kb("foreign-kb");
        let other = KbFiles::read_dir(&small).unwrap();
        assert_ne!(other.hash(), files.hash());
        let small_kb = compiled(&other, &cache);
        assert_eq!(small_kb.kb.len(), 1);
        assert!(small_kb.kb.lexicon.is_empty(), "a KB without a lexicon file");
        assert!(compiled(&other, &cache).from_snapshot, "is snapshotted too");
        // The other KB's snapshot under this KB's name: its hash gives it away.
        std::fs::copy(snapshot_path(&other, &cache), snapshot_path(&files, &cache)).unwrap();
        let c = compiled(&files, &cache);
        assert!(!c.from_snapshot);
        assert_same_kb(&reference, &c.kb);

        // A snapshot that claims to be this KB's but whose indexes belong to the small KB:
        // every position checked, refused rather than trusted.
        let snap = Snapshot {
            code: Cow::Borrowed(code::HASH),
            kb_hash: Cow::Borrowed(files.hash()),
            entries: reference.entries.iter().map(|e| SnapEntry::from(&**e)).collect(),
            warnings: Cow::Owned(Vec::new()),
            words: Cow::Borrowed(reference.words()),
            sim: Cow::Borrowed(&small_kb.kb.sim),
            lexicon: Cow::Borrowed(&reference.lexicon),
            cues: reference.cues.cues.iter().map(SnapCue::from).collect(),
        };
        std::fs::write(snapshot_path(&files, &cache), encode(&snap).unwrap()).unwrap();
        assert!(!compiled(&files, &cache).from_snapshot);
        // And one whose lexicon scores more entries than it has.
        let snap = Snapshot {
            entries: small_kb.kb.entries.iter().map(|e| SnapEntry::from(&**e)).collect(),
            words: Cow::Borrowed(small_kb.kb.words()),
            sim: Cow::Borrowed(&small_kb.kb.sim),
            lexicon: Cow::Borrowed(&reference.lexicon),
            ..snap
        };
        std::fs::write(snapshot_path(&files, &cache), encode(&snap).unwrap()).unwrap();
        assert!(!compiled(&files, &cache).from_snapshot);
        std::fs::remove_dir_all(&cache).unwrap();
        std::fs::remove_dir_all(&small).unwrap();
    }

    #[test]
    fn an_invalid_kb_is_never_snapshotted() {
        let cache = temp("invalid");
        let kb = temp("invalid-kb");
        std::fs::write(kb.join("broken.toml"), "id = ").unwrap();
        let files = KbFiles::read_dir(&kb).unwrap();
        assert!(matches!(compile(&files, Some(&cache)), Err(Failure::Invalid(_))));
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
        // Valid entries with a broken lexicon: not snapshotted either.
        let small = small_kb("invalid-lexicon");
        std::fs::create_dir_all(small.join("model")).unwrap();
        std::fs::write(small.join("model/lexicon.tsv"), "entries\tx\ntotals\tnot-a-count\n").unwrap();
        let files = KbFiles::read_dir(&small).unwrap();
        assert!(matches!(compile(&files, Some(&cache)), Err(Failure::Invalid(e)) if e[0].contains("lexicon")));
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
        std::fs::remove_dir_all(&cache).unwrap();
        std::fs::remove_dir_all(&kb).unwrap();
        std::fs::remove_dir_all(&small).unwrap();
    }
}
