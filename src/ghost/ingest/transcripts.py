"""Podcast and video transcripts: detect the format, parse it into timed speaker segments.

Formats: timestamp-blocks (`HH:MM:SS` line, then a paragraph), markdown (`**Name:**` turns
with `\\[mm:ss\\]` stamps), vtt, srt, timestamp-lines (`HH:MM:SS Name: text`) and plain
(paragraphs, untimed). Editor-struck filler (`~~**kind of**~~`) is dropped unless kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ghost.errors import InputError
from ghost.ingest.text import read_text
from ghost.ingest.transcript_cues import parse_cues
from ghost.ingest.transcript_lines import (
    STAMPED_LINE,
    TIME_LINE,
    parse_blocks,
    parse_lines,
    parse_plain,
)
from ghost.ingest.transcript_markdown import match_turn, parse_markdown
from ghost.ingest.transcript_model import (
    Segment,
    Transcript,
    format_timestamp,
    parse_timestamp,
)

__all__ = ["FORMATS", "Segment", "Transcript", "detect_format", "format_timestamp",
           "load_transcript", "parse_timestamp", "parse_transcript"]

FORMATS: tuple[str, ...] = ("timestamp-blocks", "markdown", "vtt", "srt", "timestamp-lines",
                            "plain")

_Parser = Callable[[str, bool], tuple[list[Segment], int]]
_PARSERS: dict[str, _Parser] = {
    "timestamp-blocks": parse_blocks,
    "markdown": parse_markdown,
    "vtt": parse_cues,
    "srt": parse_cues,
    "timestamp-lines": parse_lines,
    "plain": parse_plain,
}
_CUE_TIMING = re.compile(r"[\d:.,]+\s*-->\s*[\d:.,]+.*")


def detect_format(text: str, filename: str | None = None) -> str:
    """Guess the format from the content; the file suffix only breaks ties."""
    lines = [ln.strip() for ln in _normalise(text).split("\n") if ln.strip()]
    suffix = Path(filename).suffix.lower() if filename else ""
    if not lines:
        return "plain"
    if lines[0].startswith("WEBVTT"):
        return "vtt"
    timings = [ln for ln in lines if _CUE_TIMING.fullmatch(ln)]
    if timings:
        if suffix in (".vtt", ".srt"):
            return suffix[1:]
        return "srt" if "," in timings[0].split("-->")[0] else "vtt"
    turns = sum(1 for ln in lines if match_turn(ln)[1])
    if turns >= 2 or (turns and suffix in (".md", ".markdown")):
        return "markdown"
    time_only = sum(1 for ln in lines if TIME_LINE.fullmatch(ln))
    stamped = sum(1 for ln in lines if STAMPED_LINE.fullmatch(ln))
    if time_only >= 2 and time_only >= stamped and time_only * 10 >= len(lines):
        return "timestamp-blocks"
    if stamped >= 2 and stamped * 3 >= len(lines):
        return "timestamp-lines"
    return "plain"


def parse_transcript(text: str, *, fmt: str | None = None, keep_filler: bool = False,
                     source: str = "<string>") -> Transcript:
    """Parse `text` (format detected unless `fmt` names one of FORMATS)."""
    text = _normalise(text)
    if fmt is None:
        fmt = detect_format(text, None if source == "<string>" else source)
    elif fmt not in FORMATS:
        raise InputError(f"unknown transcript format {fmt!r}; use one of: {', '.join(FORMATS)}")
    segments, skipped = _PARSERS[fmt](text, keep_filler)
    return Transcript(segments, fmt, source, skipped)


def load_transcript(path: str | Path, *, fmt: str | None = None,
                    keep_filler: bool = False) -> Transcript:
    """Read and parse a transcript file; InputError when it yields no text."""
    transcript = parse_transcript(read_text(path), fmt=fmt, keep_filler=keep_filler,
                                  source=str(path))
    if not transcript.segments:
        skipped = f", {transcript.skipped} malformed cue(s) skipped" if transcript.skipped else ""
        raise InputError(f"{path}: no transcript text found (read as {transcript.format}"
                         f"{skipped}); check the file, or force the right format, one of: "
                         f"{', '.join(FORMATS)}")
    return transcript


def _normalise(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
