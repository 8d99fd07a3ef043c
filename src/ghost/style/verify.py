"""Is a draft by the author, or by someone else who writes in the same genre?

Burrows' Delta says how far a draft is from the author's samples; it cannot say whether another
writer of the same kind would be just as far. This module weighs the draft's function-word
rates (a fixed list of ~280 English words, so topic does not count) in two hypotheses:

- the author wrote it: each word's rate follows the author's, with the author's own spread
  from text to text plus the counting noise of a text of the draft's length;
- an impostor wrote it: a writer whose rate of each word differs from the author's by the
  spread usual between writers (BETWEEN_AUTHORS, relative). This is the General Impostors idea
  (Koppel & Winter 2014) with the impostors' profiles integrated out rather than sampled, so it
  needs no impostor texts and gives the same answer every run.

The evidence is the log-likelihood ratio, impostor over author, summed over the words (each word
capped, so one odd word cannot decide alone). The author's rates are smoothed toward general
English (wordfreq's frequencies, PRIOR_WORDS words' worth), so a word the samples never use is
expected at its everyday rate, not at zero. The draft's evidence is read against the same
evidence for each sample held out from the rest (`held_out_evidence`): that spread is the
calibration, and its thresholds were tuned on the Federalist papers (bench/bench_style.py).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

PRIOR_WORDS = 2000.0
BETWEEN_AUTHORS = 0.5
MAX_WORD_EVIDENCE = 8.0


@lru_cache(maxsize=1)
def function_words() -> tuple[str, ...]:
    """The shipped list of English function words, sorted."""
    text = resources.files("ghost").joinpath("data/function_words.txt").read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def general_english() -> tuple[float, ...]:
    """Each function word's frequency in general English, from wordfreq (offline data)."""
    from wordfreq import word_frequency  # slow to import; ghost --help must not pay for it

    return tuple(word_frequency(w, "en") for w in function_words())


@dataclass(frozen=True)
class Text:
    """One text reduced to what the verdict needs: its function-word counts and its length."""

    counts: tuple[int, ...]
    n_words: int

    @classmethod
    def of(cls, counts: Counter[str], n_words: int | None = None) -> Text:
        """Counts in the order of `function_words()`; other words only add to the length.

        >>> text = Text.of(Counter("the cat and the hat".split()))
        >>> text.n_words, text.counts[function_words().index("the")]
        (5, 2)
        """
        return cls(tuple(counts.get(w, 0) for w in function_words()),
                   counts.total() if n_words is None else n_words)


@dataclass(frozen=True)
class SampleSums:
    """Sums over the samples that fix an author model; one sample can be taken out in O(words)."""

    counts: tuple[float, ...]  # per word: occurrences in all samples
    rates: tuple[float, ...]  # per word: sum of the samples' rates
    squares: tuple[float, ...]  # per word: sum of squared rates
    n_words: float
    inverse_lengths: float  # sum of 1/n over samples (for the counting noise)
    n_texts: int

    @classmethod
    def of(cls, texts: Sequence[Text]) -> SampleSums:
        zero = cls(tuple(0.0 for _ in function_words()), tuple(0.0 for _ in function_words()),
                   tuple(0.0 for _ in function_words()), 0.0, 0.0, 0)
        for text in texts:
            zero = zero.plus(text, 1)
        return zero

    def plus(self, text: Text, sign: int) -> SampleSums:
        """These sums with `text` added (sign 1) or taken out (sign -1)."""
        n = text.n_words
        return SampleSums(
            tuple(a + sign * k for a, k in zip(self.counts, text.counts, strict=True)),
            tuple(a + sign * k / n for a, k in zip(self.rates, text.counts, strict=True)),
            tuple(a + sign * (k / n) ** 2 for a, k in zip(self.squares, text.counts, strict=True)),
            self.n_words + sign * n, self.inverse_lengths + sign / n, self.n_texts + sign)


@dataclass(frozen=True)
class AuthorModel:
    """Per function word: the author's rate and its spread between the author's texts."""

    rates: tuple[float, ...]
    spreads: tuple[float, ...]  # variance of the rate between texts, beyond counting noise

    @classmethod
    def fit(cls, sums: SampleSums) -> AuthorModel:
        """Needs two samples or more (the spread between them is part of the model)."""
        if sums.n_texts < 2:
            raise ValueError("an author model needs at least two samples")
        m = sums.n_texts
        rates, spreads = [], []
        for total, r1, r2, everyday in zip(sums.counts, sums.rates, sums.squares,
                                           general_english(), strict=True):
            p = (total + PRIOR_WORDS * everyday) / (sums.n_words + PRIOR_WORDS)
            between = (r2 - 2 * p * r1 + m * p * p) / (m - 1)
            noise = p * (1 - p) * sums.inverse_lengths / m
            rates.append(p)
            spreads.append(max(between - noise, 0.0))
        return cls(tuple(rates), tuple(spreads))

    def evidence(self, text: Text) -> float:
        """Log-likelihood ratio, impostor over author (higher: less like the author)."""
        n = text.n_words
        total = 0.0
        for k, p, tau2 in zip(text.counts, self.rates, self.spreads, strict=True):
            if p <= 0:
                continue
            own = p * (1 - p) / n + tau2
            other = (BETWEEN_AUTHORS * p) ** 2
            gap = (k / n - p) ** 2
            word = 0.5 * gap * (1 / own - 1 / (own + other)) - 0.5 * math.log1p(other / own)
            total += min(word, MAX_WORD_EVIDENCE)
        return total


def held_out_evidence(texts: Sequence[Text], cut: Sequence[Text]) -> list[float]:
    """Each sample's evidence (as cut to the draft's length, `cut[i]`) against the rest."""
    sums = SampleSums.of(texts)
    return [AuthorModel.fit(sums.plus(text, -1)).evidence(piece)
            for text, piece in zip(texts, cut, strict=True)]


def draft_evidence(model: AuthorModel, pieces: Sequence[Text]) -> float:
    """The draft's evidence: the mean over pieces of about a sample's length."""
    return statistics.fmean(model.evidence(p) for p in pieces)
