"""Token-bounded chunks of plain text, each labelled with its line range for citations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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


def chunk_text(text: str, *, max_tokens: int, count_tokens: Callable[[str], int],
               overlap_tokens: int = 0) -> list[TextChunk]:
    """Split on paragraphs, then lines, sentences and words, so no chunk passes max_tokens."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_tokens, chunk_overlap=overlap_tokens, length_function=count_tokens,
        separators=["\n\n", "\n", ". ", " ", ""], add_start_index=True, keep_separator="end",
    )
    spans = []
    for doc in splitter.create_documents([text]):
        start = int(doc.metadata["start_index"])
        spans.append((start, start + len(doc.page_content)))
    chunks: list[TextChunk] = []
    for start, end in _merge_small(text, spans, max_tokens, count_tokens):
        piece = text[start:end]
        first = text.count("\n", 0, start) + 1
        last = first + piece.rstrip("\n").count("\n")
        chunks.append(TextChunk(len(chunks), piece, count_tokens(piece), first, last))
    return chunks


def _merge_small(text: str, spans: list[tuple[int, int]], max_tokens: int,
                 count_tokens: Callable[[str], int]) -> list[tuple[int, int]]:
    """The splitter leaves a short piece alone before a long one; join neighbours that fit."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged:
            prev_start, prev_end = merged[-1]
            if start >= prev_end and count_tokens(text[prev_start:end]) <= max_tokens:
                merged[-1] = (prev_start, end)
                continue
        merged.append((start, end))
    return merged
