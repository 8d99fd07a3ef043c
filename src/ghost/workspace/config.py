"""ghost.toml: where episodes arrive, the samples, what to make, models and budgets.

Parsed strictly (pydantic models, one per section): an unknown section or key, a wrong type
or an out-of-range value is a one-line ConfigError, never silently ignored."""

from __future__ import annotations

import datetime
import difflib
import glob
import json
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ghost.errors import ConfigError
from ghost.options import MIN_CHUNK_TOKENS

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from ghost.jobs.essay_plan import EssaySettings

CONFIG_NAME = "ghost.toml"
OutputKind = Literal["essay", "summary"]
OUTPUT_KINDS: tuple[str, ...] = get_args(OutputKind)
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
# impostors = "other-writers"   # other writers of the genre: the style check rejects them

[outputs]
folder = "out"
# What to write per episode: "essay" (+ its notes file) and/or "summary".
make = ["essay", "summary"]
# essay_words = 500   # default: the median length of the host's essays
# summary_words = 600

[essay]
# How the strong model reads an episode: "auto" (the whole transcript when it fits a quarter
# of its context and the budget, else the cheap model's essay notes), "full" or "notes".
read = "auto"
# Drafts written on one cached prefix and ranked by the style check; the best is kept.
drafts = 1
# One revision from what the style check measured, kept only if it scores better.
revise = false
# The cheap model writes a plain essay without the samples; a draft nearer to it is held back.
impostor_draft = false

[models]
map = "anthropic:claude-haiku-4-5"
reduce = "anthropic:claude-opus-5-5"
# collapse = "anthropic:claude-haiku-4-5"  # condenses notes too long for reduce (default: map)
# base_url = "http://localhost:11434/v1"   # an OpenAI-compatible server for openai: models

[budget]
# US dollars. A run stops before the call that would pass either limit.
per_run = 2.00
per_month = 20.00

[run]
# Send the map stage through the provider's batch API: 50% cheaper, results within 24 hours;
# the next `ghost run` collects them. Same as `ghost run --batch`.
batch = false
# The most model calls in flight: ghost starts with 8 and paces by the provider's rate limits.
concurrency = 32
# timeout = 120   # seconds one call may wait for its reply before it is sent again
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
    collapse_model: str | None = None
    queries_model: str | None = None
    base_url: str | None = None
    budget_per_run: float | None = None
    budget_per_month: float | None = None
    batch: bool = False
    concurrency: int = 32
    timeout: float = 120.0
    chunk_tokens: int = 4000
    cache_dir: Path | None = None
    essay_words: int | None = None  # None: the median length of the host's essays
    summary_words: int = 600
    essay_read: str = "auto"
    essay_drafts: int = 1
    essay_revise: bool = False
    impostors: Path | None = None  # other writers' texts for the style check
    essay_impostor_draft: bool = False

    def essay_settings(self, impostors: tuple[str, ...] = ()) -> EssaySettings:
        """What each episode's essay asks for; `impostors`: the texts of [samples] impostors."""
        from ghost.jobs.essay_plan import EssaySettings

        return EssaySettings(words=self.essay_words, read=self.essay_read,
                             drafts=self.essay_drafts, revise=self.essay_revise,
                             impostors=impostors, impostor_draft=self.essay_impostor_draft)

    @property
    def state_dir(self) -> Path:
        return self.root / ".ghost"

    def episodes(self) -> list[Path]:
        """Transcript files in the inbox, sorted by name (a folder, or a glob pattern).

        ghost's own files are never episodes: nothing under the outputs folder (when it lies
        inside the inbox) and no file whose front matter says `generator: "ghost"` (when the
        outputs folder is the inbox itself, or an essay was copied in)."""
        from ghost.write.markdown import written_by_ghost

        pattern = self.root / self.inbox
        if not glob.has_magic(self.inbox) and not pattern.exists():
            raise ConfigError(f"ghost.toml: [episodes] inbox {pattern} does not exist; create "
                              "it or point inbox at the folder where transcripts arrive")
        if pattern.is_dir():
            found = [p for p in pattern.iterdir() if p.suffix.lower() in TRANSCRIPT_SUFFIXES]
        else:
            found = [Path(p) for p in glob.glob(str(pattern), recursive=True)]
        return sorted(p for p in found if p.is_file() and not p.name.startswith(".")
                      and not self.is_output(p) and not written_by_ghost(p))

    def is_output(self, path: Path) -> bool:
        """Whether `path` lies under the outputs folder while the inbox does not. When the
        outputs folder is the inbox, or holds it, place cannot tell ghost's files from the
        user's: their front matter does (`written_by_ghost`)."""
        return _below(path, self.outputs) and not _below(self._inbox_base(), self.outputs,
                                                         or_same=True)

    def _inbox_base(self) -> Path:
        """The inbox folder: the inbox itself, or the part of its glob before the pattern."""
        base = self.root / self.inbox
        if not base.is_dir():
            parts = Path(self.inbox).parts
            cut = next((i for i, part in enumerate(parts) if glob.has_magic(part)),
                       len(parts) - 1)
            base = self.root.joinpath(*parts[:cut])
        return base

    def episode_key(self, path: Path) -> str:
        """An episode's name in the state: its path under the inbox (`season2/ep1.txt`), so
        two files with the same name in different folders of a recursive glob stay apart."""
        base = self._inbox_base()
        # absolute(), not resolve(): a symlink in the inbox is an episode under its own name.
        here = Path(os.path.abspath(path))
        try:
            return here.relative_to(os.path.abspath(base)).as_posix()
        except ValueError:
            return here.as_posix()


