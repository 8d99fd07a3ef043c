"""Profile economics on the real r-devel archive: how much of a mailbox reaches each model.

Indexes the shared archive (30k messages), then runs `ghost profile` with a query through the
real SDKs against the loopback stand-in, whose replies are shaped like a real model's (a
one-letter triage; one cited note per message for the map stage). Prints JSON: mailbox tokens,
tokens read by the cheap model, tokens reaching the strong model and their shares, calls per
stage and estimated cost. Needs ../shared. Usage: python bench/bench_profile.py
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from ghost.jobs.profile import ProfileJob, ProfileRequest
from ghost.jobs.runner import JobRun
from ghost.options import RunOptions

# the loopback stand-in lives with the tests, outside the ghost package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standin import StandIn

SHARED = Path(os.environ.get("GHOST_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
ARCHIVE = SHARED / "data" / "mail" / "r-devel-2005-2012.mbox"
QUERY = 'from:ripley@stats.ox.ac.uk "R CMD check"'
MID = re.compile(r"^▏Message-ID: (<[^>]+>)", re.M)
SUBJECT = re.compile(r"^▏Subject: (.+)$", re.M)


def model_like(provider: str, body: dict) -> str | None:
    text = json.dumps(body)
    last = body["messages"][-1]["content"]
    last = last if isinstance(last, str) else "".join(b.get("text", "") for b in last)
    if "one letter" in text:
        return "R"
    if "THREAD" in last:
        ids, subjects = MID.findall(last), SUBJECT.findall(last)
        notes = [f"- **project:** {s[:120]} [{i}]" for i, s in zip(ids, subjects, strict=False)]
        return "\n".join(notes) or "NOTHING"  # as a model says it: an empty reply is an error
    return None


def main() -> None:
    if not ARCHIVE.exists():
        print(json.dumps({"skipped": f"needs ../shared ({ARCHIVE})"}))
        sys.exit(0)
    with StandIn(responder=model_like) as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(server.env("bench-key"))
        run = JobRun(ProfileJob(ProfileRequest(ARCHIVE, "Brian Ripley", [QUERY],
                                               max_threads=40)),
                     RunOptions(cache_dir=Path(tmp)))
        started = time.perf_counter()
        result = run.execute()
        seconds = time.perf_counter() - started
        from ghost.narrow.mailboxes import stored_mailbox

        with stored_mailbox(Path(tmp), ARCHIVE) as index:
            chars = index.conn.execute("SELECT sum(length(body)) FROM messages").fetchone()[0]
    mailbox_tokens = ARCHIVE.stat().st_size // 4  # raw mbox bytes / 4, the stand-in's measure
    stages = run.ledger.to_dict()["stages"]
    cheap_in = sum(stages[s]["input_tokens"] for s in ("triage", "map") if s in stages)
    strong_in = stages["reduce"]["input_tokens"] + stages["reduce"]["cache_read_tokens"]
    print(json.dumps({
        "benchmark": "profile_economics", "query": QUERY, "seconds": round(seconds, 1),
        "messages_indexed": result.index_report["messages"],
        "mailbox_bytes": ARCHIVE.stat().st_size, "mailbox_tokens": mailbox_tokens,
        "cleaned_body_tokens": chars // 4, "threads_selected": result.threads,
        "triage": result.triage, "cheap_model_input_tokens": cheap_in,
        "strong_model_input_tokens": strong_in,
        "cheap_share_of_mailbox": round(cheap_in / mailbox_tokens, 5),
        "strong_share_of_mailbox": round(strong_in / mailbox_tokens, 6),
        "stages": stages, "estimated_cost_usd": round(run.ledger.spent, 4),
    }, indent=2))


if __name__ == "__main__":
    main()
