"""Where chunks end: content-defined boundaries, chosen the way rsync and restic choose theirs.

Units (transcript segments, text paragraphs) are packed into chunks of at most `max_tokens`.
Whether a unit ends a chunk is drawn from that unit's own text, so the same text always
decides the same way, and an edit moves only the boundaries next to it: a grown or lightly
edited source re-sends a chunk or two to the map model, not every chunk after the edit.

    ends = chunk_ends([("a " * 300, 300), ("b " * 300, 300), ...], max_tokens=1500,
                      sep_tokens=1)   # [3, 5, ...]: the first chunk is units 0-2, then 3-4, …

A chunk may end once it holds MIN_SHARE of the maximum, after a unit with a chance of its
size over EXTRA_SHARE of the maximum (so chunks grow alike whatever the units' sizes); one that
reaches the maximum ends at its best-scoring unit past FORCED_SHARE. Chunks average about 60%
of the maximum.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

MIN_SHARE = 0.25
EXTRA_SHARE = 0.6
FORCED_SHARE = 0.5


def score(text: str, tokens: int, max_tokens: int) -> float:
    """Below 1 when a chunk may end after this unit: a draw from its text, scaled by size."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    draw = int.from_bytes(digest, "big") / 2**64
    return draw * max(1.0, EXTRA_SHARE * max_tokens) / max(1, tokens)


def ends_after(text: str, tokens: int, size: int, max_tokens: int) -> bool:
    """Whether a chunk of `size` tokens, whose last unit is `text`, ends here."""
    return size >= MIN_SHARE * max_tokens and score(text, tokens, max_tokens) < 1


def forced_end(units: Sequence[tuple[str, int]], sizes: Sequence[int], max_tokens: int) -> int:
    """How many of `units` (the chunk so far; `sizes[n]` its size after unit n) to keep when
    the next unit would not fit: up to the best-scoring unit past FORCED_SHARE."""
    allowed = [n for n, size in enumerate(sizes) if size >= FORCED_SHARE * max_tokens]
    if not allowed:
        return len(units)
    return min(allowed, key=lambda n: score(*units[n], max_tokens)) + 1


def chunk_ends(units: Sequence[tuple[str, int]], *, max_tokens: int,
               sep_tokens: int) -> list[int]:
    """The index after the last unit of each chunk, for units given as (text, tokens)."""
    ends: list[int] = []
    start = 0
    while start < len(units):
        size = units[start][1]
        sizes = [size]
        end = start + 1
        while end < len(units) and not ends_after(*units[end - 1], size, max_tokens):
            nxt = units[end][1]
            if size + sep_tokens + nxt > max_tokens:
                end = start + forced_end(units[start:end], sizes, max_tokens)
                break
            size += sep_tokens + nxt
            sizes.append(size)
            end += 1
        ends.append(end)
        start = end
    return ends
