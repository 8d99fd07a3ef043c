"""The `anthropic:` provider: Claude through the official `anthropic` SDK (Messages API).

Models that think (Claude Opus 5.5 always does) send `thinking` / `redacted_thinking` blocks
before the text, in JSON and in streams alike. Only `text` blocks make the completion; the
thinking is billed as output (it is in `usage.output_tokens`) and counts against max_tokens,
so the table's `thinking_allowance` is added to the max_tokens each request asks for.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from ghost.errors import ModelCallError
from ghost.models.cancel import check as check_cancel
from ghost.models.cancel import current as current_cancel
from ghost.models.capacity import room_from_headers
from ghost.models.catalog import ModelInfo
from ghost.models.errors_map import (
    DEFAULT_CALL_TIMEOUT,
    call_timeout,
    malformed,
    translated_errors,
    unfinished_stream,
)
from ghost.models.keys import Endpoint
from ghost.models.protocol import Completion, Model, Request, Usage
from ghost.providers import Provider, register

NAME = "anthropic"
# The SDK refuses non-streaming requests it expects to run past ten minutes (~21k max_tokens).
STREAM_FROM_MAX_TOKENS = 8192
CACHE_MARK = {"type": "ephemeral"}
THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
CLOCK_SKEW = 600.0  # seconds a provider's clock may be behind ours when finding a batch


def _block(text: str, cache: bool, ttl: str = "") -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if cache:
        block["cache_control"] = {**CACHE_MARK, "ttl": ttl} if ttl else CACHE_MARK
    return block


def build_params(info: ModelInfo, request: Request) -> dict[str, Any]:
    """The Messages API body for `request` (also used for batch submissions)."""
    params: dict[str, Any] = {
        "model": info.name,
        "max_tokens": max_tokens(info, request),
        "messages": [
            {"role": m.role,
             "content": [_block(p.text, p.cache, p.cache_ttl) for p in m.parts if p.text]}
            for m in request.messages
        ],
    }
    if request.system:
        # A plain string unless it carries a cache mark: some servers in front of other models
        # (LiteLLM to llama.cpp) answer a list-form `system` with a 500.
        params["system"] = ([_block(request.system, True)] if request.cache_system
                            else request.system)
    # No temperature: the current Messages API (SDK 2.x) no longer takes one. Reproducibility
    # comes from ghost's response cache instead.
    return params


def max_tokens(info: ModelInfo, request: Request) -> int:
    """What the request asks for, plus room for the model's thinking (within max_output)."""
    return info.asked_output(request.max_tokens)


def parse_message(message: Any) -> Completion:
    """A Message (JSON reply, final stream snapshot or batch result) → Completion.

    Text is the `text` blocks only, in order: thinking, redacted thinking, tool use and any
    block type added later are left out. Output tokens include thinking, as billed.
    """
    text = "".join(getattr(b, "text", "") or "" for b in message.content
                   if getattr(b, "type", None) == "text")
    u = message.usage
    usage = Usage(
        input_tokens=u.input_tokens or 0,
        output_tokens=u.output_tokens or 0,
        cache_write_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
        cache_read_tokens=getattr(u, "cache_read_input_tokens", 0) or 0,
        cache_write_1h_tokens=getattr(getattr(u, "cache_creation", None),
                                      "ephemeral_1h_input_tokens", 0) or 0,
    )
    return Completion(text, usage, message.model, message.stop_reason or "")


def _thought(message: Any) -> bool:
    return any(getattr(b, "type", None) in THINKING_BLOCKS for b in message.content)


