"""The response cache: every model call keyed by provider, model, prompt hash and parameters.

Built on diskcache with a JSON-only disk. diskcache's default disk unpickles what it finds, so
anyone able to write the cache folder could run code (CVE-2025-69872); ours refuses any entry
that is not JSON. Folders in the cache are 0700 and files 0600, including the value files and
sub-folders diskcache makes later; the size limit is lifted: silent eviction would make a re-run
pay again for work already done.

A cache that cannot be used never stops a run (never a traceback): a corrupt database is moved
aside and a fresh one started, a read-only one still serves its answers (new ones are not
kept), and a full disk costs only the keeping of new answers; each says so once.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from ghost.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "cache"
NO_SIZE_LIMIT = 2**50


def cache_root(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir or os.environ.get("GHOST_CACHE_DIR") or DEFAULT_CACHE_DIR)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700; tighten it if it already exists."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"cache folder {path}: cannot create it ({exc.strerror}); "
                          "pass --cache-dir or set GHOST_CACHE_DIR") from None
    try:
        os.chmod(path, 0o700)
    except OSError as exc:
        if path.is_dir():  # a read-only file system: the folder is there, use it as it is
            log.debug("cache folder %s: cannot tighten it (%s)", path, exc.strerror)
            return path
        raise ConfigError(f"cache folder {path}: cannot create it ({exc.strerror}); "
                          "pass --cache-dir or set GHOST_CACHE_DIR") from None
    return path


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private(path: Path, *, recursive: bool = True) -> None:
    """Set `path` and everything under it to 0700 (folders) or 0600 (files); links are left alone.

    A folder needs its x bit to be entered: 0600 on a folder locks out even its owner
    (unless that owner is root, which is why it goes unnoticed when tested as root).
    """
    os.chmod(path, PRIVATE_DIR_MODE)
    if not recursive:
        for item in os.scandir(path):
            if not item.is_symlink():
                os.chmod(item.path, PRIVATE_DIR_MODE if item.is_dir() else PRIVATE_FILE_MODE)
        return
    for folder, dirs, files in os.walk(path):
        for name in dirs:
            entry = os.path.join(folder, name)
            if not os.path.islink(entry):
                os.chmod(entry, PRIVATE_DIR_MODE)
        for name in files:
            entry = os.path.join(folder, name)
            if not os.path.islink(entry):
                os.chmod(entry, PRIVATE_FILE_MODE)


class UnsafeCacheEntry(Exception):
    pass


def _json_disk() -> type:
    import diskcache
    from diskcache.core import MODE_BINARY, MODE_RAW, UNKNOWN

    class JSONOnlyDisk(diskcache.Disk):
        """Keys and values as UTF-8 JSON; pickled rows are refused, never loaded."""

        def put(self, key: Any) -> tuple[Any, bool]:
            return super().put(json.dumps(key, sort_keys=True))

        def get(self, key: Any, raw: bool) -> Any:
            if not raw:
                raise UnsafeCacheEntry("pickled key")
            return json.loads(key)

        def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> Any:
            if read:
                raise TypeError("ghost's cache stores JSON values only")
            stored = super().store(json.dumps(value).encode("utf-8"), False, key=key)
            filename = stored[2]
            if filename is not None:  # a large value, written to <xx>/<yy>/<name>.val
                full = Path(self._directory) / filename
                os.chmod(full, PRIVATE_FILE_MODE)
                for folder in (full.parent, full.parent.parent):
                    os.chmod(folder, PRIVATE_DIR_MODE)
            return stored

        def fetch(self, mode: int, filename: str, value: Any, read: bool) -> Any:
            if mode not in (MODE_RAW, MODE_BINARY) or read:
                raise UnsafeCacheEntry(f"entry stored with mode {mode}")
            return json.loads(super().fetch(mode, filename, value, read))

    return JSONOnlyDisk


def _read_only(exc: BaseException) -> bool:
    return "readonly" in str(exc).lower() or "read-only" in str(exc).lower()


def _disk_full(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or \
        "disk is full" in str(exc).lower()


class _ReadOnlyRows:
    """The rows of a cache database that cannot be written (diskcache insists on writing its
    settings when it opens one): looked up with SQLite's read-only mode, decoded by our disk."""

    def __init__(self, path: Path):
        self._disk = _json_disk()(str(path))
        db = path / "cache.db"
        try:
            self._con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
            self._con.execute("SELECT COUNT(*) FROM Cache").fetchall()
        except sqlite3.DatabaseError:  # WAL mode in a folder we cannot write: read it as is
            self._con = sqlite3.connect(f"file:{db}?immutable=1", uri=True,
                                        check_same_thread=False)

    def get(self, key: str) -> Any:
        db_key, raw = self._disk.put(key)
        row = self._con.execute("SELECT mode, filename, value FROM Cache WHERE key = ? AND "
                                "raw = ?", (db_key, raw)).fetchone()
        return None if row is None else self._disk.fetch(row[0], row[1], row[2], False)

    def set(self, key: str, value: Any) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    def __len__(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM Cache").fetchone()[0])

    def volume(self) -> int:
        size = self._con.execute("SELECT COALESCE(SUM(size), 0) FROM Cache").fetchone()[0]
        return int(size)

    def close(self) -> None:
        self._con.close()


class ResponseCache:
    """Completed model responses, as JSON, under `<cache_dir>/responses`."""

    def __init__(self, cache_dir: str | Path | None = None):
        self.root = ensure_private_dir(cache_root(cache_dir))
        self.path = ensure_private_dir(self.root / "responses")
        self.keeps = True  # False once a write has failed for good (read-only): hits only
        self._warned: set[str] = set()
        self._cache: Any = self._open()
        # The whole tree is tightened once (older ghost versions and diskcache leave it at the
        # umask); after that, new value files are tightened as they are stored, and only the
        # top level (diskcache's SQLite files) needs a look on each open.
        marker = self.path / ".private"
        try:
            make_private(self.path, recursive=not marker.exists())
            marker.touch(mode=PRIVATE_FILE_MODE)
        except OSError as exc:
            log.debug("cache folder %s: cannot tighten it (%s)", self.path, exc)

    def _open(self) -> Any:
        try:
            return _open_diskcache(self.path)
        except sqlite3.DatabaseError as exc:
            # A folder we may not write (WAL needs its -shm file: "unable to open") is read
            # only; a file that is not a database, or a malformed one, is corrupt.
            if _read_only(exc) or "unable to open" in str(exc) or \
                    not os.access(self.path, os.W_OK):
                return self._open_read_only(exc)
            return self._move_aside(exc)

    def _open_read_only(self, exc: BaseException) -> Any:
        self.keeps = False
        try:
            rows = _ReadOnlyRows(self.path)
        except sqlite3.DatabaseError as again:
            self._warn("readonly", "cache %s cannot be opened (%s): running without it; "
                       "answers are neither read nor kept", self.path, again)
            return _NoRows()
        self._warn("readonly", "cache %s is read-only (%s): cached answers are used, new ones "
                   "are not kept", self.path, exc)
        return rows

    def _move_aside(self, exc: BaseException) -> Any:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            self.path.rename(aside)
            ensure_private_dir(self.path)
            fresh = _open_diskcache(self.path)
        except (OSError, sqlite3.DatabaseError, ConfigError) as again:
            self.keeps = False
            self._warn("corrupt", "cache %s is corrupt (%s) and cannot be replaced (%s): "
                       "running without it", self.path, exc, again)
            return _NoRows()
        self._warn("corrupt", "cache %s was corrupt (%s): moved aside to %s, starting a fresh "
                   "one", self.path, exc, aside.name)
        return fresh

    def _warn(self, kind: str, message: str, *args: object) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning(message, *args)

    @staticmethod
    def key(provider: str, model: str, request_digest: str) -> str:
        blob = json.dumps([provider, model, request_digest])
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            value = self._cache.get(key)
        except UnsafeCacheEntry as exc:
            log.warning("ignored a cache entry ghost did not write (%s)", exc)
            return None
        except json.JSONDecodeError:
            log.warning("ignored a corrupt cache entry")
            return None
        except (sqlite3.Error, OSError) as exc:
            self._warn("read", "cache %s cannot be read (%s): answers not found there are "
                       "asked for again", self.path, exc)
            return None
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> bool:
        """Keep an answer; False (with one warning per kind of failure) when it cannot be."""
        if not self.keeps:
            return False
        try:
            self._cache.set(key, value)
            return True
        except (sqlite3.Error, OSError) as exc:
            if _read_only(exc):
                self.keeps = False
                self._warn("readonly", "cache %s is read-only (%s): cached answers are used, "
                           "new ones are not kept", self.path, exc)
            elif _disk_full(exc):
                self._warn("full", "cache %s: the disk is full (%s): new answers are used but "
                           "not kept", self.path, exc)
            else:
                self._warn("write", "cache %s: cannot keep an answer (%s)", self.path, exc)
            return False

    def __len__(self) -> int:
        return len(self._cache)

    def volume(self) -> int:
        return int(self._cache.volume())

    def close(self) -> None:
        try:
            self._cache.close()
        except (sqlite3.Error, OSError) as exc:
            log.debug("cache %s: close failed (%s)", self.path, exc)


class _NoRows:
    """A cache that holds nothing and keeps nothing (one that could not be opened)."""

    def get(self, key: str) -> Any:
        return None

    def set(self, key: str, value: Any) -> None:
        return None

    def __len__(self) -> int:
        return 0

    def volume(self) -> int:
        return 0

    def close(self) -> None:
        return None


def _open_diskcache(path: Path) -> Any:
    """The one place a diskcache is opened (tests fault it here)."""
    import diskcache

    return diskcache.Cache(str(path), disk=_json_disk(), size_limit=NO_SIZE_LIMIT,
                           eviction_policy="none", cull_limit=0)


def cache_info(cache_dir: str | Path | None = None) -> dict[str, Any]:
    """What the cache folder holds: the response cache and run manifests (`bytes`: everything
    but the mail), and apart from them the private mail indexes (`mail`: count, bytes, each
    index's mailbox)."""
    from ghost.narrow.mailboxes import mail_bytes, mail_indexes

    root = cache_root(cache_dir)
    info: dict[str, Any] = {"path": str(root), "exists": root.exists(), "responses": 0,
                            "bytes": 0, "runs": 0,
                            "mail": {"indexes": 0, "bytes": 0, "mailboxes": []}}
    if not root.exists():
        return info
    total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    indexes = mail_indexes(root)
    mail = mail_bytes(root)
    info["bytes"] = total - mail
    info["mail"] = {"indexes": len(indexes), "bytes": mail,
                    "mailboxes": [i.to_dict() for i in indexes]}
    info["runs"] = len(list((root / "runs").glob("*.json"))) if (root / "runs").exists() else 0
    if (root / "responses").exists():
        cache = ResponseCache(root)
        info["responses"] = len(cache)
        cache.close()
    return info


def clear_cache(cache_dir: str | Path | None = None, *, keep_runs: bool = False,
                mail: bool = False) -> int:
    """Delete cached responses (and run manifests unless keep_runs; with `mail`, every private
    mail index too). Returns bytes freed."""
    root = cache_root(cache_dir)
    if not root.exists():
        return 0
    freed = 0
    targets = [root / "responses"] + ([] if keep_runs else [root / "runs"])
    for target in targets:
        if target.exists():
            freed += sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
            shutil.rmtree(target)
    if mail:
        from ghost.narrow.mailboxes import remove_mail_indexes

        freed += remove_mail_indexes(root)
    return freed
