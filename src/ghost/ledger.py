"""Usage and cost per stage, and the budget guard that stops a run before it overspends."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ghost.errors import BudgetExceeded
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Usage

# Input is counted offline (the model's tokenizer, else cl100k plus the table's margin) and a
# provider may count more: a call's worst case allows a quarter more, plus a few tokens for
# the framing of its messages.
INPUT_SAFETY = 0.25
FRAMING_TOKENS = 16
# A call whose server sent no usage is billed what ghost counted (Usage.estimated), and the
# budget holds this share more against it: another tokenizer may count more than ghost's.
ESTIMATE_MARGIN = 0.25


def worst_input_tokens(counted: int, calls: int = 1) -> int:
    """The most input tokens `calls` calls counted at `counted` tokens may be billed for."""
    return math.ceil(counted * (1.0 + INPUT_SAFETY)) + FRAMING_TOKENS * calls


@dataclass
class StageTotals:
    model: str = ""
    calls: int = 0        # calls that reached a provider
    cached: int = 0       # calls answered from ghost's cache (free)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    cost_known: bool = True
    estimated: int = 0    # calls whose tokens ghost counted itself (the server sent none)
    cut_off: int = 0      # calls whose reply stopped at its max_tokens

    def to_dict(self) -> dict[str, Any]:
        d = {"model": self.model, "calls": self.calls, "cached": self.cached, **asdict(self.usage)}
        d["cost_usd"] = round(self.cost, 6) if self.cost_known else None
        d["estimated_calls"], d["cut_off_calls"] = self.estimated, self.cut_off
        return d


def usage_cost(info: ModelInfo, usage: Usage, discount: float = 0.0) -> float | None:
    """What `usage` costs; counted by ghost (`estimated`), with ESTIMATE_MARGIN on top."""
    if info.prices is None:
        return None
    cost = info.prices.cost(usage.input_tokens, usage.output_tokens, usage.cache_write_tokens,
                            usage.cache_read_tokens, discount, usage.cache_write_1h_tokens)
    return cost * (1.0 + ESTIMATE_MARGIN) if usage.estimated else cost


class Ledger:
    """Thread-safe totals per stage, plus reservations for calls in flight against a budget.

    A call reserves the most it can cost before it starts and settles for what it really cost
    once it is done, so spent + reserved never passes the budget: it is a hard cap.
    """

    def __init__(self, budget: float | None = None,
                 on_spend: Callable[[float], None] | None = None):
        self.budget = budget
        self.on_spend = on_spend  # told of every paid call at once (a crash loses no spend)
        self.stages: dict[str, StageTotals] = {}
        self._reserved = 0.0  # held by calls in flight (each ends in settle or release)
        self._flying = 0
        self._held = 0.0  # held to the end of the run: calls sent in provider batches
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)

    @property
    def spent(self) -> float:
        return sum(s.cost for s in self.stages.values())

    def reserve(self, estimate: float, *, least: float | None = None,
                wait: bool = False) -> float:
        """Claim up to `estimate` dollars for a call about to start; returns what was claimed.

        When the budget cannot cover `estimate`: with `wait`, first wait for the calls in
        flight to settle (they hold their worst case and mostly give it back); then, if what
        is left is at least `least`, claim all of it (the caller shrinks its call to fit);
        else raise BudgetExceeded. The caller later settles or releases what it claimed.
        """
        with self._lock:
            while wait and self._flying and not self._fits(estimate):
                self._settled.wait()
            if not self._fits(estimate):
                left = self._left()
                if least is None or left < least:
                    raise BudgetExceeded(self._refusal(estimate))
                estimate = left
            self._reserved += estimate
            self._flying += 1
            return estimate

    def hold(self, estimate: float) -> None:
        """Claim `estimate` dollars until the end of the run (calls sent in a provider batch,
        billed when a later run collects them), or raise BudgetExceeded."""
        with self._lock:
            if not self._fits(estimate):
                raise BudgetExceeded(self._refusal(estimate))
            self._held += estimate

    def _left(self) -> float:
        assert self.budget is not None
        return self.budget - self.spent - self._reserved - self._held

    def _fits(self, estimate: float) -> bool:
        # a nano-dollar of slack: sums of floats must not refuse a call that fits exactly
        return self.budget is None or estimate <= self._left() + 1e-9

    def _refusal(self, estimate: float) -> str:
        assert self.budget is not None
        held = [f"${self._reserved:.4f} held for calls in flight"] if self._flying else []
        held += [f"${self._held:.4f} for calls sent in batches"] if self._held else []
        in_flight = f" with {' and '.join(held)}" if held else ""
        return (f"budget ${self.budget:.2f} reached: spent ${self.spent:.4f}{in_flight}, and "
                f"the next call (up to ${estimate:.4f}) could pass it; finished calls are "
                "cached, so re-running with a larger --budget pays only for what is left")

    def release(self, estimate: float) -> None:
        with self._lock:
            self._unreserve(estimate)

    def _unreserve(self, estimate: float) -> None:
        self._flying = max(0, self._flying - 1)
        # With nothing in flight nothing is held: no float dust left to refuse a call with.
        self._reserved = max(0.0, self._reserved - estimate) if self._flying else 0.0
        self._settled.notify_all()

    def settle(self, estimate: float, stage: str, info: ModelInfo, usage: Usage, *,
               discount: float = 0.0) -> None:
        """Swap a call's reservation for what it actually cost, in one step.

        Releasing first and recording after would open a window in which another thread sees
        neither and starts a call the budget cannot pay for.
        """
        with self._lock:
            self._unreserve(estimate)
            cost = self._record(stage, info, usage, cached=False, discount=discount)
        self._tell(cost)

    def record(self, stage: str, info: ModelInfo, usage: Usage, *, cached: bool,
               discount: float = 0.0) -> None:
        with self._lock:
            cost = self._record(stage, info, usage, cached=cached, discount=discount)
        self._tell(cost)

    def _record(self, stage: str, info: ModelInfo, usage: Usage, *, cached: bool,
                discount: float) -> float | None:
        totals = self.stages.setdefault(stage, StageTotals(model=info.spec))
        if cached:
            totals.cached += 1
            return None
        totals.calls += 1
        totals.estimated += usage.estimated
        totals.usage = totals.usage + usage
        cost = usage_cost(info, usage, discount)
        if cost is None:
            totals.cost_known = False
        else:
            totals.cost += cost
        return cost

    def _tell(self, cost: float | None) -> None:
        if cost and self.on_spend is not None:
            self.on_spend(cost)

    def cut_off(self, stage: str) -> int:
        """Count one more reply of `stage` cut off at its max_tokens; returns how many now."""
        with self._lock:
            totals = self.stages.setdefault(stage, StageTotals())
            totals.cut_off += 1
            return totals.cut_off

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.stages.values())

    @property
    def estimated(self) -> bool:
        """Whether any figure is ghost's own count (a server sent no usage)."""
        return any(s.estimated for s in self.stages.values())

    def to_dict(self) -> dict[str, Any]:
        return {"stages": {k: v.to_dict() for k, v in self.stages.items()},
                "total_cost_usd": round(self.spent, 6),
                "cost_complete": all(s.cost_known for s in self.stages.values()),
                "tokens_estimated": self.estimated,
                "budget_usd": self.budget}

    def render(self) -> str:
        """A short table for stderr."""
        rows = [("stage", "model", "calls", "cached", "input", "output", "cache w", "cache r",
                 "cost")]
        for name, s in self.stages.items():
            u = s.usage
            cost = f"${s.cost:.4f}" if s.cost_known else "unknown"
            about = "~" if s.estimated else ""  # counted by ghost: the server sent no usage
            rows.append((name, s.model, str(s.calls), str(s.cached), f"{about}{u.input_tokens:,}",
                         f"{about}{u.output_tokens:,}", f"{u.cache_write_tokens:,}",
                         f"{u.cache_read_tokens:,}", cost))
        total = f"${self.spent:.4f}" + ("" if self.to_dict()["cost_complete"] else " + unknown")
        rows.append(("total", "", str(self.calls), "", "", "", "", "", total))
        table = format_table(rows)
        if self.estimated:
            table += ("\n~ counted by ghost: the server sent no usage for "
                      f"{sum(s.estimated for s in self.stages.values())} calls")
        return table


def format_table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                    strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
