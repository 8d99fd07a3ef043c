"""What the stand-in remembers of each request it received, with api keys redacted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "api-key", "openai-api-key", "proxy-authorization"}
)


@dataclass
class RecordedRequest:
    """One HTTP request the stand-in received (api keys redacted)."""

    provider: str
    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    time: float
    """Wall-clock arrival time (time.time())."""
    started: float
    """Arrival, time.monotonic()."""
    finished: float | None = None
    """time.monotonic() when the reply was complete (set just before its last bytes go out)."""
    status: int | None = None
    stream: bool = False
    reply: str | None = None
    """The reply text of a model call (after max_tokens / stop sequences)."""
    events: int = 0
    """A streamed reply: how many events it has, and how many were sent before the end or
    before the client hung up (`hung_up`: it closed the stream part-way)."""
    events_sent: int = 0
    hung_up: bool = False


def redact(headers: Any) -> dict[str, str]:
    """Headers with lower-cased names and the values of key-bearing ones replaced."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        secret = value.strip()
        if low in SECRET_HEADERS and secret and secret.lower() != "bearer":
            value = "Bearer REDACTED" if secret.lower().startswith("bearer ") else "REDACTED"
        out[low] = value
    return out
