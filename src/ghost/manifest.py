"""The run manifest: an audit trail of what left the machine — sizes and hashes, never content."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ghost.cache import ensure_private_dir
from ghost.models.protocol import Request, Usage
from ghost.write.atomic import write_text_atomic


class Manifest:
    def __init__(self, command: str, options: dict[str, Any] | None = None):
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.data: dict[str, Any] = {
            "run_id": self.run_id, "command": command, "options": options or {},
            "started": _now(), "finished": None, "status": "running", "inputs": [],
            "calls": [], "ledger": None,
        }
        self._lock = threading.Lock()

    def add_input(self, path: str, sha256: str, size: int, **extra: Any) -> None:
        self.data["inputs"].append({"path": path, "sha256": sha256, "bytes": size, **extra})

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

    def add_batch_result(self, *, stage: str, spec: str, endpoint: str, cache_key: str,
                         request_sha256: str, usage: Usage, response_chars: int) -> None:
        entry = {"stage": stage, "model": spec, "endpoint": endpoint, "batch": True,
                 "request_sha256": request_sha256, "cache_key": cache_key,
                 "response_chars": response_chars, "cached": False, "usage": asdict(usage),
                 "at": _now()}
        with self._lock:
            self.data["calls"].append(entry)

    def finish(self, status: str, ledger: dict[str, Any] | None = None) -> None:
        self.data.update(finished=_now(), status=status, ledger=ledger)

    def save(self, cache_dir: Path) -> Path:
        runs = ensure_private_dir(cache_dir / "runs")
        path = runs / f"{self.run_id}.json"
        with self._lock:
            text = json.dumps(self.data, indent=1, ensure_ascii=False)
        write_text_atomic(path, text + "\n", mode=0o600)
        return path


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


