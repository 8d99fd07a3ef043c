"""Token-bounded chunks of plain text, each labelled with its line range for citations.

The units are paragraphs (long ones split into sentences, a sentence longer than a chunk cut by
the text splitter); chunks end where their content says (ghost/chunk/boundaries.py), so an
edit in one paragraph re-chunks only the text around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ghost.chunk.boundaries import chunk_ends

_PARAGRAPH_END = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
UNIT_SHARE = 0.25  # a paragraph larger than this share of a chunk is split into sentences


@dataclass(frozen=True)
class TextChunk:
    index: int
    text: str
    tokens: int
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
    sentence or (for one overlong sentence) word boundaries."""
    spans = unit_spans(text, max_tokens, count_tokens)
    units = [(text[a:b], count_tokens(text[a:b])) for a, b in spans]
    chunks: list[TextChunk] = []
    start = 0
    for target in chunk_ends(units, max_tokens=max_tokens, sep_tokens=0):
        while start < target:
            end = target
            # Counts of the parts estimate the count of the whole; check the whole.
            while True:
                first, last = spans[start][0], spans[end - 1][1]
                tokens = count_tokens(text[first:last])
                if tokens <= max_tokens or end - start == 1:
                    break
                end -= 1
            chunks.append(_chunk(text, len(chunks), first, last, tokens))
            start = end
    return chunks


def _chunk(text: str, index: int, start: int, end: int, tokens: int) -> TextChunk:
    piece = text[start:end]
    first = text.count("\n", 0, start) + 1
    last = first + piece.rstrip("\n").count("\n")
    return TextChunk(index, piece, tokens, first, last)


def unit_spans(text: str, max_tokens: int,
               count_tokens: Callable[[str], int]) -> list[tuple[int, int]]:
    """(start, end) of every unit, covering `text` exactly: each paragraph with the blank
    lines after it; a long paragraph as its sentences; a sentence too long for a chunk in
    pieces that fit."""
    spans: list[tuple[int, int]] = []
    for start, end in _split(text, 0, len(text), _PARAGRAPH_END):
        if count_tokens(text[start:end]) <= UNIT_SHARE * max_tokens:
            spans.append((start, end))
            continue
        for s_start, s_end in _split(text, start, end, _SENTENCE_END):
            if count_tokens(text[s_start:s_end]) <= max_tokens:
                spans.append((s_start, s_end))
            else:
                spans += _fit(text, s_start, s_end, max_tokens, count_tokens)
    return spans


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


def _fit(text: str, start: int, end: int, max_tokens: int,
         count_tokens: Callable[[str], int]) -> list[tuple[int, int]]:
    """A sentence longer than a chunk, cut by the text splitter into pieces that fit."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_tokens, chunk_overlap=0, length_function=count_tokens,
        separators=[" ", ""], add_start_index=True, keep_separator="end")
    pieces = []
    for doc in splitter.create_documents([text[start:end]]):
        offset = start + int(doc.metadata["start_index"])
        pieces.append((offset, offset + len(doc.page_content)))
    # Close the gaps the splitter leaves (stripped spaces), so all text is kept.
    spans = []
    for n, (a, _) in enumerate(pieces):
        b = pieces[n + 1][0] if n + 1 < len(pieces) else end
        spans.append((start if n == 0 else a, b))
    return spans
