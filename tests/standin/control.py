"""What a test does to the stand-in: script its replies and faults, and look at what it got."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .faults import Fault
from .prompt import ANTHROPIC, OPENAI
from .records import RecordedRequest

PROVIDERS = (ANTHROPIC, OPENAI)


def _validate_provider(provider: str | None) -> None:
    if provider is not None and provider not in PROVIDERS:
        raise ValueError(f"provider must be None, 'anthropic' or 'openai', not {provider!r}")


class Controls:
    """The stand-in's scripting and inspection methods (mixed into StandIn)."""

    _lock: threading.RLock
    _calls: Any
    _faults: Any
    _injected: Any
    _batches: Any
    _records: list[RecordedRequest]

    # ------------------------------------------------------------ scripting

    def enqueue(self, text: str, provider: str | None = None) -> None:
        """Queue a reply text for the next successful model call (of `provider`, or any)."""
        _validate_provider(provider)
        self._calls.enqueue(text, provider)

    def fail_every(
        self,
        n: int,
        statuses: Sequence[int] = (429, 529),
        retry_after: float | None = 0.01,
        provider: str | None = None,
    ) -> None:
        """Fail every n-th request from now on (1-based, over all authenticated requests, or
        those of `provider`), cycling through `statuses`. `n <= 0` turns it off."""
        _validate_provider(provider)
        with self._lock:
            self._faults.fail_every(n, statuses, retry_after, provider)

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        provider: str | None = None,
        message: str | None = None,
    ) -> None:
        """Fail the next `count` requests (of `provider`, or any) with `status` (and the
        error `message`, else the provider's usual one)."""
        _validate_provider(provider)
        with self._lock:
            self._faults.fail_next(status, count, retry_after, provider, message)

    def inject(self, fault: str, count: int = 1, provider: str | None = None, *,
               error_type: str = "overloaded_error", after_events: int = 3,
               hang_seconds: float = 30.0) -> None:
        """Answer the next `count` model calls it applies to (of `provider`, or any) with a
        fault below the HTTP status (see `faults.FAULT_KINDS`): `reset_mid_stream`,
        `cut_mid_stream`, `stall_mid_stream`, `stream_error` (of `error_type`) after
        `after_events` events, `truncated_json`, `empty_200`, or `hang` (nothing sent for
        `hang_seconds`, at most 60, or until the stand-in stops)."""
        _validate_provider(provider)
        with self._lock:
            self._injected.add(Fault(fault, count, provider, error_type, after_events,
                                     hang_seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._injected.clear()

    def lose_next_batch_create(self, provider: str | None = None) -> None:
        """The next batch create (of `provider`, or any) makes its batch, then the
        connection closes before the reply: the client cannot know the batch exists."""
        _validate_provider(provider)
        with self._lock:
            self._batches.lose_creates.append(provider)

    def finish_batches(self, keep: int | None = None) -> int:
        """Process every pending batch now; returns how many were finished.

        keep: answer only the first `keep` requests of each batch and let the batch expire.
        """
        with self._lock:
            return self._batches.finish_all(keep)

    # ------------------------------------------------------------ inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._records)

    def calls(
        self, provider: str | None = None, status: int | None = 200, path: str | None = None
    ) -> int:
        """How many requests match (None matches anything)."""
        with self._lock:
            return sum(
                1
                for r in self._records
                if (provider is None or r.provider == provider)
                and (status is None or r.status == status)
                and (path is None or r.path == path)
            )

    def reset(self) -> None:
        """Forget requests, queued replies, faults, caches, batches and files."""
        with self._lock:
            self._records.clear()
            self._calls.clear()
            self._faults.clear()
            self._injected.clear()
            self._batches.clear()

