"""How often the style verdict is right: own texts recognised, other writers rejected.

Leave-one-out on the shared Federalist papers: each of an author's papers is scored against the
author's other papers (own rate: share that "sounds like the author"), and every paper of each
other author is scored against all of the author's (other rate: share that passes for the
author). The thresholds were tuned on Hamilton and Madison (the tuning split); Jay, the example
host's essays (corpora/my_essays) and the podcast transcripts were not used to tune (the held-out
split). The disputed and joint papers are reported apart: their author is the question.
Prints JSON. Needs ../shared. Usage: python bench/bench_style.py [--quick]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ghost.style import cliche, stylometry, verify
from ghost.style.calibrate import other_verdicts, own_verdicts, share

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GHOST_SHARED_DIR", ROOT.parent / "shared"))
FEDERALIST = SHARED / "data" / "essays" / "federalist"
TRANSCRIPTS = SHARED / "data" / "transcripts"
TUNING = ("hamilton", "madison")
HELD_OUT = ("jay", "host")
UNCERTAIN = ("hamilton-or-madison", "hamilton-and-madison")


def corpora() -> dict[str, list[str]]:
    """Texts by group: the Federalist authors, the example host, and podcast transcripts."""
    groups = {p.name: [f.read_text() for f in sorted(p.glob("*.txt"))]
              for p in sorted(FEDERALIST.iterdir()) if p.is_dir()}
    groups["host"] = [f.read_text() for f in sorted((ROOT / "corpora" / "my_essays").glob("*.md"))]
    groups["transcripts"] = [f.read_text() for f in sorted(TRANSCRIPTS.rglob("*"))
                             if f.suffix in (".md", ".txt") and f.name != "LICENSE"]
    return groups


def measure(groups: dict[str, list[str]], quick: bool = False) -> dict[str, object]:
    """Own and other rates for every author, pooled into the tuning and held-out splits."""
    own: dict[str, float] = {}
    other: dict[str, float] = {}
    counts: dict[str, int] = {}
    uncertain: dict[str, float] = {}
    for author in (*TUNING, *HELD_OUT):
        samples = groups[author]
        held = samples[::4] if quick and len(samples) > 20 else samples
        own[author] = share(own_verdicts(samples) if held is samples else
                            [stylometry.score_draft(t, [s for s in samples if s is not t]).verdict
                             for t in held])
        counts[author] = len(held)
        for name, texts in groups.items():
            if name == author:
                continue
            verdicts = other_verdicts(texts, samples)
            key = f"{name} as {author}"
            (uncertain if name in UNCERTAIN else other)[key] = round(share(verdicts), 3)
            counts[key] = len(texts)
    own = {k: round(v, 3) for k, v in own.items()}
    other = {k: round(v, 3) for k, v in other.items()}
    return {
        "own": own, "other": other, "uncertain_authorship": uncertain, "texts": counts,
        "tuning": _pooled(own, other, counts, TUNING, tuning=True),
        "held_out": _pooled(own, other, counts, HELD_OUT, tuning=False),
    }


def with_impostors(groups: dict[str, list[str]]) -> dict[str, object]:
    """The same rates when the other Federalist authors' papers are given as impostors (as a
    user would give other writers' texts, or model-written drafts, to `--impostors`)."""
    authors = ("hamilton", "madison", "jay")
    own, other = {}, {}
    for author in authors:
        pool = [t for name in authors if name != author for t in groups[name]]
        own[author] = round(share(own_verdicts(groups[author], pool)), 3)
        for name in authors:
            if name != author:
                verdicts = other_verdicts(groups[name], groups[author], pool)
                other[f"{name} as {author}"] = round(share(verdicts), 3)
    return {"impostors": "the other two authors' papers (less the one scored)",
            "own": own, "other": other}


def _pooled(own: dict[str, float], other: dict[str, float], counts: dict[str, int],
            authors: tuple[str, ...], tuning: bool) -> dict[str, object]:
    """Rates pooled over texts; other pairs are the tuning pairs (both authors tuned on) or all
    the rest."""
    keys = [k for k in other if (set(k.split(" as ")) <= set(TUNING)) == tuning]
    own_n = sum(counts[a] for a in authors)
    other_n = sum(counts[k] for k in keys)
    return {
        "authors": list(authors),
        "own_rate": round(sum(own[a] * counts[a] for a in authors) / own_n, 3),
        "other_rate": round(sum(other[k] * counts[k] for k in keys) / other_n, 3),
        "other_pairs": keys,
    }


def main() -> None:
    if not FEDERALIST.is_dir():
        sys.exit(f"bench_style: needs the shared Federalist papers ({FEDERALIST} not found)")
    start = time.perf_counter()
    groups = corpora()
    result = measure(groups, quick="--quick" in sys.argv)
    result["with_impostors"] = with_impostors(groups)
    result["method"] = {
        "verdict": "function-word evidence against same-genre impostors, calibrated on the "
                   "samples held out one at a time; Delta backstop; cliché guard",
        "sounds_like_evidence_z": stylometry.SOUNDS_LIKE_EVIDENCE_Z,
        "does_not_evidence_z": stylometry.DOES_NOT_EVIDENCE_Z,
        "between_authors": verify.BETWEEN_AUTHORS, "prior_words": verify.PRIOR_WORDS,
        "cliche_rates": [cliche.BORDERLINE_RATE, cliche.DOES_NOT_RATE],
    }
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
