"""The Anthropic Messages API as the stand-in speaks it: request validation, thinking models,
and the reply bodies (JSON, server-sent events, errors, usage). Pure logic, no sockets.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .prompt import (
    JSON,
    Part,
    RequestError,
    block_text,
    check_model,
    check_temperature,
    count_tokens,
    is_int,
)
from .prompt_cache import CacheUsage
from .replies import Shaped, new_id, split_pieces

MAX_CACHE_BREAKPOINTS = 4

# Models that think before they answer, by name prefix. Their replies (JSON, SSE and batch
# results) carry a `thinking` block before the text block; the thinking counts against
# max_tokens and is billed in output_tokens, as on the real API. Change these (e.g. with
# monkeypatch, on this module) to make other models think in tests.
THINKING_MODEL_PREFIXES: tuple[str, ...] = ("claude-opus-5",)
# ...and those of them on which thinking cannot be turned off (thinking.type "disabled": 400).
ALWAYS_THINKING_PREFIXES: tuple[str, ...] = ("claude-opus-5-5",)
# The stand-in's thinking: fixed length, so it always takes THINKING_TOKENS of max_tokens.
THINKING_TEMPLATE = "Stand-in thinking: read the request, then answer it plainly. Ref {ref}."


def thinks(model: str) -> bool:
    """Whether the stand-in answers `model` with a thinking block before the text."""
    return model.startswith(THINKING_MODEL_PREFIXES)


def thinking_text(reply: str) -> str:
    """The deterministic thinking that precedes `reply` (always THINKING_TOKENS long)."""
    return THINKING_TEMPLATE.format(ref=hashlib.sha256(reply.encode()).hexdigest()[:8])


THINKING_TOKENS = count_tokens(THINKING_TEMPLATE.format(ref="0" * 8))


def thinking_signature(thinking: str) -> str:
    """An opaque, deterministic stand-in for the API's signature of a thinking block."""
    return base64.b64encode(hashlib.sha256(b"standin-signature\x00" + thinking.encode())
                            .digest()).decode()


# ---------------------------------------------------------------- validation


def _cache_control(block: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    cc = block.get("cache_control")
    if cc is None:
        return None
    if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
        raise RequestError(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if cc.get("ttl") not in (None, "5m", "1h"):
        raise RequestError(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return cc


def validate_anthropic(body: Any, *, require_max_tokens: bool = True) -> list[Part]:
    """Check a Messages API body the way the real API does (basic level); return its parts.

    Parts are in prompt order: tools, system blocks, then each message's blocks.
    """
    check_model(body)
    if require_max_tokens:
        if "max_tokens" not in body:
            raise RequestError("max_tokens: Field required", "max_tokens")
        if not is_int(body["max_tokens"]) or body["max_tokens"] < 1:
            raise RequestError("max_tokens: Input should be an integer >= 1", "max_tokens")
    if "messages" not in body:
        raise RequestError("messages: Field required", "messages")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: at least one message is required", "messages")
    parts: list[Part] = []
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise RequestError("tools: Input should be a list of objects", "tools")
        for i, tool in enumerate(tools):
            parts.append(Part("tools", block_text(tool), -1, _cache_control(tool, f"tools.{i}")))
    system = body.get("system")
    if isinstance(system, str):
        if system:
            parts.append(Part("system", system))
    elif isinstance(system, list):
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise RequestError(f"system.{i}: Input should be a text block", "system")
            if not isinstance(block.get("text"), str) or not block["text"]:
                raise RequestError("system: text content blocks must be non-empty", "system")
            parts.append(Part("system", block["text"], -1, _cache_control(block, f"system.{i}")))
    elif system is not None:
        raise RequestError(
            "system: Input should be a valid string or list of text blocks", "system"
        )
    last = len(messages) - 1
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise RequestError(f"messages.{i}: Input should be a valid dictionary", "messages")
        role = msg.get("role")
        # the 2.x SDK's MessageParam also admits {"role": "system"} turns (text only)
        if role not in ("user", "assistant", "system"):
            raise RequestError(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = msg.get("content")
        may_be_empty = i == last and role == "assistant"
        if isinstance(content, str):
            if not content and not may_be_empty:
                raise RequestError(
                    f"messages.{i}: all messages must have non-empty content except for the "
                    "optional final assistant message"
                )
            parts.append(Part(role, content, i))
        elif isinstance(content, list):
            if not content and not may_be_empty:
                raise RequestError(
                    f"messages.{i}: all messages must have non-empty content except for the "
                    "optional final assistant message"
                )
            for j, block in enumerate(content):
                where = f"messages.{i}.content.{j}"
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    raise RequestError(f"{where}: Input should be an object with a 'type'")
                if role == "system" and block["type"] != "text":
                    raise RequestError(f"{where}: system messages take text blocks only")
                if block["type"] == "text":
                    if not isinstance(block.get("text"), str):
                        raise RequestError(f"{where}.text: Field required")
                    if not block["text"]:
                        raise RequestError("messages: text content blocks must be non-empty")
                parts.append(Part(role, block_text(block), i, _cache_control(block, where)))
        else:
            raise RequestError(f"messages.{i}.content: Input should be a valid string or list")
    found = sum(1 for p in parts if p.cache_control is not None)
    if found > MAX_CACHE_BREAKPOINTS:
        raise RequestError(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {found}."
        )
    check_temperature(body, 1.0)
    _check_thinking(body)
    stops = body.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops)
    ):
        raise RequestError("stop_sequences: Input should be a list of non-empty strings")
    return parts


def _check_thinking(body: Mapping[str, Any]) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
        raise RequestError("thinking: Input should be an object with a 'type'", "thinking")
    if thinking["type"] == "disabled" and str(body["model"]).startswith(ALWAYS_THINKING_PREFIXES):
        raise RequestError(
            f"thinking.type: 'disabled' is not supported on {body['model']}; thinking is always "
            "on for this model (stand-in)", "thinking")


# ---------------------------------------------------------------- reply bodies

ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low (stand-in)."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit (stand-in)."),
    500: ("api_error", "Internal server error (stand-in)."),
    504: ("timeout_error", "Request timed out (stand-in)."),
    529: ("overloaded_error", "Overloaded"),
}


