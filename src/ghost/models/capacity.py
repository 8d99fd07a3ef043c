"""How many calls may be in flight at once: learned from the endpoint, `--concurrency` a ceiling.

A cloud API runs many requests side by side but limits an account's requests and tokens a
minute, and says how much of the window is left in headers (`anthropic-ratelimit-*-remaining`,
`x-ratelimit-remaining-*`). For a cloud endpoint the gate paces by them, as TCP finds a link's
rate: it starts at START_CLOUD, lets one more call in flight for each that comes back with
room left (doubling every round, until the first back-off; then about one more per round),
holds when the room runs low, and halves on a 429 or when the headers show almost nothing
left. `retry-after` is honoured by the
runner's shared pause.

A local server often computes one request at a time (llama-cpp-python's does) and queues the
rest, so the eighth of eight requests waits for seven answers and may pass its timeout, to be
sent again while the server still computes the first copy. For a server on this machine or
the private network the gate starts at two calls and learns from latencies: a call much
slower than the fastest one, having started behind others, waited in the server's queue, and
fewer are sent at once; a call as quick as the fastest lets one more go. A local address
whose replies carry rate-limit headers (a proxy in front of a cloud API) is paced by them.

    >>> gate = Capacity(8, local=True)
    >>> gate.limit
    2
    >>> gate.learn(started_behind=0, seconds=4.0)   # as fast as it gets: one more at once
    >>> gate.limit
    3
    >>> gate.learn(started_behind=2, seconds=12.0)  # it waited for the two before it
    >>> gate.limit
    2
    >>> cloud = Capacity(64, local=False)
    >>> for _ in range(4):   # calls back with 90% of the window left: more go at once
    ...     cloud.learn(0, 0.5, Room(900, 1000))
    >>> cloud.limit
    10
    >>> cloud.limited(); cloud.limit   # a 429
    5
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

START = 2             # a local server: calls at once before anything is learned
START_CLOUD = 8       # a cloud API: calls at once before it shows its limits
SLOW_START_STEP = 0.5  # more in flight per call back with room, until the first back-off
QUEUED_SHARE = 1.6    # a call this many times slower than the fastest one was queued...
QUEUED_SECONDS = 0.2  # ...when it also lost this much time: not jitter of a quick server
LOW_ROOM = 0.1        # below this share of the rate-limit window left, the gate backs off;
GROW_ROOM = 0.3       # above it, it lets one more in; between the two it holds
FULL_ROOM = 0.85      # below this share, no more doubling: the window is being drawn down


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


class Capacity:
    """A gate in front of an endpoint's calls: at most `limit` in flight, `limit` learned
    between 1 and `most` (the --concurrency ceiling). Thread-safe."""

    def __init__(self, most: int, *, local: bool, fixed: bool = False):
        self.most = max(1, most)
        self.local, self.fixed = local, fixed  # fixed: in-process, `most` and nothing learned
        self.limit = self.most if fixed else min(self.most, START if local else START_CLOUD)
        self.active = 0
        self.peak = 0  # the most ever in flight at once, for reports and tests
        self._fastest: float | None = None
        self._growth = float(self.limit)  # cloud: the limit before rounding down
        self._slow_start = True
        self._settling = 0  # calls still to come back from before the last back-off
        self._cond = threading.Condition()

    def enter(self, halt: threading.Event) -> int | None:
        """Wait for room; returns how many calls were in flight ahead of this one, or None
        when `halt` was set while it waited (the call must not start)."""
        with self._cond:
            while self.active >= self.limit and not halt.is_set():
                self._cond.wait(0.05)
            if halt.is_set():
                return None
            self.active += 1
            self.peak = max(self.peak, self.active)
            return self.active - 1

    def leave(self, started_behind: int, seconds: float | None,
              room: Room | None = None) -> None:
        """A call is done (`seconds`: how long it took; None: it failed or was answered from
        the cache, nothing learned; `room`: what its response's headers said was left)."""
        with self._cond:
            self.active -= 1
            if seconds is not None:
                self.learn(started_behind, seconds, room)
            self._cond.notify_all()

    def learn(self, started_behind: int, seconds: float, room: Room | None = None) -> None:
        if self.fixed:
            return
        if self.local and room is not None:
            # A server that reports rate limits (a proxy in front of a cloud API, say) is
            # paced by them, wherever it is.
            self.local, self._growth = False, float(self.limit)
        if not self.local:
            self._settling = max(0, self._settling - 1)
            share = room.share_left if room is not None else None
            if share is not None and share < LOW_ROOM:
                self._back_off()
                return
            if share is not None and share < FULL_ROOM:
                self._slow_start = False
            if share is None or share > GROW_ROOM:
                self._growth = min(float(self.most), self._growth + (
                    SLOW_START_STEP if self._slow_start else 1.0 / max(1.0, self._growth)))
                self.limit = max(1, int(self._growth))
            return
        fastest = seconds if self._fastest is None else min(self._fastest, seconds)
        self._fastest = fastest
        lost = seconds - fastest
        if started_behind and lost > QUEUED_SECONDS and seconds > QUEUED_SHARE * fastest:
            self.limit = max(1, min(self.limit, started_behind))
        elif seconds <= QUEUED_SHARE * fastest or lost <= QUEUED_SECONDS:
            self.limit = min(self.most, self.limit + 1)

    def limited(self) -> None:
        """A 429: the account's limit is below what is in flight now."""
        with self._cond:
            if not self.fixed:
                self._back_off()

    def _back_off(self) -> None:
        """Halve, once a round: the calls already in flight when it backed off come back
        with the same news, and are not taken for more."""
        if self._settling:
            return
        self._slow_start = False
        self._growth = max(1.0, math.floor(self.limit / 2))
        self.limit = int(self._growth)
        self._settling = self.active
