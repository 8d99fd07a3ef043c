"""A dry run's view of a mailbox in seconds, whatever its size: the stored index read as it
is, and the mail it does not cover yet read in full when small, else sampled.

    mail = open_sampled(Path("takeout.mbox"), index_folder(cache_dir, "takeout.mbox"))
    mail.summary()["estimated"]     # True: part of the new mail was sampled
    mail.weight(mail.parts[-1], thread_id)   # ~20.8: a sampled thread stands for that many
    mail.close()

The unindexed part — the bytes of an mbox past the offset the index stopped at (all of it
when the file was replaced or there is no index), and the one-message files the index has
not seen — is read into a private temporary index (`MailIndex(None, ...)`) with the parsing
of a real index. Past SAMPLE_BYTES of mbox, SAMPLE_WINDOWS evenly spaced byte ranges
(`MboxTask(path, start, end)`: a message belongs to the range its separator starts in) are
read instead, the spread-out ones first, until SAMPLE_MESSAGES messages or SAMPLE_BYTES
bytes; past SAMPLE_MESSAGES files, evenly spaced files. Counts from a sample are scaled by
(unindexed bytes / sampled bytes), or (files / sampled files).

A stored index up to SEED_BYTES is copied into the temporary one (a fraction of a second),
so new mail joins its threads exactly as in a real run; a larger one is opened read-only
beside it (copying a 20 GB index would take minutes and as much disk) and a new reply to
an older thread is then planned as a thread of its own. Nothing is written to the cache.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.errors import InputError
from ghost.ingest.mail.parse import READER_VERSION
from ghost.ingest.mail.reader import FilesTask, MboxTask, Task, discover, mbox_tasks
from ghost.ingest.mail.records import ReadStats
from ghost.narrow.index import INDEX_FILE, AddReport, MailIndex
from ghost.narrow.read_marks import file_key, grew_from

SAMPLE_MESSAGES = 2_000
SAMPLE_BYTES = 16 * 1024 * 1024
SAMPLE_WINDOWS = 64
SEED_BYTES = 256 * 1024 * 1024
FILES_PER_STEP = 50
_UNSAMPLED = 1 << 62


class ReadOnlyIndex(MailIndex):
    """A stored index read as it is: searched and read like any MailIndex; writes fail."""

    def __init__(self, db: Path, mailbox: str | Path) -> None:
        super().__init__(None, mailbox=mailbox)  # an empty temporary one, then the stored file
        self.conn.close()
        # Read-only SQLite still makes the -wal/-shm side files of a WAL database (empty); in a
        # folder ghost may not write, nobody is writing the index either: read it immutable.
        writable = os.access(db.parent, os.W_OK)
        uri = db.resolve().as_uri() + ("?mode=ro" if writable else "?mode=ro&immutable=1")
        self.conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                                    check_same_thread=False)
        self.path = db


@dataclass
class Pending:
    """What a mailbox holds that its stored index does not: mbox byte ranges, new files."""

    ranges: list[tuple[Path, int, int]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)

    @property
    def mbox_bytes(self) -> int:
        return sum(end - start for _, start, end in self.ranges)


@dataclass
class MailPart:
    """One index of the view; its messages with id >= `first_sampled` were read for this
    dry run (the others are the stored index's)."""

    index: MailIndex
    first_sampled: int

    @property
    def in_place(self) -> bool:
        """The stored index itself, opened read-only (too large to copy, or up to date)."""
        return self.first_sampled >= _UNSAMPLED


@dataclass
class SampledMail:
    parts: list[MailPart]
    pending: Pending
    stored_messages: int = 0
    stored_note: str = ""          # why the stored index was not used, if it was not
    mbox_read: int = 0             # of pending.mbox_bytes
    files_read: int = 0            # of len(pending.files)
    report: AddReport = field(default_factory=AddReport)
    _summary: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def mbox_scale(self) -> float:
        return self.pending.mbox_bytes / self.mbox_read if self.mbox_read else 1.0

    @property
    def file_scale(self) -> float:
        return len(self.pending.files) / self.files_read if self.files_read else 1.0

    @property
    def estimated(self) -> bool:
        return self.mbox_scale > 1.0 or self.file_scale > 1.0

    def weight(self, part: MailPart, thread_id: int) -> float:
        """How many threads of the whole mailbox this one stands for: 1 unless all its
        messages were sampled (then the scale of the first one's kind: mbox or file)."""
        if not self.estimated or part.in_place:
            return 1.0
        first, offset = part.index.conn.execute(
            "SELECT id, offset FROM messages WHERE thread_id=? ORDER BY id LIMIT 1",
            (thread_id,)).fetchone() or (0, None)
        if first < part.first_sampled:
            return 1.0
        return self.file_scale if offset is None else self.mbox_scale

    def summary(self) -> dict[str, Any]:
        """Counts over the mailbox, those from a sample scaled: messages and threads (from
        the stored index's own indexes: no scan of its mail)."""
        if self._summary is not None:
            return self._summary
        messages = threads = 0.0
        for part in self.parts:
            conn = part.index.conn
            if part.in_place:
                messages += conn.execute("SELECT count(*) FROM messages").fetchone()[0]
                threads += conn.execute("SELECT count(DISTINCT thread_id) FROM messages"
                                        ).fetchone()[0]
                continue
            for sampled, is_file, n in conn.execute(
                    "SELECT id >= ?, offset IS NULL, count(*) FROM messages GROUP BY 1, 2",
                    (part.first_sampled,)):
                messages += n * self._scale(sampled, is_file)
            for sampled, is_file, n in conn.execute(
                    "SELECT t.first >= ?, f.offset IS NULL, count(*) FROM (SELECT min(id) AS "
                    "first FROM messages GROUP BY thread_id) t JOIN messages f ON f.id = t.first "
                    "GROUP BY 1, 2", (part.first_sampled,)):
                threads += n * self._scale(sampled, is_file)
        new = round(messages) - self.stored_messages
        self._summary = {
            "estimated": self.estimated, "messages": round(messages), "threads": round(threads),
            "stored_messages": self.stored_messages, "new_messages": new,
            "added": self.report.added,
            "sampled_messages": self.report.added if self.estimated else 0,
            "sampled_share": round(self.report.added / new, 4) if self.estimated and new else 1.0,
            "new_mbox_bytes": self.pending.mbox_bytes, "sampled_mbox_bytes": self.mbox_read,
            "new_files": len(self.pending.files), "sampled_files": self.files_read,
            "read": self.report.stats.to_dict(), "seconds": round(self.report.seconds, 2)}
        return self._summary

    def _scale(self, sampled: int, is_file: int) -> float:
        if not sampled:
            return 1.0
        return self.file_scale if is_file else self.mbox_scale

    def close(self) -> None:
        for part in self.parts:
            part.index.close()


def _count(index: MailIndex) -> int:
    return int(index.conn.execute("SELECT count(*) FROM messages").fetchone()[0])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def pending_mail(mailbox: Path, stored: MailIndex | None) -> Pending:
    """The mail under `mailbox` that `stored` (None: no index) does not hold, judged as
    MailIndex.add judges it: a grown mbox from its offset, a replaced one from the start."""
    found = Pending()
    mboxes, files = discover(mailbox, found.stats)
    for mbox in (m.resolve() for m in mboxes):
        st = mbox.stat()
        row = None if stored is None else stored.conn.execute(
            "SELECT mtime, head_hash, tail_hash, offset FROM sources WHERE path=?",
            (str(mbox),)).fetchone()
        start = 0
        if row is not None:
            mtime, head, tail, offset = row
            if st.st_size == offset and st.st_mtime == mtime:
                continue
            if grew_from(mbox, offset, head, tail):
                start = offset
            else:
                found.replaced.append(str(mbox))
        if st.st_size > start:
            found.ranges.append((mbox, start, st.st_size))
    for f in (f.resolve() for f in files):
        if stored is None or stored.conn.execute(
                "SELECT 1 FROM files WHERE key=?", (file_key(f),)).fetchone() is None:
            found.files.append(f)
    return found


def spread(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread over the whole range (bit reversal):
    spread(8) == [0, 4, 2, 6, 1, 5, 3, 7]."""
    bits = max(1, math.ceil(math.log2(n))) if n > 1 else 1
    order = [int(f"{i:0{bits}b}"[::-1], 2) for i in range(1 << bits)]
    return [i for i in order if i < n]


def mbox_windows(ranges: Sequence[tuple[Path, int, int]], budget: int,
                 windows: int = SAMPLE_WINDOWS) -> list[MboxTask]:
    """`windows` evenly spaced byte ranges of `budget` bytes in all, spread-out ones first;
    each inside one of `ranges` (which hold more than `budget` bytes together)."""
    total = sum(end - start for _, start, end in ranges)
    length = max(1, budget // windows)
    tasks: list[MboxTask | None] = []
    for i in range(windows):
        centre = int((i + 0.5) * total / windows)
        for path, start, end in ranges:
            if centre < end - start:
                a = max(start, start + centre - length // 2)
                tasks.append(MboxTask(str(path), a, min(end, a + length)))
                break
            centre -= end - start
        else:
            tasks.append(None)
    return [t for t in (tasks[i] for i in spread(windows)) if t is not None]


def _read(index: MailIndex, tasks: Iterable[Task], report: AddReport, messages: int,
          size_cap: int = _UNSAMPLED) -> list[Task]:
    """Index tasks one by one until `messages` messages (duplicates included: the work is
    bounded) or `size_cap` bytes are read; the tasks read."""
    done: list[Task] = []
    read = size = 0
    for task in tasks:
        if read >= messages or size >= size_cap:
            break
        got = index.add_tasks([task])
        report.stats.merge(got.stats)
        report.added += got.added
        report.seconds += got.seconds
        read += got.stats.read
        size += got.stats.bytes_read
        done.append(task)
    return done


def sample_into(mail: SampledMail, index: MailIndex) -> None:
    """Read the pending mail into `index`: all of it when within the sample's bounds (its
    mbox and file parts share them by size), else a spread of it."""
    pending = mail.pending
    mbox = pending.mbox_bytes
    file_bytes = sum(_size(f) for f in pending.files)
    share = mbox / (mbox + file_bytes) if mbox + file_bytes else 1.0
    if mbox:
        budget = max(1, int(SAMPLE_BYTES * share))
        if mbox <= budget:
            tasks: list[Task] = [t for p, a, b in pending.ranges for t in mbox_tasks(p, a, b)]
            done = _read(index, tasks, mail.report, _UNSAMPLED)
        else:
            done = _read(index, mbox_windows(pending.ranges, budget), mail.report,
                         max(1, int(SAMPLE_MESSAGES * share)))
        mail.mbox_read = sum(t.end - t.start for t in done if isinstance(t, MboxTask))
    if pending.files:
        count, cap = len(pending.files), max(1, int(SAMPLE_MESSAGES * (1 - share)))
        budget = max(1, int(SAMPLE_BYTES * (1 - share)))
        if count <= cap and file_bytes <= budget:
            picked, size_cap = pending.files, _UNSAMPLED
        else:
            picked = [pending.files[int(i * count / min(cap, count))]
                      for i in spread(min(cap, count))]
            size_cap = budget
        groups = [FilesTask(tuple(str(p) for p in picked[i : i + FILES_PER_STEP]))
                  for i in range(0, len(picked), FILES_PER_STEP)]
        done = _read(index, groups, mail.report, _UNSAMPLED, size_cap)
        mail.files_read = sum(len(t.paths) for t in done if isinstance(t, FilesTask))
    mail.report.stats.merge(pending.stats)  # the files that are not mail, skipped


def open_sampled(mailbox: Path, folder: Path) -> SampledMail:
    """The dry run's view of `mailbox` (its stored index in `folder`, if any)."""
    db = folder / INDEX_FILE
    stored = ReadOnlyIndex(db, mailbox) if db.is_file() else None
    note = ""
    if stored is not None:
        try:
            reader = stored.conn.execute("SELECT value FROM meta WHERE key='reader'").fetchone()
        except sqlite3.Error as exc:
            stored.close()
            raise InputError(f"{db}: cannot read the mail index ({exc}); delete it or pick "
                             "another cache folder") from None
        if reader is None or reader[0] != READER_VERSION:
            note = "the stored index was built by an older mail reader: the run reads all mail"
            stored.close()
            stored = None
    try:
        pending = pending_mail(mailbox, stored)
    except BaseException:
        if stored is not None:
            stored.close()
        raise
    if stored is not None and pending.replaced:
        note = f"{pending.replaced[0]} was replaced: the run reads it again from the start"
        stored.close()
        stored, pending = None, pending_mail(mailbox, None)
    if stored is None:
        temp = MailIndex(None, mailbox=mailbox)
        mail = SampledMail([MailPart(temp, 1)], pending, stored_note=note)
    elif db.stat().st_size <= SEED_BYTES:
        if not pending.ranges and not pending.files:  # up to date, and cheap to scan
            return SampledMail([MailPart(stored, _UNSAMPLED)], pending, _count(stored))
        stored.close()
        temp = MailIndex(None, mailbox=mailbox, seed=db)
        top = temp.conn.execute("SELECT count(*), coalesce(max(id), 0) FROM messages").fetchone()
        mail = SampledMail([MailPart(temp, top[1] + 1)], pending, top[0])
    else:  # read in place, the new mail (if any) beside it
        temp = MailIndex(None, mailbox=mailbox)
        mail = SampledMail([MailPart(stored, _UNSAMPLED), MailPart(temp, 1)], pending,
                           _count(stored))
    try:
        sample_into(mail, temp)
    except BaseException:
        mail.close()
        raise
    return mail
