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