def _below(path: Path, folder: Path, *, or_same: bool = False) -> bool:
    """Whether `path` is inside `folder` (resolved), or is it when `or_same`."""
    here, there = path.resolve(), folder.resolve()
    return there in here.parents or (or_same and here == there)


def load_config(path: str | Path = CONFIG_NAME) -> WorkspaceConfig:
    """Read and check ghost.toml: an unknown section or key, a wrong type or an out-of-range
    value is a ConfigError of one line naming the file and the `[section] key`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no workspace config here; create one with `ghost init`")
    try:
        table = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        parsed = GhostToml.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_one_line(exc)}") from None
    if not parsed.episodes.inbox:
        raise ConfigError(f"{path}: [episodes] inbox is missing")
    samples = parsed.samples.folder
    make = tuple(parsed.outputs.make)
    if "essay" in make and not samples:
        raise ConfigError(f"{path}: [samples] folder is needed to make essays")
    root = path.resolve().parent
    models, budget, run = parsed.models, parsed.budget, parsed.run
    return WorkspaceConfig(
        root=root, inbox=parsed.episodes.inbox, samples=root / (samples or "."),
        outputs=root / parsed.outputs.folder, make=make,
        map_model=models.map, reduce_model=models.reduce, collapse_model=models.collapse,
        queries_model=models.queries, base_url=models.base_url,
        budget_per_run=budget.per_run, budget_per_month=budget.per_month,
        batch=run.batch, concurrency=run.concurrency, timeout=run.timeout,
        chunk_tokens=run.chunk_tokens,
        cache_dir=root / (run.cache_dir or "cache"),
        essay_words=parsed.outputs.essay_words, summary_words=parsed.outputs.summary_words,
        essay_read=parsed.essay.read, essay_drafts=parsed.essay.drafts,
        essay_revise=parsed.essay.revise, essay_impostor_draft=parsed.essay.impostor_draft,
        impostors=root / parsed.samples.impostors if parsed.samples.impostors else None,
    )


# --- the schema: one strict model per section; WorkspaceConfig above is what the code uses ---


class _Section(BaseModel):
    # strict: TOML already has types, so "yes" is not a bool and 8.0 is not a count.
    model_config = ConfigDict(extra="forbid", strict=True)


Count = Annotated[int, Field(ge=1)]
Dollars = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Episodes(_Section):
    inbox: str | None = None


class Samples(_Section):
    folder: str | None = None
    impostors: str | None = None


class Outputs(_Section):
    folder: str = "out"
    make: list[OutputKind] = Field(default_factory=lambda: list[OutputKind](["essay"]),
                                   min_length=1)
    essay_words: Count | None = None
    summary_words: Count = 600


class Essay(_Section):
    read: Literal["auto", "full", "notes"] = "auto"
    drafts: Annotated[int, Field(ge=1, le=10)] = 1
    revise: bool = False
    impostor_draft: bool = False


class Models(_Section):
    map: str | None = None
    reduce: str | None = None
    collapse: str | None = None
    queries: str | None = None
    base_url: str | None = None


class Budget(_Section):
    per_run: Dollars | None = None
    per_month: Dollars | None = None


class Run(_Section):
    batch: bool = False
    concurrency: Count = 32
    timeout: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 120.0
    chunk_tokens: Annotated[int, Field(ge=MIN_CHUNK_TOKENS)] = 4000
    cache_dir: str | None = None


class GhostToml(_Section):
    episodes: Episodes = Field(default_factory=Episodes)
    samples: Samples = Field(default_factory=Samples)
    outputs: Outputs = Field(default_factory=Outputs)
    essay: Essay = Field(default_factory=Essay)
    models: Models = Field(default_factory=Models)
    budget: Budget = Field(default_factory=Budget)
    run: Run = Field(default_factory=Run)


SECTIONS = {name: cast(type[_Section], info.annotation)
            for name, info in GhostToml.model_fields.items()}

# What a setting must be, when its type alone does not say it well.
_NEEDS = {
    ("outputs", "make"): f"must list some of {', '.join(OUTPUT_KINDS)}",
    ("essay", "read"): "must be \"auto\", \"full\" or \"notes\"",
    ("essay", "drafts"): "must be a whole number from 1 to 10",
    ("budget", "per_run"): "must be a positive amount of US dollars",
    ("budget", "per_month"): "must be a positive amount of US dollars",
}
_TYPE_NEEDS = {
    "string_type": "must be a string (in quotes)",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "list_type": "must be a list",
}


def _one_line(exc: ValidationError) -> str:
    """pydantic's report as one line about the first problem (`[section] key ...`)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    problems = {tuple(e["loc"][:2]) for e in errors}
    left = len(problems) - 1
    more = f" (and {left} more problem{'s' * (left > 1)})" if left else ""
    return _problem(first) + more


