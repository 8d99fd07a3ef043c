"""The response cache: every model call keyed by provider, model, prompt hash and parameters.

Built on diskcache with a JSON-only disk. diskcache's default disk unpickles what it finds, so
anyone able to write the cache folder could run code (CVE-2025-69872); ours refuses any entry
that is not JSON. Folders in the cache are 0700 and files 0600, including the value files and
sub-folders diskcache makes later; the size limit is lifted: silent eviction would make a re-run
pay again for work already done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
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
        os.chmod(path, 0o700)
    except OSError as exc:
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


class ResponseCache:
    """Completed model responses, as JSON, under `<cache_dir>/responses`."""

    def __init__(self, cache_dir: str | Path | None = None):
        import diskcache

        self.root = ensure_private_dir(cache_root(cache_dir))
        self.path = ensure_private_dir(self.root / "responses")
        self._cache = diskcache.Cache(str(self.path), disk=_json_disk(), size_limit=NO_SIZE_LIMIT,
                                      eviction_policy="none", cull_limit=0)
        # The whole tree is tightened once (older ghost versions and diskcache leave it at the
        # umask); after that, new value files are tightened as they are stored, and only the
        # top level (diskcache's SQLite files) needs a look on each open.
        marker = self.path / ".private"
        make_private(self.path, recursive=not marker.exists())
        marker.touch(mode=PRIVATE_FILE_MODE)

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
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        self._cache.set(key, value)

    def __len__(self) -> int:
        return len(self._cache)

    def volume(self) -> int:
        return int(self._cache.volume())

    def close(self) -> None:
        self._cache.close()


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
