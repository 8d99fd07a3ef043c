"""How many calls may be in flight: paced by what the provider says, not by a fixed number.

`--concurrency` is a ceiling. The pacer starts below it and learns the account's limit as
calls come back (AIMD, as TCP finds a link's rate):

- a call that succeeds with room left (the rate-limit headers both APIs send) lets one more
  in flight, up to the ceiling;
- a 429, or headers showing almost no requests or tokens left, halves what may be in flight;
- latency that climbs with the number in flight (a server that computes one request at a time,
  such as a local llama.cpp) brings it down, as TCP Vegas does: when the calls are mostly
  queueing behind each other, more in flight buys nothing but timeouts.

    pacer = Pacer(ceiling=64)
    with pacer.slot(stop):                       # waits while `limit` calls are in flight
        completion = model.complete(request)
    pacer.succeeded(latency, room_from_headers(headers))   # or pacer.limited() on a 429
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from ghost.models.retry import CallStopped

START = 4  # in flight at first, below a ceiling above it
LOW_ROOM = 0.05  # below this share of the window left, the pacer backs off
QUEUEING = 2.0  # calls waiting behind others (Vegas' "diff") beyond which it backs off
SERIAL_CHECKS = 3  # rises of latency with concurrency seen in a row before it comes down


@dataclass(frozen=True)
class Room:
    """What the provider's rate-limit headers say is left of the current window."""

    requests_left: int | None = None
    requests_limit: int | None = None
    tokens_left: int | None = None
    tokens_limit: int | None = None

    @property
    def share_left(self) -> float | None:
        """The smaller of the requests and tokens shares left, None when unknown."""
        shares = [left / limit for left, limit in ((self.requests_left, self.requests_limit),
                                                   (self.tokens_left, self.tokens_limit))
                  if left is not None and limit]
        return min(shares) if shares else None


_HEADERS = {  # Room field → header names, Anthropic's then OpenAI's
    "requests_left": ("anthropic-ratelimit-requests-remaining", "x-ratelimit-remaining-requests"),
    "requests_limit": ("anthropic-ratelimit-requests-limit", "x-ratelimit-limit-requests"),
    "tokens_left": ("anthropic-ratelimit-tokens-remaining", "x-ratelimit-remaining-tokens"),
    "tokens_limit": ("anthropic-ratelimit-tokens-limit", "x-ratelimit-limit-tokens"),
}


def room_from_headers(headers: Mapping[str, str]) -> Room | None:
    """The rate-limit headers of a response as a Room; None when it has none.

    >>> room_from_headers({"anthropic-ratelimit-requests-remaining": "3",
    ...                    "anthropic-ratelimit-requests-limit": "50"}).share_left
    0.06
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    values: dict[str, int | None] = {}
    for name, keys in _HEADERS.items():
        raw = next((lowered[k] for k in keys if k in lowered), None)
        try:
            values[name] = int(raw) if raw is not None else None
        except ValueError:
            values[name] = None
    return Room(**values) if any(v is not None for v in values.values()) else None


class Pacer:
    """The number of calls allowed in flight, and the slots that hold to it (thread-safe)."""

    def __init__(self, ceiling: int, *, start: int = START):
        self.ceiling = max(1, ceiling)
        self.limit = float(min(self.ceiling, max(1, start)))
        self.in_flight = 0
        self.peak = 0  # the most that were ever in flight at once, for reports and tests
        self._base_latency: float | None = None  # the least seen per call: no queueing
        self._serial_signs = 0
        self._growing = True
        self._cond = threading.Condition()

    @contextmanager
    def slot(self, stop: threading.Event | None = None) -> Iterator[int]:
        """Wait until fewer than `limit` calls are in flight, hold a place while inside;
        gives how many are in flight with this one."""
        with self._cond:
            while self.in_flight >= int(self.limit):
                if stop is not None and stop.is_set():
                    raise CallStopped("stopped while waiting for a free slot")
                self._cond.wait(0.2)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            flying = self.in_flight
        try:
            yield flying
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()

    def succeeded(self, latency: float, room: Room | None = None, *, flying: int = 1) -> None:
        """A call that took `latency` seconds came back with `room` left, with `flying`
        calls in flight when it started (itself included)."""
        with self._cond:
            share = room.share_left if room is not None else None
            if share is not None and share < LOW_ROOM:
                self._decrease()
            elif self._queueing(latency, flying):
                self._serial_signs += 1
                if self._serial_signs >= SERIAL_CHECKS:
                    self._serial_signs = 0
                    self._growing = False
                    self.limit = max(1.0, self.limit - 1)
            else:
                self._serial_signs = 0
                # Slow start (one more per success: doubling each round) until the first
                # back-off, then about one more per round of `limit` successes.
                step = 1.0 if self._growing else 1 / self.limit
                self.limit = min(float(self.ceiling), self.limit + step)
            self._cond.notify_all()

    def limited(self) -> None:
        """A 429: the account's limit is below what is in flight now."""
        with self._cond:
            self._decrease()

    def _decrease(self) -> None:
        self._growing = False
        self.limit = max(1.0, math.floor(self.limit / 2))

    def _queueing(self, latency: float, flying: int) -> bool:
        """Whether the calls mostly wait behind each other: with a base (uncontended) latency
        b, `flying` calls that each take `latency` would, if served side by side, take b; the
        calls in line beyond the first are flying·(1 − b/latency)."""
        if self._base_latency is None or latency < self._base_latency:
            self._base_latency = latency
        if flying <= 1 or latency <= 0:
            return False
        waiting = flying * (1 - self._base_latency / latency)
        return waiting > QUEUEING
