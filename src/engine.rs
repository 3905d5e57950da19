//! The platform-free core as one value: the knowledge base, the store and the settings. Chat
//! adapters and the command line hold an `Arc<Engine>` and call it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::cases::CaseSettings;
use crate::db::Db;
use crate::diagnose::{self, Diagnosis, Priors, Settings};
use crate::input::{self, InputError};
use crate::kb::{self, Kb};
use crate::reply::{Answer, Finding, unknown_ids_note};
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
    db: Db,
    kb_dir: PathBuf,
    kb: RwLock<Arc<Kb>>,
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

/// Reads, validates and compiles the KB in `dir` (entries, and the fitted model in
/// `dir/model/`); the warnings are for the people who edit it.
pub fn read_kb(dir: &Path) -> Result<(Kb, Vec<String>), KbLoadError> {
    let (kb, warnings) = read_kb_entries(dir)?;
    let invalid = |list: String| KbLoadError::Invalid {
        dir: dir.to_path_buf(),
        count: 1,
        list,
    };
    let (model, cues) = crate::rank::load_model(&dir.join("model")).map_err(invalid)?;
    Ok((kb.with_model(model, cues), warnings))
}

/// The KB's entries and the gate's cues, with the fallback model: what `qntcbot train` fits
/// on, so that a stale or broken weights file never stands in the way of re-fitting it.
pub fn read_kb_entries(dir: &Path) -> Result<(Kb, Vec<String>), KbLoadError> {
    let report = kb::load_dir(dir);
    if report.has_errors() {
        let errors: Vec<String> = report.errors().map(ToString::to_string).collect();
        return Err(KbLoadError::Invalid {
            dir: dir.to_path_buf(),
            count: errors.len(),
            list: errors.join("\n"),
        });
    }
    let warnings = report.problems.iter().map(ToString::to_string).collect();
    let cues = crate::rank::Cues::load(&dir.join("model").join("gate.toml")).map_err(|list| KbLoadError::Invalid {
        dir: dir.to_path_buf(),
        count: 1,
        list,
    })?;
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
        let (kb, warnings) = read_kb(kb_dir)?;
        // `kb check` shows warnings to the people who edit the KB; a running bot only notes them.
        for w in &warnings {
            tracing::debug!("{w}");
        }
        let db = Db::open(db_path).await?;
        let kb = Arc::new(kb);
        let stats = db.sync_kb(&kb.entries).await.map_err(KbLoadError::Store)?;
        tracing::info!(
            entries = kb.len(),
            added = stats.added,
            updated = stats.updated,
            removed = stats.removed,
            "knowledge base loaded"
        );
        let engine = Engine {
            db,
            kb_dir: kb_dir.to_path_buf(),
            kb: RwLock::new(kb),
            priors: RwLock::new(Arc::new(Priors::default())),
            settings,
            cases: CaseSettings::default(),
        };
        engine.refresh_priors().await;
        Ok(engine)
    }

    pub fn db(&self) -> &Db {
        &self.db
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
        let (kb, warnings) = read_kb(&self.kb_dir)?;
        let kb = Arc::new(kb);
        let sync = self.db.sync_kb(&kb.entries).await?;
        let entries = kb.len();
        *self.kb.write().unwrap_or_else(|p| p.into_inner()) = kb;
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

    /// Diagnoses raw bytes (a file, an attachment, stdin); refuses empty, binary and oversized
    /// input with a clear error.
    pub fn diagnose_bytes(&self, raw: &[u8]) -> Result<Diagnosis, InputError> {
        let text = input::normalize(raw)?.text;
        let ev = evidence::extract(&text);
        Ok(diagnose::diagnose(
            &self.kb(),
            ev,
            &text,
            &self.priors(),
            &self.settings,
        ))
    }

    pub fn answer(&self, d: &Diagnosis) -> Answer {
        Answer::from_diagnosis(d)
    }

    /// Looks up a KB id, message id, error code or free text; best first.
    pub async fn lookup(&self, query: &str, limit: usize) -> Vec<Answer> {
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
            match self.db.search_kb(q, limit).await {
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
