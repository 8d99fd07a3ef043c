"""The mail index's files are private: its folder 0700, the database and its side files 0600."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ghost.cache import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE

SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path, *, tighten: bool) -> None:
    """Create `path` and missing parents 0700; with `tighten`, make an existing `path` 0700."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    if tighten:
        os.chmod(path, PRIVATE_DIR_MODE)


def private_file(path: Path) -> None:
    """Create `path` 0600 before SQLite does (it would use the umask); tighten an old one."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
    os.chmod(path, PRIVATE_FILE_MODE)


def tighten(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, PRIVATE_FILE_MODE)


def tree_bytes(path: Path) -> int:
    """Bytes of the files under `path` (or of `path`, a file); 0 when it is gone."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(folder, name))
    return total


def remove_tree(path: Path) -> int:
    """Delete `path` (a folder, or a database file with its side files); bytes freed."""
    freed = tree_bytes(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
        for side in SIDE_FILES:
            extra = path.with_name(path.name + side)
            if extra.exists():
                freed += extra.stat().st_size
                extra.unlink()
    return freed
