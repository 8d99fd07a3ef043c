"""WebVTT and SubRip (SRT) subtitles: timed cues merged into speaker segments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ghost.ingest.transcript_model import (
    Segment,
    merge_runs,
    speaker_spans,
    strip_filler,
    try_timestamp,
)

_TIMING = re.compile(r"(\S+?)\s*-->\s*(\S+)")
_SKIP_BLOCK = re.compile(r"(?:WEBVTT|NOTE|STYLE|REGION)(?:\s|$)")
# YouTube-style captions carry per-word times like <00:00:01.500>, and each cue repeats
# the previous cue's last line; only then is a repeated first line dropped as a duplicate.
_ROLLING = re.compile(r"<\d{1,2}:\d{2}[:.]")


@dataclass
class _Cue:
    start: float
    end: float
    lines: list[str] = field(default_factory=list)


def parse_cues(text: str, keep_filler: bool = False) -> tuple[list[Segment], int]:
    """Parse VTT or SRT text. Returns (segments, number of malformed cues skipped)."""
    cues: list[_Cue] = []
    skipped = 0
    cue: _Cue | None = None
    orphan: list[str] = []  # lines outside any cue since the last blank line (ids, stray text)
    skipping = False  # inside a header/NOTE/STYLE block, or a cue whose times are bad
    for raw in [*text.split("\n"), ""]:
        line = raw.strip()
        if "-->" in line:
            if cue is not None and cue.lines and cue.lines[-1].strip().isdigit():
                cue.lines.pop()  # an SRT index that lost the blank line before it
            orphan, skipping = [], False
            cue = _timed_cue(line)
            if cue is None:
                skipped, skipping = skipped + 1, True
            else:
                cues.append(cue)
        elif not line:
            if cue is None and orphan and not skipping:
                skipped += 1  # a cue id or text with no timing line
            cue, orphan, skipping = None, [], False
        elif skipping:
            continue
        elif cue is not None:
            cue.lines.append(raw)
        elif not orphan and _SKIP_BLOCK.match(line):
            skipping = True
        else:
            orphan.append(line)
    return _segments(cues, keep_filler, rolling=bool(_ROLLING.search(text))), skipped


def _timed_cue(line: str) -> _Cue | None:
    m = _TIMING.match(line)
    if m is None:
        return None
    start, end = try_timestamp(m[1]), try_timestamp(m[2])
    if start is None or end is None or end < start:
        return None
    return _Cue(start, end)


def _segments(cues: list[_Cue], keep_filler: bool, rolling: bool) -> list[Segment]:
    pieces: list[Segment] = []
    speaker: str | None = None
    previous: list[str] = []
    for cue in cues:
        lines = [ln.strip() for ln in cue.lines if ln.strip()]
        if rolling:
            lines, previous = _drop_repeat(lines, previous), lines
        for voice, text in speaker_spans("\n".join(lines)):
            # Subtitles usually label only the first cue of a turn, so the label carries on.
            speaker = voice or speaker
            cleaned = strip_filler(text, keep_filler).strip()
            if cleaned:
                pieces.append(Segment(cue.start, cue.end, speaker, cleaned))
    return merge_runs(pieces)


def _drop_repeat(lines: list[str], previous: list[str]) -> list[str]:
    if lines and previous and _plain(lines[0]) == _plain(previous[-1]):
        return lines[1:]
    return lines


def _plain(line: str) -> str:
    return re.sub(r"<[^>]*>", "", line).strip()
