"""The runner (retries, pause gate, budget, concurrency order) and the JSON-only cache."""

from __future__ import annotations

import os
import pickle
import sqlite3
import stat

import pytest
from conftest import FakeModel, fake_stage

from ghost.cache import ResponseCache, cache_info, clear_cache
from ghost.errors import BudgetExceeded, ModelCallError
from ghost.ledger import Ledger
from ghost.manifest import Manifest
from ghost.models.protocol import Message, Request, RetryableError
from ghost.models.runner import Runner


def req(text: str, max_tokens: int = 100) -> Request:
    return Request("system", (Message.user(text),), max_tokens=max_tokens, stage="map")


def make_runner(tmp_path=None, budget=None, **kw) -> tuple[Runner, list[float]]:
    """A runner on a fake clock: sleeping records the delay and moves time on."""
    sleeps: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    cache = ResponseCache(tmp_path / "cache") if tmp_path else None
    runner = Runner(Ledger(budget), cache, Manifest("test"), sleep=sleep, clock=lambda: now[0],
                    **kw)
    return runner, sleeps


def test_map_keeps_input_order_and_calls_each_once() -> None:
    stage = fake_stage()
    runner, _ = make_runner(concurrency=4)
    out = runner.map(stage, [req(f"FACT-{i} here") for i in range(20)])
    assert [o.text for o in out] == [f"- FACT-{i} here" for i in range(20)]
    assert len(stage.model.history) == 20


def test_retry_after_is_honoured_and_failures_do_not_change_output() -> None:
    stage = fake_stage()
    model: FakeModel = stage.model  # type: ignore[assignment]
    model.enqueue(RetryableError("429", retry_after=7.0, status=429),
                  RetryableError("529", status=529))
    runner, sleeps = make_runner(concurrency=1)
    out = runner.call(stage, req("FACT-A"))
    assert out.text == "- FACT-A"
    assert sleeps[0] == 7.0 and len(sleeps) == 2 and 0 < sleeps[1] <= 1.25
    assert runner.ledger.stages["map"].calls == 1


def test_patience_runs_out_with_a_clear_error() -> None:
    stage = fake_stage()
    stage.model.enqueue(*[RetryableError("429", retry_after=50, status=429)] * 5)  # type: ignore[attr-defined]
    runner, _ = make_runner(patience=120)
    with pytest.raises(ModelCallError, match="still failing after 3 tries"):
        runner.call(stage, req("x"))


def test_non_retryable_error_stops_the_map_and_skips_unstarted_calls() -> None:
    stage = fake_stage()
    stage.model.enqueue(ModelCallError("HTTP 400"))  # type: ignore[attr-defined]
    runner, _ = make_runner(concurrency=1)
    with pytest.raises(ModelCallError):
        runner.map(stage, [req(f"r{i}") for i in range(10)])
    assert len(stage.model.history) < 10  # type: ignore[attr-defined]


def test_cache_makes_a_rerun_free(tmp_path) -> None:
    stage = fake_stage()
    runner, _ = make_runner(tmp_path)
    first = runner.map(stage, [req(f"FACT-{i}") for i in range(5)])
    runner2, _ = make_runner(tmp_path)
    second = runner2.map(stage, [req(f"FACT-{i}") for i in range(5)])
    assert [f.text for f in first] == [s.text for s in second]
    assert len(stage.model.history) == 5  # type: ignore[attr-defined]
    assert runner2.ledger.stages["map"].cached == 5 and runner2.ledger.calls == 0


def test_budget_stops_before_the_call_that_would_pass_it() -> None:
    stage = fake_stage()
    # Each call reserves its worst case (~$0.0005: all 50 output tokens, input with a margin).
    runner, _ = make_runner(budget=0.002, concurrency=1)
    with pytest.raises(BudgetExceeded, match="budget"):
        runner.map(stage, [req("word " * 200, max_tokens=50) for _ in range(20)])
    assert 0 < len(stage.model.history) < 20  # type: ignore[attr-defined]
    assert runner.ledger.spent <= 0.002


