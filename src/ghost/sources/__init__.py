"""Sources: what a job reads, chunked for the map stage, with the citations it really has.

A kind of source is one module in this folder, registered here: it says whether a path is
of its kind, loads it into chunks, and registers the citation form its chunks are cited by
(`ghost.cite.register_form`). Detection tries the kinds in registration order (those
marked `detected`); plain text, the last, takes anything else::

    reading = Reading(chunk_tokens=4000, count_tokens=lambda s: len(s.split()))
    source = load_source(Path("corpora/episode-042.txt"), reading)
    source.kind, source.citations   # ("transcript", frozenset({"00:00:00", ...}))

A new kind (a PDF, captions, a folder of documents) is a new module with a `SourceKind`
subclass that calls `register_kind` and adds its module name to BUILTIN, or is registered from
outside the same way.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ghost.errors import InputError

# Built-in kinds in detection order: the most particular first, plain text (anything) last.
BUILTIN = ("ghost.sources.mail", "ghost.sources.pdf", "ghost.sources.html",
           "ghost.sources.transcript", "ghost.sources.text")


class ChunkLike(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def tokens(self) -> int: ...
    @property
    def label(self) -> str: ...


@dataclass
class Source:
    path: Path
    title: str
    kind: str
    text: str
    chunks: Sequence[ChunkLike]
    citations: frozenset[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.chunks)

    def describe(self) -> dict[str, Any]:
        return {"source": str(self.path), "kind": self.kind, "characters": len(self.text),
                "chunks": len(self.chunks), "tokens": self.tokens, **self.meta}


@dataclass(frozen=True)
class Reading:
    """How to read a source: the chunk size and token counter of the map model that will read
    it, and the knobs some kinds take (ignored by the others)."""

    chunk_tokens: int
    count_tokens: Callable[[str], int]
    fmt: str | None = None        # transcript: force a format
    keep_filler: bool = False     # transcript: keep struck-through filler
    mask: bool = False            # mail: mask secrets (the text is going to a cloud model)


class SourceKind:
    name: ClassVar[str]
    # Tried when no kind is asked for. A kind whose files another kind reads as well (an
    # mbox is also text) may leave itself out, to be read only when asked for by name.
    detected: ClassVar[bool] = True

    def detects(self, path: Path) -> bool:
        raise NotImplementedError

    def load(self, path: Path, reading: Reading) -> Source:
        raise NotImplementedError


_kinds: dict[str, SourceKind] = {}
_lock = threading.RLock()
_loaded = False


def register_kind(kind: SourceKind) -> None:
    with _lock:
        _kinds[kind.name] = kind


def load_builtin_kinds() -> None:
    global _loaded
    with _lock:
        if not _loaded:
            for module in BUILTIN:
                importlib.import_module(module)
            _loaded = True


def _all_kinds() -> list[SourceKind]:
    load_builtin_kinds()
    with _lock:
        builtin = [k for k in _kinds.values() if type(k).__module__ in BUILTIN]
        others = [k for k in _kinds.values() if type(k).__module__ not in BUILTIN]
    # Kinds registered from outside are tried first; plain text stays the last resort.
    return others + sorted(builtin, key=lambda k: BUILTIN.index(type(k).__module__))


def kind_names() -> list[str]:
    return [k.name for k in _all_kinds()]


def get_kind(name: str) -> SourceKind:
    for kind in _all_kinds():
        if kind.name == name:
            return kind
    raise InputError(f"unknown kind of source '{name}': use one of {', '.join(kind_names())}")


def detect_kind(path: Path) -> SourceKind:
    """The first kind that recognises `path`; else the last resort (plain text), which says
    in one line what is wrong with it (missing, a folder, binary, empty)."""
    kinds = _all_kinds()
    for kind in kinds:
        if kind.detected and kind.detects(path):
            return kind
    return kinds[-1]


def load_source(path: Path, reading: Reading, *, kind: str | None = None) -> Source:
    """`path` read as `kind`, or as the first kind that recognises it."""
    chosen = get_kind(kind) if kind else detect_kind(path)
    return chosen.load(path, reading)


def load_sources(paths: Sequence[Path], reading: Reading, *,
                 kind: str | None = None) -> list[Source]:
    """Several sources for one job; two with the same title get their folder in it."""
    sources = [load_source(p, reading, kind=kind) for p in paths]
    titles = [s.title for s in sources]
    for s in sources:
        if titles.count(s.title) > 1:
            s.title = source_title(s.path, with_folder=True)
    return sources


def source_title(path: Path, *, with_folder: bool = False) -> str:
    """The file's stem as a one-line label: prompts show it outside the delimiters, so it may
    not break a line or run long (a file name is chosen by whoever sent the file)."""
    stem = f"{path.parent.name}/{path.stem}" if with_folder and path.parent.name else path.stem
    title = " ".join(stem.split())
    return title[:120] or "untitled"


def load_transcript_source(path: Path, *, chunk_tokens: int, count_tokens: Callable[[str], int],
                           fmt: str | None = None, keep_filler: bool = False) -> Source:
    return load_source(path, Reading(chunk_tokens, count_tokens, fmt=fmt,
                                     keep_filler=keep_filler), kind="transcript")
