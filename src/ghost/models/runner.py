"""Run model calls: cache first, then the provider, with patience for rate limits.

Retries live here and only here (SDK clients are built with max_retries=0). A 429 pauses every
worker until its retry-after has passed, so a big job backs off as one instead of hammering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from ghost.cache import ResponseCache
from ghost.errors import ModelCallError
from ghost.ledger import Ledger
from ghost.manifest import Manifest
from ghost.models.cancel import CallCancelled
from ghost.models.cancel import current as current_cancel
from ghost.models.capacity import Capacity
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Model, Request, RetryableError, Usage
from ghost.models.reply_checks import (
    cut_off_warning,
    empty_reply,
    with_counted_usage,
)
from ghost.models.retry import (
    MAX_BACKOFF,
    CallStopped,
    PauseGate,
    Streak,
    retry_delay,
    wait_or_stop,
)
from ghost.models.worst_case import (
    clamped,
    least_useful,
    worst_cost,
    worst_usage,
)
from ghost.privacy import is_local_endpoint
from ghost.providers import IN_PROCESS

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 32  # a ceiling: the gate (models/capacity.py) starts lower and learns
DEFAULT_PATIENCE = 1800.0  # seconds one call may spend waiting out failures before giving up
SHORT_ANSWER_TOKENS = 16  # max_tokens of one-letter answers (triage, screen): cut off by design
__all__ = ["MAX_BACKOFF", "CallStopped", "PauseGate", "Runner", "Stage"]


@dataclass(frozen=True)
class Stage:
    """A model bound to a pipeline stage: what the runner needs to call, cache and bill."""

    name: str
    model: Model
    info: ModelInfo
    endpoint: str


def call_key(info: ModelInfo, request_digest: str) -> str:
    """The response-cache key of one call: provider, model (and file identity), request."""
    return ResponseCache.key(info.provider, info.cache_name, request_digest)


def sent_request(request: Request, completion: Completion) -> Request:
    """What was really sent for `request`: shortened when the budget clamped it."""
    if completion.clamped_to is None:
        return request
    return replace(request, max_tokens=completion.clamped_to)


class Runner:
    def __init__(self, ledger: Ledger, cache: ResponseCache | None = None,
                 manifest: Manifest | None = None, *, concurrency: int = DEFAULT_CONCURRENCY,
                 patience: float = DEFAULT_PATIENCE, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 progress: Callable[[str, int, int], None] | None = None):
        self.ledger = ledger
        self.progress = progress  # (stage, done, total): every map and every single call
        self.cache = cache
        self.manifest = manifest
        self.concurrency = max(1, concurrency)
        self._gates: dict[str, Capacity] = {}
        self._gates_lock = threading.Lock()
        self.patience = patience
        self._sleep = sleep
        self._gate = PauseGate(clock)

    def call(self, stage: Stage, request: Request, *, expected_output: int | None = None,
             **manifest_extra: object) -> Completion:
        """One call: from the cache, else from the provider within the budget.

        The call first reserves its worst case (`worst_cost`). When the budget has less left,
        the request's max_tokens is lowered to fit (if that leaves a useful answer, see
        `least_useful`) or BudgetExceeded is raised. `expected_output` is for plans only.
        """
        self._tell(request.stage, 0, 1)
        completion = self._call(stage, request, None, manifest_extra)
        self._tell(request.stage, 1, 1)
        return completion

    def _tell(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _call(self, stage: Stage, request: Request, stop: threading.Event | None,
              manifest_extra: dict[str, object]) -> Completion:
        """`call`, whose waits between tries end at once (CallStopped) when `stop` is set."""
        info = stage.info
        if stop is None:  # a cancellable call (ghost/models/cancel.py) stops waiting to retry
            cancel = current_cancel()
            stop = cancel.event if cancel is not None else None
        key = call_key(info, request.digest())
        hit = self._cached(stage, request, key, manifest_extra)
        if hit is not None:
            return hit
        worst = worst_cost(info, request)
        floor = least_useful(info, request)
        smallest = replace(request, max_tokens=floor) if floor else None
        least = worst_cost(info, smallest) if smallest else None
        reserve = self.ledger.reserve(worst, least=least, wait=True)
        sent = request
        if reserve < worst and smallest is not None:  # what is left covers `least`: shorten
            sent = clamped(info, request, reserve) or smallest
            key = call_key(info, sent.digest())
            log.warning("%s: max_tokens lowered from %d to %d to stay within the budget",
                        stage.name, request.max_tokens, sent.max_tokens)
            hit = self._cached(stage, sent, key, manifest_extra)
            if hit is not None:
                self.ledger.release(reserve)
                return replace(hit, clamped_to=sent.max_tokens)
        try:
            completion = with_counted_usage(info, sent, self._with_retries(stage, sent, stop))
        except BaseException as exc:
            billed = getattr(exc, "usage", None)
            if isinstance(exc, CallCancelled) and exc.sent:  # closed part-way: its worst case
                self.ledger.settle(reserve, f"{request.stage} (cancelled)", info,
                                   worst_usage(info, sent))
            elif isinstance(billed, Usage):  # an unusable reply is still paid for
                self.ledger.settle(reserve, request.stage, info, billed)
            else:
                self.ledger.release(reserve)
            raise
        # Kept before it is billed: the bill (on_spend) saves state, and a kill between the
        # two may lose a ledger line for an answer already kept, never an answer paid for.
        # A reply cut off at max_tokens is not whole: it is never kept, so it is never replayed.
        # (A one-letter classifier's few tokens are a cap by design: its first letter counts.)
        whole = not completion.truncated or request.max_tokens <= SHORT_ANSWER_TOKENS
        if self.cache is not None and completion.text.strip() and whole:
            self.cache.set(key, completion.to_json())
        self.ledger.settle(reserve, request.stage, info, completion.usage)
        if sent is not request:
            completion = replace(completion, clamped_to=sent.max_tokens)
        self._note(stage, sent, key, completion, manifest_extra)
        if not completion.text.strip():  # billed (it is in the ledger) but no answer
            raise empty_reply(info, request, completion)
        if not whole:
            self._cut_off(stage, sent, completion)
        return completion

    def _cut_off(self, stage: Stage, sent: Request, completion: Completion) -> None:
        """Count a reply cut off at its limit; the first of each stage is a warning line and
        a manifest entry (a call's entry has its stop reason in any case)."""
        if self.ledger.cut_off(sent.stage) > 1:
            return
        line = cut_off_warning(sent.stage, stage.info, sent, completion)
        log.warning("%s", line)
        if self.manifest is not None:
            self.manifest.record("warnings", {"stage": sent.stage, "model": stage.info.spec,
                                              "warning": line})

    def _cached(self, stage: Stage, request: Request, key: str,
                manifest_extra: dict[str, object]) -> Completion | None:
        hit = self.cache.get(key) if self.cache else None
        if hit is None:
            return None
        completion = Completion.from_json(hit)
        self.ledger.record(request.stage, stage.info, completion.usage, cached=True)
        self._note(stage, request, key, completion, manifest_extra)
        return completion

    def map(self, stage: Stage, requests: Sequence[Request], *,
            expected_output: Sequence[int] | None = None,
            on_done: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        """Run `requests` with at most `concurrency` in flight; results in input order.

        The first failure (budget, a non-retryable error, patience exhausted) cancels what has
        not started and is raised once the calls already in flight have finished.
        """
        results: list[Completion | None] = [None] * len(requests)
        flight = _Flight()
        label = requests[0].stage if requests else ""
        finished = [0]
        count = threading.Lock()
        # A server here or on the private network may compute one call at a time: learn
        # how many it takes at once, so that none waits in its queue past its timeout.
        gate = self._gate_for(stage)

        def one(i: int) -> None:
            behind = gate.enter(flight.halt)
            if behind is None:
                return  # stopped while waiting for room
            if not flight.board():
                gate.leave(behind, None)
                return  # stopped: calls not yet started return at once
            started, took, room = time.monotonic(), None, None
            try:
                results[i] = completion = self._call(stage, requests[i], flight.halt, {})
                took = None if completion.cached else time.monotonic() - started
                room = completion.room
                with count:
                    finished[0] += 1
                    self._tell(label, finished[0], len(requests))
                if on_done is not None:
                    on_done(i, completion)
            except BaseException as exc:
                flight.stop(exc)
                raise
            finally:
                flight.land()
                gate.leave(behind, took, room)

        workers = min(self.concurrency, max(1, len(requests)))
        pool = ThreadPoolExecutor(max_workers=workers)
        futures: list[Future[None]] = []
        try:
            for i in range(len(requests)):
                futures.append(pool.submit(one, i))
            wait(futures, return_when=FIRST_EXCEPTION)
            pool.shutdown(wait=True, cancel_futures=flight.stopped)
        except BaseException:
            # Ctrl-C (or any signal turned exception) in the waiting thread: nothing new starts,
            # and the calls in flight (already paid for) finish and land in the cache before
            # this returns, so whoever holds a lock or saves state after us sees them done.
            flight.stop()
            pool.shutdown(wait=False, cancel_futures=True)
            if flight.active:
                log.warning("interrupted: waiting for the %d calls in flight to finish",
                            flight.active)
            flight.wait_landed()
            raise
        if flight.error is not None:
            raise flight.error  # the first failure, not a call it stopped
        return [r for r in results if r is not None]

    def _gate_for(self, stage: Stage) -> Capacity:
        """The gate of a stage's endpoint, kept for the run: what it learned of the account's
        limits (or a local server's capacity) holds for the next map on it."""
        key = f"{stage.info.spec} {stage.endpoint}"
        with self._gates_lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = Capacity(
                    self.concurrency, local=is_local_endpoint(stage.endpoint),
                    fixed=stage.endpoint == IN_PROCESS)
            return gate

    def record_batch_result(self, stage: Stage, stage_name: str, key: str,
                            completion: Completion, request_sha256: str,
                            before_bill: Callable[[], None] | None = None) -> None:
        """Keep (when it has text), then bill a result collected from a provider batch (at the
        batch discount): kept first, as in `call`, so no paid answer is lost to a kill.
        `before_bill` runs between the two (the collection notes the result as billed there,
        so a kill can lose its ledger line but never bill it twice)."""
        if self.cache is not None and completion.text.strip():
            self.cache.set(key, completion.to_json())
        if before_bill is not None:
            before_bill()
        self.ledger.record(stage_name, stage.info, completion.usage, cached=False,
                           discount=stage.info.batch_discount)
        if self.manifest is not None:
            self.manifest.add_batch_result(stage=stage_name, spec=stage.info.spec,
                                           endpoint=stage.endpoint, cache_key=key,
                                           request_sha256=request_sha256,
                                           usage=completion.usage,
                                           response_chars=len(completion.text))

    def _with_retries(self, stage: Stage, request: Request,
                      stop: threading.Event | None = None) -> Completion:
        waited, attempt = 0.0, 0
        streak = Streak(stage.info.spec)
        while True:
            pause = self._gate.remaining()
            if pause:
                wait_or_stop(pause, stop, self._sleep)
                waited += pause
            try:
                return stage.model.complete(request)
            except RetryableError as exc:
                attempt += 1
                verdict = streak.verdict(exc, attempt)
                if verdict is not None:
                    raise verdict from None
                delay = retry_delay(attempt, exc.retry_after)
                if waited + delay > self.patience:
                    said = f": {exc.detail}" if exc.detail else ""
                    raise ModelCallError(
                        f"{stage.info.spec}: still failing after {attempt} tries and "
                        f"{waited:.0f}s of waiting ({exc}{said}); try again later or raise "
                        "--patience") from None
                log.warning("%s: %s; retry %d in %.1fs", stage.name, exc, attempt, delay)
                if exc.status == 429:
                    self._gate_for(stage).limited()  # fewer in flight from now on
                    self._gate.pause(delay)  # everyone waits; this call sleeps at the loop top
                    continue
                wait_or_stop(delay, stop, self._sleep)
                waited += delay

    def _note(self, stage: Stage, request: Request, key: str, completion: Completion,
              extra: dict[str, object]) -> None:
        if self.manifest is not None:
            self.manifest.add_call(stage=request.stage, spec=stage.info.spec,
                                   endpoint=stage.endpoint, request=request, cache_key=key,
                                   cached=completion.cached, usage=completion.usage,
                                   response_chars=len(completion.text),
                                   stop_reason=completion.stop_reason, **extra)


class _Flight:
    """Calls in flight, and a stop that no call can slip past: a call either boards before
    the stop (and is waited for) or sees it and never starts."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.active = 0
        self.stopped = False
        self.halt = threading.Event()  # set by the stop: calls waiting to retry give up at once
        self.error: BaseException | None = None  # the failure that stopped the map

    def board(self) -> bool:
        with self._cond:
            if self.stopped:
                return False
            self.active += 1
            return True

    def land(self) -> None:
        with self._cond:
            self.active -= 1
            self._cond.notify_all()

    def stop(self, error: BaseException | None = None) -> None:
        with self._cond:
            self.stopped = True
            if error is not None and self.error is None and not isinstance(error, CallStopped):
                self.error = error
        self.halt.set()

    def wait_landed(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.active == 0)

