"""The stand-in itself: a loopback server that answers like the Anthropic and OpenAI APIs,
and the controls a test uses to script it, break it and inspect what it received.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .batches import BatchStore
from .calls import ModelCalls, Responder
from .control import Controls
from .errors import Faults, error_reply, fault_reply
from .faults import Injections, send_faulty
from .http_server import Listener, StandInHandler
from .prompt import ANTHROPIC, JSON, OPENAI
from .quirks import Quirks
from .ratelimit import RateLimit
from .records import RecordedRequest, redact
from .replies import DEFAULT_MARKER, Reply, StreamReply, json_reply, new_id

logger = logging.getLogger("standin")



_MODEL_ROUTES = {
    ("POST", "/v1/messages"): "messages",
    ("POST", "/v1/messages/count_tokens"): "count_tokens",
    ("POST", "/v1/chat/completions"): "chat",
}
_BATCH_PREFIXES = ("/v1/messages/batches", "/v1/batches", "/v1/files")


class StandIn(Controls):
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
        bill: "usage" (default): replies bill the output they hold; "max_tokens": every
            reply (direct, streamed or batched) bills its request's whole max_tokens as
            output (Anthropic: as sent, thinking included; OpenAI: max_completion_tokens or
            max_tokens), input as usual: the worst case a budget must survive.
        quirks: how a real compatible server differs (`quirks.Quirks`: a small context
            window, streams without usage, one request at a time).
        rate_limit: an account's request limit (`ratelimit.RateLimit`): 429s past it, and
            the rate-limit headers on every model reply.
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
        bill: str = "usage",
        quirks: Quirks | None = None,
        rate_limit: RateLimit | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.latency = latency
        """Seconds each request sleeps before its reply (requests run concurrently)."""
        self.stream_gap = 0.0
        """Seconds between two events of a streamed reply (0: all at once); a client that
        closes the stream part-way is then seen (`RecordedRequest.hung_up`)."""
        self.responder = responder
        self.rate_limit = rate_limit
        self.batch_ready_after = batch_ready_after
        self.batch_auto_finish = batch_auto_finish
        self.host = host
        self._port = port
        self._lock = threading.RLock()
        self._records: list[RecordedRequest] = []
        self._faults = Faults()
        self._injected = Injections()
        self._stopping = threading.Event()
        self._calls = ModelCalls(
            self._lock,
            re.compile(marker) if isinstance(marker, str) else marker,
            cache_min_tokens,
            openai_cache_min_tokens,
            bill,
            quirks,
        )
        # A serial server computes (and sends) one reply at a time.
        self._turn = threading.Lock() if quirks is not None and quirks.serial else None
        self._batches = BatchStore(self._batch_generate)
        self._listener: Listener | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> StandIn:
        if self._listener is None:
            self._stopping.clear()
            self._listener = Listener(self.host, self._port, self)
            self._port = self._listener.port
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        self._stopping.set()  # a hanging reply hangs up now
        if listener is not None:
            listener.close()

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

    # ------------------------------------------------------------ request handling

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
            headers=redact(h.headers),
            time=time.time(),
            started=time.monotonic(),
            stream=isinstance(body, dict) and body.get("stream") is True,
        )
        with self._lock:
            self._records.append(record)
        if self._turn is not None:
            self._turn.acquire()
        if self.latency > 0:
            time.sleep(self.latency)
        rid = new_id("req_")
        try:
            reply = self._respond(provider, method, path, body, bad_json, raw, h, record, rid)
        except Exception as exc:  # a bug here, or in a responder: answer 500, don't hang up
            logger.exception("stand-in: error while answering %s %s", method, path)
            reply = error_reply(provider, 500, f"stand-in error: {exc!r}", rid)
        reply.headers.append(("request-id" if provider == ANTHROPIC else "x-request-id", rid))
        status = reply.status if isinstance(reply, Reply) else 200
        record.status = status
        injected = None
        if status == 200 and (method, path) in (("POST", "/v1/messages"),
                                                ("POST", "/v1/chat/completions")):
            with self._lock:
                injected = self._injected.take(provider, isinstance(reply, StreamReply))

        def done() -> None:
            record.finished = time.monotonic()

        try:
            if injected is not None:
                send_faulty(h, provider, reply, injected, self._stopping, done)
            elif isinstance(reply, Reply):
                done()
                h.send(reply)
            else:
                h.send_stream(reply, done, self.stream_gap, record)
        finally:
            if self._turn is not None:
                self._turn.release()
            if record.finished is None:
                done()
            ms = ((record.finished or record.started) - record.started) * 1000
            logger.info("%s %s %s -> %d%s (%.0f ms)", provider, method, path, status,
                        " stream" if record.stream else "", ms)

    def _respond(self, provider: str, method: str, path: str, body: Any, bad_json: bool,
                 raw: bytes, h: StandInHandler, record: RecordedRequest,
                 rid: str) -> Reply | StreamReply:
        route = _MODEL_ROUTES.get((method, path))
        if route is None and not path.startswith(_BATCH_PREFIXES):
            hint = ""
            if path.startswith("/v1/v1/"):
                hint = " (the Anthropic base_url is the server root: use s.anthropic_base_url)"
            elif path.startswith(("/chat/", "/batches", "/files")):
                hint = " (the OpenAI base_url ends in /v1: use s.openai_base_url)"
            return error_reply(provider, 404, f"stand-in has no route {method} {path}{hint}", rid)
        if not self._authorized(provider, h.headers):
            message = (
                "x-api-key header is required"
                if provider == ANTHROPIC
                else "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return error_reply(provider, 401, message, rid)
        with self._lock:
            fault = self._faults.take(provider)
        if fault is not None:
            return fault_reply(provider, fault[0], fault[1], rid, fault[2])
        if bad_json:
            return error_reply(provider, 400, "The request body is not valid JSON.", rid)
        if route is not None and self.rate_limit is not None:
            allowed, limits = self.rate_limit.take(provider)
            if not allowed:
                refused = error_reply(provider, 429, "Rate limited (stand-in)", rid)
                refused.headers.extend(limits)
                return refused
            answer = self._answer(route, body, rid, record)
            answer.headers.extend(limits)
            return answer
        if route is not None:
            return self._answer(route, body, rid, record)
        with self._lock:
            kind = h.headers.get("Content-Type", "")
            reply = self._batches.handle(method, path, body, raw, kind, self._base_url(h),
                                         self.batch_ready_after, self.batch_auto_finish)
        if reply is None:
            return error_reply(provider, 404, f"stand-in has no route {method} {path}", rid)
        return reply

    def _answer(self, route: str, body: Any, rid: str,
                record: RecordedRequest) -> Reply | StreamReply:
        if route == "chat":
            answer, text = self._calls.chat(body, rid, self.responder)
        else:
            count = route == "count_tokens"
            answer, text = self._calls.messages(body, rid, self.responder, count_only=count)
        record.reply = text
        return answer

    def _base_url(self, h: StandInHandler) -> str:
        host = h.headers.get("Host")
        return f"http://{host}" if host else self.url

    def _authorized(self, provider: str, headers: Any) -> bool:
        auth = (headers.get("Authorization") or "").strip()
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if provider == ANTHROPIC:
            return bool((headers.get("X-Api-Key") or "").strip() or bearer)
        return bool(bearer)

    def _batch_generate(self, provider: str, body: JSON) -> tuple[int, JSON]:
        return self._calls.batched(provider, body, self.responder)
