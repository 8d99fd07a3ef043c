"""Token-bounded chunks of plain text, each labelled with its line range for citations.

The units are paragraphs (long ones split into sentences, a sentence longer than a chunk into
groups of words); chunks end where their content says (ghost/chunk/boundaries.py), so an edit
in one paragraph re-chunks only the text around it.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from ghost.chunk.boundaries import chunk_ends

_PARAGRAPH_END = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
UNIT_SHARE = 0.25  # a paragraph larger than this share of a chunk is split into sentences
GROUP_SHARE = 0.1  # an overlong sentence is cut into groups of words about this share of a chunk
VERIFY_SHARE = 0.9  # a chunk whose parts add up to more than this share is counted whole
MAX_CHARS_PER_TOKEN = 16  # text longer than this per token allowed is taken not to fit
CUT_CANDIDATES = 32  # places an overlong sentence may be cut, tried per cut
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TextChunk:
    index: int
    text: str
    tokens: int  # its units' counts added up; counted whole when near the limit
    first_line: int
    last_line: int

    @property
    def label(self) -> str:
        return f"L{self.first_line}-L{self.last_line}"

    @property
    def citations(self) -> frozenset[str]:
        return frozenset({self.label})


def chunk_text(text: str, *, max_tokens: int,
               count_tokens: Callable[[str], int]) -> list[TextChunk]:
    """Split into chunks of at most `max_tokens`, all text kept, in order, on paragraph,
    sentence or (for one overlong sentence) word boundaries. Linear in the text's size
    whatever its shape: each unit is counted once, and one 300 MB line is cut by its words."""
    units = unit_spans(text, max_tokens, count_tokens)
    lines = _LineCounter(text)
    chunks: list[TextChunk] = []
    start = 0
    for target in chunk_ends([(text[a:b], n) for a, b, n in units], max_tokens=max_tokens,
                             sep_tokens=0):
        while start < target:
            end = target
            tokens = sum(n for _, _, n in units[start:end])
            # The parts' counts estimate the whole's: a merge across a join can add a token
            # here and there, so a chunk near the limit is counted whole (and shortened).
            while tokens > VERIFY_SHARE * max_tokens:
                tokens = count_tokens(text[units[start][0]:units[end - 1][1]])
                if tokens <= max_tokens or end - start == 1:
                    break
                end -= 1
            first, last = units[start][0], units[end - 1][1]
            chunks.append(_chunk(text, len(chunks), first, last, tokens, lines))
            start = end
    return chunks


class _LineCounter:
    """Line numbers of offsets asked in increasing order, in time linear in the text."""

    def __init__(self, text: str):
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _chunk(text: str, index: int, start: int, end: int, tokens: int,
           lines: _LineCounter) -> TextChunk:
    piece = text[start:end]
    first = lines.at(start)
    last = first + piece.rstrip("\n").count("\n")
    return TextChunk(index, piece, tokens, first, last)


def unit_spans(text: str, max_tokens: int,
               count_tokens: Callable[[str], int]) -> list[tuple[int, int, int]]:
    """(start, end, tokens) of every unit, covering `text` exactly: each paragraph with the
    blank lines after it; a long paragraph as its sentences; a sentence too long for a chunk
    as groups of its words."""
    spans: list[tuple[int, int, int]] = []
    for start, end in _split(text, 0, len(text), _PARAGRAPH_END):
        tokens = _count_up_to(text, start, end, UNIT_SHARE * max_tokens, count_tokens)
        if tokens is not None:
            spans.append((start, end, tokens))
            continue
        for s_start, s_end in _split(text, start, end, _SENTENCE_END):
            tokens = _count_up_to(text, s_start, s_end, max_tokens, count_tokens)
            if tokens is not None:
                spans.append((s_start, s_end, tokens))
            else:
                spans += word_groups(text, s_start, s_end, max_tokens, count_tokens)
    return spans


def _count_up_to(text: str, start: int, end: int, limit: float,
                 count_tokens: Callable[[str], int]) -> int | None:
    """The tokens of text[start:end], or None when there are more than `limit`. Text too
    long to be within the limit is not counted at all (counting a 300 MB paragraph whole
    would take gigabytes)."""
    if end - start > limit * MAX_CHARS_PER_TOKEN:
        return None
    tokens = count_tokens(text[start:end])
    return tokens if tokens <= limit else None


def word_groups(text: str, start: int, end: int, max_tokens: int,
                count_tokens: Callable[[str], int]) -> list[tuple[int, int, int]]:
    """A sentence longer than a chunk as (start, end, tokens) groups of about a tenth of a
    chunk, cut after whitespace that its neighbouring characters choose (as chunk_ends
    chooses chunk ends), so an edit inside a giant line moves only the cuts next to it.

    Text without whitespace in a group's reach is cut at a fixed length."""
    sample = text[start:min(end, start + 20_000)]
    chars_per_token = len(sample) / max(1, count_tokens(sample))
    reach = max(16, int(max_tokens * GROUP_SHARE * chars_per_token))
    groups: list[tuple[int, int, int]] = []
    at = start
    while at < end:
        cut = end if end - at <= reach else _cut(text, at + reach // 2, at + reach)
        groups += _counted(text, at, cut, max_tokens, count_tokens)
        at = cut
    return groups


def _cut(text: str, low: int, high: int) -> int:
    """The offset after the whitespace (of the first CUT_CANDIDATES in [low, high)) whose
    neighbourhood hashes lowest."""
    best, best_score = high, None
    for match in itertools.islice(_WHITESPACE.finditer(text, low, high), CUT_CANDIDATES):
        cut = match.end()
        score = zlib.crc32(text[cut - 8:cut + 8].encode("utf-8", "surrogatepass"))
        if best_score is None or score < best_score:
            best, best_score = cut, score
    return best


def _counted(text: str, start: int, end: int, max_tokens: int,
             count_tokens: Callable[[str], int]) -> list[tuple[int, int, int]]:
    """[start, end) with its count, halved until each part fits (dense text, such as a run
    of digits, has fewer characters per token than the sample the reach was set from)."""
    tokens = count_tokens(text[start:end])
    if tokens <= max_tokens or end - start <= 1:
        return [(start, end, tokens)]
    middle = (start + end) // 2
    return (_counted(text, start, middle, max_tokens, count_tokens)
            + _counted(text, middle, end, max_tokens, count_tokens))


def _split(text: str, start: int, end: int, separator: re.Pattern[str]) -> list[tuple[int, int]]:
    """[start, end) cut after each match of `separator` (the separator stays with the text
    before it); never an empty span."""
    spans = []
    at = start
    for match in separator.finditer(text, start, end):
        if match.end() > at and match.start() > at:
            spans.append((at, match.end()))
            at = match.end()
    if at < end:
        if spans and not text[at:end].strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((at, end))
    return spans
