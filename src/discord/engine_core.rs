//! [`Core`] over the real [`Engine`].
//!
//! The case log (`crate::cases`, `Db::record_case` and friends) is being written in parallel;
//! until it lands, cases are kept in memory here behind the same operations, so the adapter
//! and its tests already exercise the full flow. Swapping in the database is local to this
//! file.

use std::sync::{Arc, Mutex};

use chrono::{Duration as ChronoDuration, Utc};
use serenity::async_trait;

use super::core::{Answer, CaseOrigin, CaseQuery, CaseView, Core, StatsView, Verdict};
use crate::{Diagnosis, Engine};

pub struct EngineCore {
    engine: Arc<Engine>,
    cases: Mutex<Vec<(chrono::DateTime<Utc>, CaseView)>>,
}

impl EngineCore {
    pub fn new(engine: Arc<Engine>) -> EngineCore {
        EngineCore {
            engine,
            cases: Mutex::new(Vec::new()),
        }
    }

    fn cases(&self) -> std::sync::MutexGuard<'_, Vec<(chrono::DateTime<Utc>, CaseView)>> {
        self.cases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Core for EngineCore {
    fn diagnose(&self, text: &str) -> Diagnosis {
        self.engine.diagnose(text)
    }

    fn answer(&self, d: &Diagnosis) -> Answer {
        self.engine.answer(d)
    }

    async fn lookup(&self, query: &str, limit: usize) -> Vec<Answer> {
        self.engine.lookup(query, limit).await
    }

    fn complete(&self, partial: &str, limit: usize) -> Vec<(String, String)> {
        self.engine.complete(partial, limit)
    }

    fn explain_code(&self, query: &str) -> Option<Answer> {
        self.engine.explain_code(query)
    }

    async fn reload_kb(&self) -> anyhow::Result<String> {
        Ok(self.engine.reload_kb().await?.to_string())
    }

    async fn record_case(&self, origin: CaseOrigin, text: &str, d: &Diagnosis, replied: bool) -> anyhow::Result<i64> {
        let now = Utc::now();
        let mut cases = self.cases();
        let id = i64::try_from(cases.len())? + 1;
        let mut topics: Vec<String> = d.matches.iter().flat_map(|m| m.topics.iter().cloned()).collect();
        topics.dedup();
        cases.push((
            now,
            CaseView {
                id,
                status: if replied { "open" } else { "unanswered" }.into(),
                user_id: origin.user_id,
                user_name: origin.user_name,
                text: text.to_string(),
                message_link: origin.message_link,
                entries: d.matches.iter().map(|m| m.id.clone()).collect(),
                resolved_entry: None,
                topics,
                created: now.format("%Y-%m-%d %H:%M").to_string(),
            },
        ));
        Ok(id)
    }

    async fn judge(&self, case: i64, verdict: Verdict, entry: &str, _by: &str) -> anyhow::Result<()> {
        let mut cases = self.cases();
        let Some((_, c)) = cases.iter_mut().find(|(_, c)| c.id == case) else {
            anyhow::bail!("no case #{case}");
        };
        match verdict {
            Verdict::Fixed => {
                c.status = "resolved".into();
                c.resolved_entry = Some(entry.to_string());
            }
            Verdict::Wrong => c.status = "wrong".into(),
        }
        Ok(())
    }

    async fn get_case(&self, id: i64) -> anyhow::Result<Option<CaseView>> {
        Ok(self.cases().iter().find(|(_, c)| c.id == id).map(|(_, c)| c.clone()))
    }

    async fn list_cases(&self, q: &CaseQuery) -> anyhow::Result<Vec<CaseView>> {
        let since = q.days.map(|d| Utc::now() - ChronoDuration::days(i64::from(d)));
        Ok(self
            .cases()
            .iter()
            .rev()
            .filter(|(t, c)| {
                since.is_none_or(|s| *t >= s)
                    && q.user_id.as_ref().is_none_or(|u| *u == c.user_id)
                    && q.status.as_ref().is_none_or(|s| *s == c.status)
                    && q.topic.as_ref().is_none_or(|t| c.topics.contains(t))
            })
            .take(q.limit.max(1))
            .map(|(_, c)| c.clone())
            .collect())
    }

    async fn stats(&self, days: u32) -> anyhow::Result<StatsView> {
        let since = Utc::now() - ChronoDuration::days(i64::from(days));
        let cases = self.cases();
        let recent: Vec<&CaseView> = cases.iter().filter(|(t, _)| *t >= since).map(|(_, c)| c).collect();
        let count = |s: &str| recent.iter().filter(|c| c.status == s).count();
        Ok(StatsView {
            lines: vec![
                format!("{} case(s)", recent.len()),
                format!(
                    "{} resolved, {} wrong answer(s), {} open",
                    count("resolved"),
                    count("wrong"),
                    count("open")
                ),
            ],
        })
    }

    async fn close(&self) {
        self.engine.db().close().await;
    }
}
