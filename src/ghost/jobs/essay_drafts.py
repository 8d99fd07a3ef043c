"""Several drafts of one essay on one cached prefix, ranked by the style check, and one revision
that feeds the measured differences back.

    requests = [essay_request(system, samples, episode, 4096, draft=n, ttl="1h")
                for n in (1, 2, 3)]       # same prefix bytes; told apart by Request.variant
    ranked = rank_drafts([DraftScore(1, text1, report1), DraftScore(2, text2, report2)])
    ranked[0].number                      # the draft the style check likes best
    revision_guidance(report, profile, draft, target_words=480)
    # ['- it is 310 words long; the host's essays run about 480',
    #  '- sentences 40% longer (28 vs 20 words)', '- uses "delve" more often than …']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Message, Part, Request
from ghost.plan import StagePlan
from ghost.style.style_report import StyleReport
from ghost.style.voice import VoiceProfile

LONG_TTL = "1h"           # the prefix is cached this long when several calls share it
LENGTH_TOLERANCE = 0.15   # a draft this far off its target length is told so
MAX_GUIDANCE = 10


@dataclass(frozen=True)
class DraftScore:
    """One draft as the style check saw it (`report` a StyleReport, None when unscored)."""

    number: int           # 1, 2, … as asked; 0 for the revision
    text: str
    report: StyleReport | None
    reply: str = ""       # the whole reply, SOURCES lines included

    @property
    def key(self) -> tuple[float, float, float]:
        return draft_rank_key(self.report)

    def to_dict(self) -> dict[str, Any]:
        report = self.report
        return {"draft": self.number if self.number else "revision",
                "verdict": report.verdict if report is not None else None,
                "delta": round(report.draft_delta, 4) if report is not None else None,
                "z": round(report.z, 3) if report is not None and report.z is not None
                else None,
                "score": (round(report.calibrated_z, 3) if report is not None
                          and report.calibrated_z is not None else None),
                "cliches": list(report.cliches) if report is not None else [],
                "words": report.draft_words if report is not None else len(self.text.split())}


def draft_rank_key(report: StyleReport | None) -> tuple[float, float, float]:
    """Lower is better: the style check's own order (verdict, calibrated score, cliché rate);
    a draft the check could not score comes last."""
    if report is None:
        return (math.inf, math.inf, math.inf)
    rank, score, cliches = report.rank_key()
    return (float(rank), score, cliches)


def rank_drafts(drafts: Sequence[DraftScore]) -> list[DraftScore]:
    """Best first; on a tie the earlier draft stays ahead."""
    return sorted(drafts, key=lambda d: (d.key, d.number))


def revision_guidance(report: StyleReport | None, profile: VoiceProfile | None, draft: str, *,
                      target_words: int) -> list[str]:
    """What the style check measured, as lines a writer can act on (none: nothing to fix):
    the length against the host's, the habits the host never has, then the report's
    differences and clichés (style/revision.py)."""
    from ghost.style.revision import revision_notes

    lines: list[str] = []
    words = len(draft.split())
    if target_words and abs(words - target_words) > LENGTH_TOLERANCE * target_words:
        lines.append(f"it is {words} words long; the host's essays run about {target_words}")
    if profile is not None:
        lines += profile.violations(draft)
    if report is not None:
        lines += revision_notes(report)
    return [f"- {line}" for line in lines[:MAX_GUIDANCE]]


def essay_request(system: str, samples_part: str, episode_part: str, max_tokens: int, *,
                  draft: int = 1, ttl: str = "") -> Request:
    """The essay call; draft 2, 3, … ask the same and are cached apart (a new draft pays for
    this call only). `ttl` "1h" keeps the prefix cached for an hour: several drafts, or a
    revision after them, read it instead of writing it again."""
    return Request(system, (Message.user(Part(samples_part, cache=True, cache_ttl=ttl),
                                         Part("\n\n" + episode_part)),),
                   max_tokens=max_tokens, temperature=0.7, stage="essay",
                   variant=f"draft {draft}" if draft > 1 else "")


def revise_request(first: Request, reply: str, revise_part: str) -> Request:
    """The revision call: the essay call, the chosen draft as the model's answer, then what to
    fix. Its prefix (instructions and samples) is the drafts' cached prefix."""
    messages = (*first.messages, Message.assistant(reply), Message.user(revise_part))
    return Request(first.system, messages, max_tokens=first.max_tokens,
                   temperature=first.temperature, stage="revise")


def cache_write_tokens(info: ModelInfo, prefix_tokens: int) -> int:
    """Tokens of the essay call billed at the cache-write price on a cold cache: the cached
    prefix when the provider will cache it, else none."""
    if info.prices is None or prefix_tokens < info.cache_min_tokens:
        return 0
    return prefix_tokens


def prefix_cache_note(info: ModelInfo, prefix_tokens: int, stage: StagePlan) -> str:
    """What provider prompt caching does to the essay calls' price, for the plan."""
    if info.prices is None or not cache_write_tokens(info, prefix_tokens):
        return (f"the instructions and samples ({prefix_tokens:,} tokens) are below "
                f"{info.spec}'s {info.cache_min_tokens:,}-token caching minimum")
    prices, calls = info.prices, max(1, stage.calls)
    rest = max(0, stage.input_tokens // calls - prefix_tokens)
    out = (stage.output_tokens / calls + info.expected_thinking) * prices.output
    write = prefix_tokens * prices.write_price(stage.cache_ttl)
    first = (write + rest * prices.input + out) / 1e6
    later = (prefix_tokens * prices.cache_read + rest * prices.input + out) / 1e6
    idle = "an idle hour" if stage.cache_ttl == LONG_TTL else "5 idle minutes"
    text = (f"prompt caching: the {prefix_tokens:,}-token sample pack is a cached prefix; an "
            f"essay call costs about ${first:.4f} when it is written (first episode, or after "
            f"{idle}) and ${later:.4f} when it is read")
    if calls > 1:
        text += (f"; {calls} drafts on it cost about ${first + (calls - 1) * later:.4f} "
                 f"(the first writes it for {LONG_TTL}, at "
                 f"{prices.write_price(LONG_TTL) / prices.input:.2g}x the input price)")
    if calls == 1:
        return text + "; the estimate and --budget assume it is written"
    return text + ("; the estimate and --budget assume the first draft writes it and the "
                   "others pay the full input price for it")
