"""Choose and order the style samples that go in front of the strong model.

All samples that fit go in, oldest-first-stable order so the pack is byte-identical from one
episode to the next (that is what makes it a cacheable prefix). When they do not all fit, the
choice is deterministic: the most recent ones first (a third of the budget), then the ones most
similar in topic to this episode's notes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ghost.ingest.samples import Sample, order_samples_by_recency
from ghost.style.similarity import similarities

RECENT_SHARE = 1 / 3


@dataclass(frozen=True)
class SamplePack:
    samples: tuple[Sample, ...]
    tokens: int
    available: int
    reason: str  # "all" or "recent+similar"

    @property
    def complete(self) -> bool:
        return len(self.samples) == self.available

    def describe(self) -> list[dict[str, str | None]]:
        return [{"title": s.title, "date": s.date.isoformat() if s.date else None,
                 "path": str(s.path)} for s in self.samples]


def _pack_order(chosen: Sequence[Sample]) -> tuple[Sample, ...]:
    # Oldest first, undated last, then by path: stable, and new essays append at the end.
    return tuple(sorted(chosen, key=lambda s: (s.date is None, s.date or 0, str(s.path))))


def choose_samples(samples: Sequence[Sample], *, budget: int, count_tokens: Callable[[str], int],
                   topic: str) -> SamplePack:
    sizes = {s.path: count_tokens(s.text) + 30 for s in samples}  # 30: per-essay framing
    total = sum(sizes.values())
    if total <= budget:
        return SamplePack(_pack_order(samples), total, len(samples), "all")
    chosen: list[Sample] = []
    used = 0
    for sample in order_samples_by_recency(list(samples)):
        if used + sizes[sample.path] > budget * RECENT_SHARE:
            break
        chosen.append(sample)
        used += sizes[sample.path]
    rest = [s for s in samples if s not in chosen]
    scores = similarities(topic, [s.text for s in rest]) if rest and topic else [0.0] * len(rest)
    ranked = sorted(zip(rest, scores, strict=True), key=lambda p: (-p[1], str(p[0].path)))
    for sample, _score in ranked:
        if used + sizes[sample.path] <= budget:
            chosen.append(sample)
            used += sizes[sample.path]
    return SamplePack(_pack_order(chosen), used, len(samples), "recent+similar")
