"""One mail index per mailbox: `<cache>/mail/<key>/mail-index.sqlite`, the key a hash of the
mailbox's resolved path.

A profile opens the index of the mailbox it was handed and no other database, so everything it
reads — searches, correspondents, the largest threads, the owner's threads, thread rebuilding,
duplicates, the Message-IDs its citations are checked against — is that mailbox's mail: no
query has to remember to filter, and two mailboxes never share a thread or lose a message to
the other's copy of it. Forgetting a mailbox deletes its folder: no deleted rows left behind in
free pages of a shared file.

Before this layout ghost kept every mailbox in one shared `<cache>/mail/mail-index.sqlite`;
ghost no longer reads it, lists it (`legacy`) and deletes it with the other indexes.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghost.cache import ensure_private_dir
from ghost.errors import InputError
from ghost.narrow.index import INDEX_FILE, AddReport, MailIndex
from ghost.narrow.private import remove_tree, tree_bytes
from ghost.narrow.sample import SampledMail, open_sampled

MAIL_DIR = "mail"


def mailbox_key(mailbox: str | Path) -> str:
    """The folder name of a mailbox's index: a hash of its resolved path (no name shown)."""
    return hashlib.sha256(str(Path(mailbox).resolve()).encode("utf-8")).hexdigest()[:32]


def index_folder(cache_dir: Path, mailbox: str | Path) -> Path:
    return cache_dir / MAIL_DIR / mailbox_key(mailbox)


def open_mailbox(cache_dir: Path, mailbox: str | Path) -> MailIndex:
    """The index of `mailbox` alone (folder 0700, database 0600), made if missing."""
    ensure_private_dir(cache_dir)
    return MailIndex(index_folder(cache_dir, mailbox), mailbox=mailbox)


def sampled_mailbox(cache_dir: Path, mailbox: Path) -> SampledMail:
    """A dry run's view of `mailbox`: its stored index read as it is, the mail that index
    does not cover read (or sampled, when large) into a temporary database; nothing is
    written to the cache (narrow/sample.py)."""
    return open_sampled(mailbox, index_folder(cache_dir, mailbox))


def stored_mailbox(cache_dir: Path, mailbox: str | Path) -> MailIndex:
    """The existing index of `mailbox`; InputError when it has none."""
    folder = index_folder(cache_dir, mailbox)
    if not (folder / INDEX_FILE).is_file():
        raise InputError(f"{mailbox}: not indexed in {cache_dir}; run "
                         f"`ghost mail index {mailbox}` first")
    return MailIndex(folder, mailbox=mailbox)


def forget_mailbox(cache_dir: Path, mailbox: str | Path) -> int | None:
    """Delete the index of `mailbox`; the bytes freed, or None when there was none."""
    folder = index_folder(cache_dir, mailbox)
    if not folder.exists():
        return None
    freed = remove_tree(folder)
    with contextlib.suppress(OSError):  # the last one: no mail folder left either
        folder.parent.rmdir()
    return freed


@dataclass
class StoredIndex:
    """One mail index in the cache folder, as `ghost cache info` lists it."""

    path: Path
    mailbox: str | None      # None: the shared index of an older ghost, or unreadable
    bytes: int
    messages: int | None
    legacy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "mailbox": self.mailbox, "bytes": self.bytes,
                "messages": self.messages, "legacy": self.legacy,
                "mailbox_exists": bool(self.mailbox) and Path(self.mailbox or "").exists()}


def mail_indexes(cache_dir: Path) -> list[StoredIndex]:
    """Every mail index in the cache folder (reading each database only)."""
    root = cache_dir / MAIL_DIR
    if not root.is_dir():
        return []
    found = []
    legacy = root / INDEX_FILE
    if legacy.exists():
        found.append(StoredIndex(legacy, None, _file_bytes(legacy), _peek(legacy)[1], True))
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        mailbox, messages = _peek(folder / INDEX_FILE)
        found.append(StoredIndex(folder, mailbox, tree_bytes(folder), messages))
    return found


def remove_mail_indexes(cache_dir: Path) -> int:
    """Delete every mail index in the cache folder (and the older shared one); bytes freed."""
    root = cache_dir / MAIL_DIR
    return remove_tree(root) if root.exists() else 0


def mail_bytes(cache_dir: Path) -> int:
    root = cache_dir / MAIL_DIR
    return tree_bytes(root) if root.exists() else 0


def _file_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, *(db.with_name(db.name + s)
                                              for s in ("-wal", "-shm"))) if p.exists())


def _peek(db: Path) -> tuple[str | None, int | None]:
    """(mailbox, messages) of an index file, read-only; (None, None) when unreadable."""
    if not db.is_file():
        return None, None
    try:
        conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='mailbox'").fetchone()
            count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None, None
    return (row[0] if row else None), int(count)


def indexing_progress(tell: Callable[[str, int, int], None]) -> Callable[[AddReport], None]:
    """A MailIndex.add progress callback that tells megabytes read of the new mail's size
    (a grown mbox: of its new part)."""

    def indexed(report: AddReport) -> None:
        megabytes = max(1, report.bytes_planned // 1_000_000)
        tell("indexing MB", min(megabytes, report.stats.bytes_read // 1_000_000), megabytes)

    return indexed
