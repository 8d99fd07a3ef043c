"""ghost.toml: where episodes arrive, the samples, what to make, models and budgets."""

from __future__ import annotations

import glob
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghost.errors import ConfigError
from ghost.options import MIN_CHUNK_TOKENS

CONFIG_NAME = "ghost.toml"
OUTPUT_KINDS = ("essay", "summary")
TRANSCRIPT_SUFFIXES = (".txt", ".md", ".vtt", ".srt")

EXAMPLE = '''\
# ghost workspace: `ghost run` processes every new episode found here, once.
# Paths are relative to this file.

[episodes]
# A folder (every .txt .md .vtt .srt in it) or a glob such as "transcripts/*.vtt".
inbox = "episodes"

[samples]
# The host's past essays (.md or .txt, optional front matter title/date).
folder = "essays"

[outputs]
folder = "out"
# What to write per episode: "essay" (+ its notes file) and/or "summary".
make = ["essay", "summary"]
# essay_words = 700
# summary_words = 600

[models]
map = "anthropic:claude-haiku-4-5"
reduce = "anthropic:claude-opus-5-5"
# base_url = "http://localhost:11434/v1"   # an OpenAI-compatible server for openai: models

[budget]
# US dollars. A run stops before the call that would pass either limit.
per_run = 2.00
per_month = 20.00

[run]
# Send the map stage through the provider's batch API: 50% cheaper, results within 24 hours;
# the next `ghost run` collects them. Same as `ghost run --batch`.
batch = false
concurrency = 8
# chunk_tokens = 4000
# cache_dir = "cache"
'''


@dataclass
class WorkspaceConfig:
    root: Path
    inbox: str
    samples: Path
    outputs: Path
    make: tuple[str, ...]
    map_model: str | None = None
    reduce_model: str | None = None
    base_url: str | None = None
    budget_per_run: float | None = None
    budget_per_month: float | None = None
    batch: bool = False
    concurrency: int = 8
    chunk_tokens: int = 4000
    cache_dir: Path | None = None
    essay_words: int = 700
    summary_words: int = 600

    @property
    def state_dir(self) -> Path:
        return self.root / ".ghost"

    def episodes(self) -> list[Path]:
        """Transcript files in the inbox, sorted by name (a folder, or a glob pattern)."""
        pattern = self.root / self.inbox
        if not glob.has_magic(self.inbox) and not pattern.exists():
            raise ConfigError(f"ghost.toml: [episodes] inbox {pattern} does not exist; create "
                              "it or point inbox at the folder where transcripts arrive")
        if pattern.is_dir():
            found = [p for p in pattern.iterdir() if p.suffix.lower() in TRANSCRIPT_SUFFIXES]
        else:
            found = [Path(p) for p in glob.glob(str(pattern), recursive=True)]
        return sorted(p for p in found if p.is_file() and not p.name.startswith("."))

    def episode_key(self, path: Path) -> str:
        """An episode's name in the state: its path under the inbox (`season2/ep1.txt`), so
        two files with the same name in different folders of a recursive glob stay apart."""
        base = self.root / self.inbox
        if not base.is_dir():
            parts = Path(self.inbox).parts
            cut = next((i for i, part in enumerate(parts) if glob.has_magic(part)),
                       len(parts) - 1)
            base = self.root.joinpath(*parts[:cut])
        # absolute(), not resolve(): a symlink in the inbox is an episode under its own name.
        here = Path(os.path.abspath(path))
        try:
            return here.relative_to(os.path.abspath(base)).as_posix()
        except ValueError:
            return here.as_posix()


def _get(table: dict[str, Any], section: str, key: str, kind: type | tuple[type, ...],
         default: Any = None) -> Any:
    value = table.get(section, {}).get(key, default)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"ghost.toml: [{section}] {key} has the wrong type "
                          f"({type(value).__name__})")
    return value


def load_config(path: str | Path = CONFIG_NAME) -> WorkspaceConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no workspace config here; create one with `ghost init`")
    try:
        table = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    root = path.resolve().parent
    inbox = _get(table, "episodes", "inbox", str)
    samples = _get(table, "samples", "folder", str)
    if not inbox:
        raise ConfigError(f"{path}: [episodes] inbox is missing")
    make = tuple(_get(table, "outputs", "make", list, ["essay"]))
    unknown = [m for m in make if m not in OUTPUT_KINDS]
    if unknown or not make:
        raise ConfigError(f"{path}: [outputs] make must list some of {', '.join(OUTPUT_KINDS)}")
    if "essay" in make and not samples:
        raise ConfigError(f"{path}: [samples] folder is needed to make essays")
    cache = _get(table, "run", "cache_dir", str)
    config = WorkspaceConfig(
        root=root, inbox=inbox, samples=root / (samples or "."),
        outputs=root / _get(table, "outputs", "folder", str, "out"), make=make,
        map_model=_get(table, "models", "map", str),
        reduce_model=_get(table, "models", "reduce", str),
        base_url=_get(table, "models", "base_url", str),
        budget_per_run=_money(_get(table, "budget", "per_run", (int, float)), path, "per_run"),
        budget_per_month=_money(_get(table, "budget", "per_month", (int, float)), path,
                                "per_month"),
        batch=bool(_get(table, "run", "batch", bool, False)),
        concurrency=_count(table, path, "run", "concurrency", 8, 1),
        chunk_tokens=_count(table, path, "run", "chunk_tokens", 4000, MIN_CHUNK_TOKENS),
        cache_dir=root / cache if cache else root / "cache",
        essay_words=_count(table, path, "outputs", "essay_words", 700, 1),
        summary_words=_count(table, path, "outputs", "summary_words", 600, 1),
    )
    return config


def _count(table: dict[str, Any], path: Path, section: str, key: str, default: int,
           least: int) -> int:
    value = int(_get(table, section, key, int, default))
    if value < least:
        raise ConfigError(f"{path}: [{section}] {key} must be at least {least}")
    return value


def _money(value: float | None, path: Path, key: str) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{path}: [budget] {key} must be a positive amount of US dollars")
    return float(value) if value is not None else None
