"""Waiting between tries: the shared pause of a rate limit, backoff, and a stop that cuts
every wait short (a failure elsewhere in a map, Ctrl-C, SIGTERM)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from ghost.errors import ModelCallError
from ghost.models.protocol import RetryableError

MAX_BACKOFF = 120.0
RETRY_FLOOR = 0.1  # the least wait before try n+1 is this × 2**(n-1), whatever retry-after says
SAME_REPLY_TRIES = 3  # tries that got the same 5xx body word for word: the server means it


class CallStopped(ModelCallError):
    """A call given up while it waited to retry, because its run is stopping."""


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


def wait_or_stop(seconds: float, stop: threading.Event | None,
                 sleep: Callable[[float], None]) -> None:
    """Wait `seconds`, or less when `stop` is set (then raise CallStopped). A test's injected
    `sleep` is called instead of waiting on the event (it moves a fake clock on)."""
    if stop is not None and stop.is_set():
        raise CallStopped("stopped before retrying")
    if stop is None or sleep is not time.sleep:
        sleep(seconds)
    else:
        stop.wait(seconds)
    if stop is not None and stop.is_set():
        raise CallStopped("stopped while waiting to retry")


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """How long to wait before the next try: the provider's retry-after, but never less than
    a floor that doubles with each try (so `retry-after: 0` is not a tight loop), else the
    jittered exponential backoff."""
    if retry_after is None:
        return backoff(attempt)
    return max(retry_after, min(MAX_BACKOFF, RETRY_FLOOR * 2 ** (attempt - 1)))


def backoff(attempt: int) -> float:
    return min(MAX_BACKOFF, 0.5 * 2 ** (attempt - 1)) * (0.75 + random.random() * 0.5)


class Streak:
    """The faults of one call, try after try: whether to give up before patience runs out.

    >>> streak = Streak("openai:gemma")
    >>> boom = RetryableError("openai gemma: HTTP 500", status=500, detail="system must be a "
    ...                       "string", same_as='{"error": "system must be a string"}')
    >>> streak.verdict(boom, 1) is None and streak.verdict(boom, 2) is None
    True
    >>> str(streak.verdict(boom, 3)).endswith("3 times with the same reply, so no passing "
    ...                                      "fault: system must be a string")
    True
    """

    def __init__(self, spec: str):
        self.spec = spec
        self._last = ""
        self._repeats = 0

    def verdict(self, fault: RetryableError, attempt: int) -> Exception | None:
        """The error to stop with after `attempt` tries ended in `fault`, or None: try again."""
        if fault.tries is not None and attempt >= fault.tries:
            return fault.final or ModelCallError(f"{self.spec}: {fault} ({attempt} tries)")
        same = bool(fault.same_as) and fault.same_as == self._last
        self._repeats = self._repeats + 1 if same else 1
        self._last = fault.same_as
        if fault.same_as and self._repeats >= SAME_REPLY_TRIES:
            return ModelCallError(f"{self.spec}: {fault}, {self._repeats} times with the same "
                                  f"reply, so no passing fault: {fault.detail or fault.same_as}")
        return None
