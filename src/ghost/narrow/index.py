"""An embedded full-text index of mail: SQLite + FTS5 in one file, built incrementally.

    with MailIndex(folder, mailbox="export.mbox") as index:
        report = index.add(workers=2)                   # again later: only new mail is read
        hits = index.search('from:anna "board meeting" after:2024/01/01', limit=20)
        messages = index.thread(hits[0].thread_id)

An index bound to a mailbox (`mailbox=`, recorded in the database) holds that mailbox only:
`add` refuses any other, and opening it for another mailbox fails. ghost keeps one such index
per mailbox (narrow/mailboxes.py), so whatever reads an index reads one mailbox's mail.
`MailIndex(None, ...)` is a private temporary database (a dry run's): in memory, spilling to
an already-unlinked temporary file when large, gone when closed.

Per mbox file the index remembers how far it has read (byte offset) and hashes of the file's
head and of the bytes before that offset: a grown file is read from where it stopped, a
replaced one from the start. One-message files (Maildir) are remembered by name.
Duplicates (same Message-ID) are dropped at insert time.

The index holds private mail: its folder is 0700 and the database (with its -wal and -shm
files) 0600, as in the rest of the cache (narrow/private.py).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ghost.errors import InputError
from ghost.ingest.mail.parse import READER_VERSION
from ghost.ingest.mail.reader import (
    FilesTask,
    Task,
    discover,
    file_tasks,
    mbox_tasks,
    run_tasks,
    task_bytes,
)
from ghost.narrow.private import SIDE_FILES, private_dir, private_file, tighten
from ghost.narrow.query import compile_query
from ghost.narrow.read_marks import file_key, grew_from, marks
from ghost.narrow.results import AddReport, Hit, StoredMessage
from ghost.narrow.rows import RowBatch, run_row_task
from ghost.narrow.schema import (
    BM25_WEIGHTS,
    MESSAGE_COLUMNS,
    SOURCE_UPSERT,
    Transaction,
    bulk_load,
    connect,
    copy_database,
    drop_stale_mail,
    known_message_ids,
)
from ghost.narrow.threading import assign_threads

__all__ = ["AddReport", "Hit", "MailIndex", "StoredMessage", "file_key"]

log = logging.getLogger(__name__)

INDEX_FILE = "mail-index.sqlite"
_TRANSACTION_ROWS = 5_000  # messages per write transaction (and progress report)


def _when(stamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None


class MailIndex:
    """The mail index in `path` (a folder gets `mail-index.sqlite` inside it); `path` None: a
    private temporary one, copied from the index file `seed` when given. With `mailbox`, the
    index holds that mailbox's mail and nothing else."""

    def __init__(self, path: str | Path | None, *, mailbox: str | Path | None = None,
                 seed: Path | None = None) -> None:
        self.path: Path | None = None
        self.mailbox = Path(mailbox).resolve() if mailbox is not None else None
        if path is None:
            self.conn = connect("")  # SQLite's private temporary database
            if seed is not None:
                copy_database(seed, self.conn)
        else:
            self.path = p = Path(path)
            try:
                if p.is_dir() or (not p.suffix and not p.exists()):
                    private_dir(p, tighten=True)
                    self.path = p = p / INDEX_FILE
                else:  # a file named by the caller: its folder may be theirs (even /tmp)
                    private_dir(p.parent, tighten=False)
                private_file(p)
                self.conn = connect(str(p))
                for side in SIDE_FILES:  # SQLite gives these p's mode; an older index may not
                    tighten(p.with_name(p.name + side))
            except (OSError, sqlite3.DatabaseError) as exc:
                raise InputError(f"{p}: cannot open the mail index ({exc}); "
                                 "delete it or pick another cache folder") from None
        self._bind()
        if drop_stale_mail(self.conn, READER_VERSION):
            log.warning("%s: built by an older mail reader; its mail is read again",
                        self.path or "the mail index")
        self._next_id = (self.conn.execute("SELECT max(id) FROM messages").fetchone()[0] or 0) + 1

    def _bind(self) -> None:
        """Record the mailbox in a new index; check it in an old one (or adopt its mailbox)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='mailbox'").fetchone()
        if row is None:
            if self.mailbox is not None:
                self.conn.execute("INSERT INTO meta(key, value) VALUES('mailbox', ?)",
                                  (str(self.mailbox),))
            return
        if self.mailbox is not None and str(self.mailbox) != row[0]:
            self.conn.close()
            raise InputError(f"{self.path}: this mail index holds {row[0]}, not {self.mailbox}")
        self.mailbox = Path(row[0])

    def __enter__(self) -> MailIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # ---- building ----------------------------------------------------------------------

    def add(self, source: str | Path | None = None, workers: int | None = None,
            progress: Callable[[AddReport], None] | None = None) -> AddReport:
        """Index new mail under `source` (mbox, Maildir, folder of messages, .eml): the
        index's own mailbox, the only one a bound index takes.

        Parsing runs on `workers` processes (default: one per CPU, at most 8); this process
        writes. `progress(report)` is called after each committed batch.
        """
        if source is None:
            if self.mailbox is None:
                raise ValueError("MailIndex.add: which mailbox? this index is bound to none")
            source = self.mailbox
        elif self.mailbox is not None and Path(source).resolve() != self.mailbox:
            raise InputError(f"{source}: this mail index holds {self.mailbox} only")
        started = time.perf_counter()
        workers = workers if workers is not None else max(1, min(8, os.cpu_count() or 1))
        report = AddReport()
        mboxes, files = discover(source, report.stats)
        tasks: list[Task] = []
        for mbox in mboxes:
            tasks.extend(self._mbox_plan(mbox.resolve(), report))
        fresh = []
        for f in files:
            if self._known_file(file_key(f.resolve())):
                report.skipped_files += 1
            else:
                fresh.append(f.resolve())
        tasks.extend(file_tasks(fresh))
        report.bytes_planned = sum(map(task_bytes, tasks))
        workers = workers if len(tasks) > 1 else 1
        shortcut = str(self.path) if workers > 1 and self.path is not None else None
        parse = functools.partial(run_row_task, db_path=shortcut)
        with bulk_load(self.conn):
            pending: list[RowBatch] = []
            rows = 0
            for batch in run_tasks(tasks, parse, workers):
                pending.append(batch)
                rows += len(batch.rows)
                if rows >= _TRANSACTION_ROWS:
                    self._store_batches(pending, report)
                    pending, rows = [], 0
                    if progress is not None:
                        progress(report)
            if pending:
                self._store_batches(pending, report)
                if progress is not None:
                    progress(report)
        report.seconds = time.perf_counter() - started
        return report

    def add_tasks(self, tasks: list[Task]) -> AddReport:
        """Index the messages of these tasks (byte ranges of mbox files, groups of one-message
        files) on this process, whatever the index read before: a dry run samples a mailbox
        this way, `add_tasks([MboxTask(path, start, end)])`, into a temporary index."""
        started = time.perf_counter()
        report = AddReport()
        for task in tasks:
            paths = list(task.paths) if isinstance(task, FilesTask) else [task.path]
            for name in paths:
                if self.mailbox is not None and not Path(name).resolve().is_relative_to(
                        self.mailbox):
                    raise InputError(f"{name}: this mail index holds {self.mailbox} only")
            self._store(run_row_task(task), report)
        report.seconds = time.perf_counter() - started
        return report

    def _mbox_plan(self, path: Path, report: AddReport) -> list[Task]:
        st = path.stat()
        row = self.conn.execute(
            "SELECT size, mtime, head_hash, tail_hash, offset FROM sources WHERE path=?",
            (str(path),)).fetchone()
        start = 0
        if row is not None:
            _size, mtime, head, tail, offset = row
            if st.st_size == offset and st.st_mtime == mtime:
                report.resumed[str(path)] = offset
                return []
            if grew_from(path, offset, head, tail):
                start = offset
                report.resumed[str(path)] = offset
            else:
                report.replaced.append(str(path))
                self._forget_source(str(path))
        return mbox_tasks(path, start, st.st_size)

    def _known_file(self, key: str) -> bool:
        return self.conn.execute("SELECT 1 FROM files WHERE key=?", (key,)).fetchone() is not None

    def _forget_source(self, source: str) -> None:
        """Remove the messages of a replaced mbox (they are read again from the start)."""
        cols = ", ".join(("id", "subject", "body", "from_t", "to_t", "cc_t"))
        with self._transaction():
            self.conn.execute(f"INSERT INTO mail_fts(mail_fts, rowid, subject, body, from_t, "
                              f"to_t, cc_t) SELECT 'delete', {cols} FROM messages WHERE source=?",
                              (source,))
            self.conn.execute("DELETE FROM participants WHERE msg IN "
                              "(SELECT id FROM messages WHERE source=?)", (source,))
            self.conn.execute("DELETE FROM messages WHERE source=?", (source,))
            self.conn.execute("DELETE FROM sources WHERE path=?", (source,))

    def _store(self, batch: RowBatch, report: AddReport) -> None:
        """Write one parsed batch in its own transaction."""
        self._store_batches([batch], report)

    def _store_batches(self, batches: list[RowBatch], report: AddReport) -> None:
        """Write parsed batches (in task order) in one transaction, with how far they read."""
        rows: list[tuple] = []
        for batch in batches:
            report.stats.merge(batch.stats)
            rows.extend(batch.rows)
        existing = self._existing_ids([r[0] for r in rows])
        fresh: list[tuple] = []
        for row in rows:
            if row[0] in existing:
                report.stats.duplicates += 1
                continue
            existing.add(row[0])
            fresh.append(row)
        with self._transaction():
            thread_of = assign_threads(self.conn, [(r[0], r[19]) for r in fresh])
            messages: list[tuple] = []
            fts: list[tuple] = []
            people: list[tuple[int, str, int]] = []
            rid = self._next_id
            for row in fresh:
                (mid, synthetic, subject, from_addr, from_name, from_t, to_t, cc_t, date, irt,
                 refs, bulk, n_att, atts, body, src, offset, size, participants, _) = row
                messages.append((rid, mid, synthetic, subject, from_addr, from_name, from_t,
                                 to_t, cc_t, date, irt, refs, thread_of[mid], bulk, n_att, atts,
                                 body, src, offset, size))
                fts.append((rid, subject, body, from_t, to_t, cc_t))
                people.extend((rid, addr, role) for addr, role in participants)
                rid += 1
            marks = ",".join("?" * len(MESSAGE_COLUMNS))
            self.conn.executemany(f"INSERT INTO messages VALUES ({marks})", messages)
            self.conn.executemany("INSERT INTO mail_fts(rowid, subject, body, from_t, to_t, "
                                  "cc_t) VALUES (?,?,?,?,?,?)", fts)
            self.conn.executemany("INSERT INTO participants VALUES (?,?,?)", people)
            self._record_progress(batches, fresh)
        self._next_id = rid
        report.added += len(fresh)

    def _record_progress(self, batches: list[RowBatch], fresh: list[tuple]) -> None:
        """Remember the files read and, per mbox, the offset its last task read to."""
        ends: dict[str, int] = {}
        for batch in batches:
            task = batch.task
            if isinstance(task, FilesTask):
                self.conn.executemany("INSERT OR IGNORE INTO files VALUES (?)",
                                      [(file_key(Path(p)),) for p in task.paths])
            else:
                ends[task.path] = task.end
        added = Counter(r[15] for r in fresh)
        for name, end in ends.items():
            path = Path(name)
            st = path.stat()
            self.conn.execute(SOURCE_UPSERT, (
                name, st.st_size, st.st_mtime, *marks(path, end), end,
                added[name], time.time()))

    def _existing_ids(self, ids: list[str]) -> set[str]:
        return known_message_ids(self.conn, ids)

    def _transaction(self) -> Transaction:
        return Transaction(self.conn)

    # ---- reading -----------------------------------------------------------------------

    def search(self, query: str, limit: int = 50, order: str = "relevance",
               now: datetime | None = None) -> list[Hit]:
        """Messages matching a Gmail-style query, best first (or newest first with
        order="date", or when the query has no text). Bulk mail only when asked for."""
        q = compile_query(query, now)
        if q.match:
            weights = ", ".join(str(w) for w in BM25_WEIGHTS)
            score = f"bm25(mail_fts, {weights})"
            snippet = "snippet(mail_fts, 1, '', '', ' … ', 24)"
            sql = (f"SELECT m.message_id, m.thread_id, m.date, m.from_addr, m.from_name, "
                   f"m.subject, {snippet}, {score}, m.is_bulk, m.n_attachments "
                   f"FROM mail_fts JOIN messages m ON m.id = mail_fts.rowid "
                   f"WHERE mail_fts MATCH ? AND {q.where} ")
            params: list[Any] = [q.match, *q.params]
            sql += "ORDER BY m.date DESC" if order == "date" else f"ORDER BY {score}, m.date DESC"
        else:
            sql = ("SELECT m.message_id, m.thread_id, m.date, m.from_addr, m.from_name, "
                   "m.subject, substr(m.body, 1, 200), 0.0, m.is_bulk, m.n_attachments "
                   f"FROM messages m WHERE {q.where} ORDER BY m.date DESC")
            params = list(q.params)
        sql += " LIMIT ?"
        params.append(int(limit))
        try:
            rows = self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise InputError(f"query {query!r}: the search engine rejected it ({exc}); "
                             "simplify the query") from None
        return [Hit(mid, tid, _when(date), sender, name, subject, " ".join(snip.split()),
                    float(score), bool(bulk), bool(natt))
                for mid, tid, date, sender, name, subject, snip, score, bulk, natt in rows]

    def get(self, message_id: str) -> StoredMessage | None:
        """The stored message with this Message-ID (with or without <>), or None."""
        row = self.conn.execute("SELECT * FROM messages WHERE message_id=?",
                                (message_id.strip().strip("<>"),)).fetchone()
        return self._message(row) if row else None

    def has_message_id(self, message_id: str) -> bool:
        """True when the Message-ID (with or without <>) is in the index."""
        mid = message_id.strip().strip("<>")
        return self.conn.execute("SELECT 1 FROM messages WHERE message_id=?",
                                 (mid,)).fetchone() is not None

    def thread(self, thread_id: int) -> list[StoredMessage]:
        """The messages of one thread, oldest first."""
        rows = self.conn.execute("SELECT * FROM messages WHERE thread_id=? "
                                 "ORDER BY date IS NULL, date, id", (thread_id,)).fetchall()
        return [self._message(r) for r in rows]

    def iter_messages(self, include_bulk: bool = False) -> Iterator[StoredMessage]:
        sql = "SELECT * FROM messages" + ("" if include_bulk else " WHERE is_bulk=0")
        for row in self.conn.execute(sql + " ORDER BY date IS NULL, date, id"):
            yield self._message(row)

    def _message(self, row: tuple) -> StoredMessage:
        m = dict(zip(MESSAGE_COLUMNS, row, strict=True))
        people = self.conn.execute("SELECT addr, role FROM participants WHERE msg=? "
                                   "ORDER BY rowid", (m["id"],)).fetchall()
        return StoredMessage(
            message_id=m["message_id"], thread_id=m["thread_id"], date=_when(m["date"]),
            subject=m["subject"] or "", sender=m["from_addr"] or "",
            sender_name=m["from_name"] or "",
            to=[a for a, role in people if role == 1], cc=[a for a, role in people if role == 2],
            in_reply_to=m["in_reply_to"], references=(m["refs"] or "").split(),
            body=m["body"] or "",
            attachments=[(n, s) for n, s in json.loads(m["attachments"] or "[]")],
            is_bulk=bool(m["is_bulk"]), synthetic_id=bool(m["synthetic"]),
            source=m["source"] or "", offset=m["offset"], size=m["size"] or 0)

    def stats(self) -> dict[str, Any]:
        """Counts and sizes: messages, threads, bulk, with attachments, date range, sources."""
        one = self.conn.execute
        messages, bulk, with_att, first, last = one(
            "SELECT count(*), sum(is_bulk), sum(n_attachments > 0), min(date), max(date) "
            "FROM messages").fetchone()
        first_date, last_date = _when(first), _when(last)
        return {
            "messages": messages,
            "threads": one("SELECT count(DISTINCT thread_id) FROM messages").fetchone()[0],
            "bulk": bulk or 0,
            "with_attachments": with_att or 0,
            "first_date": first_date.isoformat() if first_date else None,
            "last_date": last_date.isoformat() if last_date else None,
            "senders": one("SELECT count(DISTINCT from_addr) FROM messages").fetchone()[0],
            "sources": [dict(zip(("path", "offset", "messages"), r, strict=True)) for r in
                        one("SELECT path, offset, messages FROM sources ORDER BY path")],
            "files": one("SELECT count(*) FROM files").fetchone()[0],
            "index_bytes": 0 if self.path is None else sum(
                os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal")) if p.exists()),
        }

