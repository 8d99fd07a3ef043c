"""Model calls: validate a Messages or Chat Completions body, pick the reply text, shape it,
and account its usage (with the prompt caches) — for direct, streamed and batched calls.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .anthropic_wire import (
    THINKING_TOKENS,
    anthropic_error,
    anthropic_events,
    anthropic_message,
    anthropic_usage,
    thinks,
    validate_anthropic,
)
from .errors import error_reply
from .openai_wire import (
    openai_completion,
    openai_error,
    openai_events,
    openai_usage,
    validate_openai,
)
from .prompt import ANTHROPIC, JSON, OPENAI, Part, RequestError
from .prompt_cache import AnthropicPromptCache, CacheUsage, OpenAIPromptCache
from .quirks import Overflow, Quirks
from .replies import (
    Reply,
    Shaped,
    StreamReply,
    default_reply,
    json_reply,
    new_id,
    shape_reply,
)

Responder = Callable[[str, dict[str, Any]], "str | None"]
"""`fn(provider, body)`: a reply text, or None for the default reply."""

BILLS = ("usage", "max_tokens")
"""How replies bill output: the tokens written (and thought), or the request's whole max_tokens
(Anthropic: the max_tokens sent, thinking included; OpenAI: max_completion_tokens / max_tokens)."""


def validate_bill(bill: str) -> str:
    if bill not in BILLS:
        raise ValueError(f"bill must be one of {', '.join(BILLS)}, not {bill!r}")
    return bill


def asked_tokens(provider: str, body: Mapping[str, Any]) -> int | None:
    """The output a request lets the server bill: its whole max_tokens."""
    if provider == ANTHROPIC:
        return int(body["max_tokens"])
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return int(value) if value is not None else None


def max_tokens_of(provider: str, body: Mapping[str, Any]) -> int | None:
    """The tokens left for the reply text: max_tokens, less the thinking of a thinking model."""
    limit = asked_tokens(provider, body)
    if provider == ANTHROPIC and limit is not None and thinks(str(body["model"])):
        return max(0, limit - THINKING_TOKENS)
    return limit


def stop_sequences_of(provider: str, body: Mapping[str, Any]) -> list[str]:
    stops = body.get("stop_sequences" if provider == ANTHROPIC else "stop")
    if isinstance(stops, str):
        return [stops] if stops else []
    return [s for s in stops or [] if isinstance(s, str) and s]


class ModelCalls:
    """Answers model calls. A reply's text is, in order: the first queued `enqueue()` text for
    that provider, else `responder(provider, body)` if it returns a string, else the default
    `STANDIN <digest>` + marker lines; then it is cut by stop sequences and max_tokens.

    State (queued replies, prompt caches) is guarded by the owner's `lock`.
    """

    def __init__(
        self,
        lock: threading.RLock,
        marker: re.Pattern[str],
        cache_min_tokens: int,
        openai_cache_min_tokens: int,
        bill: str = "usage",
        quirks: Quirks | None = None,
    ) -> None:
        self.bill = validate_bill(bill)
        self.quirks = quirks or Quirks()
        self._lock = lock
        self._marker = marker
        self._scripted: list[tuple[str, str | None]] = []
        self._anthropic_cache = AnthropicPromptCache(cache_min_tokens)
        self._openai_cache = OpenAIPromptCache(openai_cache_min_tokens)

    def enqueue(self, text: str, provider: str | None) -> None:
        with self._lock:
            self._scripted.append((text, provider))

    def clear(self) -> None:
        """Forget queued replies and the prompt caches."""
        with self._lock:
            self._scripted.clear()
            self._anthropic_cache.clear()
            self._openai_cache.clear()

    def messages(
        self, body: Any, rid: str, responder: Responder | None, *, count_only: bool = False
    ) -> tuple[Reply | StreamReply, str | None]:
        """POST /v1/messages (or /count_tokens): the reply, and the reply text if any."""
        try:
            parts = validate_anthropic(body, require_max_tokens=not count_only)
        except RequestError as exc:
            return error_reply(ANTHROPIC, 400, exc.message, rid), None
        if count_only:
            return json_reply(200, {"input_tokens": sum(p.tokens for p in parts)}), None
        stream = body.get("stream") is True
        try:
            shaped, usage = self._generate(ANTHROPIC, body, parts, "standard", responder)
        except Overflow as exc:
            if not stream:
                return error_reply(ANTHROPIC, 400, f"prompt is too long: {exc}", rid), None
            shaped = Shaped("", "end", None, 0)  # what LiteLLM made of llama.cpp's overflow
            usage = anthropic_usage(CacheUsage(exc.prompt_tokens), 0)
        msg_id = new_id("msg_")
        if stream:
            return StreamReply(anthropic_events(msg_id, body["model"], shaped, usage)), shaped.text
        reply = json_reply(200, anthropic_message(msg_id, body["model"], shaped, usage))
        return reply, shaped.text

    def chat(
        self, body: Any, rid: str, responder: Responder | None
    ) -> tuple[Reply | StreamReply, str | None]:
        """POST /v1/chat/completions: the reply, and the reply text if any."""
        try:
            parts = validate_openai(body)
        except RequestError as exc:
            return error_reply(OPENAI, 400, exc.message, rid, exc.param), None
        stream = body.get("stream") is True
        try:
            shaped, usage = self._generate(OPENAI, body, parts, "default", responder)
        except Overflow as exc:  # llama.cpp: a 400, or in a stream a 200 with nothing in it
            if stream:
                return StreamReply([]), None
            return error_reply(OPENAI, 400, exc.message, rid, "messages"), None
        cid = new_id("chatcmpl-")
        if stream:
            options = body.get("stream_options") or {}
            include = isinstance(options, dict) and options.get("include_usage") is True \
                and self.quirks.stream_usage
            events = openai_events(cid, body["model"], shaped, usage, include)
            return StreamReply(events), shaped.text
        return json_reply(200, openai_completion(cid, body["model"], shaped, usage)), shaped.text

    def batched(
        self, provider: str, body: JSON, responder: Responder | None
    ) -> tuple[int, JSON]:
        """One request of a batch: (HTTP status, response JSON)."""
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
        try:
            shaped, usage = self._generate(provider, body, parts, "batch", responder)
        except Overflow as exc:
            return 400, (anthropic_error(400, exc.message) if provider == ANTHROPIC
                         else openai_error(400, exc.message, "messages"))
        if provider == ANTHROPIC:
            return 200, anthropic_message(new_id("msg_"), body["model"], shaped, usage)
        return 200, openai_completion(new_id("chatcmpl-"), body["model"], shaped, usage)

    def _take_scripted(self, provider: str) -> str | None:
        with self._lock:
            for i, (text, wanted) in enumerate(self._scripted):
                if wanted in (None, provider):
                    del self._scripted[i]
                    return text
        return None

    def _generate(
        self, provider: str, body: JSON, parts: list[Part], tier: str, responder: Responder | None
    ) -> tuple[Shaped, JSON]:
        prompt_tokens = sum(p.tokens for p in parts)
        limit = max_tokens_of(provider, body)
        if self.quirks.overflows(prompt_tokens):
            raise Overflow(self.quirks.context or 0, prompt_tokens, limit)
        fitted = self.quirks.fitted(limit, prompt_tokens)
        text = self._take_scripted(provider)
        if text is None and responder is not None:
            answer = responder(provider, body)
            text = answer if isinstance(answer, str) else None
        if text is None:
            text = default_reply(parts, self._marker)
        shaped = shape_reply(text, fitted, stop_sequences_of(provider, body))
        if self.bill == "max_tokens":
            shaped.billed = asked_tokens(provider, body)
        output = shaped.billed if shaped.billed is not None else shaped.output_tokens
        with self._lock:
            if provider == ANTHROPIC:
                cache = self._anthropic_cache.account(body["model"], parts)
                return shaped, anthropic_usage(cache, output, tier)
            cached = self._openai_cache.account(body["model"], parts)
        return shaped, openai_usage(sum(p.tokens for p in parts), cached, output)
