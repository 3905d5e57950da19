//! What the Discord adapter needs from the rest of qntcbot, as one small trait.
//!
//! The adapter talks to [`Core`] only; [`EngineCore`] connects it to the engine and the case
//! log. Keeping the seam narrow lets the tests drive the real serenity + poise client with a
//! real engine or a scripted one, and keeps Discord types out of the core.

use std::sync::Arc;

use serenity::async_trait;

use crate::Diagnosis;
pub use crate::reply::{Answer, Finding, Reference, Step};

/// A case as the adapter shows it.
#[derive(Debug, Clone, Default)]
pub struct CaseView {
    pub id: i64,
    pub status: String,
    pub user_id: String,
    pub user_name: String,
    pub text: String,
    pub message_link: Option<String>,
    /// KB entries the diagnosis offered, best first.
    pub entries: Vec<String>,
    /// Entry the case was resolved with, if any.
    pub resolved_entry: Option<String>,
    pub topics: Vec<String>,
    pub created: String,
}

#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub user_id: Option<String>,
    pub topic: Option<String>,
    pub status: Option<String>,
    pub days: Option<u32>,
    pub limit: usize,
}

#[derive(Debug, Clone, Default)]
pub struct StatsView {
    pub lines: Vec<String>,
}

/// Where a case came from.
#[derive(Debug, Clone, Default)]
pub struct CaseOrigin {
    pub workspace: Option<String>,
    pub channel: String,
    pub thread: Option<String>,
    pub message_link: Option<String>,
    pub user_id: String,
    pub user_name: String,
}

/// What a button press or command does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The user says this entry fixed it.
    Fixed,
    /// The user says this entry was not it.
    Wrong,
}

#[async_trait]
pub trait Core: Send + Sync + 'static {
    fn diagnose(&self, text: &str) -> Diagnosis;
    fn answer(&self, d: &Diagnosis) -> Answer;
    async fn lookup(&self, query: &str, limit: usize) -> Vec<Answer>;
    fn complete(&self, partial: &str, limit: usize) -> Vec<(String, String)>;
    fn explain_code(&self, query: &str) -> Option<Answer>;
    async fn reload_kb(&self) -> anyhow::Result<String>;
    /// Records a diagnosis; returns the case id.
    async fn record_case(&self, origin: CaseOrigin, text: &str, d: &Diagnosis, replied: bool) -> anyhow::Result<i64>;
    async fn judge(&self, case: i64, verdict: Verdict, entry: &str, by: &str) -> anyhow::Result<()>;
    async fn get_case(&self, id: i64) -> anyhow::Result<Option<CaseView>>;
    async fn list_cases(&self, q: &CaseQuery) -> anyhow::Result<Vec<CaseView>>;
    async fn stats(&self, days: u32) -> anyhow::Result<StatsView>;
    async fn close(&self);
}

pub type SharedCore = Arc<dyn Core>;
