"""Turn SDK exceptions into ghost's: transient ones are retried by the runner, the rest fail."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ghost.errors import CredentialsError, ModelCallError, UnreachableEndpoint
from ghost.models.protocol import RetryableError

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
# A call's reply (or, streamed, its next piece) may keep ghost waiting this long by default.
DEFAULT_CALL_TIMEOUT = 120.0
# Output a non-streamed call may ask for within one --timeout; a call asking more gets more.
TIMEOUT_TOKENS = 4096
CONNECT_TIMEOUT = 10.0
# A configured endpoint that refuses connections (or whose name does not resolve) is given
# this many tries in all, a few seconds, not the whole --patience: it is most likely a wrong
# URL, or a server that is not running.
UNREACHABLE_TRIES = 3
STREAM_TRIES = 2  # a stream that ended unfinished is asked for once more, then the call fails
# Statuses that say "busy, come back": their replies are alike by nature (see Streak).
BUSY_STATUSES = frozenset({429, 503, 529})

# A LiteLLM proxy with no database answers any key but its master key with this 400.
NO_DB_KEY_REPLY = "No connected db."


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

        cause = _unreachable_cause(exc) if name == "APIConnectionError" else ""
        if cause:
            return unreachable(exc, provider, cause)
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
    message = _error_message(exc)
    if status in RETRYABLE_STATUSES:
        retry_after = retry_after_seconds(getattr(response, "headers", None))
        # A server that names no time to come back and repeats the same body is not busy.
        same = "" if status in BUSY_STATUSES or retry_after is not None else _reply_words(exc)
        return RetryableError(f"{provider} {model}: HTTP {status}", retry_after, status,
                              detail=message, same_as=same)
    if status in (401, 403):
        hint = key_env(provider)
        return CredentialsError(f"{provider} rejected the credentials (HTTP {status}): "
                                f"check {hint}")
    if status == 400 and NO_DB_KEY_REPLY in message:
        return CredentialsError(
            f"{provider} rejected the credentials (HTTP 400 '{NO_DB_KEY_REPLY}': a LiteLLM "
            f"proxy without a database takes only its master key): check {key_env(provider)}")
    if status == 404:
        return ModelCallError(f"{provider} does not know model '{model}' (HTTP 404): "
                              "check --map-model/--reduce-model")
    return ModelCallError(f"{provider} {model} refused the request (HTTP {status}): {message}")


def _unreachable_cause(exc: BaseException) -> str:
    """What made a connection error permanent-looking: a refusal, or a host name that does
    not resolve ("" for anything else: a reset, a timeout, a name lookup that may pass)."""
    import socket

    seen: BaseException | None = exc
    for _ in range(8):  # the SDK's error, httpx's, httpcore's, the socket's
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "refused the connection"
        if isinstance(seen, socket.gaierror) and seen.errno == socket.EAI_NONAME:
            return "is not a known host name"
        seen = seen.__cause__ or seen.__context__
    return ""


def unreachable(exc: Exception, provider: str, cause: str) -> RetryableError:
    """A refused connection: tried a few times, then UnreachableEndpoint naming the host
    (scheme, host and port only: never a key or a path)."""
    from ghost.models.keys import url_host

    url = str(getattr(getattr(exc, "request", None), "url", "") or "")
    host = url_host(url) if url else f"{provider}'s server"
    final = UnreachableEndpoint(
        f"{host} {cause} ({UNREACHABLE_TRIES} tries): check {base_url_env(provider)} or "
        "--base-url, and that the server is running")
    return RetryableError(f"{provider}: {host} {cause}", tries=UNREACHABLE_TRIES, final=final)


def _reply_words(exc: Exception) -> str:
    """What an error reply says (status, error type, message), to tell a repeat: its request
    id (Anthropic's `request_id`, a new one each time) left out."""
    status = getattr(exc, "status_code", "")
    return f"{status} {error_type(exc)}: {_error_message(exc)}"


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


def base_url_env(provider: str) -> str:
    """The environment variable that holds `provider`'s base URL, as the model table says."""
    from ghost.models.catalog import load_catalog

    conf = load_catalog().providers.get(provider, {})
    return str(conf.get("base_url_env") or f"{provider.upper()}_BASE_URL")


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


def unfinished_stream(provider: str, model: str, chars: int, *, empty: bool) -> RetryableError:
    """A reply stream that ended with no finish reason: it is not a reply, whatever it holds.
    Sent once more (STREAM_TRIES in all), then the call fails; never kept, never written.
    `empty`: nothing at all came (llama.cpp's answer to a prompt over its context window)."""
    if not empty:
        what = (f"the reply stream stopped after {chars:,} characters with no finish reason "
                "(the server cut it short; llama.cpp does when another request arrives)")
    else:
        what = ("the reply stream was empty, with no finish reason (most likely the prompt "
                "does not fit the server's context window)")
    final = ModelCallError(f"{provider} {model}: {what}, {STREAM_TRIES} times; nothing was kept")
    return RetryableError(f"{provider} {model}: {what}", tries=STREAM_TRIES, final=final)


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
