"""Waiting between tries: the shared pause of a rate limit, backoff, and a stop that cuts
every wait short (a failure elsewhere in a map, Ctrl-C, SIGTERM)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from ghost.errors import ModelCallError

MAX_BACKOFF = 120.0
RETRY_FLOOR = 0.1  # the least wait before try n+1 is this × 2**(n-1), whatever retry-after says


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
