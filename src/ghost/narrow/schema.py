"""The SQLite layout of the mail index, the connection settings for bulk loading, and
transactions and copies on a connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
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
SOURCE_UPSERT = (
    "INSERT INTO sources(path, size, mtime, head_hash, tail_hash, offset, messages, updated) "
    "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET size=excluded.size, "
    "mtime=excluded.mtime, head_hash=excluded.head_hash, tail_hash=excluded.tail_hash, "
    "offset=excluded.offset, messages=sources.messages+excluded.messages, "
    "updated=excluded.updated")
FTS_COLUMNS = ("subject", "body", "from_t", "to_t", "cc_t")
# bm25 weights, in FTS_COLUMNS order: a hit in the subject or sender counts more.
BM25_WEIGHTS = (4.0, 1.0, 2.0, 1.0, 0.5)


_CACHE_KIB = 32_000  # ~32 MB page cache
_BULK_CHECKPOINT_PAGES = 16_384
# FTS5 keeps new terms in memory up to this size before it writes a segment (default 1 MB)
_FTS_HASH_BYTES = 1 << 20
_BULK_FTS_HASH_BYTES = 16 << 20
_FTS_AUTOMERGE = 4  # FTS5's default: merge a level once it holds 4 segments
_END_MERGE_PAGES = 1 << 20  # no limit in practice: merge until no level holds 4 segments


def connect(path: str) -> sqlite3.Connection:
    """Open (and create) the index with settings for fast bulk loading."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
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


def known_message_ids(conn: sqlite3.Connection, ids: list[str], chunk: int = 500) -> set[str]:
    """The ones of `ids` the index's messages table holds."""
    found: set[str] = set()
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in conn.execute(
            f"SELECT message_id FROM messages WHERE message_id IN ({marks})", part))
    return found


@contextmanager
def bulk_load(conn: sqlite3.Connection) -> Iterator[None]:
    """Settings for one large load, back to connect()'s after it (also on an error):
    a 16 MB FTS5 buffer instead of 1 MB, FTS5 segments merged once at the end instead of
    after every transaction, a WAL checkpoint every 64 MB instead of 4 MB. Durability is
    unchanged; a bigger page cache did not pay."""
    conn.execute(f"PRAGMA wal_autocheckpoint={_BULK_CHECKPOINT_PAGES}")
    _fts_config(conn, "hashsize", _BULK_FTS_HASH_BYTES)
    _fts_config(conn, "automerge", 0)
    try:
        yield
        _fts_config(conn, "merge", _END_MERGE_PAGES)  # what automerge would have merged
    finally:
        _fts_config(conn, "automerge", _FTS_AUTOMERGE)
        _fts_config(conn, "hashsize", _FTS_HASH_BYTES)
        conn.execute("PRAGMA wal_autocheckpoint=1000")


def _fts_config(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute("INSERT INTO mail_fts(mail_fts, rank) VALUES(?, ?)", (key, value))


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