class AnthropicModel:
    def __init__(self, info: ModelInfo, endpoint: Endpoint,
                 timeout: float = DEFAULT_CALL_TIMEOUT):
        self.info = info
        self.spec = info.spec
        self.endpoint = endpoint
        self.timeout = timeout

    @functools.cached_property
    def _client(self) -> Any:
        """The SDK client, made on the first call: a run answered from ghost's cache never
        loads the SDK (over a second of imports)."""
        import anthropic

        return anthropic.Anthropic(api_key=self.endpoint.api_key,
                                   base_url=self.endpoint.base_url, max_retries=0,
                                   timeout=self.timeout)

    def complete(self, request: Request) -> Completion:
        import anthropic

        params = build_params(self.info, request)
        cancel = current_cancel()  # a call that can be cancelled streams: a stream can close
        check_cancel(sent=False)
        # The SDK judges "too long for one response" by the max_tokens actually sent.
        streamed = params["max_tokens"] >= STREAM_FROM_MAX_TOKENS or cancel is not None
        timeout = call_timeout(anthropic, self.timeout, params["max_tokens"], streamed)
        with translated_errors(NAME, self.info.name):
            if streamed:
                message, headers = self._stream(params, timeout, cancellable=cancel is not None)
            else:
                raw = self._client.messages.with_raw_response.create(**params, timeout=timeout)
                message, headers = raw.parse(), raw.headers
        if not isinstance(getattr(message, "content", None), list) or \
                getattr(message, "usage", None) is None:
            raise malformed(NAME, self.info.name, "content or usage")
        completion = replace(parse_message(message), room=room_from_headers(headers))
        if not completion.text.strip() and completion.stop_reason == "max_tokens" and \
                _thought(message):
            raise ModelCallError(
                f"{self.info.spec} spent all {params['max_tokens']} output tokens thinking and "
                f"wrote no answer; raise thinking_allowance for it in the models table",
                usage=completion.usage)
        return completion

    def _stream(self, params: dict[str, Any], timeout: Any, *,
                cancellable: bool = False) -> tuple[Any, Any]:
        """The final Message of a streamed call, which must have ended with a stop reason,
        and the response's headers. A cancellable call is checked after every event: leaving
        the block closes the HTTP response."""
        with self._client.messages.stream(**params, timeout=timeout) as stream:
            headers = stream.response.headers
            started = False
            for event in stream:
                started = started or event.type == "message_start"
                if cancellable:
                    check_cancel()
            if not started:  # an empty stream: the SDK has no message to give
                raise unfinished_stream(NAME, self.info.name, 0, empty=True)
            message = stream.get_final_message()
        if not message.stop_reason:  # it ended (message_stop) without a message_delta
            text = parse_message(message).text if isinstance(message.content, list) else ""
            raise unfinished_stream(NAME, self.info.name, len(text), empty=False)
        return message, headers

    # Message Batches API: half price, results within 24 hours.
    # A batch has no metadata: `tag` is not sent, and find_batch matches by custom ids.
    batch_limits = (100_000, 256 * 1024 * 1024)  # requests, bytes: the most one batch takes

    def submit_batch(self, items: Sequence[tuple[str, Request]], tag: str = "") -> str:
        requests: list[Any] = [{"custom_id": cid, "params": build_params(self.info, r)}
                               for cid, r in items]
        with translated_errors(NAME, self.info.name):
            return str(self._client.messages.batches.create(requests=requests).id)

    def batch_status(self, batch_id: str) -> str:
        with translated_errors(NAME, self.info.name):
            batch = self._client.messages.batches.retrieve(batch_id)
        return "ended" if batch.processing_status == "ended" else "pending"

    def batch_results(self, batch_id: str) -> dict[str, Completion | str]:
        out: dict[str, Completion | str] = {}
        with translated_errors(NAME, self.info.name):
            for item in self._client.messages.batches.results(batch_id):
                result = item.result
                out[item.custom_id] = (parse_message(result.message)
                                       if result.type == "succeeded" else str(result.type))
        return out

    def find_batch(self, tag: str, custom_ids: Sequence[str], since: float,
                   exclude: Collection[str] = ()) -> str | None:
        """The batch created since `since` whose requests are exactly `custom_ids`.

        The API lists batches newest first with their request counts but not their custom
        ids, which only the results (once a batch has ended) show: a running batch of the
        right size may be it, so the answer is "" (ask again) until it ends."""
        wanted, maybe = set(custom_ids), False
        with translated_errors(NAME, self.info.name):
            for batch in self._client.messages.batches.list(limit=100):
                if batch.created_at.timestamp() < since - CLOCK_SKEW:
                    break
                if batch.id in exclude:
                    continue
                c = batch.request_counts
                if c.processing + c.succeeded + c.errored + c.canceled + c.expired != len(wanted):
                    continue
                if batch.processing_status != "ended":
                    maybe = True
                    continue
                if {i.custom_id for i in self._client.messages.batches.results(batch.id)} == wanted:
                    return str(batch.id)
        return "" if maybe else None


class AnthropicProvider(Provider):
    name = NAME
    family = "Claude"
    marks_cache = True
    default_host = "api.anthropic.com"

    def build(self, info: ModelInfo, endpoint: Endpoint | None, timeout: float) -> Model:
        assert endpoint is not None  # a cloud provider always has one
        return AnthropicModel(info, endpoint, timeout)


register(AnthropicProvider())
