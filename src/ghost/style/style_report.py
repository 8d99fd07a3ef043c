"""The style check's result: numbers, verdict, what differs, and how to show it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ghost.style.delta import DeltaSpace
from ghost.style.markers import TextFeatures

SOUNDS_LIKE = "sounds like the author"
BORDERLINE = "borderline"
DOES_NOT = "does not sound like the author"
UNKNOWN = "unknown"
VERDICTS = (SOUNDS_LIKE, BORDERLINE, DOES_NOT)  # best first; UNKNOWN when there is no spread

MAX_DIFFERENCES = 4
MIN_FEATURE_Z = 1.5  # a secondary feature is reported from this many (floored) sds away
MAX_WORDS_SHOWN = 5
MIN_WORD_Z = 1.0
_Z90 = 1.2816  # the 90th percentile of a standard normal distribution
_FLOORS = {"sentence length": 1.0, "sentence length spread": 1.0}  # others: 1 per 1000 words


@dataclass(frozen=True)
class Spread:
    """Leave-one-out Deltas of the samples: each against the others."""

    deltas: tuple[float, ...]
    median: float
    p90: float
    max: float

    @classmethod
    def of(cls, deltas: Sequence[float]) -> Spread:
        ordered = sorted(deltas)
        p90 = (statistics.quantiles(ordered, n=10, method="inclusive")[-1]
               if len(ordered) > 1 else ordered[0])
        return cls(tuple(deltas), statistics.median(ordered), p90, ordered[-1])

    def percentile(self, score: float) -> float:
        """Percent of the samples' Deltas that are below `score`."""
        return 100 * sum(d < score for d in self.deltas) / len(self.deltas)

    def robust_z(self, score: float) -> float:
        """(score - median) / robust sd, where the sd is (p90 - median) / 1.28 (as for a normal
        distribution), floored at 1% of the median."""
        scale = max((self.p90 - self.median) / _Z90, 0.01 * self.median, 1e-9)
        return (score - self.median) / scale


@dataclass(frozen=True)
class Difference:
    """A secondary feature where the draft stands out: values, signed z and a phrase."""

    feature: str
    draft: float
    author: float
    z: float
    text: str


@dataclass(frozen=True)
class WordUse:
    """A frequent word the draft uses more or less than the author (rates per 1000 words)."""

    word: str
    draft_per_1000: float
    author_per_1000: float
    z: float


@dataclass(frozen=True)
class StyleReport:
    """How close a draft is to the author's samples, against the samples' own spread."""

    verdict: str
    draft_delta: float
    spread: Spread | None
    n_samples: int
    n_words_compared: int
    draft_words: int
    differences: tuple[Difference, ...]
    more_words: tuple[WordUse, ...]
    fewer_words: tuple[WordUse, ...]
    notes: tuple[str, ...]
    evidence: float | None = None  # ghost.style.verify: impostor-over-author log-likelihood
    evidence_spread: Spread | None = None  # the same for each sample held out from the rest
    cliches: tuple[str, ...] = ()  # generic AI phrases in the draft, as written there
    cliche_rate: float = 0.0  # their occurrences per 1000 words of the draft
    nearer_impostors: bool | None = None  # nearer other writers' texts (None: none given)

    @property
    def calibrated_z(self) -> float | None:
        """The draft's evidence as a robust z among the held-out samples' (the verdict's score:
        "sounds like the author" up to 2.0)."""
        if self.evidence is None or self.evidence_spread is None:
            return None
        return self.evidence_spread.robust_z(self.evidence)

    def rank_key(self) -> tuple[int, float, float]:
        """Sort key for drafts, lower is better: verdict, then calibrated score, then cliché
        rate. For example `best = min(reports, key=StyleReport.rank_key)`."""
        rank = VERDICTS.index(self.verdict) if self.verdict in VERDICTS else len(VERDICTS)
        z = self.calibrated_z
        return rank, z if z is not None else float("inf"), self.cliche_rate

    @property
    def percentile(self) -> float | None:
        """Percent of samples that are closer to the rest than the draft is to them all."""
        return self.spread.percentile(self.draft_delta) if self.spread else None

    @property
    def z(self) -> float | None:
        """The draft's robust z within the spread (about 1.28 at its 90th percentile)."""
        return self.spread.robust_z(self.draft_delta) if self.spread else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        data = asdict(self)
        data["percentile"] = self.percentile
        data["z"] = self.z
        data["calibrated_z"] = self.calibrated_z
        return data

    def render(self) -> str:
        """A few plain lines for a terminal."""
        lines = [f"Style check: {self.verdict} (Burrows' Delta {self.draft_delta:.2f} over "
                 f"{self.n_words_compared} frequent words; lower is closer)"]
        if self.calibrated_z is not None:
            lines.append(f"  Calibrated score {self.calibrated_z:.1f}: function words as you "
                         "write them vs. as another writer of the genre would (your samples, "
                         "each against the rest: about 0; up to 2.0 sounds like you)")
        if self.nearer_impostors:
            lines.append("  Nearer to the other writers' texts given than to your samples.")
        elif self.nearer_impostors is None and self.verdict == SOUNDS_LIKE:
            lines.append("  Checked against general English only: a writer of your genre with "
                         "a close style can pass; their texts as impostors rule them out "
                         "(--impostors DIR, [samples] impostors; ghost essay: --impostor-draft).")
        if self.cliches:
            lines.append(f"  Generic AI phrasing your samples never use ({self.cliche_rate:.1f} "
                         "per 1000 words): " + ", ".join(f'"{c}"' for c in self.cliches))
        if self.spread:
            s = self.spread
            lines.append(f"  Your {self.n_samples} samples, each against the rest: median "
                         f"{s.median:.2f}, 90th percentile {s.p90:.2f}, max {s.max:.2f}")
            lines.append(f"  The draft is further from your samples than {self.percentile:.0f}% "
                         "of them are from the rest.")
        if self.differences:
            lines.append("  Differs most: " + "; ".join(d.text for d in self.differences))
        for label, uses in (("Uses more", self.more_words), ("Uses less", self.fewer_words)):
            if uses:
                lines.append(f"  {label}: " + ", ".join(
                    f"{u.word} ({u.draft_per_1000:.1f} vs {u.author_per_1000:.1f})" for u in uses)
                    + " per 1000 words")
        lines.extend(f"  Note: {note}" for note in self.notes)
        return "\n".join(lines)


