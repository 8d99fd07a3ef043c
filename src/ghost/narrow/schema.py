"""The SQLite layout of the mail index, the connection settings for bulk loading, and
transactions and copies on a connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ghost.errors import InputError

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sources(
    path TEXT PRIMARY KEY,       -- an mbox file, resolved
    size INTEGER, mtime REAL,
    head_hash TEXT,              -- hash of the first min(offset, 1 MiB) bytes: changed = replaced
    tail_hash TEXT,              -- hash of the 64 KiB before `offset`
    offset INTEGER NOT NULL,     -- indexed up to here: the next message starts at or after it
    messages INTEGER NOT NULL DEFAULT 0,
    updated REAL
);
CREATE TABLE IF NOT EXISTS files(key TEXT PRIMARY KEY) WITHOUT ROWID;  -- one-message files
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    synthetic INTEGER NOT NULL DEFAULT 0,
    subject TEXT, from_addr TEXT, from_name TEXT,
    from_t TEXT, to_t TEXT, cc_t TEXT,  -- "Name <addr>, ..." as searched by from:/to:/cc:
    date INTEGER,                        -- Unix seconds, UTC; NULL when unknown
    in_reply_to TEXT, refs TEXT,         -- refs: space-separated Message-IDs
    thread_id INTEGER,
    is_bulk INTEGER NOT NULL DEFAULT 0,
    n_attachments INTEGER NOT NULL DEFAULT 0,
    attachments TEXT,                    -- JSON [[name, size], ...]
    body TEXT,
    source TEXT, offset INTEGER, size INTEGER
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread_id);
CREATE INDEX IF NOT EXISTS messages_date ON messages(date);
CREATE TABLE IF NOT EXISTS participants(
    msg INTEGER NOT NULL, addr TEXT NOT NULL,
    role INTEGER NOT NULL                -- 0 from, 1 to, 2 cc
);
CREATE INDEX IF NOT EXISTS participants_addr ON participants(addr, msg);
CREATE INDEX IF NOT EXISTS participants_msg ON participants(msg);
CREATE TABLE IF NOT EXISTS thread_map(   -- every Message-ID seen, present or only referenced
    mid TEXT PRIMARY KEY, thread_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS thread_map_thread ON thread_map(thread_id);
CREATE VIRTUAL TABLE IF NOT EXISTS mail_fts USING fts5(
    subject, body, from_t, to_t, cc_t,
    content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
"""

MESSAGE_COLUMNS = (
    "id", "message_id", "synthetic", "subject", "from_addr", "from_name", "from_t", "to_t",
    "cc_t", "date", "in_reply_to", "refs", "thread_id", "is_bulk", "n_attachments",
    "attachments", "body", "source", "offset", "size",
)
FTS_COLUMNS = ("subject", "body", "from_t", "to_t", "cc_t")
# bm25 weights, in FTS_COLUMNS order: a hit in the subject or sender counts more.
BM25_WEIGHTS = (4.0, 1.0, 2.0, 1.0, 0.5)


def connect(path: str) -> sqlite3.Connection:
    """Open (and create) the index with settings for fast bulk loading."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-32000")  # ~32 MB page cache
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.executescript(DDL)
    row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if row is None:
        conn.execute("INSERT INTO meta(key, value) VALUES('schema', ?)", (str(SCHEMA_VERSION),))
    return conn


def drop_stale_mail(conn: sqlite3.Connection, reader: str) -> bool:
    """Empty an index whose messages an older mail reader produced (`reader` names the
    current one): a reader that now keeps forwards, say, must not serve the old bodies.
    True when it emptied it; the next `add` reads every file again."""
    row = conn.execute("SELECT value FROM meta WHERE key='reader'").fetchone()
    if row is not None and row[0] == reader:
        return False
    stale = conn.execute("SELECT 1 FROM messages LIMIT 1").fetchone() is not None
    with Transaction(conn):
        if stale:
            for table in ("sources", "files", "messages", "participants", "thread_map"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("INSERT INTO mail_fts(mail_fts) VALUES('delete-all')")
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('reader', ?)", (reader,))
    return stale


def copy_database(seed: Path, conn: sqlite3.Connection) -> None:
    """Copy the index file `seed` into `conn`, reading it only."""
    try:
        source = sqlite3.connect(seed.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            source.backup(conn)
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise InputError(f"{seed}: cannot read the mail index ({exc}); "
                         "delete it or pick another cache folder") from None


class Transaction:
    """BEGIN/COMMIT around a block (ROLLBACK on error), for an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
