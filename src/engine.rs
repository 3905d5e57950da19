//! The platform-free core as one value: the knowledge base, the store and the settings. Chat
//! adapters and the command line hold an `Arc<Engine>` and call it.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio::sync::OnceCell;

use crate::cases::CaseSettings;
use crate::db::Db;
use crate::diagnose::{self, Diagnosis, Priors, Settings};
use crate::input::{self, InputError};
use crate::kb::{self, Kb, KbSource};
use crate::reply::{Answer, Finding, unknown_ids_note};
use crate::skim::{self, SkimError};
use crate::{errno, evidence};

#[derive(Debug, thiserror::Error)]
pub enum KbLoadError {
    #[error("the knowledge base in {dir} has {count} problem(s):\n{list}")]
    Invalid { dir: PathBuf, count: usize, list: String },
    #[error(transparent)]
    Compile(#[from] kb::index::CompileError),
    #[error("cannot store the knowledge base in the database: {0}")]
    Store(#[from] sqlx::Error),
}

pub struct Engine {
    /// Connects on first use; [`Engine::database`] also migrates it and mirrors the KB.
    db: Db,
    db_ready: OnceCell<()>,
    kb_source: KbSource,
    kb_dir: PathBuf,
    /// Where compiled KB snapshots are kept (`None`: not kept).
    cache_dir: Option<PathBuf>,
    kb: RwLock<Arc<Kb>>,
    kb_hash: RwLock<String>,
    priors: RwLock<Arc<Priors>>,
    settings: Settings,
    cases: CaseSettings,
}

/// What a (re)load did, for logs and `/qntc kb reload`.
#[derive(Debug, Clone)]
pub struct KbSummary {
    pub entries: usize,
    pub warnings: Vec<String>,
    pub sync: kb::store::SyncStats,
}

impl std::fmt::Display for KbSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.sync;
        write!(
            f,
            "{} entries ({} added, {} updated, {} removed",
            self.entries, s.added, s.updated, s.removed
        )?;
        if !self.warnings.is_empty() {
            write!(f, "; {} warning(s)", self.warnings.len())?;
        }
        write!(f, ")")
    }
}

/// The files of `source`, or why they cannot be read.
fn kb_files(source: &KbSource) -> Result<kb::KbFiles, KbLoadError> {
    source.files().map_err(|e| {
        let dir = match source {
            KbSource::Dir(d) => d.clone(),
            KbSource::Embedded => PathBuf::from("kb"),
        };
        let problem = kb::Problem {
            file: dir.clone(),
            line: 0,
            severity: kb::Severity::Error,
            message: format!("cannot read the knowledge-base directory: {e}"),
        };
        KbLoadError::Invalid {
            dir,
            count: 1,
            list: problem.to_string(),
        }
    })
}

fn invalid(files: &kb::KbFiles, errors: Vec<String>) -> KbLoadError {
    KbLoadError::Invalid {
        dir: files.dir.clone(),
        count: errors.len(),
        list: errors.join("\n"),
    }
}

/// The compiled KB of `source` with its fitted model (the entries from the snapshot when
/// there is one), its warnings and its hash.
fn load_kb(source: &KbSource, cache: Option<&Path>) -> Result<(Kb, Vec<String>, String), KbLoadError> {
    let files = kb_files(source)?;
    let compiled = kb::snapshot::compile(&files, cache).map_err(|f| match f {
        kb::snapshot::Failure::Invalid(errors) => invalid(&files, errors),
        kb::snapshot::Failure::Compile(e) => KbLoadError::Compile(e),
    })?;
    Ok((compiled.kb, compiled.warnings, files.hash().to_string()))
}

/// Reads, validates and compiles the KB in `dir` (entries, and the fitted model in
/// `dir/model/`), without snapshots; the warnings are for the people who edit it.
pub fn read_kb(dir: &Path) -> Result<(Kb, Vec<String>), KbLoadError> {
    let (kb, warnings, _) = load_kb(&KbSource::Dir(dir.to_path_buf()), None)?;
    Ok((kb, warnings))
}

