"""Podcast and video transcripts (timestamp blocks, Markdown turns, VTT, SRT, stamped lines):
chunks by speaker segment, cited by timestamp, e.g. [00:12:34] or [00:12:34–00:15:00].

An untimed transcript is cited by line range, like plain text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ghost.chunk.segments import chunk_segments
from ghost.cite import CitationForm, register_form
from ghost.ingest.text import read_text
from ghost.ingest.transcripts import detect_format, format_timestamp, load_transcript
from ghost.sources import Reading, Source, SourceKind, register_kind, source_title

_STAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"  # a fraction (SRT uses ",") is optional
TIMESTAMP = re.compile(rf"^{_STAMP}$")
TIME_RANGE = re.compile(rf"^({_STAMP})\s*[-–—]\s*({_STAMP})$")
_FRACTION = re.compile(r"[.,]\d+$")


def normalise_stamp(token: str) -> str:
    """HH:MM:SS, a fraction of a second dropped: 01:02:03.500 is the source's 01:02:03, which
    is how transcript timestamps are rendered (rounded down)."""
    parts = [int(p) for p in _FRACTION.sub("", token.strip()).split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return "{:02d}:{:02d}:{:02d}".format(*parts)


def range_ends(token: str) -> list[str] | None:
    span = TIME_RANGE.match(token)
    return list(span.groups()) if span else None


class TranscriptKind(SourceKind):
    name = "transcript"

    def detects(self, path: Path) -> bool:
        if not path.is_file():
            return False
        return detect_format(read_text(path), path.name) != "plain"

    def load(self, path: Path, reading: Reading) -> Source:
        transcript = load_transcript(path, fmt=reading.fmt, keep_filler=reading.keep_filler)
        chunks = chunk_segments(transcript.segments, max_tokens=reading.chunk_tokens,
                                count_tokens=reading.count_tokens)
        citations: frozenset[str] = frozenset().union(*(c.timestamps for c in chunks))
        if not citations:  # an untimed transcript is cited by part, like plain text
            citations = frozenset(c.label for c in chunks)
        text = "\n\n".join(c.text for c in chunks)
        meta: dict[str, Any] = {"format": transcript.format,
                                "segments": len(transcript.segments),
                                "speakers": transcript.speakers, "skipped": transcript.skipped}
        if transcript.duration:
            meta["duration"] = format_timestamp(transcript.duration)
        return Source(path, source_title(path), self.name, text, chunks, citations, meta)


register_form(CitationForm("timestamp", lambda token: bool(TIMESTAMP.match(token)),
                           normalise_stamp, range_ends))
register_kind(TranscriptKind())