def anthropic_error(status: int, message: str | None = None, request_id: str = "") -> JSON:
    kind, default = ANTHROPIC_ERRORS.get(status, ("api_error", f"Error {status} (stand-in)."))
    return {
        "type": "error",
        "error": {"type": kind, "message": message or default},
        "request_id": request_id or new_id("req_"),
    }


def anthropic_usage(u: CacheUsage, output_tokens: int, service_tier: str = "standard") -> JSON:
    return {
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_creation,
        "cache_read_input_tokens": u.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": u.cache_creation - u.creation_1h,
            "ephemeral_1h_input_tokens": u.creation_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": service_tier,
    }


ANTHROPIC_STOP = {"end": "end_turn", "stop": "stop_sequence", "length": "max_tokens"}


def anthropic_content(model: str, shaped: Shaped) -> list[JSON]:
    """Content blocks of a reply: [thinking,] text. A thinking model that ran out of
    max_tokens while thinking (no text left) answers with the thinking block alone."""
    if not thinks(model):
        return [{"type": "text", "text": shaped.text}]
    thinking = thinking_text(shaped.text)
    blocks: list[JSON] = [
        {"type": "thinking", "thinking": thinking, "signature": thinking_signature(thinking)}
    ]
    if shaped.text or shaped.reason != "length":
        blocks.append({"type": "text", "text": shaped.text})
    return blocks


def anthropic_output_tokens(model: str, shaped: Shaped) -> int:
    """Billed output: the text's tokens plus, for a thinking model, the thinking's (or, when
    the stand-in bills every call its max_tokens, that)."""
    if shaped.billed is not None:
        return shaped.billed
    if not thinks(model):
        return shaped.output_tokens
    text_tokens = shaped.output_tokens if shaped.text else 0
    return THINKING_TOKENS + text_tokens


def anthropic_message(msg_id: str, model: str, shaped: Shaped, usage: JSON) -> JSON:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": anthropic_content(model, shaped),
        "stop_reason": ANTHROPIC_STOP[shaped.reason],
        "stop_sequence": shaped.stop_sequence,
        "usage": dict(usage, output_tokens=anthropic_output_tokens(model, shaped)),
    }


def sse_event(name: str, data: JSON) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _block_events(index: int, block: JSON) -> list[bytes]:
    """content_block_start, its deltas and content_block_stop for one content block."""
    if block["type"] == "thinking":
        start: JSON = {"type": "thinking", "thinking": "", "signature": ""}
        deltas: list[JSON] = [
            {"type": "thinking_delta", "thinking": piece}
            for piece in split_pieces(block["thinking"])
        ]
        # The signature arrives in one signature_delta just before content_block_stop.
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in split_pieces(block["text"])]
    events = [
        sse_event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    if index == 0:
        events.append(sse_event("ping", {"type": "ping"}))
    for delta in deltas:
        events.append(
            sse_event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        )
    events.append(
        sse_event("content_block_stop", {"type": "content_block_stop", "index": index})
    )
    return events


def anthropic_events(msg_id: str, model: str, shaped: Shaped, usage: JSON) -> list[bytes]:
    """The SSE event sequence of a streamed Messages API reply (thinking block first, if any)."""
    start = anthropic_message(msg_id, model, shaped, usage)
    start.update(content=[], stop_reason=None, stop_sequence=None,
                 usage=dict(usage, output_tokens=1))
    events = [sse_event("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(anthropic_content(model, shaped)):
        events += _block_events(index, block)
    final_usage = {
        k: usage[k]
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    }
    final_usage["output_tokens"] = anthropic_output_tokens(model, shaped)
    events.append(
        sse_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": ANTHROPIC_STOP[shaped.reason],
                    "stop_sequence": shaped.stop_sequence,
                },
                "usage": final_usage,
            },
        )
    )
    events.append(sse_event("message_stop", {"type": "message_stop"}))
    return events
