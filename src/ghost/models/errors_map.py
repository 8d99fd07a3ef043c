"""Turn SDK exceptions into ghost's: transient ones are retried by the runner, the rest fail."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ghost.errors import ModelCallError
from ghost.models.protocol import RetryableError

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def retry_after_seconds(headers: Any) -> float | None:
    """Read `retry-after-ms` or `retry-after` (seconds or an HTTP date) from response headers."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def translate(exc: Exception, provider: str, model: str) -> Exception:
    """Map an SDK exception (duck-typed: both SDKs share shapes) to a ghost exception."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status is None:
        if name in ("APIConnectionError", "APITimeoutError"):
            from ghost.logs import redact

            return RetryableError(f"{provider}: {name} ({redact(str(exc))})")
        return exc
    response = getattr(exc, "response", None)
    if status in RETRYABLE_STATUSES:
        return RetryableError(f"{provider} {model}: HTTP {status}",
                              retry_after_seconds(getattr(response, "headers", None)), status)
    message = _error_message(exc)
    if status in (401, 403):
        hint = key_env(provider)
        return ModelCallError(f"{provider} rejected the credentials (HTTP {status}): check {hint}")
    if status == 404:
        return ModelCallError(f"{provider} does not know model '{model}' (HTTP 404): "
                              "check --map-model/--reduce-model")
    return ModelCallError(f"{provider} {model} refused the request (HTTP {status}): {message}")


def key_env(provider: str) -> str:
    """The environment variable that holds `provider`'s key, as the model table says."""
    from ghost.models.catalog import load_catalog

    conf = load_catalog().providers.get(provider, {})
    return str(conf.get("key_env") or f"{provider.upper()}_API_KEY")


def _error_message(exc: Exception) -> str:
    """The provider's own explanation, with any key it echoes back redacted."""
    from ghost.logs import redact

    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return redact(str(err["message"]))[:300]
    return redact(str(exc))[:300]


@contextmanager
def translated_errors(provider: str, model: str) -> Iterator[None]:
    """Re-raise SDK exceptions inside the block as ghost's own (see `translate`)."""
    try:
        yield
    except Exception as exc:
        translated = translate(exc, provider, model)
        if translated is exc:
            raise
        raise translated from None
