"""Loopback stand-in for the Anthropic and OpenAI model APIs, for tests and keyless demos.

Tests drive the real SDKs against it through their base URL::

    with StandIn() as s:
        client = anthropic.Anthropic(api_key="k", base_url=s.anthropic_base_url, max_retries=0)
        openai_client = openai.OpenAI(api_key="k", base_url=s.openai_base_url, max_retries=0)

Replies are deterministic: `STANDIN <8 hex of sha256 of the message text>` then one
`- <line>` per line of the last user message that carries the marker (`FACT-...` by
default), so a fact planted in the input can be followed to the next stage. Scripted
replies (`enqueue`), a `responder` callback, injected faults (`fail_every`, `fail_next`),
latency, prompt-caching usage, streaming (SSE) and both batch APIs are simulated.

Run `python -m ghost.testing.standin --port 8765` to serve until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from ghost.testing.standin_batches import BatchStore
from ghost.testing.standin_http import StandInHandler, StandInServer
from ghost.testing.standin_logic import (
    ANTHROPIC,
    DEFAULT_MARKER,
    JSON,
    OPENAI,
    AnthropicPromptCache,
    OpenAIPromptCache,
    Part,
    Reply,
    RequestError,
    Shaped,
    StreamReply,
    anthropic_error,
    anthropic_events,
    anthropic_message,
    anthropic_usage,
    count_tokens,
    default_reply,
    json_reply,
    max_tokens_of,
    new_id,
    openai_completion,
    openai_error,
    openai_events,
    openai_status,
    openai_usage,
    shape_reply,
    stop_sequences_of,
    validate_anthropic,
    validate_openai,
)

__all__ = ["DEFAULT_MARKER", "RecordedRequest", "Responder", "StandIn", "count_tokens", "main"]

logger = logging.getLogger("ghost.testing.standin")

Responder = Callable[[str, dict[str, Any]], "str | None"]
"""`fn(provider, body)`: a reply text, or None for the default reply."""

PROVIDERS = (ANTHROPIC, OPENAI)
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


@dataclass
class _FailNext:
    status: int
    remaining: int
    retry_after: float | None
    provider: str | None


@dataclass
class _FailEvery:
    n: int
    statuses: tuple[int, ...]
    retry_after: float | None
    provider: str | None
    seen: int = 0
    failed: int = 0


def _redact(headers: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        secret = value.strip()
        if low in SECRET_HEADERS and secret and secret.lower() != "bearer":
            value = "Bearer REDACTED" if secret.lower().startswith("bearer ") else "REDACTED"
        out[low] = value
    return out


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _validate_provider(provider: str | None) -> None:
    if provider is not None and provider not in PROVIDERS:
        raise ValueError(f"provider must be None, 'anthropic' or 'openai', not {provider!r}")


_MODEL_ROUTES = {
    ("POST", "/v1/messages"): "messages",
    ("POST", "/v1/messages/count_tokens"): "count_tokens",
    ("POST", "/v1/chat/completions"): "chat",
}
_BATCH_PREFIXES = ("/v1/messages/batches", "/v1/batches", "/v1/files")


class StandIn:
    """A threaded loopback HTTP server that answers like the Anthropic and OpenAI APIs.

    Use as a context manager (or `start()` / `stop()`). All methods are thread-safe.

    Routes: POST /v1/messages (+ stream), /v1/messages/count_tokens, /v1/messages/batches…,
    POST /v1/chat/completions (+ stream), /v1/files…, /v1/batches…. Every request is
    recorded; then it needs a key (Anthropic: `x-api-key` or `Authorization: Bearer`,
    OpenAI: Bearer) else 401; then injected faults apply; then the body is validated (400).

    A reply's text is, in order: the first queued `enqueue()` text for that provider, else
    `responder(provider, body)` if it returns a string, else the default
    `STANDIN <digest>` + marker lines. It is then cut by stop sequences and max_tokens
    (4 chars a token: stop_reason max_tokens / finish_reason length).

    Args:
        latency: seconds every request waits before its reply (concurrently).
        responder: `fn(provider, body) -> str | None` overriding the default reply.
        marker: regex of the lines of the last user message copied into default replies.
        cache_min_tokens: Anthropic: smallest prefix (up to the last cache_control block)
            that is written to / read from the simulated prompt cache.
        openai_cache_min_tokens: OpenAI: smallest cached prefix (then 128-token steps).
        batch_ready_after: seconds after which a batch is done when looked at.
        batch_auto_finish: False: batches stay in progress until `finish_batches()`.
        host, port: where to listen (port 0: any free port).
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: Responder | None = None,
        marker: str | re.Pattern[str] = DEFAULT_MARKER,
        cache_min_tokens: int = 1024,
        openai_cache_min_tokens: int = 1024,
        batch_ready_after: float = 0.0,
        batch_auto_finish: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.latency = latency
        """Seconds each request sleeps before its reply (requests run concurrently)."""
        self.responder = responder
        self.batch_ready_after = batch_ready_after
        self.batch_auto_finish = batch_auto_finish
        self.host = host
        self._port = port
        self._marker = re.compile(marker) if isinstance(marker, str) else marker
        self._lock = threading.RLock()
        self._records: list[RecordedRequest] = []
        self._scripted: list[tuple[str, str | None]] = []
        self._fail_next: list[_FailNext] = []
        self._fail_every: _FailEvery | None = None
        self._anthropic_cache = AnthropicPromptCache(cache_min_tokens)
        self._openai_cache = OpenAIPromptCache(openai_cache_min_tokens)
        self._batches = BatchStore(self._batch_generate)
        self._connections: set[socket.socket] = set()
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> StandIn:
        if self._server is not None:
            return self
        server = StandInServer((self.host, self._port), StandInHandler)
        server.standin = self
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ghost-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self._port}"

    @property
    def anthropic_base_url(self) -> str:
        """For `anthropic.Anthropic(base_url=...)` (the SDK appends /v1/messages)."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        """For `openai.OpenAI(base_url=...)` (the SDK appends /chat/completions)."""
        return self.url + "/v1"

    def env(self, api_key: str = "standin-key") -> dict[str, str]:
        """Environment variables that point both SDKs (and ghost) at this stand-in."""
        return {
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "ANTHROPIC_API_KEY": api_key,
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_KEY": api_key,
        }

    # ------------------------------------------------------------ scripting

    def enqueue(self, text: str, provider: str | None = None) -> None:
        """Queue a reply text for the next successful model call (of `provider`, or any)."""
        _validate_provider(provider)
        with self._lock:
            self._scripted.append((text, provider))

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
            if n <= 0 or not statuses:
                self._fail_every = None
            else:
                self._fail_every = _FailEvery(n, tuple(statuses), retry_after, provider)

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        """Fail the next `count` requests (of `provider`, or any) with `status`."""
        _validate_provider(provider)
        if count > 0:
            with self._lock:
                self._fail_next.append(_FailNext(status, count, retry_after, provider))

    def clear_faults(self) -> None:
        with self._lock:
            self._fail_next.clear()
            self._fail_every = None

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
            self._scripted.clear()
            self._fail_next.clear()
            self._fail_every = None
            self._anthropic_cache.clear()
            self._openai_cache.clear()
            self._batches.clear()

    # ------------------------------------------------------------ request handling

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _serve(self, h: StandInHandler, method: str) -> None:
        path = urlsplit(h.path).path.rstrip("/") or "/"
        raw = h.read_body()
        if method == "GET" and path in ("/", "/health"):
            info = {
                "standin": "ghost",
                "anthropic_base_url": self.anthropic_base_url,
                "openai_base_url": self.openai_base_url,
            }
            h.send(json_reply(200, info))
            return
        provider = ANTHROPIC if path.startswith("/v1/messages") else OPENAI
        content_type = h.headers.get("Content-Type", "")
        body: Any = None
        bad_json = False
        if raw and not content_type.startswith("multipart/"):
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        recorded: Any = {}
        if bad_json:
            recorded = {"_raw": raw[:2000].decode("utf-8", "replace")}
        elif raw:
            recorded = self._batches.describe(body, raw, content_type)
        record = RecordedRequest(
            provider=provider,
            method=method,
            path=path,
            body=recorded if isinstance(recorded, dict) else {"_json": recorded},
            headers=_redact(h.headers),
            time=time.time(),
            started=time.monotonic(),
            stream=isinstance(body, dict) and body.get("stream") is True,
        )
        with self._lock:
            self._records.append(record)
        if self.latency > 0:
            time.sleep(self.latency)
        rid = new_id("req_")
        try:
            reply = self._respond(
                provider, method, path, body, bad_json, raw, content_type, h, record, rid
            )
        except Exception as exc:  # a bug here, or in a responder: answer 500, don't hang up
            logger.exception("stand-in: error while answering %s %s", method, path)
            reply = self._error(provider, 500, f"stand-in error: {exc!r}", rid)
        reply.headers.append(("request-id" if provider == ANTHROPIC else "x-request-id", rid))
        status = reply.status if isinstance(reply, Reply) else 200
        record.status = status

        def done() -> None:
            record.finished = time.monotonic()

        try:
            if isinstance(reply, Reply):
                done()
                h.send(reply)
            else:
                h.send_stream(reply, done)
        finally:
            if record.finished is None:
                done()
            logger.info(
                "%s %s %s -> %d%s (%.0f ms)",
                provider,
                method,
                path,
                status,
                " stream" if record.stream else "",
                ((record.finished or record.started) - record.started) * 1000,
            )

    def _respond(
        self,
        provider: str,
        method: str,
        path: str,
        body: Any,
        bad_json: bool,
        raw: bytes,
        content_type: str,
        h: StandInHandler,
        record: RecordedRequest,
        rid: str,
    ) -> Reply | StreamReply:
        route = _MODEL_ROUTES.get((method, path))
        if route is None and not path.startswith(_BATCH_PREFIXES):
            hint = ""
            if path.startswith("/v1/v1/"):
                hint = " (the Anthropic base_url is the server root: use s.anthropic_base_url)"
            elif path.startswith(("/chat/", "/batches", "/files")):
                hint = " (the OpenAI base_url ends in /v1: use s.openai_base_url)"
            return self._error(provider, 404, f"stand-in has no route {method} {path}{hint}", rid)
        if not self._authorized(provider, h.headers):
            message = (
                "x-api-key header is required"
                if provider == ANTHROPIC
                else "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return self._error(provider, 401, message, rid)
        fault = self._take_fault(provider)
        if fault is not None:
            return self._fault(provider, fault[0], fault[1], rid)
        if bad_json:
            return self._error(provider, 400, "The request body is not valid JSON.", rid)
        if route == "messages" or route == "count_tokens":
            try:
                parts = validate_anthropic(body, require_max_tokens=route == "messages")
            except RequestError as exc:
                return self._error(ANTHROPIC, 400, exc.message, rid)
            if route == "count_tokens":
                return json_reply(200, {"input_tokens": sum(p.tokens for p in parts)})
            shaped, usage = self._generate(ANTHROPIC, body, parts, "standard")
            record.reply = shaped.text
            msg_id = new_id("msg_")
            if body.get("stream") is True:
                return StreamReply(anthropic_events(msg_id, body["model"], shaped, usage))
            return json_reply(200, anthropic_message(msg_id, body["model"], shaped, usage))
        if route == "chat":
            try:
                parts = validate_openai(body)
            except RequestError as exc:
                return self._error(OPENAI, 400, exc.message, rid, exc.param)
            shaped, usage = self._generate(OPENAI, body, parts, "default")
            record.reply = shaped.text
            cid = new_id("chatcmpl-")
            if body.get("stream") is True:
                options = body.get("stream_options") or {}
                include = isinstance(options, dict) and options.get("include_usage") is True
                return StreamReply(openai_events(cid, body["model"], shaped, usage, include))
            return json_reply(200, openai_completion(cid, body["model"], shaped, usage))
        with self._lock:
            reply = self._batches.handle(
                method,
                path,
                body,
                raw,
                content_type,
                self._base_url(h),
                self.batch_ready_after,
                self.batch_auto_finish,
            )
        if reply is None:
            return self._error(provider, 404, f"stand-in has no route {method} {path}", rid)
        return reply

    def _base_url(self, h: StandInHandler) -> str:
        host = h.headers.get("Host")
        return f"http://{host}" if host else self.url

    def _authorized(self, provider: str, headers: Any) -> bool:
        auth = (headers.get("Authorization") or "").strip()
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if provider == ANTHROPIC:
            return bool((headers.get("X-Api-Key") or "").strip() or bearer)
        return bool(bearer)

    def _take_fault(self, provider: str) -> tuple[int, float | None] | None:
        with self._lock:
            for fault in self._fail_next:
                if fault.provider in (None, provider):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._fail_next.remove(fault)
                    return fault.status, fault.retry_after
            every = self._fail_every
            if every is not None and every.provider in (None, provider):
                every.seen += 1
                if every.seen % every.n == 0:
                    status = every.statuses[every.failed % len(every.statuses)]
                    every.failed += 1
                    return status, every.retry_after
        return None

    def _error(
        self, provider: str, status: int, message: str | None, rid: str, param: str | None = None
    ) -> Reply:
        if provider == ANTHROPIC:
            return json_reply(status, anthropic_error(status, message, rid))
        return json_reply(openai_status(status), openai_error(status, message, param))

    def _fault(self, provider: str, status: int, retry_after: float | None, rid: str) -> Reply:
        reply = self._error(provider, status, None, rid)
        if retry_after is not None:
            reply.headers.append(("retry-after", _seconds(retry_after)))
            reply.headers.append(("retry-after-ms", str(round(retry_after * 1000))))
        return reply

    def _take_scripted(self, provider: str) -> str | None:
        with self._lock:
            for i, (text, wanted) in enumerate(self._scripted):
                if wanted in (None, provider):
                    del self._scripted[i]
                    return text
        return None

    def _generate(
        self, provider: str, body: JSON, parts: list[Part], tier: str
    ) -> tuple[Shaped, JSON]:
        text = self._take_scripted(provider)
        if text is None and self.responder is not None:
            answer = self.responder(provider, body)
            text = answer if isinstance(answer, str) else None
        if text is None:
            text = default_reply(parts, self._marker)
        shaped = shape_reply(text, max_tokens_of(provider, body), stop_sequences_of(provider, body))
        with self._lock:
            if provider == ANTHROPIC:
                cache = self._anthropic_cache.account(body["model"], parts)
                return shaped, anthropic_usage(cache, shaped.output_tokens, tier)
            cached = self._openai_cache.account(body["model"], parts)
        return shaped, openai_usage(sum(p.tokens for p in parts), cached, shaped.output_tokens)

    def _batch_generate(self, provider: str, body: JSON) -> tuple[int, JSON]:
        try:
            parts = validate_anthropic(body) if provider == ANTHROPIC else validate_openai(body)
        except RequestError as exc:
            if provider == ANTHROPIC:
                return 400, anthropic_error(400, exc.message)
            return 400, openai_error(400, exc.message, exc.param)
        if body.get("stream") is True:
            return 400, (
                anthropic_error(400, "stream is not supported in batches")
                if provider == ANTHROPIC
                else openai_error(400, "stream is not supported in batches", "stream")
            )
        shaped, usage = self._generate(provider, body, parts, "batch")
        if provider == ANTHROPIC:
            return 200, anthropic_message(new_id("msg_"), body["model"], shaped, usage)
        return 200, openai_completion(new_id("chatcmpl-"), body["model"], shaped, usage)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ghost.testing.standin",
        description="Serve a stand-in for the Anthropic and OpenAI APIs until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument(
        "--marker", default=DEFAULT_MARKER, help="regex of lines carried into replies"
    )
    parser.add_argument("--cache-min-tokens", type=int, default=1024)
    parser.add_argument("--batch-ready-after", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    standin = StandIn(
        host=args.host,
        port=args.port,
        latency=args.latency,
        marker=args.marker,
        cache_min_tokens=args.cache_min_tokens,
        openai_cache_min_tokens=args.cache_min_tokens,
        batch_ready_after=args.batch_ready_after,
    )
    with standin:
        logger.info("stand-in listening on %s", standin.url)
        logger.info(
            "point ghost at it: %s",
            " ".join(f"{k}={v}" for k, v in standin.env().items()),
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            logger.info("stand-in stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
