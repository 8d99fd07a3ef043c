"""Options shared by every command that calls a model."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ghost.errors import InputError
from ghost.models.errors_map import DEFAULT_CALL_TIMEOUT
from ghost.models.runner import DEFAULT_CONCURRENCY, DEFAULT_PATIENCE

# Below this a chunk is mostly the map prompt's instructions (~300 tokens) around a scrap.
MIN_CHUNK_TOKENS = 100


@dataclass
class RunOptions:
    map_model: str | None = None       # None: the models table's default
    reduce_model: str | None = None
    collapse_model: str | None = None  # None: the map model condenses notes that do not fit
    queries_model: str | None = None   # None: the reduce model writes profile searches
    base_url: str | None = None        # OpenAI-compatible server for openai: models
    cache_dir: Path | None = None      # None: $GHOST_CACHE_DIR or ./cache
    no_cache: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    patience: float = DEFAULT_PATIENCE
    # Seconds one call may wait for its reply (a streamed one: for its next piece) before it
    # is abandoned and, patience allowing, sent again. Not part of the cache key.
    timeout: float = DEFAULT_CALL_TIMEOUT
    budget: float | None = None
    dry_run: bool = False
    templates: str | None = None
    models_file: str | None = None
    chunk_tokens: int = 4000
    map_max_tokens: int = 1024
    reduce_max_tokens: int = 8192
    reduce_input_tokens: int | None = None  # None: what the reduce model's context allows
    citations: str = "flag"                 # what to do with citations not in the source
    batch: bool = False                     # map stage through the providers' batch APIs
    screen: bool = False                    # screen the input before the main call
    screen_examples: str | None = None      # hand-labelled JSONL examples for the screen

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject numbers no run can use, in one line naming the option, before any call.

        Written as `not x >= n` so that NaN (which typer parses from "nan") fails too."""
        if not self.chunk_tokens >= MIN_CHUNK_TOKENS:
            raise InputError(
                f"--chunk-tokens must be at least {MIN_CHUNK_TOKENS}, got {self.chunk_tokens}: "
                "every chunk is sent with a few hundred tokens of map instructions, so smaller "
                "chunks pay mostly for instructions and cut passages apart")
        if not self.concurrency >= 1:
            raise InputError(f"--concurrency must be at least 1, got {self.concurrency}")
        if not self.patience >= 0:
            raise InputError(f"--patience must be 0 or more seconds, got {self.patience:g}")
        if not self.timeout > 0:
            raise InputError(f"--timeout must be more than 0 seconds, got {self.timeout:g}")
        if self.budget is not None and not self.budget > 0:
            raise InputError("--budget must be a positive number of US dollars, "
                             f"got {self.budget:g}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        # The manifest is an audit trail, not a secret store: a base URL may carry a user and
        # password or a token in its query, so only scheme://host[:port] is kept.
        data["base_url"] = _url_host(self.base_url) if self.base_url else None
        return data


def _url_host(url: str) -> str:
    from urllib.parse import urlsplit

    from ghost.models.keys import url_host

    return url_host(url) if urlsplit(url).hostname else "(unparsed url)"
