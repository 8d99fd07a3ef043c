"""The screened call (--screen): the screen and the main request start together; A uses the
main answer, B closes it and sends it again with a caution, C closes it; every closed stream is
in the ledger at its worst case."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ghost.models.protocol import Request
from ghost.models.worst_case import worst_cost, worst_usage
from ghost.options import RunOptions
from ghost.screen import guard
from ghost.session import Session
from standin import RecordedRequest, StandIn, count_tokens
from test_screen import (
    MAIN_SYSTEM,
    SOURCE,
    eventually,
    is_screen,
    main_request,
    mains,
    screens,
    system_text,
)

LONG_REPLY = " ".join(f"word{i}" for i in range(400))  # a stream of many pieces
GAP = 0.02  # seconds between two stream events: the long reply streams for several seconds


class Overlap:
    """A responder whose screen reply waits until the main request has arrived (and, with
    `streaming`, has begun to stream), then answers `letter`; the main request's reply waits
    until the screen request has arrived, then is `main_reply` (None: the stand-in's default
    reply). `saw_main` and `saw_screen` say the waits succeeded: both requests were in flight
    together (one after the other, each would have waited in vain)."""

    def __init__(self, standin: StandIn, letter: str, *, streaming: bool = False,
                 main_reply: str | None = None):
        self.standin, self.letter, self.streaming = standin, letter, streaming
        self.main_reply = main_reply
        self.saw_main, self.saw_screen = threading.Event(), threading.Event()

    def __call__(self, provider: str, body: dict[str, Any]) -> str | None:
        if not is_screen(body):
            if eventually(lambda: bool(screens(self.standin)), timeout=20):
                self.saw_screen.set()
            return self.main_reply
        if eventually(self._main_in_flight, timeout=20):
            self.saw_main.set()
        return self.letter

    def _main_in_flight(self) -> bool:
        return any(not self.streaming or r.events_sent >= 1 for r in mains(self.standin))


@pytest.fixture
def session(standin: StandIn, tmp_path: Path) -> Iterator[Session]:
    s = Session("test", RunOptions(cache_dir=tmp_path / "cache"))
    yield s
    s.close("ok")


def unscreened_text(tmp_path: Path, request: Request, name: str) -> str:
    """The reply the same request gets in a run without --screen (a fresh cache)."""
    plain = Session("plain", RunOptions(cache_dir=tmp_path / name))
    try:
        return plain.runner.call(plain.stage("reduce"), request).text
    finally:
        plain.close("ok")


def overlapped(a: RecordedRequest, b: RecordedRequest) -> bool:
    """Each request arrived before the other was answered."""
    return (a.finished is None or b.started < a.finished) and \
        (b.finished is None or a.started < b.finished)


def closed_early(record: RecordedRequest) -> Callable[[], bool]:
    return lambda: record.hung_up and record.events_sent < record.events


def test_a_both_requests_are_in_flight_together_and_the_answer_is_the_unscreened_one(
        session: Session, standin: StandIn, tmp_path: Path) -> None:
    script = Overlap(standin, "A")
    standin.responder = script
    stage, request = session.stage("reduce"), main_request()
    result = guard.screened_call(session, stage, request, text_to_screen=SOURCE)
    # Each was answered only once the other had arrived.
    assert script.saw_main.is_set() and script.saw_screen.is_set()
    [screen], [main] = screens(standin), mains(standin)
    assert overlapped(screen, main) and main.stream  # cancellable: streamed
    assert result.decision == "pass" and result.main_call == "used" and result.speculative
    assert result.request == request and result.speculative_cost is None
    assert session.is_cached(stage.info, request.digest())
    assert session.ledger.stages["write"].calls == 1
    assert result.text == unscreened_text(tmp_path, request, "plain")


@pytest.mark.parametrize("reduce_model", [None, "openai:gpt-4o"])
def test_c_closes_the_main_stream_early_and_the_ledger_holds_its_worst_case(
        standin: StandIn, tmp_path: Path, reduce_model: str | None) -> None:
    session = Session("test", RunOptions(cache_dir=tmp_path / "cache",
                                         reduce_model=reduce_model))
    standin.stream_gap = GAP
    script = Overlap(standin, "C", streaming=True, main_reply=LONG_REPLY)
    standin.responder = script
    stage, request = session.stage("reduce"), main_request()
    try:
        result = guard.screened_call(session, stage, request, text_to_screen=SOURCE)
        assert script.saw_main.is_set()
        assert result.cancelled and result.completion is None and result.request is None
        assert result.main_call == "closed" and result.speculative_closed
        [main] = mains(standin)
        # Closed by the client part-way: the stand-in stopped writing (and billing) then.
        assert eventually(closed_early(main))
        # In the ledger when screened_call returns: billed at the worst case it reserved,
        # which covers all the stand-in would have billed for the whole reply.
        totals = session.ledger.stages["write (cancelled)"]
        assert totals.calls == 1 and totals.usage == worst_usage(stage.info, request)
        assert totals.usage.prompt_tokens >= count_tokens(MAIN_SYSTEM + SOURCE)
        assert main.reply and totals.usage.output_tokens >= count_tokens(main.reply)
        assert totals.cost == pytest.approx(worst_cost(stage.info, request))
        assert result.speculative_cost == pytest.approx(totals.cost)
        assert "write" not in session.ledger.stages
        assert not session.is_cached(stage.info, request.digest())
    finally:
        session.close("ok")


def test_b_closes_the_speculative_stream_and_the_ledger_records_both_calls(
        session: Session, standin: StandIn, tmp_path: Path) -> None:
    standin.stream_gap = GAP
    script = Overlap(standin, "B", streaming=True)
    standin.responder = script
    stage, request = session.stage("reduce"), main_request()
    result = guard.screened_call(session, stage, request, text_to_screen=SOURCE)
    assert script.saw_main.is_set()
    assert result.decision == "caution" and result.main_call == "reissued"
    assert result.speculative_closed and result.request is not None
    first, second = mains(standin)
    assert system_text(first.body) == MAIN_SYSTEM
    assert "flagged the source as borderline" in system_text(second.body)
    assert eventually(closed_early(first)) and not second.hung_up
    ledger = session.ledger.stages
    assert ledger["write (cancelled)"].calls == 1 and ledger["write"].calls == 1
    assert ledger["write (cancelled)"].cost == pytest.approx(worst_cost(stage.info, request))
    report = result.to_dict()
    assert report["speculative_closed"] is True
    assert report["speculative_cost_usd"] == pytest.approx(worst_cost(stage.info, request),
                                                           abs=1e-6)
    assert not session.is_cached(stage.info, request.digest())  # the uncautioned one
    assert session.is_cached(stage.info, result.request.digest())
    standin.stream_gap = 0.0
    assert result.text == unscreened_text(tmp_path, result.request, "plain")


def test_the_plan_says_what_a_closed_main_call_costs(session: Session) -> None:
    session.options.screen = True
    plan = guard.guarded_screen_plan(session, 2000)
    assert plan is not None
    assert "closed" in plan.note and "(cancelled)" in plan.note and "$" in plan.note


def test_strict_mode_waits_for_the_verdict_and_c_sends_nothing(session: Session,
                                                               standin: StandIn) -> None:
    standin.responder = lambda provider, body: "C" if is_screen(body) else None
    result = guard.screened_call(session, session.stage("reduce"), main_request(),
                                 text_to_screen=SOURCE, head_start=None)
    assert result.cancelled and result.main_call == "not_started" and not result.speculative
    assert len(screens(standin)) == 1 and mains(standin) == []
    assert "write" not in session.ledger.stages


def test_strict_mode_b_sends_one_cautioned_request(session: Session, standin: StandIn) -> None:
    standin.responder = lambda provider, body: "B" if is_screen(body) else None
    result = guard.screened_call(session, session.stage("reduce"), main_request(),
                                 text_to_screen=SOURCE, head_start=None)
    assert result.decision == "caution" and result.main_call == "used"
    [main] = mains(standin)  # one main request: the caution did not cost a second one
    system = system_text(main.body)
    assert system.startswith(MAIN_SYSTEM) and "# CAUTION" in system
    assert "FACT-BREAD" not in system  # the caution is our text, not the source's
    assert result.request is not None and result.request.system == system


def test_cached_rerun_makes_no_call(session: Session, standin: StandIn) -> None:
    standin.responder = Overlap(standin, "B")
    stage = session.stage("reduce")
    first = guard.screened_call(session, stage, main_request(), text_to_screen=SOURCE)
    calls = standin.calls(status=None)
    second = guard.screened_call(session, stage, main_request(), text_to_screen=SOURCE)
    assert standin.calls(status=None) == calls  # cached verdict and main: no speculation
    assert second.text == first.text and not second.speculative
    assert second.completion is not None and second.completion.cached


def test_screen_failure_propagates_and_closes_the_main(session: Session,
                                                       standin: StandIn) -> None:
    from ghost.errors import GhostError

    standin.responder = lambda provider, body: None
    standin.fail_next(400, count=1, provider="openai")  # the screen's provider
    with pytest.raises(GhostError):
        guard.screened_call(session, session.stage("reduce"), main_request(),
                            text_to_screen=SOURCE, screen_spec="openai:gpt-4o-mini")
    # Whatever the main request did, it has landed: nothing is left in flight or reserved
    # (the stand-in's own thread may note the hang-up a moment after the client left).
    assert eventually(lambda: all(r.finished is not None for r in standin.requests))


def test_a_call_cancelled_before_it_starts_never_runs() -> None:
    ran: list[int] = []
    late = guard._Background(lambda: ran.append(1), "late", start=False)
    assert late.cancel() is False  # had not started
    late.start()
    assert eventually(late.future.done) and late.future.cancelled()
    assert ran == [] and not late.started
    early = guard._Background(lambda: ran.append(2), "early")
    early.future.result(timeout=5)
    assert early.cancel() is True and ran == [2]


def test_c_stops_a_main_request_waiting_to_retry_and_bills_nothing(
        session: Session, standin: StandIn) -> None:
    """The main request met a 529 and waits a minute to retry: C ends the wait at once (a
    wait left to run would outlast guard.CLOSE_WAIT, and its cost would be unknown)."""
    standin.fail_next(529, provider="anthropic", retry_after=60)

    def responder(provider: str, body: dict[str, Any]) -> str | None:
        if is_screen(body):
            assert eventually(lambda: any(r.status == 529 for r in mains(standin)))
            return "C"
        return None

    standin.responder = responder
    result = guard.screened_call(session, session.stage("reduce"), main_request(),
                                 text_to_screen=SOURCE, screen_spec="openai:gpt-4o-mini")
    assert result.cancelled and result.speculative
    assert result.main_call == "unused" and result.speculative_cost == 0.0
    assert [r.status for r in mains(standin)] == [529]  # never sent again
    assert not any(name.startswith("write") for name in session.ledger.stages)
