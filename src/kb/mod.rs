//! The knowledge base: `kb/*.toml` files -> validated entries -> SQLite.

#[derive(Debug, Clone)]
pub struct Entry {}
