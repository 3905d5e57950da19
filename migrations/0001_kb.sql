-- Knowledge base, rebuilt from kb/*.toml on every start (see src/kb/store.rs).
CREATE TABLE kb_entry (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    topics      TEXT NOT NULL,   -- JSON array
    certainty   TEXT NOT NULL,
    file        TEXT NOT NULL,
    body        TEXT NOT NULL,   -- the entry as JSON, for lookups without the files
    digest      TEXT NOT NULL,   -- content hash: unchanged entries are not rewritten
    loaded_at   INTEGER NOT NULL
);

CREATE TABLE kb_key (
    entry_id TEXT NOT NULL REFERENCES kb_entry(id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,      -- message_id | error_code | nt_status | phrase | pattern | topic
    value    TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX kb_key_value ON kb_key(kind, value);
CREATE INDEX kb_key_entry ON kb_key(entry_id);

CREATE VIRTUAL TABLE kb_fts USING fts5(
    entry_id UNINDEXED, title, keys, cause, steps,
    tokenize = 'unicode61 remove_diacritics 2'
);
