"""Pays once, measured: the share of map calls a re-run pays for again after the transcript
grows, after a light edit mid-file, and after a rename.

Runs `SummarizeJob` through `JobRun` against the loopback stand-in (the real SDK path) at
1,500-token chunks, on the shared podcast transcript (about 53 minutes) when ../shared is
there, else on a generated hour. The baseline, in the same run, is the same scenario with the
map prompt as it was before (the file name and "Part N of M" in every map prompt), over
today's chunking. Prints JSON. Usage: python bench/bench_cache.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ghost.jobs.runner import JobRun
from ghost.jobs.summarize import SummarizeJob
from ghost.options import RunOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standin import StandIn
from test_pays_once import MAP_MARK, hour_long

SHARED = Path(os.environ.get("GHOST_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
TRANSCRIPT = SHARED / "data" / "transcripts" / "cognitive-revolution-alex-albert.txt"
OLD_MAP_PROMPT = ("Source: {{ title }}\nPart {{ part }} of {{ parts }}. Citation label for this "
                  "part: [{{ label }}]\n\n{{ text | delimit(\"SOURCE\") }}\n")


def map_calls(server: StandIn) -> int:
    return sum(1 for r in server.requests if r.status == 200 and MAP_MARK in json.dumps(r.body))


def summarize(server: StandIn, path: Path, cache: Path, templates: str | None) -> int:
    """Map calls paid by one run."""
    before = map_calls(server)
    JobRun(SummarizeJob([path], words=200),
           RunOptions(cache_dir=cache, chunk_tokens=1500, templates=templates)).execute()
    return map_calls(server) - before


def edit_mid_paragraph(path: Path) -> None:
    lines = path.read_text().split("\n")
    middle = len(lines) // 2
    middle += next(n for n, line in enumerate(lines[middle:]) if len(line.split()) > 20)
    lines[middle] += " " + " ".join(f"added{n}" for n in range(40))
    path.write_text("\n".join(lines))


def scenario(server: StandIn, source: Path, work: Path, templates: str | None) -> dict:
    results = {}
    for name in ("grown", "edited", "renamed"):
        folder = work / f"{name}-{'old' if templates else 'new'}"
        folder.mkdir()
        episode = folder / "episode.txt"
        shutil.copy(source, episode)
        cache = folder / "cache"
        first = summarize(server, episode, cache, templates)
        if name == "grown":
            hour_long(episode, blocks=18, start=400, seed=8)  # ~1,500 tokens appended
        elif name == "edited":
            edit_mid_paragraph(episode)
        else:
            episode = episode.rename(folder / "episode 43 (final).txt")
        again = summarize(server, episode, cache, templates)
        results[name] = {"first_run_map_calls": first, "re_paid": again,
                         "re_paid_share": round(again / first, 3)}
    return results


def main() -> None:
    with StandIn() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(server.env("bench-key"))
        work = Path(tmp)
        source = TRANSCRIPT if TRANSCRIPT.exists() else hour_long(work / "generated.txt")
        old = work / "old-templates" / "summarize-map"
        old.mkdir(parents=True)
        (old / "user.md").write_text(OLD_MAP_PROMPT)
        now = scenario(server, source, work, None)
        before = scenario(server, source, work, str(old.parent))
    print(json.dumps({
        "benchmark": "pays_once", "source": source.name, "chunk_tokens": 1500,
        "now": now, "baseline_old_map_prompt": before,
        "re_paid_ratio_now_over_baseline": {
            k: round(now[k]["re_paid"] / max(1, before[k]["re_paid"]), 3) for k in now},
    }, indent=2))


if __name__ == "__main__":
    main()
