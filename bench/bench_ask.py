"""`ghost ask` economics on real data: one question over the 85 Federalist papers and the shared
podcast transcripts (92 documents), then again with one more episode added.

Runs the ask job through the real SDKs against the loopback stand-in. Its map replies are
shaped like a real model's: every line of a chunk that bears on the question (by its keywords)
quoted, at most 300 characters, and cited by document and place; NOTHING for a chunk without
one. The reduce reply is a 500-word answer. Token counts are the stand-in's (chars/4), prices
the models table's. Prints JSON: documents read and dropped, the share of the source tokens
each model read, calls and cost per stage, and what adding the 93rd document cost.
Needs ../shared. Usage: PYTHONPATH=src:tests python bench/bench_ask.py
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from ghost.ask.passages import passages_by_document, render_blocks
from ghost.jobs.ask import AskJob, AskResult
from ghost.jobs.runner import JobRun
from ghost.models.catalog import load_catalog
from ghost.options import RunOptions
from ghost.tokens import count_tokens

# the loopback stand-in and the ask replies live with the tests, outside the ghost package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ask_helpers import body_text, is_map, passages_reply
from standin import StandIn

SHARED = Path(os.environ.get("GHOST_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
TRANSCRIPTS = SHARED / "data" / "transcripts"
FEDERALIST = SHARED / "data" / "essays" / "federalist"
QUESTION = ("Who should be trusted to check whom? What do these sources say about oversight, "
            "courts and checks on power, in government or in AI?")
KEYWORDS = re.compile(r"\b(judiciary|judicial|supreme court|judges|oversight|"
                      r"accountability|regulators?|tribunals?)\b", re.I)
ANSWER = ("The sources answer in two registers [{first}]. " + "A sentence of the answer. " * 95
          + "\n\nWhere they disagree, each side is cited [{second}].\n")


def realistic(provider: str, body: dict[str, Any]) -> str | None:
    text = body_text(body)[1]
    if is_map(body):
        return passages_reply(text, wanted=KEYWORDS.search)
    cited = re.findall(r"\[([^\[\]\n]+ (?:L\d+-L\d+|\d\d:\d\d:\d\d|p\.\d+))\]", text)
    return ANSWER.format(first=cited[0], second=cited[-1]) if cited else "No answer."


def paths(episodes: int) -> list[Path]:
    changelog = sorted(p for p in (TRANSCRIPTS / "changelog").glob("*.md"))[:episodes]
    authors = sorted(p for p in FEDERALIST.iterdir() if p.is_dir())
    return [TRANSCRIPTS / "cognitive-revolution-alex-albert.txt", *changelog, *authors]


def one_run(episodes: int, cache: Path) -> dict[str, Any]:
    run = JobRun(AskJob(QUESTION, paths(episodes)), RunOptions(cache_dir=cache))
    result: AskResult = run.execute()
    info = load_catalog().resolve(load_catalog().defaults["map"])
    source_tokens = sum(d.source.tokens for d in result.documents)
    passages = render_blocks(passages_by_document(result.passages))
    passage_tokens = count_tokens(passages, info.tokenizer, info.token_margin)
    stages = run.ledger.to_dict()["stages"]
    return {
        "documents": len(result.documents),
        "documents_with_passages": len({p.document for p in result.passages}),
        "documents_dropped": len(result.without_passages),
        "skipped": len(result.skipped),
        "chunks": sum(len(d.source.chunks) for d in result.documents),
        "passages": len(result.passages),
        "source_tokens": source_tokens,
        "map_read_share": round(sum(c.tokens for d in result.documents
                                    for c in d.source.chunks) / source_tokens, 3),
        "reduce_read_share": round(passage_tokens / source_tokens, 4),
        "map_citations_unknown": len(result.map_report.citations.unknown),
        "answer_citations": result.citations.to_dict(),
        "estimated_cost_usd": round(result.plan.cost or 0, 4),
        "stages": stages,
        "cost_usd": round(run.ledger.spent, 4),
    }


def main() -> None:
    if not (TRANSCRIPTS.exists() and FEDERALIST.exists()):
        print(json.dumps({"skipped": f"needs ../shared ({TRANSCRIPTS}, {FEDERALIST})"}))
        sys.exit(0)
    with StandIn(responder=realistic) as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(server.env("bench-key"))
        first = one_run(6, Path(tmp) / "cache")
        added = one_run(7, Path(tmp) / "cache")
    print(json.dumps({
        "benchmark": "ask_economics", "question": QUESTION,
        "models": "the table's defaults and prices; stand-in token counts (chars/4)",
        "first_run": first,
        "one_document_added": {k: added[k] for k in ("documents", "stages", "cost_usd")},
        "added_run_cost_share": round(added["cost_usd"] / first["cost_usd"], 3)
        if first["cost_usd"] else None,
    }, indent=2))


if __name__ == "__main__":
    main()
