"""The plan of a run — calls, tokens and dollars per stage — shown by --dry-run and checked
against --budget before the first call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ghost.errors import BudgetError
from ghost.ledger import format_table, usage_cost, worst_input_tokens
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Usage


@dataclass
class StagePlan:
    name: str
    info: ModelInfo
    calls: int
    input_tokens: int
    output_tokens: int
    cached_calls: int = 0
    note: str = ""
    discount: float = 0.0  # batch API
    # Of input_tokens, those written to the provider's prompt cache (billed at its cache-write
    # price, e.g. 1.25x input on Anthropic): the worst case, a cold cache.
    cache_write_tokens: int = 0
    # The max_tokens each call asks for, for the worst case (None: the model's max_output).
    max_tokens: int | None = None
    cache_ttl: str = ""  # how long the written prefix is kept ("1h" costs more to write)

    @property
    def share(self) -> float:
        """The fraction of the calls not already cached."""
        return (self.calls - self.cached_calls) / self.calls if self.calls else 0.0

    @property
    def cost(self) -> float | None:
        """Estimated dollars for the calls not already cached."""
        if self.calls == 0:
            return 0.0
        share = self.share
        written = min(self.cache_write_tokens, self.input_tokens)
        output = self.output_tokens + self.calls * self.info.expected_thinking
        cost = usage_cost(self.info, Usage(int((self.input_tokens - written) * share),
                                           int(output * share),
                                           cache_write_tokens=int(written * share),
                                           cache_write_1h_tokens=int(written * share)
                                           if self.cache_ttl == "1h" else 0),
                          self.discount)
        return cost

    @property
    def worst_cost(self) -> float | None:
        """The most the calls not already cached can cost, as the run reserves it: each billed
        its full max_tokens plus the thinking allowance, and every input token (with the
        ledger's safety share) at the cache-write price when the stage writes the prompt
        cache (a cold cache)."""
        prices = self.info.prices
        if prices is None:
            return None
        asked = self.max_tokens if self.max_tokens is not None else self.info.max_output
        per_input = max(prices.input, prices.write_price(self.cache_ttl)) \
            if self.cache_write_tokens else prices.input
        total = (worst_input_tokens(self.input_tokens, self.calls) * per_input
                 + self.calls * self.info.asked_output(asked) * prices.output)
        return total * self.share / 1e6 * (1.0 - self.discount)

    def to_dict(self) -> dict[str, Any]:
        cost, worst = self.cost, self.worst_cost
        return {"stage": self.name, "model": self.info.spec, "calls": self.calls,
                "cached_calls": self.cached_calls, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "thinking_tokens": self.calls * self.info.expected_thinking,
                "cache_write_tokens": self.cache_write_tokens,
                "max_tokens": self.max_tokens,
                "cost_usd": round(cost, 6) if cost is not None else None,
                "worst_cost_usd": round(worst, 6) if worst is not None else None,
                "note": self.note}


@dataclass
class Plan:
    source: dict[str, Any]
    stages: list[StagePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def cost(self) -> float | None:
        costs = [s.cost for s in self.stages]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    @property
    def worst_cost(self) -> float | None:
        """The most the run can cost: what --budget reservations guard against."""
        costs = [s.worst_cost for s in self.stages]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    def unknown_prices(self) -> list[str]:
        return sorted({s.info.spec for s in self.stages if s.info.prices is None})

    def check_budget(self, budget: float | None) -> None:
        if budget is None:
            return
        unknown = self.unknown_prices()
        if unknown:
            raise BudgetError(f"cannot check --budget: no price for {', '.join(unknown)}; add it "
                              "to a models file (GHOST_MODELS or --models-file)")
        cost = self.cost or 0.0
        if cost > budget:
            raise BudgetError(f"estimated cost ${cost:.4f} exceeds --budget ${budget:.2f}; "
                              "raise the budget, use cheaper models (--map-model/--reduce-model) "
                              "or see the plan with --dry-run")

    def to_dict(self) -> dict[str, Any]:
        cost, worst = self.cost, self.worst_cost
        return {"source": self.source, "stages": [s.to_dict() for s in self.stages],
                "estimated_cost_usd": round(cost, 6) if cost is not None else None,
                "worst_case_cost_usd": round(worst, 6) if worst is not None else None,
                "unknown_prices": self.unknown_prices(), "notes": self.notes}

    def render(self) -> str:
        lines = [f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                 for k, v in self.source.items() if v not in (None, "", [])]
        rows = [("stage", "model", "calls", "cached", "input tok", "output tok", "est. cost",
                 "worst case")]
        for s in self.stages:
            rows.append((s.name, s.info.spec, str(s.calls), str(s.cached_calls),
                         f"{s.input_tokens:,}", f"{s.output_tokens:,}", _dollars(s.cost),
                         _dollars(s.worst_cost)))
        rows.append(("total", "", str(sum(s.calls for s in self.stages)), "", "", "",
                     _dollars(self.cost), _dollars(self.worst_cost)))
        lines += ["", format_table(rows)]
        lines += [f"note: {s.name}: {s.note}" for s in self.stages if s.note]
        lines += [f"note: {s.name}: {s.info.spec} always thinks first; the estimate adds about "
                  f"{s.info.expected_thinking:,} thinking tokens a call, billed as output"
                  for s in self.stages if s.info.expected_thinking]
        lines += [f"note: {n}" for n in self.notes]
        lines.append("note: worst case: every call billed its full max_tokens (thinking "
                     "included) on a cold prompt cache; with --budget, a call the budget "
                     "cannot cover at its worst is shortened or the run stops (exit 1)")
        if self.unknown_prices():
            lines.append("note: no price in the models table for "
                         + ", ".join(self.unknown_prices()))
        return "\n".join(lines)


def _dollars(amount: float | None) -> str:
    return f"${amount:.4f}" if amount is not None else "unknown"
