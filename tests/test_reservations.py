"""The hard cap's arithmetic: every call reserves its worst case, a call the budget cannot cover
is shortened to what is left or refused, and the plan shows the worst case beside the estimate."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import pytest
from conftest import FakeModel, fake_stage

from ghost.cache import ResponseCache
from ghost.errors import BudgetExceeded
from ghost.ledger import Ledger, worst_input_tokens
from ghost.manifest import Manifest
from ghost.models.catalog import load_catalog
from ghost.models.protocol import Completion, Message, Part, Request, Usage
from ghost.models.reply_checks import prompt_tokens
from ghost.models.runner import Runner
from ghost.models.worst_case import clamped, least_useful, worst_cost, writes_cache
from ghost.plan import Plan, StagePlan
from ghost.providers.anthropic import build_params

HAIKU = "anthropic:claude-haiku-4-5"   # $1 in, $1.25 cache write, $5 out; caches from 4096
OPUS = "anthropic:claude-opus-5-5"     # $4 in, $5 cache write, $20 out; thinks (16,000)


def req(text: str = "FACT-1 a short note", max_tokens: int = 1000) -> Request:
    return Request("system", (Message.user(text),), max_tokens=max_tokens, stage="map")


class WorstModel(FakeModel):
    """A fake that bills every call its worst case: all input as a cache write when it marks a
    cacheable prefix, and the whole output the provider is asked for."""

    def __init__(self, spec: str, delay: float = 0.0):
        super().__init__(spec)
        self.info = load_catalog().resolve(spec)
        self.delay = delay

    def complete(self, request: Request) -> Completion:
        done = super().complete(request)
        time.sleep(self.delay)
        tokens = worst_input_tokens(prompt_tokens(self.info, request))
        written = tokens if writes_cache(self.info, request) else 0
        done.usage = Usage(tokens - written, self.info.asked_output(request.max_tokens),
                           cache_write_tokens=written)
        return done


def worst_stage(spec: str = HAIKU, delay: float = 0.0):
    stage = fake_stage("map", spec)
    return replace(stage, model=WorstModel(spec, delay))


def runner(budget: float | None, tmp_path=None, concurrency: int = 1) -> Runner:
    cache = ResponseCache(tmp_path / "cache") if tmp_path is not None else None
    return Runner(Ledger(budget), cache, Manifest("test"), concurrency=concurrency)


# ------------------------------------------------------------------ the reservation formula


def test_worst_case_is_full_max_tokens_at_the_output_price() -> None:
    info = load_catalog().resolve(HAIKU)
    r = req(max_tokens=1000)
    tokens = worst_input_tokens(prompt_tokens(info, r))
    assert tokens == math.ceil(prompt_tokens(info, r) * 1.25) + 16  # counts are estimates
    assert worst_cost(info, r) == pytest.approx((tokens * 1.00 + 1000 * 5) / 1e6)
    assert worst_cost(info, r, 0.5) == pytest.approx(worst_cost(info, r) / 2)  # batch discount


def test_a_cacheable_prefix_prices_all_input_as_a_cache_write() -> None:
    info = load_catalog().resolve(HAIKU)
    long = "word " * 5000  # over haiku's 4096-token caching minimum
    marked = Request("system", (Message.user(Part(long, cache=True), Part("tail")),),
                     max_tokens=100)
    plain = replace(marked, messages=(Message.user(long, "tail"),))
    short = Request("system", (Message.user(Part("tiny", cache=True)),), max_tokens=100)
    assert writes_cache(info, marked) and not writes_cache(info, plain)
    assert not writes_cache(info, short)  # the provider would not cache it
    assert writes_cache(info, Request(long, (Message.user("x"),), cache_system=True))
    tokens = worst_input_tokens(prompt_tokens(info, marked))
    assert worst_cost(info, marked) == pytest.approx((tokens * 1.25 + 100 * 5) / 1e6)
    assert worst_cost(info, plain) == pytest.approx((tokens * 1.00 + 100 * 5) / 1e6)


def test_a_thinking_model_reserves_its_allowance_as_the_adapter_asks_for_it() -> None:
    info = load_catalog().resolve(OPUS)
    r = req(max_tokens=8192)
    assert info.asked_output(8192) == 8192 + 16_000
    assert build_params(info, r)["max_tokens"] == info.asked_output(8192)  # one shared rule
    assert info.asked_output(120_000) == 128_000  # capped at max_output
    assert worst_cost(info, r) == pytest.approx(
        (worst_input_tokens(prompt_tokens(info, r)) * 4 + (8192 + 16_000) * 20) / 1e6)


def test_the_runner_reserves_the_worst_case_while_the_call_runs() -> None:
    stage = fake_stage("map", OPUS)
    held: list[float] = []
    run = runner(budget=None)
    stage.model.responder = lambda r: held.append(run.ledger._reserved) or "ok"  # type: ignore[attr-defined]
    run.call(stage, req(max_tokens=2000), expected_output=10)
    assert held == [pytest.approx(worst_cost(stage.info, req(max_tokens=2000)))]
    assert run.ledger._reserved == 0


# ------------------------------------------------------------------ clamping


def test_a_call_that_fits_at_its_worst_runs_unchanged() -> None:
    stage = worst_stage()
    run = runner(budget=worst_cost(stage.info, req()))
    done = run.call(stage, req())
    assert stage.model.history[0].max_tokens == 1000 and done.clamped_to is None  # type: ignore[attr-defined]
    assert run.ledger.spent == pytest.approx(run.ledger.budget)


def test_a_call_past_what_is_left_is_shortened_to_fit(tmp_path) -> None:
    stage = worst_stage()
    budget = worst_cost(stage.info, req(max_tokens=600))
    run = runner(budget, tmp_path)
    done = run.call(stage, req())
    sent = stage.model.history[0]  # type: ignore[attr-defined]
    assert 590 <= sent.max_tokens <= 600 and done.clamped_to == sent.max_tokens
    assert run.ledger.spent <= budget
    # Cached under the shortened request's own key: a larger budget asks for the full answer.
    again = runner(1.0, tmp_path)
    assert again.call(stage, req()).clamped_to is None
    assert [r.max_tokens for r in stage.model.history] == [sent.max_tokens, 1000]  # type: ignore[attr-defined]


def test_too_little_left_for_a_useful_answer_stops_without_a_call() -> None:
    stage = worst_stage()
    floor = least_useful(stage.info, req())
    assert floor == 256  # max(256, a quarter of 1000)
    run = runner(worst_cost(stage.info, req(max_tokens=floor - 1)))
    with pytest.raises(BudgetExceeded, match="up to"):
        run.call(stage, req())
    assert stage.model.history == [] and run.ledger.spent == 0  # type: ignore[attr-defined]


def test_the_floor_is_a_quarter_of_what_was_asked() -> None:
    info = load_catalog().resolve(HAIKU)
    assert least_useful(info, req(max_tokens=4000)) == 1000
    assert least_useful(info, req(max_tokens=200)) is None  # asks for little already: no clamp
    assert clamped(info, req(max_tokens=4000), worst_cost(info, req(max_tokens=999))) is None
    shorter = clamped(info, req(max_tokens=4000), worst_cost(info, req(max_tokens=1500)))
    assert shorter is not None and 1499 <= shorter.max_tokens <= 1500


def test_a_thinking_model_is_shortened_only_with_room_to_answer_after_thinking() -> None:
    info = load_catalog().resolve(OPUS)
    r = req(max_tokens=8192)
    assert least_useful(info, r) == 2048
    shorter = clamped(info, r, worst_cost(info, req(max_tokens=3000)))
    assert shorter is not None and 2999 <= shorter.max_tokens <= 3000  # allowance kept whole
    assert clamped(info, r, worst_cost(info, req(max_tokens=2000))) is None
    cramped = replace(info, max_output=16_200)  # no room left after a full allowance
    assert least_useful(cramped, r) is None


def test_the_ledger_shortens_or_refuses_in_one_locked_step() -> None:
    ledger = Ledger(1.0)
    assert ledger.reserve(0.7) == 0.7
    assert ledger.reserve(0.5, least=0.2) == pytest.approx(0.3)  # all that is left
    with pytest.raises(BudgetExceeded, match="held for calls in flight"):
        ledger.reserve(0.1, least=0.05)
    ledger.release(0.7)
    ledger.release(0.3)
    assert ledger.reserve(1.0) == 1.0


def test_a_call_waits_for_the_calls_in_flight_before_it_shortens_or_stops() -> None:
    ledger = Ledger(1.0)
    ledger.reserve(0.8)  # in flight: its worst case, which it will mostly give back
    got: list[float] = []
    waiter = threading.Thread(target=lambda: got.append(ledger.reserve(0.5, wait=True)))
    waiter.start()
    time.sleep(0.1)
    assert got == []  # waiting, not refused
    ledger.settle(0.8, "map", load_catalog().resolve(HAIKU), Usage(0, 20_000))  # $0.10
    waiter.join(5)
    assert got == [0.5] and ledger.spent == pytest.approx(0.1)


def test_money_held_for_batches_does_not_make_calls_wait() -> None:
    ledger = Ledger(1.0)
    ledger.hold(0.9)
    with pytest.raises(BudgetExceeded, match="sent in batches"):
        ledger.reserve(0.2, wait=True)  # nothing in flight: refused at once


@pytest.mark.parametrize("share", [0.3, 0.55, 0.98, 1.0])
def test_many_calls_at_once_never_spend_past_the_budget(share: float) -> None:
    stage = worst_stage(delay=0.01)
    requests = [req(f"FACT-{i} " + "word " * (50 * i), max_tokens=1024) for i in range(12)]
    budget = share * sum(worst_cost(stage.info, r) for r in requests)
    run = runner(budget, concurrency=8)
    try:
        run.map(stage, requests)
        stopped = False
    except BudgetExceeded:
        stopped = True
    assert run.ledger.spent <= budget + 1e-9 and run.ledger._reserved == 0  # float sums
    history = stage.model.history  # type: ignore[attr-defined]
    shortened = [r.max_tokens for r in history if r.max_tokens < 1024]
    assert all(m >= 256 for m in shortened)
    if share == 1.0:
        assert not stopped and not shortened and len(history) == 12
    else:  # past the budget at their worst: some calls were shortened, or the run stopped
        assert stopped or shortened
        assert run.ledger.spent > budget * 0.5  # it waited for money in flight, not gave up


# ------------------------------------------------------------------ the plan


def test_the_plan_shows_the_worst_case_beside_the_estimate() -> None:
    info = load_catalog().resolve(OPUS)
    stage = StagePlan("reduce", info, 1, 2_000, 800, max_tokens=8192)
    assert stage.worst_cost == pytest.approx((2_516 * 4 + 24_192 * 20) / 1e6)
    assert stage.cost is not None and stage.cost < stage.worst_cost
    written = StagePlan("essay", info, 1, 2_000, 800, cache_write_tokens=1_500, max_tokens=8192)
    assert written.worst_cost == pytest.approx((2_516 * 5 + 24_192 * 20) / 1e6)
    half = StagePlan("map", info, 4, 8_000, 800, cached_calls=2, max_tokens=1000, discount=0.5)
    assert half.worst_cost == pytest.approx((10_064 * 4 + 4 * 17_000 * 20) / 1e6 / 2 / 2)
    plan = Plan({"source": "x"}, [stage, half])
    data = plan.to_dict()
    assert data["worst_case_cost_usd"] == pytest.approx(stage.worst_cost + half.worst_cost,
                                                        abs=1e-6)
    assert data["stages"][0]["worst_cost_usd"] > data["stages"][0]["cost_usd"]
    assert data["stages"][0]["max_tokens"] == 8192
    text = plan.render()
    assert "worst case" in text.splitlines()[2] and f"${plan.worst_cost:.4f}" in text
    # The up-front check stays on the expected cost: the worst case is enforced as it runs.
    plan.check_budget((plan.cost or 0) * 1.01)
