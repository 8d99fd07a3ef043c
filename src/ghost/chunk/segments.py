"""Pack transcript segments into token-bounded chunks that keep their timestamps, ending
each chunk where its content says (ghost/chunk/boundaries.py), so edits move few boundaries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ghost.chunk.boundaries import ends_after, forced_end
from ghost.errors import InputError
from ghost.ingest.transcripts import Segment, format_timestamp

VERIFY_SHARE = 0.9  # a chunk whose parts add up to more than this share is counted whole
SEPARATOR = "\n\n"  # between rendered segments; paragraphs inside one segment use "\n"


@dataclass(frozen=True)
class Chunk:
    """Consecutive segments rendered as "[HH:MM:SS] Speaker: text" blocks."""

    index: int  # 0-based; the label of an untimed chunk says "part {index + 1}"
    text: str
    tokens: int  # its segments' counts added up; counted whole when near the limit
    start: float | None
    end: float | None
    speakers: tuple[str, ...]
    label: str
    timestamps: frozenset[str]


@dataclass(frozen=True)
class _Unit:
    segment: Segment
    text: str
    tokens: int


def render_segment(segment: Segment) -> str:
    """"[HH:MM:SS] Speaker: text", leaving out the parts the segment does not have."""
    return _prefix(segment) + segment.text


def chunk_segments(segments: Sequence[Segment], *, max_tokens: int,
                   count_tokens: Callable[[str], int], overlap_segments: int = 0) -> list[Chunk]:
    """Pack whole segments into chunks of at most `max_tokens`, cut where the content says.

    A segment too big for one chunk is split into pieces that keep its start, end and
    speaker. With `overlap_segments`, each chunk repeats up to that many segments from the
    end of the previous one, as far as the budget allows; every chunk adds new text.
    """
    if max_tokens < 1:
        raise InputError(f"max_tokens must be at least 1, got {max_tokens}")
    if overlap_segments < 0:
        raise InputError(f"overlap_segments must be 0 or more, got {overlap_segments}")
    units: list[_Unit] = []
    for segment in segments:
        if segment.text.strip():
            units.extend(_units(segment, max_tokens, count_tokens))
    sep_tokens = count_tokens(SEPARATOR)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        carry = units[max(0, i - overlap_segments):i]
        fresh = [units[i]]
        total = sum(u.tokens for u in carry) + units[i].tokens + sep_tokens * len(carry)
        sizes = [total]  # the chunk's size after each of `fresh`
        while i + len(fresh) < len(units) and not ends_after(fresh[-1].text, fresh[-1].tokens,
                                                             total, max_tokens):
            nxt = units[i + len(fresh)]
            if total + sep_tokens + nxt.tokens > max_tokens:
                fresh = fresh[:forced_end([(u.text, u.tokens) for u in fresh], sizes,
                                          max_tokens)]
                break
            fresh.append(nxt)
            total += sep_tokens + nxt.tokens
            sizes.append(total)
        # The parts' counts estimate the whole's (a merge across a join may add a token
        # here and there): a chunk near the limit is counted whole, and shortened to fit.
        while True:
            text = SEPARATOR.join(u.text for u in [*carry, *fresh])
            tokens = total = (sum(u.tokens for u in [*carry, *fresh])
                              + sep_tokens * (len(carry) + len(fresh) - 1))
            if total <= VERIFY_SHARE * max_tokens:
                break
            tokens = count_tokens(text)
            if tokens <= max_tokens or (len(fresh) == 1 and not carry):
                break
            if carry:
                carry = carry[1:]  # overlap is the first thing to give way
            else:
                fresh.pop()
        chunks.append(_chunk(len(chunks), [*carry, *fresh], text, tokens))
        i += len(fresh)
    return chunks


def _prefix(segment: Segment) -> str:
    stamp = f"[{format_timestamp(segment.start)}] " if segment.start is not None else ""
    return stamp + (f"{segment.speaker}: " if segment.speaker else "")


def _units(segment: Segment, max_tokens: int, count: Callable[[str], int]) -> list[_Unit]:
    text = render_segment(segment)
    tokens = count(text)
    if tokens <= max_tokens:
        return [_Unit(segment, text, tokens)]
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # 0.7 s to import

    prefix = _prefix(segment)
    size = max_tokens - count(prefix)
    while size >= 1:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=size, chunk_overlap=0, length_function=count, keep_separator="end",
            separators=["\n\n", "\n", ". ", " ", ""])
        pieces = [Segment(segment.start, segment.end, segment.speaker, piece)
                  for piece in splitter.split_text(segment.text)]
        units = [_Unit(p, render_segment(p), count(render_segment(p))) for p in pieces]
        if all(u.tokens <= max_tokens for u in units):
            return units
        size = min(size - 1, int(size * 0.9))  # the prefix and a piece can merge tokens
    raise InputError(f"max_tokens={max_tokens} cannot hold even the label {prefix.strip()!r} "
                     "plus some text; raise max_tokens")


def _chunk(index: int, units: list[_Unit], text: str, tokens: int) -> Chunk:
    segments = [u.segment for u in units]
    starts = [s.start for s in segments if s.start is not None]
    times = [t for s in segments for t in (s.start, s.end) if t is not None]
    start = starts[0] if starts else None
    end = max(times) if times else None
    # The label is a citation the model copies, so both its ends are stamps shown in the text
    # ("[HH:MM:SS]" before each segment) and in `timestamps`: it runs from the first segment's
    # start to the last one's. A cue's end time is not shown anywhere a reader could look it
    # up, and the citation checker rightly refuses it; `end` keeps it for the time covered.
    if start is None:
        label = f"part {index + 1}"
    elif format_timestamp(starts[-1]) == format_timestamp(start):
        label = format_timestamp(start)
    else:
        label = f"{format_timestamp(start)}–{format_timestamp(starts[-1])}"
    return Chunk(
        index=index,
        text=text,
        tokens=tokens,
        start=start,
        end=end,
        speakers=tuple(dict.fromkeys(s.speaker for s in segments if s.speaker)),
        label=label,
        timestamps=frozenset(format_timestamp(t) for t in starts),
    )