/// The KB's entries and the gate's cues, with the fallback model: what `qntcbot train` fits
/// on, so that a stale or broken weights file never stands in the way of re-fitting it.
pub fn read_kb_entries(dir: &Path) -> Result<(Kb, Vec<String>), KbLoadError> {
    let files = kb_files(&KbSource::Dir(dir.to_path_buf()))?;
    let report = kb::load_files(&files);
    if report.has_errors() {
        return Err(invalid(&files, report.errors().map(ToString::to_string).collect()));
    }
    let warnings = report.problems.iter().map(ToString::to_string).collect();
    let cues = crate::rank::cues_from_files(&files).map_err(|e| invalid(&files, vec![e]))?;
    let model = crate::rank::Model::fallback(&cues);
    Ok((Kb::build(report.entries)?.with_model(model, cues), warnings))
}

impl Engine {
    /// Opens the database (creating it on first use), validates and loads the knowledge base
    /// from `kb_dir` and mirrors it into the database.
    pub async fn open(db_path: &Path, kb_dir: &Path) -> anyhow::Result<Engine> {
        Engine::open_with(db_path, kb_dir, Settings::default()).await
    }

    pub async fn open_with(db_path: &Path, kb_dir: &Path, settings: Settings) -> anyhow::Result<Engine> {
        let engine = Engine::open_lazy(db_path, KbSource::Dir(kb_dir.to_path_buf()), settings)?;
        engine.database().await?;
        Ok(engine)
    }

    /// Loads the knowledge base (from its compiled snapshot when it has not changed) and
    /// prepares the database without touching it: the file is opened, migrated and synced
    /// with the KB on the first call to [`Engine::database`]. Diagnosing needs no database.
    pub fn open_lazy(db_path: &Path, source: KbSource, settings: Settings) -> anyhow::Result<Engine> {
        Engine::open_lazy_cached(db_path, source, settings, kb::snapshot::default_cache_dir())
    }

