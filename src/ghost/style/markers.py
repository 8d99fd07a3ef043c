"""Countable features of a text: word counts, sentence lengths and punctuation marks."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

# Letters (any script) joined by in-word apostrophes: "don't", "nation's", "l'esprit".
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# A sentence ends at . ! ? … (and closing quotes/brackets) before whitespace and something other
# than a lowercase letter ("e.g. this", "wait... what"), or at a blank line.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?![a-z])|\n[ \t]*\n")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_MD_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t].*$", re.MULTILINE)

# Punctuation profile: mark name -> pattern. Rates are per 1000 words.
PUNCTUATION: dict[str, re.Pattern[str]] = {
    "commas": re.compile(r","),
    "semicolons": re.compile(r";"),
    "colons": re.compile(r":"),
    "em dashes": re.compile(r"—|(?<!-)--(?!-)"),
    "en dashes": re.compile(r"–"),
    "exclamation marks": re.compile(r"!"),
    "question marks": re.compile(r"\?"),
    "parentheses": re.compile(r"\("),
    "double quotes": re.compile(r"[\"“”]"),
    "single quotes": re.compile(r"(?<![^\W\d_])['‘’]|['‘’](?![^\W\d_])"),
    "ellipses": re.compile(r"…|\.\.\."),
}


def normalize(text: str) -> str:
    """Drop Markdown headings, link targets and bare URLs: they are not prose."""
    text = _MD_HEADING.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    return _URL.sub("", text)


def tokenize(text: str) -> list[str]:
    """Lowercase words. Numbers and punctuation are dropped; hyphenated words split."""
    return _WORD.findall(text.lower().replace("’", "'"))


@dataclass(frozen=True)
class TextFeatures:
    """The words, words per sentence and punctuation counts of one text."""

    words: tuple[str, ...]
    sentence_lengths: tuple[int, ...]
    punctuation: dict[str, int]
    word_counts: Counter[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "word_counts", Counter(self.words))

    @property
    def n_words(self) -> int:
        return len(self.words)

    def counts(self, limit: int | None = None) -> Counter[str]:
        """Word counts, of the first `limit` words when given (do not modify the result)."""
        if limit is None or limit >= len(self.words):
            return self.word_counts
        return Counter(self.words[:limit])

    def secondary(self) -> dict[str, float]:
        """Sentence-length mean/sd (words) and punctuation rates (per 1000 words)."""
        lengths = self.sentence_lengths
        values = {
            "sentence length": statistics.fmean(lengths) if lengths else 0.0,
            "sentence length spread": statistics.pstdev(lengths) if lengths else 0.0,
        }
        per_1000 = 1000 / self.n_words if self.n_words else 0.0
        values.update({name: count * per_1000 for name, count in self.punctuation.items()})
        return values

    def parts(self, k: int) -> list[Counter[str]]:
        """Word counts of `k` consecutive, nearly equal parts of the text."""
        n = self.n_words
        return [Counter(self.words[i * n // k:(i + 1) * n // k]) for i in range(k)]


def extract(text: str) -> TextFeatures:
    """Features of `text` (Markdown headings, link targets and URLs are ignored)."""
    clean = normalize(text)
    lengths = tuple(n for n in (len(tokenize(s)) for s in _SENTENCE_BREAK.split(clean)) if n)
    punctuation = {name: len(pattern.findall(clean)) for name, pattern in PUNCTUATION.items()}
    return TextFeatures(tuple(tokenize(clean)), lengths, punctuation)
