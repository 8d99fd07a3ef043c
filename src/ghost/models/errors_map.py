"""Turn SDK exceptions into ghost's: transient ones are retried by the runner, the rest fail."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ghost.errors import CredentialsError, ModelCallError
from ghost.models.protocol import RetryableError

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
# A call's reply (or, streamed, its next piece) may keep ghost waiting this long by default.
DEFAULT_CALL_TIMEOUT = 120.0
# Output a non-streamed call may ask for within one --timeout; a call asking more gets more.
TIMEOUT_TOKENS = 4096
CONNECT_TIMEOUT = 10.0


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


# Error types (Anthropic's, OpenAI's) of an error sent after a 200, in a stream's `error`
# event or chunk, that a later try may not meet. Any other type (invalid_request_error, …)
# is the request's own fault and fails the call.
RETRYABLE_ERROR_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error",
                                   "timeout_error", "server_error", "rate_limit_exceeded",
                                   "service_unavailable", "internal_error"})
# The transport's (httpx's, or the httpx2 the SDKs may ship with) exceptions a stream raises
# unwrapped when the connection breaks or stalls while its body is read.
TRANSPORT_ERRORS = frozenset({"TimeoutException", "NetworkError", "RemoteProtocolError",
                              "DecodingError"})


def translate(exc: Exception, provider: str, model: str) -> Exception:
    """Map an SDK exception (duck-typed: both SDKs share shapes) to a ghost exception."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status is None:
        from ghost.logs import redact

        if name in ("APIConnectionError", "APITimeoutError"):
            return RetryableError(f"{provider}: {name} ({redact(str(exc))})")
        if _is_transport_error(exc):
            return RetryableError(f"{provider}: the connection failed while the reply was read "
                                  f"({name}: {redact(str(exc))[:200]})")
        if isinstance(exc, ValueError) and type(exc).__module__.startswith("json"):
            return RetryableError(f"{provider} {model}: the reply was not whole JSON ({exc})")
        if name == "APIError" and getattr(exc, "body", None) is not None:
            return _error_after_200(exc, provider, model)  # OpenAI: an error chunk in a stream
        return exc
    if status < 300:  # Anthropic: an `event: error` in a stream that began with a 200
        return _error_after_200(exc, provider, model)
    response = getattr(exc, "response", None)
    if status in RETRYABLE_STATUSES:
        return RetryableError(f"{provider} {model}: HTTP {status}",
                              retry_after_seconds(getattr(response, "headers", None)), status)
    message = _error_message(exc)
    if status in (401, 403):
        hint = key_env(provider)
        return CredentialsError(f"{provider} rejected the credentials (HTTP {status}): "
                                f"check {hint}")
    if status == 404:
        return ModelCallError(f"{provider} does not know model '{model}' (HTTP 404): "
                              "check --map-model/--reduce-model")
    return ModelCallError(f"{provider} {model} refused the request (HTTP {status}): {message}")


def _is_transport_error(exc: Exception) -> bool:
    return any(c.__name__ in TRANSPORT_ERRORS and c.__module__.split(".")[0] in ("httpx",
                                                                                "httpx2")
               for c in type(exc).__mro__)


def error_type(exc: Exception) -> str:
    """The provider's error type (`overloaded_error`, …) an SDK error carries in its body."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("type"):
            return str(err["type"])
    return str(getattr(exc, "type", None) or getattr(exc, "code", None) or "")


def _error_after_200(exc: Exception, provider: str, model: str) -> Exception:
    kind = error_type(exc) or "unknown error"
    if kind in RETRYABLE_ERROR_TYPES:
        return RetryableError(f"{provider} {model}: {kind} in the reply stream")
    return ModelCallError(f"{provider} {model} refused the request ({kind} in the reply "
                          f"stream): {_error_message(exc)}")


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


def call_timeout(sdk: Any, timeout: float, asked_tokens: int, streamed: bool) -> Any:
    """The SDK's (httpx) Timeout for one call: `timeout` seconds for a reply that comes whole
    (more for one asking past TIMEOUT_TOKENS), or between two pieces of a streamed one: httpx
    applies the read timeout to each read, so for a stream it bounds the idle time, not the
    whole answer."""
    read = timeout if streamed else timeout * max(1.0, asked_tokens / TIMEOUT_TOKENS)
    return sdk.Timeout(read, connect=min(CONNECT_TIMEOUT, timeout))


def malformed(provider: str, model: str, what: str) -> RetryableError:
    """A 200 whose body is not a reply (a field missing or None): sent again."""
    return RetryableError(f"{provider} {model}: the reply had no {what}")


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
