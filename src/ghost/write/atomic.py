"""Write files whole or not at all: a temp file in the same folder, then an atomic rename."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from ghost.errors import GhostError, InputError

# OS errors that say the path itself is wrong (the user's choice), not that the system failed
PATH_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EISDIR,
                         errno.EROFS, errno.ENAMETOOLONG, errno.EEXIST, errno.ELOOP})


def check_writable(path: str | Path) -> Path:
    """Fail now, in one line, where `write_text_atomic(path, ...)` would fail later.

    The folder must exist and take a new file (probed by creating and removing one, the way
    the real write does), and the path must not be a folder or a device."""
    target = Path(path)
    mode = _mode(target)
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(f"{target} is a folder; give a file path to write to")
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(f"{target} is not a regular file; give a file path to write to")
    fd, probe = _temp_beside(target)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return target


def write_text_atomic(path: str | Path, text: str, *, mode: int = 0o644) -> Path:
    target = Path(path)
    fd, tmp = _temp_beside(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(target, exc) from exc
        raise
    return target


def _temp_beside(target: Path) -> tuple[int, str]:
    """A new hidden temp file in the target's folder (same filesystem, so rename is atomic)."""
    _check_folder(target, target.parent)
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _write_error(target, exc) from exc


def _mode(path: Path) -> int | None:
    """st_mode, or None when the path cannot be looked at (missing, name too long, ...)."""
    try:
        return path.stat().st_mode
    except OSError:
        return None


def _check_folder(target: Path, folder: Path) -> None:
    try:
        mode = folder.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{target}: folder {folder} does not exist; create it or choose "
                         "another path") from None
    except OSError as exc:
        raise _write_error(target, exc) from exc
    if not stat.S_ISDIR(mode):
        raise InputError(f"{target}: {folder} is not a folder")


def _write_error(target: Path, exc: OSError) -> GhostError:
    """One line naming the file we meant to write (not the temp file the OS complained of)."""
    mode, folder_mode = _mode(target), _mode(target.parent)
    if mode is not None and stat.S_ISDIR(mode):
        return InputError(f"cannot write {target}: it is a folder")
    message = f"cannot write {target}: {exc.strerror or exc}"
    if (exc.errno == errno.ENOENT and folder_mode is not None
            and stat.S_ISDIR(folder_mode)):  # e.g. /proc: it exists, but takes no new files
        message += f" ({target.parent} takes no new files)"
    return InputError(message) if exc.errno in PATH_ERRNOS else GhostError(message)