def test_cache_dir_is_private_and_json_only(tmp_path) -> None:
    cache = ResponseCache(tmp_path / "c")
    cache.set("k", {"text": "hello", "usage": {}})
    assert cache.get("k") == {"text": "hello", "usage": {}}
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "c" / "responses").st_mode) == 0o700
    cache.close()
    db = sqlite3.connect(tmp_path / "c" / "responses" / "cache.db")
    row = db.execute("SELECT key, raw, mode, value FROM Cache").fetchone()
    assert row[0] == '"k"' and row[1] == 1 and b"hello" in bytes(row[3])


class Boom:
    def __reduce__(self):  # pragma: no cover - must never run
        return (os.system, ("touch PWNED",))


def test_pickled_rows_are_refused_not_loaded(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cache = ResponseCache(tmp_path / "c")
    cache.set("k", {"text": "x"})
    cache.close()
    db = sqlite3.connect(tmp_path / "c" / "responses" / "cache.db")
    # mode 4 is diskcache's MODE_PICKLE: what an attacker with write access would plant
    db.execute("UPDATE Cache SET mode = 4, value = ?", (pickle.dumps(Boom()),))
    db.commit()
    db.close()
    assert ResponseCache(tmp_path / "c").get("k") is None
    assert not (tmp_path / "PWNED").exists()


def test_cache_info_and_clear(tmp_path) -> None:
    cache = ResponseCache(tmp_path)
    cache.set("a", {"text": "x"})
    cache.close()
    assert cache_info(tmp_path)["responses"] == 1
    assert clear_cache(tmp_path) > 0
    assert cache_info(tmp_path)["responses"] == 0


def test_ctrl_c_during_map_starts_nothing_new() -> None:
    import signal
    import threading
    import time

    class InterruptingModel(FakeModel):
        interrupted = False

        def complete(self, request: Request):
            with self._lock:
                first, self.interrupted = not self.interrupted, True
            if first:
                # Ctrl-C, aimed at the main thread (a process-wide signal may land on a worker,
                # and the main thread would only notice at the next finished call)
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            time.sleep(0.2)
            return super().complete(request)

    stage = fake_stage()
    model = InterruptingModel()
    stage = type(stage)(stage.name, model, stage.info, stage.endpoint)
    runner, _ = make_runner(concurrency=2)
    with pytest.raises(KeyboardInterrupt):
        runner.map(stage, [req(f"FACT-{i}") for i in range(30)])
    # The calls in flight have finished (they are paid for) by the time map() raises; no new
    # ones started, then or later.
    finished = len(model.history)
    assert 1 <= finished <= 4 and runner.ledger.calls == finished
    time.sleep(0.5)
    assert len(model.history) == finished


def test_budget_message_names_money_held_for_calls_in_flight() -> None:
    ledger = Ledger(1.0)
    ledger.reserve(0.9)
    with pytest.raises(BudgetExceeded) as caught:
        ledger.reserve(0.2)
    message = str(caught.value)
    assert "spent $0.0000 with $0.9000 held for calls in flight" in message
    assert "(up to $0.2000)" in message  # a reservation is the worst case


def test_an_unusable_reply_is_still_billed() -> None:
    from ghost.models.protocol import Usage

    stage = fake_stage("reduce", "anthropic:claude-opus-5-5")
    model: FakeModel = stage.model  # type: ignore[assignment]
    model.enqueue(ModelCallError("spent all its tokens thinking", usage=Usage(10_000, 18_000)))
    spent: list[float] = []
    runner, _ = make_runner()
    runner.ledger.on_spend = spent.append
    with pytest.raises(ModelCallError):
        runner.call(stage, req("FACT-1", max_tokens=2000))
    assert runner.ledger.spent == pytest.approx(10_000 * 4 / 1e6 + 18_000 * 20 / 1e6)
    assert spent == [pytest.approx(runner.ledger.spent)]
    runner.ledger.reserve(0)  # nothing left held for the failed call


def test_a_failing_progress_callback_stops_the_map() -> None:
    stage = fake_stage()
    runner, _ = make_runner(concurrency=2)

    def broken(i: int, completion) -> None:
        raise OSError("stderr is gone")

    with pytest.raises(OSError):
        runner.map(stage, [req(f"FACT-{i}") for i in range(30)], on_done=broken)
    assert len(stage.model.history) <= 3  # type: ignore[attr-defined]
