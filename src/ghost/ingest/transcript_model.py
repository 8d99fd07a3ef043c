"""Transcript records, timestamps, and the text helpers every transcript parser shares."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

from ghost.errors import InputError

# Loose on purpose: parsers find time-like text with this, then parse_timestamp validates it,
# so "00:75:00" is reported as malformed instead of being read as ordinary words.
TIME = r"\d+:[\d:]*\d(?:[.,]\d+)?"

_STRICT_TIME = re.compile(r"(\d+):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?")
_STRUCK = re.compile(r"~~\*{0,2}([^~\n]*?)\*{0,2}~~")  # one line at most: a stray ~~ eats little
_PUNCT = ",.;:!?"
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:\s+([^>]*))?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>|\{\\[^}]*\}")
_LABEL = re.compile(r"(?P<name>[^\W\d_][^:]{0,39}?)\s*:\s+(?P<text>\S.*)", re.DOTALL)
_NAME_PARTICLES = frozenset({"de", "van", "von", "der", "den", "da", "di", "du", "la", "le",
                             "del", "bin", "al", "y"})


@dataclass(frozen=True)
class Segment:
    """A stretch of speech: times in seconds (None when the source has none)."""

    start: float | None
    end: float | None
    speaker: str | None
    text: str


@dataclass
class Transcript:
    """Parsed transcript. `skipped` counts malformed cues or blocks that were dropped."""

    segments: list[Segment]
    format: str
    source: str
    skipped: int = 0

    @property
    def speakers(self) -> list[str]:
        """Named speakers in order of first appearance."""
        return list(dict.fromkeys(s.speaker for s in self.segments if s.speaker))

    @property
    def duration(self) -> float | None:
        """Latest time mentioned (end, or start when ends are unknown); None if untimed."""
        times = [t for s in self.segments for t in (s.start, s.end) if t is not None]
        return max(times, default=None)


def parse_timestamp(s: str) -> float:
    """Seconds from "H:MM:SS", "HH:MM:SS" or "MM:SS", each with an optional ",mmm"/".mmm"."""
    m = _STRICT_TIME.fullmatch(s.strip())
    if m is None:
        raise InputError(f"bad timestamp {s!r}: expected HH:MM:SS or MM:SS, "
                         "optionally followed by .mmm")
    first, second, third, frac = m.groups()
    if third is None:
        hours, minutes, seconds = 0, int(first), int(second)
    else:
        hours, minutes, seconds = int(first), int(second), int(third)
        if minutes >= 60:
            raise InputError(f"bad timestamp {s!r}: minutes must be below 60")
    if seconds >= 60:
        raise InputError(f"bad timestamp {s!r}: seconds must be below 60")
    fraction = float(f"0.{frac}") if frac else 0.0
    return hours * 3600 + minutes * 60 + seconds + fraction


def format_timestamp(seconds: float) -> str:
    """Always "HH:MM:SS", rounded down; negative or NaN input gives "00:00:00"."""
    total = math.floor(seconds) if seconds > 0 else 0
    hours, rest = divmod(total, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def try_timestamp(s: str) -> float | None:
    """parse_timestamp, but None instead of an error."""
    try:
        return parse_timestamp(s)
    except InputError:
        return None


def strip_filler(text: str, keep: bool) -> str:
    """Handle editor-struck words (~~**kind of**~~): unwrap them, or drop them and tidy up."""
    if keep:
        return _STRUCK.sub(r"\1", text)
    pieces = _STRUCK.split(text)[::2]  # split() interleaves the struck text; drop it
    out = pieces[0]
    for piece in pieces[1:]:
        left, right = out.rstrip(" \t"), piece.lstrip(" \t")
        if right and right[0] in _PUNCT and (not left or left[-1] in _PUNCT):
            right = right[1:].lstrip(" \t")  # "No, ~~**I do,**~~, yes" -> "No, yes"
        glue = "" if not left or not right or right[0] in _PUNCT or left[-1] == "\n" else " "
        out = left + glue + right
    return out


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space."""
    return " ".join(text.split())


