"""One run's shared machinery: models per stage, cache, ledger, manifest and the runner.

A job receives its Session from `ghost.jobs.runner.JobRun`, the one place sessions are made.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ghost.cache import ResponseCache, cache_root
from ghost.ledger import Ledger
from ghost.manifest import Manifest
from ghost.models.batch import BatchStore
from ghost.models.catalog import ModelInfo, load_catalog
from ghost.models.keys import key_alternative
from ghost.models.protocol import Model
from ghost.models.runner import Runner, Stage, call_key
from ghost.options import RunOptions
from ghost.providers import IN_PROCESS, build_model, endpoint_for, scoped
from ghost.templates import Templates

_FALLBACK = {"collapse": "map", "queries": "reduce"}  # a role with no option and no default


class Session:
    def __init__(self, command: str, options: RunOptions, *,
                 progress: Callable[[str, int, int], None] | None = None,
                 say: Callable[[str], None] | None = None):
        # `options` validated itself when it was made (RunOptions.validate).
        self.command = command
        self.options = options
        self.catalog = load_catalog(options.models_file)
        self.templates = Templates(options.templates)
        self.ledger = Ledger(options.budget)
        self.manifest = Manifest(command, options.to_dict())
        self.cache_dir = cache_root(options.cache_dir)
        # A dry run only peeks at an existing cache; it creates nothing.
        peek_only = options.dry_run and not (self.cache_dir / "responses").exists()
        self.cache = None if options.no_cache or peek_only else ResponseCache(self.cache_dir)
        if not options.dry_run:
            self.manifest.keep_journal(self.cache_dir)
        self.runner = Runner(self.ledger, self.cache, self.manifest,
                             concurrency=options.concurrency, patience=options.patience,
                             progress=progress)
        self._stages: dict[str, Stage] = {}
        self._models: dict[str, tuple[Model, str]] = {}  # by spec: the adapter and its host
        self.batch: BatchStore | None = None
        if options.batch and not options.dry_run:
            self.batch = BatchStore(self.cache_dir)
        self._progress = progress
        self._say = say

    def say(self, line: str) -> None:
        """Tell the user something about the run as it happens (stderr on the command line)."""
        if self._say is not None:
            self._say(line)

    def tell(self, stage: str, done: int, total: int) -> None:
        """Report progress of a stage that is not model calls (indexing mail, say)."""
        if self._progress is not None:
            self._progress(stage, done, total)

    def ticker(self, stage: str, total: int) -> Callable[..., None]:
        """A callback that reports one more of `total` calls of `stage` done, each time called
        (from any worker thread)."""
        done = [0]
        lock = threading.Lock()

        def tick(*_: object) -> None:
            with lock:
                done[0] += 1
                count = done[0]
            if self._progress is not None:
                self._progress(stage, count, total)

        return tick

    def info(self, role: str) -> ModelInfo:
        """Model info for a role ("map", "reduce", "collapse", which condenses notes that do
        not fit: the map model unless --collapse-model says otherwise, or "queries", which
        writes a profile's searches: the reduce model unless --queries-model says otherwise,
        since a query that misses the threads costs more than the call): the option, else
        the table's default."""
        spec = getattr(self.options, f"{role}_model", None)
        if spec is None and role in _FALLBACK:
            return self.info(_FALLBACK[role])
        return self.resolve(spec or self.catalog.defaults[role])

    def resolve(self, spec: str) -> ModelInfo:
        """A model of this run: the table's row, scoped to the server this run calls."""
        return scoped(self.catalog.resolve(spec), self.options.base_url)

    def max_tokens(self, role: str) -> int:
        """The output a role's calls may ask for: its option, capped by the model's maximum
        (condensed notes may be as long as the reduce stage's answers)."""
        option = "reduce" if role == "collapse" else role
        wanted = int(getattr(self.options, f"{option}_max_tokens"))
        return min(wanted, self.info(role).max_output)

    def stage(self, role: str) -> Stage:
        """The callable model for a role. Raises MissingKeyError before any call is made."""
        return self.stage_for(role, self.info(role).spec)

    def stage_for(self, name: str, spec: str) -> Stage:
        """A callable model for any named stage (e.g. "screen", or dialogue sides "a"/"b");
        stages on the same model share one adapter."""
        if name not in self._stages:
            info = self.resolve(spec)
            if info.spec not in self._models:
                # Resolved once, here: a missing key is reported with this command's own
                # options, and the manifest names the host the adapter really calls.
                endpoint = endpoint_for(info, self.options.base_url,
                                        alternative=key_alternative(self.command))
                self._models[info.spec] = (build_model(info, endpoint=endpoint,
                                                       timeout=self.options.timeout),
                                           endpoint.host if endpoint else IN_PROCESS)
            model, host = self._models[info.spec]
            self._stages[name] = Stage(name, model, info, host)
        return self._stages[name]

    def endpoint_used(self, role: str) -> str | None:
        """Where a stage of this run sent its calls (a host, or "local"), if it was built."""
        stage = self._stages.get(role)
        return stage.endpoint if stage is not None else None

    def spec_used(self, role: str) -> str | None:
        """The model a stage of this run really called (or read from the cache), if any."""
        stage = self._stages.get(role)
        return stage.info.spec if stage is not None else None

    def is_cached(self, info: ModelInfo, digest: str) -> bool:
        if self.cache is None:
            return False
        return self.cache.get(call_key(info, digest)) is not None

    def add_input(self, path: Path, data: bytes | str, **extra: Any) -> str:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        digest = hashlib.sha256(raw).hexdigest()
        self.manifest.add_input(str(path), digest, len(raw), **extra)
        return digest

    def close(self, status: str) -> Path | None:
        self.manifest.finish(status, self.ledger.to_dict())
        path = None
        if not self.options.dry_run:
            path = self.manifest.save(self.cache_dir)
        if self.cache is not None:
            self.cache.close()
        return path
