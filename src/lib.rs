//! qntcbot: diagnoses IBM i QNTC (NetClient file system) problems from chat text and job logs.
//!
//! Data flows one way: [`input`] (what was pasted) -> [`joblog`] (structured messages) ->
//! [`evidence`] (facts) -> [`diagnose`] (ranked KB entries and a reply decision) -> [`reply`]
//! (a platform-neutral answer) -> [`cases`] (what was asked and answered). The chat adapters
//! ([`discord`]) and the command line sit on top and are the only parts that know a platform.

pub mod cases;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod db;
pub mod diagnose;
pub mod discord;
pub mod engine;
pub mod errno;
pub mod evidence;
pub mod gated;
pub mod input;
pub mod joblog;
pub mod kb;
pub mod rank;
pub mod redact;
pub mod reply;
pub mod shutdown;
pub mod skim;
pub mod slack;
pub mod work;

/// Every binary that links the library (the CLI, the tests, the benches) uses mimalloc; see
/// Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use diagnose::{Diagnosis, Match};
pub use engine::Engine;
