"""Benchmark: planning stays linear on any shape of input. Prints JSON.

    python bench/bench_shapes.py            # one line of 2 MB and of 20 MB; a long transcript

Times `ghost summarize --dry-run`'s planning in-process (reading, chunking, the plan) for a
one-line text and for ten times as much, and the citation check of many notes against a
transcript with tens of thousands of stamps. Ratios, not seconds, are the result: the
machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from ghost.chunk.text import chunk_text
from ghost.cite import check_citations
from ghost.tokens import counter_for

WORDS = "the cat sat on a mat while dogs ran far away into night and came back again".split()


def one_line(size: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    out, n = [], 0
    while n < size:
        word = rng.choice(WORDS)
        out.append(word)
        n += len(word) + 1
    return " ".join(out)


def plan_seconds(size: int) -> float:
    text = one_line(size)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "line.txt"
        path.write_text(text)
        start = time.perf_counter()
        chunks = chunk_text(path.read_text(), max_tokens=4000, count_tokens=counter_for())
        took = time.perf_counter() - start
    assert "".join(c.text for c in chunks) == text
    return took


def citation_seconds(stamps: int, notes: int) -> float:
    valid = frozenset(f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
                      for s in range(0, stamps * 5, 5))
    start = time.perf_counter()
    for n in range(notes):
        check_citations(f"- a note [{(n % 20):02d}:00:05] and [99:00:00]", valid, mode="strip")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=2.0)
    a = ap.parse_args()
    small = int(a.mb * 1e6)
    counter_for()("warm up: the encoding loads once")
    t_small, t_big = plan_seconds(small), plan_seconds(10 * small)
    cite = citation_seconds(stamps=40_000, notes=5_000)
    print(json.dumps({
        "benchmark": "shapes",
        "one_line_mb": [a.mb, 10 * a.mb],
        "plan_seconds": [round(t_small, 2), round(t_big, 2)],
        "ten_times_the_size_costs_x_the_time": round(t_big / t_small, 2),
        "goal_at_most": 13,
        "citation_check_5000_notes_40000_stamps_s": round(cite, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
