"""Progress for places nobody watches live (a cron log, a pipe): a line at each tenth.

    tell = Milestones(print)
    for n in range(1, 401):
        tell("map", n, 400)      # prints "map 40/400 (10%)", "map 80/400 (20%)", … "map 400/400"

A stage's first call and its last are always told; a stage of a few calls tells each one.
Thread-safe: the map stage reports from its worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

STEPS = 10


class Milestones:
    def __init__(self, emit: Callable[[str], None], *, steps: int = STEPS,
                 clock: Callable[[], float] = time.monotonic):
        self.emit, self.steps, self.clock = emit, steps, clock
        self._told: dict[str, int] = {}  # stage → the last step told
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            if done <= 1 or stage not in self._started:  # a stage (re)starts
                self._started[stage], self._told[stage] = self.clock(), -1
            step = done * self.steps // max(1, total)
            if not (done <= 1 or done >= total or step > self._told[stage]):
                return
            self._told[stage] = step
            elapsed = self.clock() - self._started[stage]
        share = f" ({100 * done // max(1, total)}%)" if done < total else ""
        took = f", {elapsed:.0f}s" if elapsed >= 1 else ""
        self.emit(f"{stage} {done}/{total}{share}{took}")