def strip_tags(text: str) -> str:
    """Remove subtitle markup (<i>, <c.x>, <00:01.000>, {\\an8}) and decode HTML entities."""
    return html.unescape(_TAG.sub("", text)).replace("\u200e", "").replace("\u200f", "")


def voice_spans(payload: str) -> list[tuple[str | None, str]]:
    """Split text on WebVTT voice tags: "<v Ann>Hi <v.loud Bob>Yo" -> [(Ann, Hi), (Bob, Yo)]."""
    parts = _VOICE.split(payload)
    spans: list[tuple[str | None, str]] = []
    if parts[0].strip():
        spans.append((None, parts[0]))
    for name, text in zip(parts[1::2], parts[2::2], strict=True):
        spans.append((squash(name or "") or None, text))
    return spans


def split_label(text: str) -> tuple[str | None, str]:
    """Split a leading "Speaker Name: " off `text`; (None, text) when it is not a name."""
    m = _LABEL.match(text)
    if m is None:
        return None, text
    name = m["name"].strip()
    words = name.split()
    if len(words) > 5 or not name[0].isupper():
        return None, text
    for word in words:
        if not (word[0].isupper() or word[0].isdigit() or word in _NAME_PARTICLES):
            return None, text  # "So here's the thing: ..." is prose, not a speaker
    return name, m["text"]


def speaker_spans(payload: str) -> list[tuple[str | None, str]]:
    """Cleaned (speaker, text) runs: voice tags, else a "Name: " label opening any line."""
    spans: list[tuple[str | None, str]] = []
    for voice, raw in voice_spans(payload):
        opened = False  # unlabelled lines continue the run this voice span opened
        for line in [raw] if voice else raw.split("\n"):
            speaker, text = voice, squash(strip_tags(line))
            if speaker is None:
                speaker, text = split_label(text)
            if not text:
                continue
            if opened and speaker is None:
                spans[-1] = (spans[-1][0], f"{spans[-1][1]} {text}")
            else:
                spans.append((speaker, text))
                opened = True
    return spans


def fill_ends(segments: list[Segment]) -> list[Segment]:
    """Give segments without an end the next later start (segments sharing a start agree)."""
    out: list[Segment] = []
    following: float | None = None  # start of the nearest later timed segment
    run_end: float | None = None  # the end for segments starting at `following`
    for seg in reversed(segments):
        end = seg.end
        if seg.start is not None:
            if seg.start != following:
                later = following is not None and following > seg.start
                run_end, following = (following if later else None), seg.start
            end = run_end if end is None else end
        out.append(Segment(seg.start, end, seg.speaker, seg.text))
    out.reverse()
    return out


def merge_runs(segments: list[Segment], *, max_gap: float = 3.0, soft_span: float = 30.0,
               hard_span: float = 90.0) -> list[Segment]:
    """Join consecutive short pieces by the same speaker into paragraph-sized segments.

    A piece joins the previous one when the speaker matches, the silence between them is at
    most `max_gap`, and the run is shorter than `soft_span` seconds (or `hard_span` while the
    run is mid-sentence), so citations stay within about half a minute of the words.
    """
    out: list[Segment] = []
    for seg in segments:
        if out and _joins(out[-1], seg, max_gap, soft_span, hard_span):
            prev = out[-1]
            end = seg.end if seg.end is not None else prev.end
            out[-1] = Segment(prev.start, end, prev.speaker, f"{prev.text} {seg.text}")
        else:
            out.append(seg)
    return out


def _joins(prev: Segment, seg: Segment, max_gap: float, soft: float, hard: float) -> bool:
    if prev.speaker != seg.speaker or prev.start is None or seg.start is None:
        return False
    if prev.end is not None and seg.start - prev.end > max_gap:
        return False
    span = seg.start - prev.start
    mid_sentence = prev.text[-1:] not in ".?!…\"'”"
    return span < soft or (mid_sentence and span < hard)
