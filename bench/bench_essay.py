"""Essay pipeline economics on real data: the seed transcript with the 51 Hamilton essays.

Runs `ghost essay` twice through the real SDKs against the loopback stand-in (which reports
prompt-cache writes and reads like the Anthropic API): once cold, once for the next episode with
the same samples. The stand-in's replies are shaped like a real model's (one cited note per
segment; a 700-word essay) so token shares are realistic; its token counts are chars/4.
Prints JSON: calls and tokens per stage, the strong model's input as a share of the
source, and the estimated cost with and without prompt caching (prices from the models table).
Needs ../shared. Usage: python bench/bench_essay.py
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

from ghost.ingest.samples import load_samples
from ghost.jobs.essay import EssayJob
from ghost.jobs.runner import JobRun
from ghost.ledger import usage_cost
from ghost.models.catalog import load_catalog
from ghost.models.protocol import Usage
from ghost.options import RunOptions
from ghost.reduce.collapse import join_notes
from ghost.tokens import count_tokens

# the loopback stand-in lives with the tests, outside the ghost package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standin import StandIn

SHARED = Path(os.environ.get("GHOST_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
SEED = SHARED / "data" / "transcripts" / "cognitive-revolution-alex-albert.txt"
NEXT = SHARED / "data" / "transcripts" / "changelog" / "practical-ai-292.md"
HAMILTON = SHARED / "data" / "essays" / "federalist" / "hamilton"


STAMPED = re.compile(r"^\[(\d\d:\d\d:\d\d)\][^:]*?:?\s*(.+)$")


def realistic_notes(provider: str, body: dict) -> str | None:
    """Stand-in replies shaped like a real model's: one cited note per segment for the map
    stage (its first sentence, about a fifth of the input), a 700-word essay for the reduce."""
    text = json.dumps(body.get("messages", ""))
    if "ESSAY" in text:
        return ("# Title\n\n" + "A sentence of the essay in the host's voice. " * 100
                + "\n\n=== SOURCES ===\nP1: none\n")
    last = body["messages"][-1]["content"]
    last = last if isinstance(last, str) else "".join(b.get("text", "") for b in last)
    notes = []
    for line in last.splitlines():
        match = STAMPED.match(line.strip())
        if match:
            first = re.split(r"(?<=[.?!])\s", match.group(2), maxsplit=1)[0]
            notes.append(f"- {first[:300]} [{match.group(1)}]")
    return "\n".join(notes) or "NOTHING"


def one_run(transcript: Path, cache_dir: Path) -> dict:
    samples, _ = load_samples(HAMILTON)
    job = EssayJob(transcript, samples)
    run = JobRun(job, RunOptions(cache_dir=cache_dir))
    result = run.execute()
    source = job.source
    assert source is not None
    info = load_catalog().resolve(load_catalog().defaults["map"])
    reduce_info = load_catalog().resolve(load_catalog().defaults["reduce"])
    notes_tokens = count_tokens(join_notes(result.notes.notes), info.tokenizer,
                                info.token_margin)
    stages = run.ledger.to_dict()["stages"]
    essay_usage = run.ledger.stages["essay"].usage
    no_cache = Usage(essay_usage.prompt_tokens, essay_usage.output_tokens)
    other = sum(s["cost_usd"] or 0 for name, s in stages.items() if name != "essay")
    source_tokens = count_tokens(source.text, info.tokenizer, info.token_margin)
    return {
        "transcript": transcript.name,
        "source_tokens": source_tokens,
        "chunks": len(source.chunks),
        "samples_used": len(result.pack.samples) if result.pack else 0,
        "samples_tokens": result.pack.tokens if result.pack else 0,
        "stages": stages,
        "notes_tokens": notes_tokens,
        "strong_input_tokens_incl_samples": essay_usage.prompt_tokens,
        "strong_reads_of_the_source_share": round(notes_tokens / source_tokens, 3),
        "cost_usd": round(run.ledger.spent, 4),
        "cost_without_prompt_caching_usd": round(other + (usage_cost(reduce_info, no_cache)
                                                          or 0), 4),
    }


def main() -> None:
    if not (SEED.exists() and HAMILTON.exists()):
        print(json.dumps({"skipped": f"needs ../shared ({SEED})"}))
        sys.exit(0)
    with StandIn(responder=realistic_notes) as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(server.env("bench-key"))
        first = one_run(SEED, Path(tmp) / "cache")
        second = one_run(NEXT, Path(tmp) / "cache")
    print(json.dumps({
        "benchmark": "essay_economics", "models": "the table's defaults and prices",
        "first_episode": first, "next_episode_same_samples": second,
        "prompt_caching_saves_on_next_episode": round(
            1 - second["cost_usd"] / second["cost_without_prompt_caching_usd"], 3),
    }, indent=2))


if __name__ == "__main__":
    main()
