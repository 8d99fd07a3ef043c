"""What the index remembers of each file it read, so a later add reads only what is new.

An mbox's row in `sources` keeps the offset it was read up to and hashes of the file's head
and of the bytes just before that offset. A file that only grew keeps both and is read on
from the offset; a replaced or edited one changes one of them and is read from the start.
One-message files (Maildir, .eml) are remembered by `file_key`.

    head, tail = marks(path, end)                       # stored when a read ends at `end`
    grew_from(path, offset, head, tail)                 # True: read on from `offset`
    file_key(Path("Mail/cur/1700000000.x:2,S"))         # 'Mail/1700000000.x'
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HEAD_BYTES = 1 << 20
TAIL_BYTES = 1 << 16


def _hash(path: Path, start: int, length: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(max(start, 0))
        return hashlib.sha256(fh.read(length)).hexdigest()


def marks(path: Path, end: int) -> tuple[str, str]:
    """Hashes of the file's head and of the bytes before `end`."""
    return (_hash(path, 0, min(end, HEAD_BYTES)),
            _hash(path, end - TAIL_BYTES, min(end, TAIL_BYTES)))


def grew_from(path: Path, offset: int, head: str, tail: str) -> bool:
    """Whether `path` is the file read up to `offset`, perhaps with more after it."""
    return path.stat().st_size >= offset and marks(path, offset) == (head, tail)


def file_key(path: Path) -> str:
    """Key of a one-message file: Maildir names minus their flags, across cur/ and new/."""
    parent = path.parent
    if parent.name in ("cur", "new"):
        return f"{parent.parent}/{path.name.split(':', 1)[0]}"
    return str(path)
