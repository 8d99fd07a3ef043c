"""Chunking stays linear and content-defined on any shape of input: one giant line, text with no
whitespace at all, millions of tiny paragraphs. Work is counted (characters handed to the
token counter), never timed."""

from __future__ import annotations

import random
from collections.abc import Callable

from ghost.chunk.text import chunk_text
from ghost.cite import check_citations
from ghost.tokens import counter_for

MAX_TOKENS = 400


class CountingCounter:
    """A real token counter that adds up the characters it was asked to count."""

    def __init__(self) -> None:
        self.count = counter_for()
        self.chars = 0

    def __call__(self, text: str) -> int:
        self.chars += len(text)
        return self.count(text)


def one_line(words: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    vocabulary = "the cat sat on a mat while dogs ran far away into night and came back".split()
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def check_cover(text: str, count: Callable[[str], int]) -> list[str]:
    chunks = chunk_text(text, max_tokens=MAX_TOKENS, count_tokens=count)
    assert "".join(c.text for c in chunks) == text
    assert all(count(c.text) <= MAX_TOKENS for c in chunks)
    return [c.text for c in chunks]


def test_one_giant_line_is_counted_in_linear_work() -> None:
    for words in (20_000, 80_000):
        text = one_line(words)
        counter = CountingCounter()
        chunks = chunk_text(text, max_tokens=MAX_TOKENS, count_tokens=counter)
        assert "".join(c.text for c in chunks) == text
        # Each character is counted a small constant number of times (its group, the odd
        # chunk counted whole near the limit, the sample the group size is set from), never
        # once per chunk or per word.
        assert counter.chars <= 3 * len(text) + 20_000, (words, counter.chars / len(text))


def test_an_edit_in_a_giant_line_rechunks_only_around_it() -> None:
    count = counter_for()
    text = one_line(30_000)
    middle = len(text) // 2
    middle = text.index(" ", middle)
    edited = text[:middle] + " and a new clause in the middle" + text[middle:]
    before, after = check_cover(text, count), check_cover(edited, count)
    changed = len(set(after) - set(before))
    assert len(before) > 40
    assert changed <= 3, changed


def test_text_without_whitespace_is_cut_to_fit() -> None:
    count = counter_for()
    text = "".join(random.Random(3).choice("abcdefghij0123456789") for _ in range(60_000))
    chunks = check_cover(text, count)
    assert len(chunks) > 10


def test_a_giant_paragraph_of_sentences_keeps_sentence_boundaries() -> None:
    count = counter_for()
    text = " ".join(f"Sentence number {n} says something short." for n in range(5_000))
    for chunk in check_cover(text, count)[:-1]:
        assert chunk.rstrip().endswith(".")


def test_line_numbers_of_many_paragraphs() -> None:
    count = counter_for()
    text = "\n\n".join(f"Paragraph {n}." for n in range(3_000)) + "\n"
    chunks = chunk_text(text, max_tokens=MAX_TOKENS, count_tokens=count)
    for chunk in chunks:
        first_paragraph = int(chunk.text.split()[1].rstrip("."))
        assert chunk.first_line == 2 * first_paragraph + 1


def test_citation_check_against_a_large_source_uses_one_set() -> None:
    stamps = frozenset(f"{h:02d}:{m:02d}:{s:02d}" for h in range(3) for m in range(60)
                       for s in range(60))
    text, report = check_citations("A [01:02:03] and B [05:00:00].", stamps, mode="strip")
    assert report.found == 2 and report.unknown == ["05:00:00"]
    assert "[01:02:03]" in text and "05:00:00" not in text
