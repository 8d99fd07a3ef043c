"""Line-oriented transcripts: timestamp blocks, timestamped lines, and plain paragraphs."""

from __future__ import annotations

import re

from ghost.ingest.transcript_model import (
    TIME,
    Segment,
    fill_ends,
    merge_runs,
    speaker_spans,
    squash,
    strip_filler,
    try_timestamp,
)

# A line that is only a time: "00:01:02", "[00:01:02]". The loose form also catches garbled
# times ("00:6O:00") so they are counted as malformed rather than read as speech.
TIME_LINE = re.compile(rf"\[?({TIME})\]?")
_TIME_LINE_LOOSE = re.compile(r"\[?(\d{1,2}:[\w:.,]*)\]?")
# "00:01:02 <v Ann>Hi", "00:01:02 Ann: Hi", "[00:01:02] Ann: Hi", "(01:02) - Ann: Hi".
STAMPED_LINE = re.compile(rf"[\[(]?({TIME})[\])]?(?:\s+(?:[-–—|]\s+)?|(?=<v))(\S.*)")
_STAMPED_LOOSE = re.compile(r"[\[(]?(\d{1,2}:[\w:.,]*)[\])]?\s+(?:[-–—|]\s+)?(\S.*)")


class _Pieces:
    """Collects speech: a time opens a new segment; a speaker label opens one at that time."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.start: float | None = 0.0
        self.speaker: str | None = None
        self.open = False  # whether unlabelled words continue the last segment

    def at(self, start: float) -> None:
        self.start, self.open = start, False

    def words(self, line: str) -> None:
        for voice, text in speaker_spans(line):
            if voice is None and self.open:
                last = self.segments[-1]
                self.segments[-1] = Segment(last.start, None, last.speaker, f"{last.text} {text}")
                continue
            self.speaker = voice or self.speaker  # an unlabelled turn keeps the last speaker
            self.segments.append(Segment(self.start, None, self.speaker, text))
            self.open = True


def parse_blocks(text: str, keep_filler: bool = False) -> tuple[list[Segment], int]:
    """A line holding only `HH:MM:SS`, then that stretch's paragraph(s)."""
    pieces, skipped, dropping = _Pieces(), 0, False
    for raw in strip_filler(text, keep_filler).split("\n"):
        line = raw.strip()
        loose = _TIME_LINE_LOOSE.fullmatch(line)
        if loose is not None:
            start = try_timestamp(loose[1])
            dropping = start is None
            if start is None:
                skipped += 1
            else:
                pieces.at(start)
        elif line and not dropping:
            pieces.words(line)
    return fill_ends(pieces.segments), skipped


def parse_lines(text: str, keep_filler: bool = False) -> tuple[list[Segment], int]:
    """One `HH:MM:SS [Speaker:] text` line per utterance; unstamped lines continue it."""
    pieces, skipped, dropping = _Pieces(), 0, False
    for raw in strip_filler(text, keep_filler).split("\n"):
        line = raw.strip()
        loose = _STAMPED_LOOSE.fullmatch(line) or STAMPED_LINE.fullmatch(line)
        if loose is not None:
            start = try_timestamp(loose[1])
            dropping = start is None
            if start is None:
                skipped += 1
                continue
            pieces.at(start)
            line = loose[2]
        if line and not dropping:
            pieces.words(line)
    return merge_runs(fill_ends(pieces.segments)), skipped


def parse_plain(text: str, keep_filler: bool = False) -> tuple[list[Segment], int]:
    """Blank-line separated paragraphs, untimed and unattributed."""
    paragraphs = (squash(p) for p in re.split(r"\n\s*\n", strip_filler(text, keep_filler)))
    return [Segment(None, None, None, p) for p in paragraphs if p], 0
