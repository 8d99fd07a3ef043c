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
    return Source(path, source_title(path), "text", text, chunks,
                  frozenset(c.label for c in chunks))


def source_title(path: Path) -> str:
    """The file's stem as a one-line label: prompts show it outside the delimiters, so it may
    not break a line or run long (a file name is chosen by whoever sent the file)."""
    title = " ".join(path.stem.split())
    return title[:120] or "untitled"


def load_transcript_source(path: Path, *, chunk_tokens: int, count_tokens: Callable[[str], int],
                           fmt: str | None = None, keep_filler: bool = False) -> Source:
    from ghost.chunk.segments import chunk_segments
    from ghost.ingest.transcripts import load_transcript

    transcript = load_transcript(path, fmt=fmt, keep_filler=keep_filler)
    chunks = chunk_segments(transcript.segments, max_tokens=chunk_tokens, count_tokens=count_tokens)
    citations: frozenset[str] = frozenset().union(*(c.timestamps for c in chunks))
    if not citations:  # an untimed transcript is cited by part, like plain text
        citations = frozenset(c.label for c in chunks)
    text = "\n\n".join(c.text for c in chunks)
    meta: dict[str, Any] = {"format": transcript.format, "segments": len(transcript.segments),
                            "speakers": transcript.speakers, "skipped": transcript.skipped}
    if transcript.duration:
        from ghost.ingest.transcripts import format_timestamp

        meta["duration"] = format_timestamp(transcript.duration)
    return Source(path, source_title(path), "transcript", text, chunks, citations, meta)


def load_source(path: Path, *, chunk_tokens: int, count_tokens: Callable[[str], int],
                transcript: bool | None = None, fmt: str | None = None,
                keep_filler: bool = False) -> Source:
    """A transcript when asked, or when auto-detection finds a timed format; else plain text."""
    if transcript is None and fmt is None:
        from ghost.ingest.transcripts import detect_format

        transcript = detect_format(read_text(path), path.name) != "plain"
    if transcript or fmt:
        return load_transcript_source(path, chunk_tokens=chunk_tokens, count_tokens=count_tokens,
                                      fmt=fmt, keep_filler=keep_filler)
    return load_text_source(path, chunk_tokens=chunk_tokens, count_tokens=count_tokens)
