"""Options shared by every command that calls a model."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ghost.models.runner import DEFAULT_CONCURRENCY, DEFAULT_PATIENCE


@dataclass
class RunOptions:
    map_model: str | None = None       # None: the models table's default
    reduce_model: str | None = None
    base_url: str | None = None        # OpenAI-compatible server for openai: models
    cache_dir: Path | None = None      # None: $GHOST_CACHE_DIR or ./cache
    no_cache: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    patience: float = DEFAULT_PATIENCE
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        return data