def feature_differences(draft: TextFeatures,
                        samples: Sequence[TextFeatures]) -> tuple[Difference, ...]:
    """Secondary features where the draft is furthest from the samples, furthest first."""
    mine = draft.secondary()
    theirs = [s.secondary() for s in samples]
    found = []
    for name, value in mine.items():
        column = [t[name] for t in theirs]
        mean = statistics.fmean(column)
        sd = statistics.stdev(column) if len(column) > 1 else 0.0
        z = (value - mean) / max(sd, 0.1 * mean, _FLOORS.get(name, 1.0))
        if abs(z) >= MIN_FEATURE_Z:
            found.append(Difference(name, value, mean, z, describe(name, value, mean)))
    found.sort(key=lambda d: -abs(d.z))
    return tuple(found[:MAX_DIFFERENCES])


def describe(name: str, draft: float, author: float) -> str:
    """A short phrase such as "sentences 40% longer (28 vs 20 words)"."""
    ratio = draft / author if author else float("inf")
    change = f"{abs(ratio - 1):.0%}"
    if name == "sentence length":
        more = "longer" if ratio > 1 else "shorter"
        return f"sentences {change} {more} ({draft:.0f} vs {author:.0f} words)"
    if name == "sentence length spread":
        more = "more" if ratio > 1 else "less"
        return f"sentence lengths vary {change} {more} (sd {draft:.0f} vs {author:.0f} words)"
    rates = f"({draft:.1f} vs {author:.1f} per 1000 words)"
    if author < 0.05:
        return f"uses {name} ({draft:.1f} per 1000 words) where the samples almost never do"
    if draft == 0:
        return f"never uses {name} (samples: {author:.1f} per 1000 words)"
    if ratio >= 2:
        return f"uses {name} {ratio:.1f}x as often {rates}"
    return f"uses {name} {change} {'more' if ratio > 1 else 'less'} often {rates}"


def word_differences(space: DeltaSpace, draft_z: Sequence[float], centroid: Sequence[float],
                     *, more: bool) -> tuple[WordUse, ...]:
    """Frequent words the draft over-uses (`more`) or under-uses most, by z-score difference."""
    sign = 1 if more else -1
    rows = []
    for word, mean, sd, dz, cz in zip(space.words, space.means, space.sds, draft_z, centroid,
                                      strict=True):
        if sign * (dz - cz) >= MIN_WORD_Z:
            rows.append(WordUse(word, 1000 * (mean + dz * sd), 1000 * (mean + cz * sd), dz - cz))
    rows.sort(key=lambda u: -sign * u.z)
    return tuple(rows[:MAX_WORDS_SHOWN])
