"""Run model calls: cache first, then the provider, with patience for rate limits.

Retries live here and only here (SDK clients are built with max_retries=0). A 429 pauses every
worker until its retry-after has passed, so a big job backs off as one instead of hammering.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from ghost.cache import ResponseCache
from ghost.errors import ModelCallError
from ghost.ledger import Ledger, worst_input_tokens
from ghost.manifest import Manifest
from ghost.models.cancel import CallCancelled
from ghost.models.cancel import current as current_cancel
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Model, Request, RetryableError, Usage
from ghost.models.retry import MAX_BACKOFF, CallStopped, PauseGate, retry_delay, wait_or_stop
from ghost.tokens import count_tokens

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
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


def prompt_tokens(info: ModelInfo, request: Request) -> int:
    """The request's input tokens as ghost counts them (the model's tokenizer and margin)."""
    text = request.system + "".join(m.text for m in request.messages)
    return count_tokens(text, info.tokenizer, info.token_margin)


def writes_cache(info: ModelInfo, request: Request) -> bool:
    """Whether the request marks a prefix the provider will cache (so may bill as a write)."""
    marked = [i for i, m in enumerate(request.messages) if any(p.cache for p in m.parts)]
    if marked:
        last = request.messages[marked[-1]]
        upto = max(i for i, p in enumerate(last.parts) if p.cache)
        prefix = request.system + "".join(m.text for m in request.messages[:marked[-1]]) \
            + "".join(p.text for p in last.parts[:upto + 1])
    elif request.cache_system:
        prefix = request.system
    else:
        return False
    counted = count_tokens(prefix, info.tokenizer, info.token_margin)
    return worst_input_tokens(counted) >= info.cache_min_tokens


def worst_cost(info: ModelInfo, request: Request, discount: float = 0.0) -> float:
    """The most a request can cost (0 when the model has no price): every input token (as
    counted, with the ledger's safety share) at the cache-write price when it writes the
    prompt cache (a cold cache), else at the input price, and every output token it lets the
    provider bill: its max_tokens plus the thinking allowance the adapter adds
    (ModelInfo.asked_output)."""
    if info.prices is None:
        return 0.0
    output = info.asked_output(request.max_tokens) * info.prices.output / 1e6
    return (_worst_input_cost(info, request) + output) * (1.0 - discount)


def worst_usage(info: ModelInfo, request: Request) -> Usage:
    """The tokens `worst_cost` prices: what a call whose bill is unknown (cancelled part-way,
    see ghost/models/cancel.py) is recorded as having used."""
    tokens = worst_input_tokens(prompt_tokens(info, request))
    written = writes_cache(info, request) and info.prices is not None and \
        info.prices.cache_write > info.prices.input
    return Usage(input_tokens=0 if written else tokens, cache_write_tokens=tokens if written else 0,
                 output_tokens=info.asked_output(request.max_tokens))


def _worst_input_cost(info: ModelInfo, request: Request) -> float:
    prices = info.prices
    if prices is None:
        return 0.0
    per_token = max(prices.input, prices.cache_write) if writes_cache(info, request) \
        else prices.input
    return worst_input_tokens(prompt_tokens(info, request)) * per_token / 1e6


# A shortened call must still leave room for a useful answer: at least this many tokens, and
# at least this share of what it asked for (a thinking model: this much after its thinking).
MIN_CLAMPED_TOKENS = 256
MIN_CLAMPED_SHARE = 0.25


def least_useful(info: ModelInfo, request: Request) -> int | None:
    """The smallest max_tokens `request` may be shortened to for the budget, or None when it
    cannot be shortened usefully (it asks for little already, or a thinking model's allowance
    would leave no room to answer)."""
    tokens = max(MIN_CLAMPED_TOKENS, math.ceil(request.max_tokens * MIN_CLAMPED_SHARE))
    if info.thinking_allowance:
        tokens = max(tokens, MIN_CLAMPED_TOKENS + 1)
        if info.asked_output(tokens) <= info.thinking_allowance + MIN_CLAMPED_TOKENS:
            return None  # max_output leaves no answer room after a full allowance of thinking
    return tokens if tokens < request.max_tokens else None


def clamped(info: ModelInfo, request: Request, dollars: float) -> Request | None:
    """`request` with max_tokens lowered (below what it asks) as far as needed for its worst
    case to fit `dollars`, or None when that would leave less than `least_useful`."""
    floor, prices = least_useful(info, request), info.prices
    if floor is None or prices is None or not prices.output:
        return None
    room = (dollars - _worst_input_cost(info, request)) * 1e6 / prices.output  # output it pays
    tokens = min(request.max_tokens - 1, math.floor(room) - info.thinking_allowance)
    while tokens >= floor and worst_cost(info, replace(request, max_tokens=tokens)) > dollars:
        tokens -= 1  # the thinking allowance capped at max_output, or float rounding
    return replace(request, max_tokens=tokens) if tokens >= floor else None


def sent_request(request: Request, completion: Completion) -> Request:
    """What was really sent for `request`: shortened when the budget clamped it."""
    if completion.clamped_to is None:
        return request
    return replace(request, max_tokens=completion.clamped_to)


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
        """One call: from the cache, else from the provider within the budget.

        The call first reserves its worst case (`worst_cost`). When the budget has less left,
        the request's max_tokens is lowered to fit (if that leaves a useful answer, see
        `least_useful`) or BudgetExceeded is raised. `expected_output` is for plans only.
        """
        return self._call(stage, request, None, manifest_extra)

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
            completion = self._with_retries(stage, sent, stop)
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
            raise ModelCallError(
                f"{info.spec} gave an empty reply to a {request.stage} call (stop reason "
                f"'{completion.stop_reason or 'none'}')" + (
                    "; it used its whole max_tokens: for a model that thinks or reasons, "
                    "raise its thinking_allowance in a models file" if completion.truncated
                    else ""))
        return completion

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

        def one(i: int) -> None:
            if not flight.board():
                return  # stopped: calls not yet started return at once
            try:
                results[i] = completion = self._call(stage, requests[i], flight.halt, {})
                if on_done is not None:
                    on_done(i, completion)
            except BaseException as exc:
                flight.stop(exc)
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
        if flight.error is not None:
            raise flight.error  # the first failure, not a call it stopped
        return [r for r in results if r is not None]

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
        while True:
            pause = self._gate.remaining()
            if pause:
                wait_or_stop(pause, stop, self._sleep)
                waited += pause
            try:
                return stage.model.complete(request)
            except RetryableError as exc:
                attempt += 1
                delay = retry_delay(attempt, exc.retry_after)
                if waited + delay > self.patience:
                    raise ModelCallError(
                        f"{stage.info.spec}: still failing after {attempt} tries and "
                        f"{waited:.0f}s of waiting ({exc}); try again later or raise --patience"
                    ) from None
                log.warning("%s: %s; retry %d in %.1fs", stage.name, exc, attempt, delay)
                if exc.status == 429:
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
                                   response_chars=len(completion.text), **extra)


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

