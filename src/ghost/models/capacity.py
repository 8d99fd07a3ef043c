"""How many calls a server on this machine (or the private network) really takes at once.

A cloud API runs many requests side by side; a local server often computes one at a time
(llama-cpp-python's does) and queues the rest, so with --concurrency 8 the eighth request
waits for seven answers and may pass its timeout, to be sent again while the server still
computes the first copy. For such a server the runner starts with two calls and learns from
their latencies: a call that took much longer than the fastest one, having started behind
others, waited in the server's queue, and fewer are sent at once; a call as quick as the
fastest lets one more go. A cloud endpoint keeps the --concurrency it was given.

    >>> gate = Capacity(8, adaptive=True)
    >>> gate.limit
    2
    >>> gate.learn(started_behind=0, seconds=4.0)   # as fast as it gets: one more at once
    >>> gate.limit
    3
    >>> gate.learn(started_behind=2, seconds=12.0)  # it waited for the two before it
    >>> gate.limit
    2
"""

from __future__ import annotations

import threading

START = 2             # calls at once before anything is learned
QUEUED_SHARE = 1.6    # a call this many times slower than the fastest one was queued...
QUEUED_SECONDS = 0.2  # ...when it also lost this much time: not jitter of a quick server


class Capacity:
    """A gate in front of a stage's calls: at most `limit` in flight, `limit` learned (when
    `adaptive`) between 1 and `most`."""

    def __init__(self, most: int, *, adaptive: bool):
        self.most = max(1, most)
        self.adaptive = adaptive
        self.limit = min(self.most, START) if adaptive else self.most
        self.active = 0
        self._fastest: float | None = None
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
            return self.active - 1

    def leave(self, started_behind: int, seconds: float | None) -> None:
        """A call is done (`seconds`: how long it took; None: it failed, nothing learned)."""
        with self._cond:
            self.active -= 1
            if seconds is not None:
                self.learn(started_behind, seconds)
            self._cond.notify_all()

    def learn(self, started_behind: int, seconds: float) -> None:
        if not self.adaptive:
            return
        fastest = seconds if self._fastest is None else min(self._fastest, seconds)
        self._fastest = fastest
        lost = seconds - fastest
        if started_behind and lost > QUEUED_SECONDS and seconds > QUEUED_SHARE * fastest:
            self.limit = max(1, min(self.limit, started_behind))
        elif seconds <= QUEUED_SHARE * fastest or lost <= QUEUED_SECONDS:
            self.limit = min(self.most, self.limit + 1)
