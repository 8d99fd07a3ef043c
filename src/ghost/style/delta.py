"""Burrows' Delta: the mean absolute difference of z-scored frequencies of the most frequent words.

Groups of reference texts (one group per author) define the space. Words are the most frequent
in all the texts among those that occur in at least MIN_DOC_SHARE of them (culling topic words,
so that mostly function words remain) and at least MIN_COUNT times (so a small corpus yields
fewer, steadier words). Each word is z-scored with the mean of the group means and the pooled
within-group standard deviation, so a group with many texts (51 Hamilton papers against 14 of
Madison's) does not set the centre and scale alone.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

MAX_WORDS = 150
MIN_DOC_SHARE = 0.75
MIN_COUNT = 5


@dataclass(frozen=True)
class CountTable:
    """How often each of a list of words occurs in each reference text, grouped by author."""

    words: list[str]
    counts: list[list[list[int]]]  # [group][text][word]
    sizes: list[list[int]]  # [group][text]: words in the text

    @classmethod
    def of(cls, groups: Sequence[Sequence[Counter[str]]],
           min_texts: float | None = None) -> CountTable:
        """Keep words used in at least `min_texts` texts (default: MIN_DOC_SHARE of them)."""
        groups = [g for g in ([c for c in group if c.total()] for group in groups) if g]
        texts = [counts for group in groups for counts in group]
        if min_texts is None:
            min_texts = MIN_DOC_SHARE * len(texts)
        in_texts = Counter(chain.from_iterable(texts))
        words = [w for w, n in in_texts.items() if n >= min_texts - 1e-9]
        return cls(words, [[[c.get(w, 0) for w in words] for c in group] for group in groups],
                   [[c.total() for c in group] for group in groups])

    def without(self, group: int, text: int) -> CountTable:
        """The table without one text (to hold it out)."""
        counts = [list(g) for g in self.counts]
        sizes = [list(g) for g in self.sizes]
        del counts[group][text], sizes[group][text]
        return CountTable(self.words, counts, sizes)


@dataclass(frozen=True)
class DeltaSpace:
    """The words compared and, for each, the mean and standard deviation used for z-scores."""

    words: tuple[str, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]

    @classmethod
    def fit(cls, groups: Sequence[Sequence[Counter[str]]],
            max_words: int = MAX_WORDS) -> DeltaSpace:
        """Fit on word counts of reference texts, grouped by author. Needs two texts or more."""
        return cls.from_table(CountTable.of(groups), max_words)

    @classmethod
    def from_table(cls, table: CountTable, max_words: int = MAX_WORDS) -> DeltaSpace:
        """Fit on a count table (faster when fitting many spaces on overlapping texts)."""
        groups = [(rows, sizes) for rows, sizes in zip(table.counts, table.sizes, strict=True)
                  if rows]
        texts = [row for rows, _ in groups for row in rows]
        if len(texts) < 2:
            raise ValueError("Delta needs at least two reference texts")
        columns = list(zip(*texts, strict=True))
        keep = [k for k, col in enumerate(columns) if sum(col) >= MIN_COUNT
                and sum(1 for x in col if x) >= MIN_DOC_SHARE * len(texts) - 1e-9]
        rates = [  # [group][word] -> that word's relative frequency in each text of the group
            list(zip(*([row[k] / size for k in keep] for row, size in zip(*g, strict=True)),
                     strict=True))
            for g in groups]
        group_means = [[statistics.fmean(col) for col in cols] for cols in rates]
        means = [statistics.fmean(col) for col in zip(*group_means, strict=True)]
        sds = _pooled_sds(rates, group_means, means)
        totals = [sum(columns[k]) for k in keep]
        ranked = sorted((i for i, sd in enumerate(sds) if sd > 0),
                        key=lambda i: (-totals[i], table.words[keep[i]]))[:max_words]
        return cls(tuple(table.words[keep[i]] for i in ranked), tuple(means[i] for i in ranked),
                   tuple(sds[i] for i in ranked))

    def z(self, counts: Counter[str]) -> list[float]:
        """z-scores of one text's relative frequencies."""
        return self._z(_rates(counts, self.words))

    def centroid(self, texts: Sequence[Counter[str]]) -> list[float]:
        """z-scores of the mean relative frequencies of `texts` (an author's profile)."""
        columns = zip(*(_rates(c, self.words) for c in texts), strict=True)
        return self._z([statistics.fmean(col) for col in columns])

    def _z(self, rates: Sequence[float]) -> list[float]:
        return [(r - m) / s for r, m, s in zip(rates, self.means, self.sds, strict=True)]


def delta(a: Sequence[float], b: Sequence[float]) -> float:
    """Burrows' Delta between two z-score profiles (lower = closer)."""
    return statistics.fmean(abs(x - y) for x, y in zip(a, b, strict=True)) if a else 0.0


def _rates(counts: Counter[str], words: Sequence[str]) -> list[float]:
    total = counts.total()
    return [counts.get(w, 0) / total if total else 0.0 for w in words]


def _pooled_sds(columns: list[list[tuple[float, ...]]], group_means: list[list[float]],
                means: list[float]) -> list[float]:
    """Pooled within-group sd per word; the plain sd over all texts when no group has two."""
    n_texts = sum(len(cols[0]) for cols in columns if cols)
    dof = n_texts - len(columns)
    sds = []
    for k, mean in enumerate(means):
        if dof > 0:
            squares = sum(sum((x - ms[k]) ** 2 for x in cols[k])
                          for cols, ms in zip(columns, group_means, strict=True))
        else:
            squares = sum((x - mean) ** 2 for cols in columns for x in cols[k])
        sds.append(math.sqrt(squares / (dof if dof > 0 else n_texts - 1)))
    return sds
