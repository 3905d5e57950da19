//! Shared by the integration tests: an engine over the repository's `kb/` and a fresh SQLite
//! file in a temporary directory.
#![allow(dead_code)]

use std::path::PathBuf;

use qntcbot::Engine;

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub struct TestEngine {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

pub async fn engine() -> TestEngine {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(&dir.path().join("qntcbot.db"), &repo_path("kb"))
        .await
        .expect("engine opens on the repository KB");
    TestEngine { engine, dir }
}

/// A CPDB053 job-log paste after an upgrade that the bot answers unprompted with the
/// NetServer-domain finding: the chat-platform tests (Discord, Slack, the conversation
/// service) all post it.
pub const CPDB053_LOG: &str = "\
After the upgrade to 7.4 our nightly CPYTOSTMF fails and WRKLNK '/QNTC/FILESRV01' shows no shares.
CPDB053  Diagnostic  30  Error exchanging security information for user JSMITH on network server FILESRV01.
The error class was 0, and the error code was 3401.
";
