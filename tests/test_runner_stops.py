"""A stop stops: retries waiting out a backoff give up at once when the map fails or is
interrupted, `retry-after: 0` still backs off, and an answer is kept before it is billed."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from conftest import fake_stage

from ghost.cache import ResponseCache
from ghost.errors import ModelCallError
from ghost.ledger import Ledger
from ghost.manifest import Manifest
from ghost.models.protocol import Completion, Message, Request, RetryableError, Usage
from ghost.models.retry import RETRY_FLOOR, retry_delay
from ghost.models.runner import Runner, call_key


def req(text: str) -> Request:
    return Request("system", (Message.user(text),), max_tokens=100, stage="map")


def test_a_failure_cancels_the_retries_sleeping_in_backoff() -> None:
    stage = fake_stage()

    def reply(request: Request) -> str | Exception:
        if "bad" in request.messages[-1].text:
            time.sleep(0.3)  # the others are asleep in their backoff by now
            return ModelCallError("HTTP 400 bad request")
        return RetryableError("overloaded", retry_after=600.0, status=529)

    stage.model.responder = reply  # type: ignore[attr-defined]
    runner = Runner(Ledger(), None, Manifest("t"), concurrency=4)  # real sleeps
    started = time.monotonic()
    with pytest.raises(ModelCallError, match="HTTP 400"):  # the failure, not a stopped call
        runner.map(stage, [req("slow 1"), req("slow 2"), req("bad"), req("slow 3")])
    assert time.monotonic() - started < 5
    assert runner.ledger._reserved == pytest.approx(0.0)  # every reservation given back


def test_ctrl_c_during_a_long_backoff_returns_within_five_seconds() -> None:
    stage = fake_stage()
    stage.model.responder = lambda r: RetryableError("rate limited", retry_after=900.0,  # type: ignore[attr-defined]
                                                     status=429)
    runner = Runner(Ledger(), None, Manifest("t"), concurrency=3)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.map(stage, [req(f"r{i}") for i in range(6)])
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5


def test_retry_after_zero_still_backs_off() -> None:
    assert retry_delay(1, 0.0) == RETRY_FLOOR
    assert [retry_delay(n, 0.0) for n in (2, 3, 4)] == [RETRY_FLOOR * 2, RETRY_FLOOR * 4,
                                                        RETRY_FLOOR * 8]
    assert retry_delay(1, 7.0) == 7.0  # a real retry-after is honoured as given
    stage = fake_stage()
    stage.model.enqueue(*[RetryableError("429", retry_after=0.0, status=429)] * 3)  # type: ignore[attr-defined]
    sleeps: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    runner = Runner(Ledger(), None, Manifest("t"), sleep=sleep, clock=lambda: now[0])
    assert runner.call(stage, req("FACT-Z")).text == "- FACT-Z"
    assert sleeps == pytest.approx([RETRY_FLOOR, RETRY_FLOOR * 2, RETRY_FLOOR * 4])


def test_an_answer_is_kept_before_it_is_billed(tmp_path) -> None:
    """on_spend saves ghost run's state; when it runs, the answer must already be cached."""
    stage = fake_stage()
    cache = ResponseCache(tmp_path / "cache")
    request = req("FACT-K")
    key = call_key(stage.info, request.digest())
    seen: list[object] = []
    ledger = Ledger(on_spend=lambda dollars: seen.append(cache.get(key)))
    Runner(ledger, cache, Manifest("t")).call(stage, request)
    assert seen and seen[0] is not None


def test_a_batch_result_is_kept_before_it_is_billed(tmp_path) -> None:
    stage = fake_stage()
    cache = ResponseCache(tmp_path / "cache")
    seen: list[object] = []
    ledger = Ledger(on_spend=lambda dollars: seen.append(cache.get("cid")))
    result = Completion("- FACT-B", Usage(100, 10), stage.info.spec, "end_turn")
    Runner(ledger, cache, Manifest("t")).record_batch_result(stage, "map", "cid", result, "sha")
    assert seen == [result.to_json()]
