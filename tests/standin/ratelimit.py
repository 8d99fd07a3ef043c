"""An account's request rate limit, for `StandIn(rate_limit=RateLimit(per_minute=600))`.

As the real APIs: a token bucket that refills continuously (Anthropic enforces a minute's limit
over shorter spans, so a burst can be refused well under it), a 429 with `retry-after` when it
is empty, and the rate-limit headers of both APIs on every model reply (Anthropic's
`anthropic-ratelimit-requests-*`, OpenAI's `x-ratelimit-*-requests`)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimit:
    def __init__(self, per_minute: int, *, burst_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self.per_second = per_minute / 60.0
        self.capacity = max(1, int(self.per_second * burst_seconds))
        self._tokens = float(self.capacity)
        self._clock = clock
        self._at = clock()
        self._lock = threading.Lock()
        self.refused = 0

    def take(self, provider: str) -> tuple[bool, list[tuple[str, str]]]:
        """(allowed, headers) for one request now."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            allowed = self._tokens >= 1
            if allowed:
                self._tokens -= 1
            else:
                self.refused += 1
            left = int(self._tokens)
            wait = 0.0 if allowed else (1 - self._tokens) / self.per_second
        if provider == "anthropic":
            headers = [("anthropic-ratelimit-requests-limit", str(self.capacity)),
                       ("anthropic-ratelimit-requests-remaining", str(left))]
        else:
            headers = [("x-ratelimit-limit-requests", str(self.capacity)),
                       ("x-ratelimit-remaining-requests", str(left))]
        if not allowed:
            headers.append(("retry-after", str(max(1, math.ceil(wait)))))
        return allowed, headers
