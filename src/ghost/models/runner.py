"""Run model calls: cache first, then the provider, with patience for rate limits.

Retries live here and only here (SDK clients are built with max_retries=0). A 429 pauses every
worker until its retry-after has passed, so a big job backs off as one instead of hammering.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ghost.cache import ResponseCache
from ghost.errors import ModelCallError
from ghost.ledger import Ledger, usage_cost
from ghost.manifest import Manifest
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Model, Request, RetryableError, Usage
from ghost.tokens import count_tokens

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
DEFAULT_PATIENCE = 1800.0  # seconds one call may spend waiting out failures before giving up
MAX_BACKOFF = 120.0


@dataclass(frozen=True)
class Stage:
    """A model bound to a pipeline stage: what the runner needs to call, cache and bill."""

    name: str
    model: Model
    info: ModelInfo
    endpoint: str


class PauseGate:
    """Shared pause: when one call is told to wait, new calls wait too."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._until = 0.0
        self._lock = threading.Lock()
        self._clock = clock

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._until - self._clock())


def call_key(info: ModelInfo, request_digest: str) -> str:
    """The response-cache key of one call: provider, model (and file identity), request."""
    return ResponseCache.key(info.provider, info.cache_name, request_digest)


def estimate_cost(info: ModelInfo, request: Request, expected_output: int | None = None) -> float:
    """Dollars a request should cost, before the call (0 when the model has no price)."""
    text = request.system + "".join(m.text for m in request.messages)
    tokens = count_tokens(text, info.tokenizer, info.token_margin)
    output = expected_output if expected_output is not None else request.max_tokens
    usage = Usage(tokens, output + info.expected_thinking)
    return usage_cost(info, usage) or 0.0


class Runner:
    def __init__(self, ledger: Ledger, cache: ResponseCache | None = None,
                 manifest: Manifest | None = None, *, concurrency: int = DEFAULT_CONCURRENCY,
                 patience: float = DEFAULT_PATIENCE, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.ledger = ledger
        self.cache = cache
        self.manifest = manifest
        self.concurrency = max(1, concurrency)
        self.patience = patience
        self._sleep = sleep
        self._gate = PauseGate(clock)

    def call(self, stage: Stage, request: Request, *, expected_output: int | None = None,
             **manifest_extra: object) -> Completion:
        key = call_key(stage.info, request.digest())
        hit = self.cache.get(key) if self.cache else None
        if hit is not None:
            completion = Completion.from_json(hit)
            self.ledger.record(request.stage, stage.info, completion.usage, cached=True)
            self._note(stage, request, key, completion, manifest_extra)
            return completion
        reserve = estimate_cost(stage.info, request, expected_output)
        self.ledger.reserve(reserve)
        try:
            completion = self._with_retries(stage, request)
        except BaseException as exc:
            billed = getattr(exc, "usage", None)
            if isinstance(billed, Usage):  # an unusable reply is still paid for
                self.ledger.settle(reserve, request.stage, stage.info, billed)
            else:
                self.ledger.release(reserve)
            raise
        self.ledger.settle(reserve, request.stage, stage.info, completion.usage)
        if self.cache is not None and completion.text.strip():
            self.cache.set(key, completion.to_json())
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

        def one(i: int) -> None:
            if not flight.board():
                return  # stopped: calls not yet started return at once
            expected = expected_output[i] if expected_output is not None else None
            try:
                results[i] = completion = self.call(stage, requests[i], expected_output=expected)
                if on_done is not None:
                    on_done(i, completion)
            except BaseException:
                flight.stop()
                raise
            finally:
                flight.land()

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
        errors = [f.exception() for f in futures if not f.cancelled() and f.exception()]
        if errors:
            raise errors[0]  # type: ignore[misc]
        return [r for r in results if r is not None]

    def record_batch_result(self, stage: Stage, stage_name: str, key: str,
                            completion: Completion, request_sha256: str) -> None:
        """Bill a result collected from a provider batch (at the batch discount)."""
        self.ledger.record(stage_name, stage.info, completion.usage, cached=False,
                           discount=stage.info.batch_discount)
        if self.manifest is not None:
            self.manifest.add_batch_result(stage=stage_name, spec=stage.info.spec,
                                           endpoint=stage.endpoint, cache_key=key,
                                           request_sha256=request_sha256,
                                           usage=completion.usage,
                                           response_chars=len(completion.text))

    def _with_retries(self, stage: Stage, request: Request) -> Completion:
        waited, attempt = 0.0, 0
        while True:
            pause = self._gate.remaining()
            if pause:
                self._sleep(pause)
                waited += pause
            try:
                return stage.model.complete(request)
            except RetryableError as exc:
                attempt += 1
                delay = exc.retry_after if exc.retry_after is not None else _backoff(attempt)
                if waited + delay > self.patience:
                    raise ModelCallError(
                        f"{stage.info.spec}: still failing after {attempt} tries and "
                        f"{waited:.0f}s of waiting ({exc}); try again later or raise --patience"
                    ) from None
                log.warning("%s: %s; retry %d in %.1fs", stage.name, exc, attempt, delay)
                if exc.status == 429:
                    self._gate.pause(delay)  # everyone waits; this call sleeps at the loop top
                    continue
                self._sleep(delay)
                waited += delay

    def _note(self, stage: Stage, request: Request, key: str, completion: Completion,
              extra: dict[str, object]) -> None:
        if self.manifest is not None:
            self.manifest.add_call(stage=request.stage, spec=stage.info.spec,
                                   endpoint=stage.endpoint, request=request, cache_key=key,
                                   cached=completion.cached, usage=completion.usage,
                                   response_chars=len(completion.text), **extra)


class _Flight:
    """Calls in flight, and a stop that no call can slip past: a call either boards before
    the stop (and is waited for) or sees it and never starts."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.active = 0
        self.stopped = False

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

    def stop(self) -> None:
        with self._cond:
            self.stopped = True

    def wait_landed(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.active == 0)


def _backoff(attempt: int) -> float:
    return min(MAX_BACKOFF, 0.5 * 2 ** (attempt - 1)) * (0.75 + random.random() * 0.5)
