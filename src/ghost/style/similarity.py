"""Offline topic similarity: TF-IDF vectors over content words, cosine between them."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"[a-z][a-z'-]{2,}")
# Function words carry style, not topic; leave them to the stylometry.
_STOP = frozenset("""
the and that this with from have has had was were are for not but you your our their they them
his her she him its it's what which who whom when where why how all any can could would should
will just than then there here into onto about over under more most much many some such only
also very been being because while these those each other same own out off again once one two
""".split())


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def tfidf_vectors(texts: Sequence[str]) -> list[dict[str, float]]:
    counts = [Counter(content_words(t)) for t in texts]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    n = len(texts)
    vectors = []
    for c in counts:
        total = sum(c.values()) or 1
        vec = {w: (k / total) * math.log((1 + n) / (1 + df[w])) for w, k in c.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({w: v / norm for w, v in vec.items()})
    return vectors


def similarities(query: str, documents: Sequence[str]) -> list[float]:
    """Cosine similarity of `query` to each document, with IDF over documents + query."""
    vectors = tfidf_vectors([*documents, query])
    q = vectors[-1]
    return [sum(v * q.get(w, 0.0) for w, v in d.items()) for d in vectors[:-1]]
