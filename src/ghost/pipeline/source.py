"""A source ready for the map stage: its chunks, the citations it really has, and its title."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.chunk.text import chunk_text
from ghost.ingest.text import read_text
from ghost.map.notes import ChunkLike


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


def load_text_source(path: Path, *, chunk_tokens: int,
                     count_tokens: Callable[[str], int]) -> Source:
    text = read_text(path)
    chunks = chunk_text(text, max_tokens=chunk_tokens, count_tokens=count_tokens)
    return Source(path, path.stem, "text", text, chunks,
                  frozenset(c.label for c in chunks))
