"""Write files whole or not at all: a temp file in the same folder, then an atomic rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ghost.errors import InputError


def write_text_atomic(path: str | Path, text: str, *, mode: int = 0o644) -> Path:
    target = Path(path)
    folder = target.parent
    if not folder.exists():
        raise InputError(f"{target}: folder {folder} does not exist; create it or choose "
                         "another -o path")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
