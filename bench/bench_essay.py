"""Essay pipeline economics on real data: the seed transcript with the 51 Hamilton essays.

Runs `ghost essay` through the real SDKs against the loopback stand-in (which reports
prompt-cache writes and reads like the Anthropic API): once cold, once for the next episode with
the same samples, then the seed again read through notes (--read notes) and with three drafts
(--drafts 3, the prefix cached for an hour), and with the cheap model's plain essay as an
impostor for the style check (--impostor-draft). The stand-in's replies are shaped like a real
model's (one cited note per segment; a 700-word essay) so token shares are realistic; its token
counts are chars/4. Prints JSON: calls and tokens per stage, how much of the transcript reaches
the strong model (its sentences found in the essay request), and the estimated cost with and
without prompt caching (prices from the models table).
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
from ghost.jobs.essay import EssayJob, EssaySettings
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


def sentences_sent(source_text: str, sent: str) -> float:
    """The share of the transcript's sentences (of 4 words or more) found in `sent`."""
    found = [" ".join(s.split()) for s in re.split(r"(?<=[.?!])\s+", source_text)]
    found = [s for s in found if len(s.split()) >= 4]
    return sum(s in sent for s in found) / max(1, len(found))


def essay_request_text(server: StandIn) -> str:
    """The text of the last essay request the stand-in received, whitespace-normalised."""
    body = [r.body for r in server.requests if "ESSAY" in json.dumps(r.body.get("messages"))][-1]
    texts = [b["text"] for m in body["messages"] if m["role"] == "user" for b in m["content"]]
    return " ".join(" ".join(texts).split())


def one_run(transcript: Path, cache_dir: Path, server: StandIn,
            settings: EssaySettings | None = None) -> dict:
    samples, _ = load_samples(HAMILTON)
    job = EssayJob(transcript, samples, settings or EssaySettings())
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
    stripped = re.sub(r"\[\d\d:\d\d:\d\d\]\s*", "", source.text)
    return {
        "transcript": transcript.name,
        "read": result.read.mode if result.read else None,
        "target_words": result.target_words,
        "essay_calls": run.ledger.stages["essay"].calls,
        "transcript_sentences_in_essay_request": round(
            sentences_sent(stripped, essay_request_text(server)), 3),
        "source_tokens": source_tokens,
        "chunks": len(source.chunks),
        "samples_used": len(result.pack.samples) if result.pack else 0,
        "samples_tokens": result.pack.tokens if result.pack else 0,
        "stages": stages,
        "notes_tokens": notes_tokens,
        "strong_input_tokens_incl_samples": essay_usage.prompt_tokens,
        "notes_tokens_share_of_source": round(notes_tokens / source_tokens, 3),
        "cost_usd": round(run.ledger.spent, 4),
        "cost_without_prompt_caching_usd": round(other + (usage_cost(reduce_info, no_cache)
                                                          or 0), 4),
    }


def main() -> None:
    if not (SEED.exists() and HAMILTON.exists()):
        print(json.dumps({"skipped": f"needs ../shared ({SEED})"}))
        sys.exit(0)
    with tempfile.TemporaryDirectory() as tmp:
        with StandIn(responder=realistic_notes) as server:  # one provider cache: warm 2nd run
            os.environ.update(server.env("bench-key"))
            first = one_run(SEED, Path(tmp) / "cache", server)
            second = one_run(NEXT, Path(tmp) / "cache", server)
        with StandIn(responder=realistic_notes) as server:  # each of these starts cold
            os.environ.update(server.env("bench-key"))
            notes = one_run(SEED, Path(tmp) / "cache-notes", server, EssaySettings(read="notes"))
        with StandIn(responder=realistic_notes) as server:
            os.environ.update(server.env("bench-key"))
            drafts = one_run(SEED, Path(tmp) / "cache-drafts", server, EssaySettings(drafts=3))
        with StandIn(responder=realistic_notes) as server:
            os.environ.update(server.env("bench-key"))
            impostor = one_run(SEED, Path(tmp) / "cache-impostor", server,
                               EssaySettings(impostor_draft=True))
    print(json.dumps({
        "benchmark": "essay_economics", "models": "the table's defaults and prices",
        "first_episode": first, "next_episode_same_samples": second,
        "first_episode_read_through_notes": notes, "first_episode_three_drafts": drafts,
        "first_episode_with_impostor_draft": impostor,
        "impostor_draft_adds_usd": round(impostor["cost_usd"] - first["cost_usd"], 4),
        "prompt_caching_saves_on_next_episode": round(
            1 - second["cost_usd"] / second["cost_without_prompt_caching_usd"], 3),
    }, indent=2))


if __name__ == "__main__":
    main()