    /// [`Engine::open_lazy`] with snapshots kept in `cache_dir` (`None`: never kept).
    pub fn open_lazy_cached(
        db_path: &Path,
        source: KbSource,
        settings: Settings,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<Engine> {
        let (kb, warnings, hash) = load_kb(&source, cache_dir.as_deref())?;
        // `kb check` shows warnings to the people who edit the KB; a running bot only notes them.
        for w in &warnings {
            tracing::debug!("{w}");
        }
        tracing::info!(entries = kb.len(), kb = %source, version = hash.get(..12).unwrap_or(&hash), "knowledge base ready");
        let kb_dir = match &source {
            KbSource::Dir(d) => d.clone(),
            KbSource::Embedded => PathBuf::from("kb"),
        };
        Ok(Engine {
            db: Db::lazy(db_path)?,
            db_ready: OnceCell::new(),
            kb_source: source,
            kb_dir,
            cache_dir,
            kb: RwLock::new(Arc::new(kb)),
            kb_hash: RwLock::new(hash),
            priors: RwLock::new(Arc::new(Priors::default())),
            settings,
            cases: CaseSettings::default(),
        })
    }

    /// The database, opened, migrated and holding the current KB. The first call does that
    /// work; later calls return at once.
    pub async fn database(&self) -> anyhow::Result<&Db> {
        self.db_ready
            .get_or_try_init(|| async {
                self.db.prepare().await?;
                let kb = self.kb();
                let stats = self.db.sync_kb(&kb.entries).await.map_err(KbLoadError::Store)?;
                tracing::info!(
                    entries = kb.len(),
                    added = stats.added,
                    updated = stats.updated,
                    removed = stats.removed,
                    "knowledge base loaded"
                );
                self.refresh_priors().await;
                anyhow::Ok(())
            })
            .await?;
        Ok(&self.db)
    }

    /// The database handle. It connects on first use; call [`Engine::database`] first when the
    /// schema and the KB mirror must be there (engines made by [`Engine::open`] have done so).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Closes the database if it was opened; an engine that never needed it never creates it.
    pub async fn close(&self) {
        if self.db_ready.initialized() {
            self.db.close().await;
        }
    }

    /// The KB's version: the hash of its files.
    pub fn kb_hash(&self) -> String {
        self.kb_hash.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn kb_source(&self) -> &KbSource {
        &self.kb_source
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sets how cases are folded and redacted (from the `[cases]` configuration).
    pub fn with_case_settings(mut self, cases: CaseSettings) -> Engine {
        self.cases = cases;
        self
    }

    pub fn case_settings(&self) -> &CaseSettings {
        &self.cases
    }

    /// Re-reads what the case log has learned (see [`Priors`]). A failure keeps the old
    /// priors: learning is a nudge, never a reason to stop answering.
    pub async fn refresh_priors(&self) {
        match self.db.load_priors().await {
            Ok(p) => self.set_priors(p),
            Err(e) => tracing::warn!("cannot load learned priors from the case log: {e}"),
        }
    }

    pub fn kb(&self) -> Arc<Kb> {
        // A poisoned lock only means a panic elsewhere while swapping an Arc; the value
        // inside is still a whole KB.
        Arc::clone(&self.kb.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn kb_dir(&self) -> &Path {
        &self.kb_dir
    }

    /// Replaces the learned priors (see [`Priors`]).
    pub fn set_priors(&self, priors: Priors) {
        *self.priors.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(priors);
    }

    fn priors(&self) -> Arc<Priors> {
        Arc::clone(&self.priors.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Re-reads `kb/`. On any problem the running KB stays as it was and the error lists
    /// every problem as `file:line: ...`.
    pub async fn reload_kb(&self) -> Result<KbSummary, KbLoadError> {
        let (kb, warnings, hash) = load_kb(&self.kb_source, self.cache_dir.as_deref())?;
        let kb = Arc::new(kb);
        let sync = if self.db_ready.initialized() {
            self.db.sync_kb(&kb.entries).await?
        } else {
            kb::store::SyncStats::default()
        };
        let entries = kb.len();
        *self.kb.write().unwrap_or_else(|p| p.into_inner()) = kb;
        *self.kb_hash.write().unwrap_or_else(|p| p.into_inner()) = hash;
        tracing::info!(entries, "knowledge base reloaded");
        Ok(KbSummary {
            entries,
            warnings,
            sync,
        })
    }

    /// Diagnoses a chat message or pasted log. Empty text gives an empty diagnosis.
    pub fn diagnose(&self, text: &str) -> Diagnosis {
        self.diagnose_bytes(text.as_bytes()).unwrap_or_default()
    }

    /// The entries a text could be about, best first, down to a ranking probability of
    /// `floor` (at most `n`): what "Not it" offers next. The diagnosis lists only what reaches
    /// its listing floor, and a confident answer leaves little probability to the rest, so the
    /// runners-up are ranked again here rather than read from the recorded case.
    pub fn runners_up(&self, text: &str, floor: f64, n: usize) -> Vec<diagnose::Match> {
        let Ok(normalized) = input::normalize(text.as_bytes()) else {
            return Vec::new();
        };
        let settings = Settings {
            min_confidence: floor,
            max_matches: n,
            ..self.settings
        };
        let mut d = self.diagnose_normalized(normalized.text, &settings);
        // Once the best is rejected, what the others are worth is their share of the ranking,
        // not a confidence calibrated for first answers.
        for m in &mut d.matches {
            m.confidence = (m.share * 1000.0).round() / 1000.0;
        }
        d.matches
    }

    /// Diagnoses raw bytes (a file, an attachment, stdin); refuses empty, binary and oversized
    /// input with a clear error. Inputs of megabytes are skimmed (see [`crate::skim`]).
    pub fn diagnose_bytes(&self, raw: &[u8]) -> Result<Diagnosis, InputError> {
        if raw.len() >= skim::SKIM_FROM_BYTES {
            let kb = self.kb();
            // The skimmer reads UTF-8; other encodings (rare) are decoded whole first.
            let decoded = match input::sniff(raw) {
                input::Encoding::Utf8 => std::borrow::Cow::Borrowed(raw),
                _ => std::borrow::Cow::Owned(input::decode(raw).1.0.into_owned().into_bytes()),
            };
            return match kb.skimmer().skim_bytes(&decoded) {
                Ok(s) => Ok(self.diagnose_skimmed(&kb, s)),
                Err(SkimError::Input(e)) => Err(e),
                // Reading from memory cannot fail.
                Err(SkimError::Read(_)) => Err(InputError::Empty),
            };
        }
        Ok(self.diagnose_normalized(input::normalize(raw)?.text, &self.settings))
    }

    fn diagnose_normalized(&self, text: String, settings: &Settings) -> Diagnosis {
        let text: Arc<str> = Arc::from(text);
        let ev = evidence::extract_shared(Arc::clone(&text));
        diagnose::diagnose(&self.kb(), ev, &text, &self.priors(), settings)
    }

    /// Diagnoses what `reader` yields. `size` is its length when known (a file): a large input
    /// is streamed and skimmed in chunks, so memory does not grow with it. `progress` hears how
    /// many bytes were consumed.
    pub fn diagnose_reader(
        &self,
        mut reader: impl std::io::Read,
        size: Option<u64>,
        mut progress: impl FnMut(u64),
    ) -> Result<Diagnosis, SkimError> {
        // The skimmer streams UTF-8; another encoding (rare) is read whole, within the input
        // limit, and decoded first.
        let mut sniffed = Vec::new();
        (&mut reader)
            .take(input::SNIFF_BYTES as u64)
            .read_to_end(&mut sniffed)
            .map_err(SkimError::Read)?;
        if input::sniff(&sniffed) != input::Encoding::Utf8 {
            (&mut reader)
                .take(input::MAX_INPUT_BYTES as u64)
                .read_to_end(&mut sniffed)
                .map_err(SkimError::Read)?;
            progress(sniffed.len() as u64);
            return Ok(self.diagnose_bytes(&sniffed)?);
        }
        let mut reader = std::io::Cursor::new(sniffed).chain(reader);
        let large = size.is_some_and(|n| n >= skim::SKIM_FROM_BYTES as u64);
        if !large {
            // Unknown or small: read up to the skim threshold, then decide.
            let mut head = Vec::new();
            (&mut reader)
                .take(skim::SKIM_FROM_BYTES as u64)
                .read_to_end(&mut head)
                .map_err(SkimError::Read)?;
            progress(head.len() as u64);
            if head.len() < skim::SKIM_FROM_BYTES {
                return Ok(self.diagnose_bytes(&head)?);
            }
            let kb = self.kb();
            let done = head.len() as u64;
            let s = kb
                .skimmer()
                .skim(std::io::Cursor::new(head).chain(reader), |n| progress(n.max(done)))?;
            return Ok(self.diagnose_skimmed(&kb, s));
        }
        let kb = self.kb();
        let s = std::thread::scope(|scope| {
            // What the diagnosis of any large text needs is built on a second core meanwhile.
            scope.spawn(|| {
                kb.warm();
                evidence::warm();
            });
            kb.skimmer().skim(reader, progress)
        })?;
        Ok(self.diagnose_skimmed(&kb, s))
    }

    fn diagnose_skimmed(&self, kb: &Kb, mut s: skim::Skimmed) -> Diagnosis {
        let text: Arc<str> = Arc::from(std::mem::take(&mut s.text));
        // Compiling the KB patterns a large log selects is a quarter of its time; a second
        // core does it while this one extracts the evidence (which compiles its own). Only
        // the CLI reads inputs this large: the chat adapters' are below the skim threshold.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let folded = crate::kb::anchor::fold(&text);
                kb.precompile_patterns(&folded);
                evidence::precompile(&folded);
            });
            let ev = evidence::extract_skimmed(&s, Arc::clone(&text));
            diagnose::diagnose(kb, ev, &text, &self.priors(), &self.settings)
        })
    }

    pub fn answer(&self, d: &Diagnosis) -> Answer {
        let mut a = Answer::from_diagnosis(d);
        a.fill_next(&self.kb());
        a
    }

    /// Looks up a KB id, message id, error code or free text; best first.
    pub async fn lookup(&self, query: &str, limit: usize) -> Vec<Answer> {
        let mut answers = self.lookup_entries(query, limit).await;
        let kb = self.kb();
        for a in &mut answers {
            a.fill_next(&kb);
        }
        answers
    }

    async fn lookup_entries(&self, query: &str, limit: usize) -> Vec<Answer> {
        let kb = self.kb();
        let q = query.trim();
        // An error code is answered by decoding it first, with the entries that list it.
        let upper = q.to_ascii_uppercase();
        if errno::lookup(q).is_some()
            && (!kb::is_message_id(&upper) || upper.starts_with("CPE"))
            && let Some(a) = self.explain_code(q)
        {
            return vec![a];
        }
        let mut hits: Vec<(usize, f64, String)> = Vec::new();
        let push = |i: usize, score: f64, why: String, hits: &mut Vec<(usize, f64, String)>| {
            if !hits.iter().any(|(j, _, _)| *j == i) {
                hits.push((i, score, why));
            }
        };
        if let Some(i) = kb.index_of(&q.to_ascii_lowercase()) {
            push(i, 1.0, format!("knowledge-base id {}", kb.entries[i].id), &mut hits);
        }
        if kb::is_message_id(&upper) {
            // Triage entries first: a bare message id has not told us which cause it is.
            let mut ids: Vec<usize> = kb.with_message(&upper).to_vec();
            ids.sort_by_key(|&i| (!kb.entries[i].triage, kb.entries[i].id.clone()));
            for i in ids {
                push(i, 0.9, format!("explains {upper}"), &mut hits);
            }
        }
        if hits.is_empty() {
            // Typos and prose: the diagnosis path forgives "CPDB53", the full-text index finds
            // words anywhere in an entry.
            // Every entry that fits, however unsure: a lookup is asked for, not volunteered.
            let text = input::normalize(q.as_bytes())
                .map(|n| n.text)
                .unwrap_or_else(|_| q.to_string());
            let listing = diagnose::Settings {
                min_confidence: 0.0,
                max_matches: limit.max(self.settings.max_matches),
                ..self.settings
            };
            let d = diagnose::diagnose(&self.kb(), evidence::extract(&text), &text, &self.priors(), &listing);
            for m in &d.matches {
                if let Some(i) = kb.index_of(&m.id) {
                    push(
                        i,
                        m.confidence,
                        m.evidence.first().cloned().unwrap_or_default(),
                        &mut hits,
                    );
                }
            }
            let found = match self.database().await {
                Ok(db) => db.search_kb(q, limit).await.map_err(anyhow::Error::from),
                Err(e) => Err(e),
            };
            match found {
                Ok(found) => {
                    for (id, _) in found {
                        if let Some(i) = kb.index_of(&id) {
                            push(i, 0.3, "words in the entry".into(), &mut hits);
                        }
                    }
                }
                Err(e) => tracing::warn!("full-text search failed: {e}"),
            }
        }
        hits.into_iter()
            .take(limit)
            .map(|(i, score, why)| {
                let e = &kb.entries[i];
                Answer {
                    headline: e.title.clone(),
                    findings: vec![Finding::from_entry(e, score, vec![why])],
                    note: None,
                }
            })
            .collect()
    }

    /// Autocomplete for KB lookups: (entry id, label), ranked: ids and message ids that start
    /// with the text, then titles and ids that contain it, then near misses.
    pub fn complete(&self, partial: &str, limit: usize) -> Vec<(String, String)> {
        let kb = self.kb();
        let p = partial.trim().to_lowercase();
        let mut ranked: Vec<(u8, &str, String)> = Vec::new();
        for e in &kb.entries {
            let ids = e.message_ids.join(" ");
            let label = if ids.is_empty() {
                e.title.clone()
            } else {
                format!("{ids} — {}", e.title)
            };
            let hay_ids = format!("{} {}", e.id, ids.to_lowercase());
            let rank = if p.is_empty() {
                3
            } else if hay_ids.split(' ').any(|w| w.starts_with(&p)) {
                0
            } else if e.title.to_lowercase().contains(&p) || hay_ids.contains(&p) {
                1
            } else if e.topics.iter().chain(&e.tags).chain(&e.phrases).any(|t| t.contains(&p))
                || (p.len() >= 4 && hay_ids.split(' ').any(|w| strsim::damerau_levenshtein(w, &p) <= 1))
            {
                2
            } else {
                continue;
            };
            ranked.push((rank, e.id.as_str(), label));
        }
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        ranked
            .into_iter()
            .take(limit)
            // Full labels: each chat platform clips to its own limits.
            .map(|(_, id, label)| (id.to_string(), label))
            .collect()
    }

    /// Explains an error code or message id: 3401, CPE3401, EACCES, CPFA0AD, CPDB054.
    pub fn explain_code(&self, query: &str) -> Option<Answer> {
        let kb = self.kb();
        let q = query.trim();
        let upper = q.to_ascii_uppercase();
        let is_errno_id = upper.starts_with("CPE") && errno::lookup(&upper).is_some();
        if let Some(e) = errno::lookup(q).filter(|_| !kb::is_message_id(&upper) || is_errno_id) {
            let mut headline = format!(
                "{} = {}: {} (message {})",
                e.number,
                e.names.join(" / "),
                e.meaning,
                e.message_id()
            );
            if e.number == 3420 {
                headline.push_str(". If this came from IBM technote ibm16217393 about CPDB053, the code meant is 3401 (EACCES, CPE3401)");
            }
            let findings = kb
                .with_code(e.number)
                .iter()
                .map(|&i| Finding::from_entry(&kb.entries[i], 0.8, vec![format!("lists error code {}", e.number)]))
                .collect();
            let mut note = e.qntc.map(str::to_string);
            let extra = format!(
                "On your system: DSPMSGD RANGE({}) MSGF(QSYS/QCPFMSG) shows the full text.",
                e.message_id()
            );
            note = Some(match note {
                Some(n) => format!("With QNTC: {n}\n{extra}"),
                None => extra,
            });
            return Some(Answer {
                headline,
                findings,
                note,
            });
        }
        if kb::is_message_id(&upper) {
            let ids: Vec<usize> = kb.with_message(&upper).to_vec();
            if ids.is_empty() {
                let note = unknown_ids_note(std::slice::from_ref(&upper));
                return Some(Answer {
                    headline: format!("{upper} is not in the knowledge base"),
                    findings: Vec::new(),
                    note,
                });
            }
            let mut ids = ids;
            ids.sort_by_key(|&i| (!kb.entries[i].triage, kb.entries[i].id.clone()));
            let findings = ids
                .iter()
                .map(|&i| Finding::from_entry(&kb.entries[i], 0.8, vec![format!("explains {upper}")]))
                .collect();
            return Some(Answer {
                headline: format!("{upper}: {} known cause(s)", ids.len()),
                findings,
                note: None,
            });
        }
        if q.eq_ignore_ascii_case("5") {
            return Some(Answer {
                headline: "5 = SMB access denied (ERRDOS/ERRnoaccess, STATUS_ACCESS_DENIED)".into(),
                findings: kb
                    .with_code(5)
                    .iter()
                    .map(|&i| Finding::from_entry(&kb.entries[i], 0.8, vec!["lists error code 5".into()]))
                    .collect(),
                note: Some("In CPDB053 an error code of 5 is the Windows server refusing the logon, like 3401.".into()),
            });
        }
        None
    }
}
