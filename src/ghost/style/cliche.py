"""The cliché guard: generic AI phrasing in a draft that the author's own samples never use.

The phrase list ships in ghost/data/cliches.txt. A phrase counts only when none of the samples
uses it (if the author writes "robust", it is their word). The rate is per 1000 words of the
draft, so a long draft is not penalised for its length.

>>> scan = find_cliches("Let us delve into this rich tapestry. We delve again.", ["A plain essay."])
>>> scan.found, scan.occurrences
(('delve', 'tapestry'), 3)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ghost.style.markers import normalize, tokenize

# A draft at this rate (per 1000 words) or above cannot "sound like the author"; at the higher
# rate it "does not". One cliché in a typical 500-word essay is 2 per 1000 words.
BORDERLINE_RATE = 2.0
DOES_NOT_RATE = 5.0


@lru_cache(maxsize=1)
def cliche_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(phrase as listed, pattern) for every phrase in the shipped list, longest first."""
    text = resources.files("ghost").joinpath("data/cliches.txt").read_text("utf-8")
    phrases = [line.strip() for line in text.splitlines()
               if line.strip() and not line.startswith("#")]
    return tuple(sorted(((phrase, _pattern(phrase)) for phrase in phrases),
                        key=lambda pair: -len(pair[0])))


def _pattern(phrase: str) -> re.Pattern[str]:
    """Matches the lowercase phrase; starting with its letters keeps the search fast (a match
    inside a word is dropped by `_hits`)."""
    stem = phrase.rstrip("*").lower()
    body = r"\s+".join(re.escape(word) for word in stem.split())
    tail = r"[\w'-]*" if phrase.endswith("*") else ""
    edge = r"(?![\w'-])" if stem[-1].isalnum() or phrase.endswith("*") else ""
    return re.compile(f"{body}{tail}{edge}")


def _hits(pattern: re.Pattern[str], lowered: str) -> list[re.Match[str]]:
    return [h for h in pattern.finditer(lowered)
            if not h.start() or not (lowered[h.start() - 1].isalnum()
                                     or lowered[h.start() - 1] in "_'-")]


@dataclass(frozen=True)
class ClicheScan:
    """The clichés found in a draft: each as first written there, how often, and the rate."""

    found: tuple[str, ...]
    occurrences: int
    rate: float  # occurrences per 1000 words of the draft


def find_cliches(draft: str, samples: Sequence[str]) -> ClicheScan:
    """Phrases from the list that the draft uses and no sample does (longest phrase first, so
    "a testament to" counts once)."""
    text = _plain(draft)
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter whose lowercase is longer: show it lowercase
        text = lowered
    hits: list[tuple[int, int, str]] = []
    for phrase, pattern in cliche_patterns():
        mine = [h for h in _hits(pattern, lowered)
                if not any(a < h.end() and h.start() < b for a, b, _ in hits)]
        if mine and not any(phrase in _used_in(sample) for sample in samples):
            hits += [(h.start(), h.end(), " ".join(text[h.start():h.end()].rstrip(",").split()))
                     for h in mine]
    found: dict[str, str] = {}  # lowercase -> as first written
    for _, _, written in sorted(hits):
        found.setdefault(written.lower(), written)
    words = len(tokenize(text))
    return ClicheScan(tuple(found.values()), len(hits), 1000 * len(hits) / words if words else 0.0)


@lru_cache(maxsize=512)
def _used_in(sample: str) -> frozenset[str]:
    """The listed phrases that a sample uses (the author's own, not clichés)."""
    lowered = _plain(sample).lower()
    return frozenset(phrase for phrase, pattern in cliche_patterns() if _hits(pattern, lowered))


def _plain(text: str) -> str:
    return normalize(text).replace("’", "'")
