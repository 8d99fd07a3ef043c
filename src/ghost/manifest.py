"""The run manifest: an audit trail of what left the machine — sizes and hashes, never content.

While a run goes on, every entry is also appended to a journal, `runs/<run>.jsonl` (0600), one
JSON object a line, so a run that is killed (kill -9, a power cut after the kernel wrote it)
still leaves a record of every call made and every endpoint used so far; a run that closes
writes `runs/<run>.json` whole and removes its journal. A cache folder the run may not write
(read-only, another user's) keeps neither: one warning, and the run goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ghost.cache import ensure_private_dir
from ghost.errors import GhostError
from ghost.models.protocol import Request, Usage
from ghost.write.atomic import write_text_atomic

log = logging.getLogger(__name__)


class Manifest:
    def __init__(self, command: str, options: dict[str, Any] | None = None):
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.data: dict[str, Any] = {
            "run_id": self.run_id, "command": command, "options": options or {},
            "started": _now(), "finished": None, "status": "running", "inputs": [],
            "calls": [], "ledger": None,
        }
        self._lock = threading.Lock()
        self._journal: Path | None = None
        self._warned = False

    def keep_journal(self, cache_dir: Path) -> None:
        """Start appending every entry to `runs/<run>.jsonl`, beginning with the run's header."""
        import os

        try:
            runs = ensure_private_dir(cache_dir / "runs")
            journal = runs / f"{self.run_id}.jsonl"
            os.close(os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        except OSError as exc:
            self._unwritable(cache_dir, exc)
            return
        self._journal = journal
        header = {k: v for k, v in self.data.items() if k not in ("inputs", "calls")}
        self._append({"run": header})

    def _append(self, entry: dict[str, Any]) -> None:
        if self._journal is None:
            return
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock, self._journal.open("a", encoding="utf-8") as fh:
            fh.write(line)

    def add_input(self, path: str, sha256: str, size: int, **extra: Any) -> None:
        entry = {"path": path, "sha256": sha256, "bytes": size, **extra}
        self.data["inputs"].append(entry)
        self._append({"input": entry})

    def add_call(self, *, stage: str, spec: str, endpoint: str, request: Request, cache_key: str,
                 cached: bool, usage: Usage | None, response_chars: int, **extra: Any) -> None:
        entry = {
            "stage": stage, "model": spec, "endpoint": "cache" if cached else endpoint,
            "request_sha256": request.digest(), "cache_key": cache_key,
            "request_chars": request.text_size, "response_chars": response_chars,
            "cached": cached, "usage": asdict(usage) if usage else None, "at": _now(), **extra,
        }
        with self._lock:
            self.data["calls"].append(entry)
        self._append({"call": entry})

    def add_batch_result(self, *, stage: str, spec: str, endpoint: str, cache_key: str,
                         request_sha256: str, usage: Usage, response_chars: int) -> None:
        entry = {"stage": stage, "model": spec, "endpoint": endpoint, "batch": True,
                 "request_sha256": request_sha256, "cache_key": cache_key,
                 "response_chars": response_chars, "cached": False, "usage": asdict(usage),
                 "at": _now()}
        with self._lock:
            self.data["calls"].append(entry)
        self._append({"call": entry})

    def finish(self, status: str, ledger: dict[str, Any] | None = None) -> None:
        self.data.update(finished=_now(), status=status, ledger=ledger)

    def record(self, key: str, entry: dict[str, Any]) -> None:
        """Add an audit entry under `key` (a list), in the manifest and its journal."""
        with self._lock:
            self.data.setdefault(key, []).append(entry)
        self._append({key: entry})

    def save(self, cache_dir: Path) -> Path | None:
        """Write `runs/<run>.json`; None when the cache folder cannot be written."""
        with self._lock:
            text = json.dumps(self.data, indent=1, ensure_ascii=False)
        try:
            path = ensure_private_dir(cache_dir / "runs") / f"{self.run_id}.json"
            write_text_atomic(path, text + "\n", mode=0o600)
        except (OSError, GhostError) as exc:  # GhostError: the OSError, told as one line
            self._unwritable(cache_dir, exc)
            return None
        if self._journal is not None:
            self._journal.unlink(missing_ok=True)
            self._journal = None
        return path

    def _unwritable(self, cache_dir: Path, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            why = cause.strerror if isinstance(cause, OSError) and cause.strerror else exc
            log.warning("cache %s cannot be written (%s): this run's manifest is not kept",
                        cache_dir, why)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


