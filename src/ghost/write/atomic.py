"""Write files whole or not at all: a temp file in the same folder, then an atomic rename.

Modes: by default a file gets what `open()` would give it, 0o666 less the umask (and any
default ACL of the folder), because the kernel applies them when the temp file is created
with 0o666; ghost never reads the umask, which is process-global (`os.umask` can only be read
by setting it, a race with every thread creating a file), so this is thread-safe and follows
a umask changed at any time. `mode=` (PRIVATE_MODE for mail-derived outputs, state and
manifests) is applied exactly, whatever the umask; such a file is created 0600 so it is never
wider, even for a moment.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from ghost.errors import GhostError, InputError

# OS errors that say the path itself is wrong (the user's choice), not that the system failed
PATH_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EISDIR,
                         errno.EROFS, errno.ENAMETOOLONG, errno.EEXIST, errno.ELOOP})
PRIVATE_MODE = 0o600  # the owner alone may read it
_AS_OPEN = 0o666      # what open() asks for; the kernel takes the umask off
_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))


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
    fd, probe = _temp_beside(target, PRIVATE_MODE)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return target


def write_text_atomic(path: str | Path, text: str, *, mode: int | None = None) -> Path:
    """Write `text` to `path` whole or not at all. Without `mode` the file gets the umask's
    mode, as with `open()`; with it (e.g. PRIVATE_MODE), exactly that mode."""
    target = Path(path)
    fd, tmp = _temp_beside(target, _AS_OPEN if mode is None else PRIVATE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(target, exc) from exc
        raise
    return target


def _temp_beside(target: Path, mode: int) -> tuple[int, str]:
    """A new hidden temp file in the target's folder (same filesystem, so rename is atomic),
    created with `mode` less the umask (`tempfile.mkstemp` always uses 0600)."""
    _check_folder(target, target.parent)
    for _ in range(100):
        tmp = os.path.join(target.parent, f".{target.name}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(tmp, _FLAGS, mode), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise _write_error(target, exc) from exc
    raise GhostError(f"cannot write {target}: no free temporary name in {target.parent}")


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
