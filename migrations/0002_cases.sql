-- Case log: what was asked, what was offered, what happened afterwards (see src/cases/).
-- Times are unix milliseconds (UTC). Entry ids are plain text, not foreign keys: the KB is
-- rebuilt from files and entries may be renamed or removed, but the history must stay.

CREATE TABLE cases (
    -- AUTOINCREMENT so that ids of purged cases are never handed out again: ids are quoted in
    -- chat threads, exports and follow-up links.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      INTEGER NOT NULL,
    -- Last time the user reported it again (folded repeats) or anyone changed it.
    last_seen_at    INTEGER NOT NULL,
    platform        TEXT NOT NULL,            -- discord | slack | cli | ...
    workspace       TEXT,                     -- guild / Slack team
    channel         TEXT,
    thread          TEXT,
    message_link    TEXT,
    user_id         TEXT,                     -- platform user id
    user_name       TEXT,                     -- display name at the time
    text            TEXT NOT NULL,            -- redacted, at most 64 KiB
    text_bytes      INTEGER NOT NULL,         -- size of the original text
    text_truncated  INTEGER NOT NULL DEFAULT 0 CHECK (text_truncated IN (0, 1)),
    evidence_key    TEXT NOT NULL DEFAULT '', -- Evidence::key(); '' for prose-only texts
    replied         INTEGER NOT NULL CHECK (replied IN (0, 1)),
    -- Current status, denormalised from case_event and updated in the same transaction.
    status          TEXT NOT NULL CHECK (status IN ('open', 'answered', 'resolved', 'dismissed', 'wrong')),
    fixed_by        TEXT,                     -- KB entry that finally fixed it
    resolved_at     INTEGER,
    follow_up_of    INTEGER REFERENCES cases(id) ON DELETE SET NULL,
    repeats         INTEGER NOT NULL DEFAULT 0 -- folded repeat reports
);
CREATE INDEX cases_created ON cases(created_at);
CREATE INDEX cases_fold ON cases(user_id, evidence_key, last_seen_at);
CREATE INDEX cases_status ON cases(status, created_at);
CREATE INDEX cases_channel ON cases(channel);
CREATE INDEX cases_follow_up ON cases(follow_up_of);

-- The KB entries offered, best first (rank 0 is what the reply led with).
CREATE TABLE case_match (
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    rank        INTEGER NOT NULL,
    entry_id    TEXT NOT NULL,
    title       TEXT NOT NULL,
    topics      TEXT NOT NULL,                -- JSON array of topic names
    confidence  REAL NOT NULL,
    evidence    TEXT NOT NULL,                -- JSON array of the match's evidence strings
    PRIMARY KEY (case_id, rank)
) WITHOUT ROWID;
CREATE INDEX case_match_entry ON case_match(entry_id);

-- Everything that happened to a case, oldest first. kind = 'opened' | 'status' | 'repeat';
-- status is the case's status after the event.
CREATE TABLE case_event (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('opened', 'status', 'repeat')),
    status      TEXT NOT NULL CHECK (status IN ('open', 'answered', 'resolved', 'dismissed', 'wrong')),
    by_whom     TEXT NOT NULL,
    entry_id    TEXT,
    note        TEXT
);
CREATE INDEX case_event_case ON case_event(case_id, at);
CREATE INDEX case_event_status ON case_event(status, entry_id);

CREATE TABLE case_feedback (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    helpful     INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    comment     TEXT,
    by_whom     TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX case_feedback_case ON case_feedback(case_id);

-- Full-text search over the (redacted) case text; external content, kept in step by triggers.
CREATE VIRTUAL TABLE case_fts USING fts5(
    text,
    content = 'cases',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
    INSERT INTO case_fts(case_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER cases_fts_update AFTER UPDATE OF text ON cases BEGIN
    INSERT INTO case_fts(case_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO case_fts(rowid, text) VALUES (new.id, new.text);
END;
