"""Error replies in each provider's shape, and the injected faults (`fail_next`,
`fail_every`) that answer requests with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .anthropic_wire import anthropic_error
from .openai_wire import openai_error, openai_status
from .prompt import ANTHROPIC
from .replies import Reply, json_reply


def error_reply(
    provider: str, status: int, message: str | None, rid: str, param: str | None = None
) -> Reply:
    if provider == ANTHROPIC:
        return json_reply(status, anthropic_error(status, message, rid))
    return json_reply(openai_status(status), openai_error(status, message, param))


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def fault_reply(provider: str, status: int, retry_after: float | None, rid: str,
                message: str | None = None) -> Reply:
    reply = error_reply(provider, status, message, rid)
    if retry_after is not None:
        reply.headers.append(("retry-after", _seconds(retry_after)))
        reply.headers.append(("retry-after-ms", str(round(retry_after * 1000))))
    return reply


@dataclass
class FailNext:
    status: int
    remaining: int
    retry_after: float | None
    provider: str | None
    message: str | None = None


@dataclass
class FailEvery:
    n: int
    statuses: tuple[int, ...]
    retry_after: float | None
    provider: str | None
    seen: int = 0
    failed: int = 0


class Faults:
    """The faults armed so far (not thread-safe: callers serialize access with their lock)."""

    def __init__(self) -> None:
        self.next: list[FailNext] = []
        self.every: FailEvery | None = None

    def fail_every(
        self, n: int, statuses: Sequence[int], retry_after: float | None, provider: str | None
    ) -> None:
        if n <= 0 or not statuses:
            self.every = None
        else:
            self.every = FailEvery(n, tuple(statuses), retry_after, provider)

    def fail_next(
        self, status: int, count: int, retry_after: float | None, provider: str | None,
        message: str | None = None,
    ) -> None:
        if count > 0:
            self.next.append(FailNext(status, count, retry_after, provider, message))

    def clear(self) -> None:
        self.next.clear()
        self.every = None

    def take(self, provider: str) -> tuple[int, float | None, str | None] | None:
        """(status, retry_after, message) of the fault this request of `provider` meets."""
        for fault in self.next:
            if fault.provider in (None, provider):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.next.remove(fault)
                return fault.status, fault.retry_after, fault.message
        every = self.every
        if every is not None and every.provider in (None, provider):
            every.seen += 1
            if every.seen % every.n == 0:
                status = every.statuses[every.failed % len(every.statuses)]
                every.failed += 1
                return status, every.retry_after, None
        return None
