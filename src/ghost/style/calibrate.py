"""Measure the verdict's error rates on texts of known authors (bench/bench_style.py, tests).

`own_verdicts` holds each of an author's texts out and scores it against the rest: how often
the author's own writing is recognised. `other_verdicts` scores another writer's texts against
all of the author's: how often someone else passes for the author.

>>> own = own_verdicts(papers["madison"])  # doctest: +SKIP
>>> share(own, SOUNDS_LIKE)  # doctest: +SKIP
0.93
"""

from __future__ import annotations

from collections.abc import Sequence

from ghost.style.style_report import SOUNDS_LIKE
from ghost.style.stylometry import score_draft


def own_verdicts(texts: Sequence[str], impostors: Sequence[str] = ()) -> list[str]:
    """The verdict for each text against the author's other texts."""
    return [score_draft(text, [*texts[:i], *texts[i + 1:]], impostors=impostors).verdict
            for i, text in enumerate(texts)]


def other_verdicts(texts: Sequence[str], samples: Sequence[str],
                   impostors: Sequence[str] = ()) -> list[str]:
    """The verdict for each of another writer's texts against all of the author's samples
    (and the impostor texts other than the one scored)."""
    return [score_draft(text, samples, impostors=[t for t in impostors if t != text]).verdict
            for text in texts]


def share(verdicts: Sequence[str], verdict: str = SOUNDS_LIKE) -> float:
    """The fraction of `verdicts` that are `verdict` (0 for none)."""
    return sum(v == verdict for v in verdicts) / len(verdicts) if verdicts else 0.0
