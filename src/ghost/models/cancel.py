"""Cancelling a model call in flight: another thread sets a `Cancel`, and the provider reading
the call's reply stream closes it at the next piece that arrives (closing the HTTP response, so
the provider stops generating and billing) and raises CallCancelled.

A provider adapter asks `current()` for the cancel of the thread it runs on: with one, it
streams the reply (so there is a stream to close) and calls `check()` on every event::

    >>> cancel = Cancel()
    >>> with cancellable(cancel):
    ...     check()          # not cancelled: the stream is read on
    ...     cancel.set()     # (another thread does this: the screen's verdict was C)
    ...     try:
    ...         check()      # at the next event
    ...     except CallCancelled as exc:
    ...         print(exc)
    the call was cancelled and its reply stream closed

The runner bills a cancelled call its reserved worst case (`worst_usage`): how much of the
reply the provider had generated when the stream closed is not knowable from here.

The cancel is per thread (not an argument of `Model.complete`), so adapters that cannot cancel
(local models, the fake provider) need not know about it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


class CallCancelled(Exception):
    """The call's Cancel was set: its reply stream was closed before the end (`sent`), or the
    request was never sent (a retry after the cancel)."""

    def __init__(self, message: str, *, sent: bool = True):
        super().__init__(message)
        self.sent = sent


class Cancel:
    """A flag one thread sets and the thread running a call checks between stream events."""

    def __init__(self) -> None:
        self.event = threading.Event()  # also ends the call's waits between retries at once

    def set(self) -> None:
        self.event.set()

    @property
    def is_set(self) -> bool:
        return self.event.is_set()


@contextmanager
def cancellable(cancel: Cancel) -> Iterator[Cancel]:
    """Calls made on this thread inside the block can be cancelled through `cancel`."""
    previous = getattr(_local, "cancel", None)
    _local.cancel = cancel
    try:
        yield cancel
    finally:
        _local.cancel = previous


def current() -> Cancel | None:
    """The cancel of calls made on this thread, if they can be cancelled."""
    cancel: Cancel | None = getattr(_local, "cancel", None)
    return cancel


def check(*, sent: bool = True) -> None:
    """Raise CallCancelled when this thread's calls have been cancelled; `sent=False` before
    the request goes out (nothing to bill)."""
    cancel = current()
    if cancel is not None and cancel.is_set:
        raise CallCancelled("the call was cancelled" + (" and its reply stream closed"
                                                        if sent else " before it was sent"),
                            sent=sent)
