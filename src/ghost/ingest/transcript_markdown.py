"""Markdown transcripts: `**Speaker:**` turns with inline `\\[mm:ss\\]` stamps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ghost.ingest.transcript_model import TIME, Segment, fill_ends, strip_filler, try_timestamp

TURN = re.compile(r"\s*\*\*(?P<name>[^*\n]{1,80}?)\s*(?::\*\*|\*\*\s*:)[ \t]*(?P<rest>.*)")
# "\[04:22\]", "[04:22]", "[04:22](https://...#t=262)", and ranges "\[15:51\] to \[17:20\]".
_ONE = rf"\\?\[({TIME})\\?\](?:\([^)\s]*\))?"
_STAMP = re.compile(rf"{_ONE}(?:\s*(?:to|-|–|—)\s*{_ONE})?")
_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)[ \t]*\n.*?\n(?:\1|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SKIP_LINE = re.compile(r"#{1,6}(?:\s.*)?|(?:[-*_][ \t]*){3,}")  # headings, horizontal rules
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"(?<!\\)\[([^\]]*)\]\([^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*\\])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")


@dataclass
class _Open:
    start: float | None
    speaker: str | None
    paragraphs: list[str] = field(default_factory=list)


def parse_markdown(text: str, keep_filler: bool = False) -> tuple[list[Segment], int]:
    """Turns set the speaker until the next turn; each stamp starts a new segment.

    Text before the first stamp gets time 0 (or None everywhere when the file has no stamps
    at all). A turn with no words, like `**Break:** \\[16:26\\]`, only moves the clock.
    """
    text = _COMMENT.sub("", _FRONT_MATTER.sub("", text))
    clock: float | None = 0.0 if _STAMP.search(text) else None
    pending: float | None = None  # time of a stamp whose words have not arrived yet
    speaker: str | None = None
    done: list[_Open] = []
    current: _Open | None = None
    new_paragraph = True

    def add(words: str) -> None:
        nonlocal current, pending, new_paragraph
        words = _inline(words, keep_filler)
        if not words:
            return
        if current is None:
            current = _Open(pending if pending is not None else clock, speaker)
            done.append(current)
            pending = None
        if new_paragraph or not current.paragraphs:
            current.paragraphs.append(words)
        else:
            current.paragraphs[-1] += " " + words
        new_paragraph = False

    for raw in text.split("\n"):
        line = raw.strip()
        if not line or _SKIP_LINE.fullmatch(line):
            new_paragraph = True
            continue
        lead, turn = match_turn(line)
        if turn is not None:
            speaker = _inline(turn["name"], keep_filler).rstrip(":") or None
            line, current, pending, new_paragraph = lead + turn["rest"], None, None, True
        pos = 0
        for stamp in _STAMP.finditer(line):
            add(line[pos:stamp.start()])
            start = try_timestamp(stamp[1])
            until = try_timestamp(stamp[2]) if stamp[2] else None
            if start is None:  # "\[75:99\]": not a time; keep it as words
                add(stamp[0])
            else:
                current, pending, clock = None, start, until or start
            pos = stamp.end()
        add(line[pos:])
    segments = [Segment(o.start, None, o.speaker, "\n".join(o.paragraphs)) for o in done]
    return fill_ends(segments), 0


def match_turn(line: str) -> tuple[str, re.Match[str] | None]:
    """("stamp ", match) for "**Name:** ..." lines, also "\\[01:02\\] **Name:** ..."."""
    lead = _STAMP.match(line)
    turn = TURN.match(line, lead.end() if lead else 0)
    return (f"{lead[0]} " if lead and turn else ""), turn


def _inline(text: str, keep_filler: bool) -> str:
    """Markdown to plain words: struck filler, links, emphasis and escapes."""
    text = strip_filler(text, keep_filler)
    text = _LINK.sub(r"\1", _IMAGE.sub(r"\1", text))
    text = _ITALIC.sub(r"\2", _BOLD.sub(r"\2", text))
    return " ".join(_ESCAPE.sub(r"\1", text).split())
