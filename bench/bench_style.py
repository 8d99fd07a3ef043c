"""How often the style verdict is right: own texts recognised, other writers rejected.

Leave-one-out on the shared Federalist papers: each of an author's papers is scored against the
author's other papers (own rate: share that "sounds like the author"), and every paper of each
other author is scored against all of the author's (other rate: share that passes for the
author). The thresholds were tuned on Hamilton and Madison (the tuning split); Jay, the example
host's essays (corpora/my_essays) and the podcast transcripts were not used to tune (the held-out
split). The disputed and joint papers are reported apart: their author is the question. Both modes
are measured: the verdict alone (general English as the background) and with impostor texts
(`--impostors`): for a Federalist author the other two authors' papers, for the host all of
them and the transcripts. The headline gives own and other rates per split and mode.
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
FEDERALIST_AUTHORS = ("hamilton", "madison", "jay")


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
    """The same rates when other writers' texts are given as impostors (`--impostors`): for a
    Federalist author the other two authors' papers, for the host every Federalist paper and
    the transcripts; the text scored is never among its own impostors."""
    pools = {a: [t for n in FEDERALIST_AUTHORS if n != a for t in groups[n]]
             for a in FEDERALIST_AUTHORS}
    pools["host"] = [t for n in (*FEDERALIST_AUTHORS, "transcripts") for t in groups[n]]
    own: dict[str, float] = {}
    other: dict[str, float] = {}
    counts: dict[str, int] = {}
    for author, pool in pools.items():
        own[author] = round(share(own_verdicts(groups[author], pool)), 3)
        counts[author] = len(groups[author])
        for name in (*FEDERALIST_AUTHORS, "host", "transcripts"):
            if name != author and (author == "host" or name in FEDERALIST_AUTHORS):
                key = f"{name} as {author}"
                other[key] = round(share(other_verdicts(groups[name], groups[author], pool)), 3)
                counts[key] = len(groups[name])
    return {"impostors": "Federalist author: the other two authors' papers; host: all "
                         "Federalist papers and the transcripts (never the text scored)",
            "own": own, "other": other, "texts": counts,
            "tuning": _pooled(own, other, counts, TUNING, tuning=True),
            "held_out": _pooled(own, other, counts, HELD_OUT, tuning=False)}


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
    alone = measure(groups, quick="--quick" in sys.argv)
    given = with_impostors(groups)
    result: dict[str, object] = {"headline": {
        mode: {split: {k: rates[split][k] for k in ("own_rate", "other_rate")}
               for split in ("tuning", "held_out")}
        for mode, rates in (("without_impostors", alone), ("with_impostors", given))}}
    result.update(alone)
    result["with_impostors"] = given
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