def _problem(error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"]]
    value = error["input"]
    if len(loc) == 1:
        return _top_level(loc[0], value, error["type"])
    section, key = loc[0], loc[1]
    if error["type"] == "extra_forbidden":
        return _unknown_key(section, key)
    needs = _NEEDS.get((section, key))
    if needs is None:
        if error["type"] == "greater_than_equal":
            needs = f"must be at least {error.get('ctx', {}).get('ge')}"
        else:
            needs = _TYPE_NEEDS.get(error["type"], f"is not valid ({error['msg']})")
    if len(loc) > 2:  # an item of a list: `make = ["poem"]`
        return f"[{section}] {key} {needs}, got {json.dumps(value, default=str)} in the list"
    hint = f" (write [{json.dumps(value)}])" if error["type"] == "list_type" and isinstance(
        value, str) else ""
    return f"[{section}] {key} {needs}, got {_describe(value)}{hint}"


def _top_level(name: str, value: Any, kind: str) -> str:
    if kind != "extra_forbidden":  # a known section given as a value: `budget = 2`
        return f"{name} must be a section ([{name}] on a line of its own), got {_describe(value)}"
    if isinstance(value, dict):
        near = _nearest(name, SECTIONS)
        hint = f"did you mean [{near}]?" if near else "the sections are " + ", ".join(
            f"[{s}]" for s in SECTIONS)
        return f"[{name}] is not a section; {hint}"
    home = _home(name)
    hint = (f"did you mean [{home[0]}] {home[1]}?" if home
            else "settings go under a section such as [run]")
    return f"{name} is outside any section; {hint}"


def _unknown_key(section: str, key: str) -> str:
    keys = SECTIONS[section].model_fields
    near = _nearest(key, keys)
    if near:
        return f"[{section}] {key} is not a setting; did you mean {near}?"
    home = _home(key)
    if home:
        return f"[{section}] {key} is not a setting; did you mean [{home[0]}] {home[1]}?"
    return f"[{section}] {key} is not a setting; [{section}] takes {', '.join(keys)}"


def _nearest(word: str, choices: Iterable[str]) -> str | None:
    by_lower = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return by_lower[found[0]] if found else None


def _home(key: str) -> tuple[str, str] | None:
    """The section holding `key` (or the setting nearest to it), for a key put in the wrong
    place."""
    for section, model in SECTIONS.items():
        if key in model.model_fields:
            return section, key
    for section, model in SECTIONS.items():
        near = _nearest(key, model.model_fields)
        if near:
            return section, near
    return None


def _describe(value: Any) -> str:
    """A TOML value as a user would recognise it in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value if len(value) <= 40 else value[:37] + "...", ensure_ascii=False)
        return f"the string {text}"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date too
        return f"the date/time {value.isoformat()}"
    return type(value).__name__
