"""Request parsing, reply shaping, token accounting and response bodies for the stand-in.

Pure logic, no sockets: `standin.py` serves it over HTTP. Shapes follow the public
Anthropic Messages API and OpenAI Chat Completions API (JSON and server-sent events).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

ANTHROPIC = "anthropic"
OPENAI = "openai"
DEFAULT_MARKER = r"FACT-[A-Za-z0-9_-]+"
MAX_CACHE_BREAKPOINTS = 4
SSE_PIECE_CHARS = 16

# Models that think before they answer, by name prefix. Their replies (JSON, SSE and batch
# results) carry a `thinking` block before the text block; the thinking counts against
# max_tokens and is billed in output_tokens, as on the real API. Change these (e.g. with
# monkeypatch) to make other models think in tests.
THINKING_MODEL_PREFIXES: tuple[str, ...] = ("claude-opus-5",)
# ...and those of them on which thinking cannot be turned off (thinking.type "disabled": 400).
ALWAYS_THINKING_PREFIXES: tuple[str, ...] = ("claude-opus-5-5",)
# The stand-in's thinking: fixed length, so it always takes THINKING_TOKENS of max_tokens.
THINKING_TEMPLATE = "Stand-in thinking: read the request, then answer it plainly. Ref {ref}."


def count_tokens(text: str) -> int:
    """The stand-in's token count of a text: ceil(chars / 4), for both providers."""
    return (len(text) + 3) // 4


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


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


class RequestError(Exception):
    """A request body the real API would reject with 400 invalid_request_error."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Part:
    """One piece of a prompt, in the order the model reads it.

    `msg` is the index of the message it belongs to (-1 for system prompt and tools).
    `text` is what is counted and matched for caching (non-text blocks: their JSON).
    """

    role: str
    text: str
    msg: int = -1
    cache_control: Mapping[str, Any] | None = None

    @property
    def tokens(self) -> int:
        return count_tokens(self.text)

    def key(self) -> bytes:
        return f"{self.role}\x00{len(self.text)}\x00{self.text}\x01".encode()


@dataclass
class Shaped:
    """Reply text after stop sequences and max_tokens: reason is end | stop | length."""

    text: str
    reason: str
    stop_sequence: str | None
    output_tokens: int


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class StreamReply:
    events: list[bytes]
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_reply(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, json.dumps(obj).encode(), "application/json", list(headers or []))


# ---------------------------------------------------------------- validation / parsing


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _block_text(block: Mapping[str, Any]) -> str:
    if block.get("type") == "text":
        return str(block.get("text", ""))
    rest = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(rest, sort_keys=True, ensure_ascii=False)


def _cache_control(block: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    cc = block.get("cache_control")
    if cc is None:
        return None
    if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
        raise RequestError(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if cc.get("ttl") not in (None, "5m", "1h"):
        raise RequestError(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return cc


def _check_model(body: Any) -> str:
    if not isinstance(body, dict):
        raise RequestError("Request body must be a JSON object")
    model = body.get("model")
    if "model" not in body:
        raise RequestError("model: Field required", "model")
    if not isinstance(model, str) or not model:
        raise RequestError("model: Input should be a non-empty string", "model")
    return model


def _check_temperature(body: Mapping[str, Any], high: float) -> None:
    temp = body.get("temperature")
    if temp is not None and (not isinstance(temp, int | float) or not 0 <= temp <= high):
        raise RequestError(f"temperature: Input should be between 0 and {high:g}", "temperature")


def validate_anthropic(body: Any, *, require_max_tokens: bool = True) -> list[Part]:
    """Check a Messages API body the way the real API does (basic level); return its parts.

    Parts are in prompt order: tools, system blocks, then each message's blocks.
    """
    _check_model(body)
    if require_max_tokens:
        if "max_tokens" not in body:
            raise RequestError("max_tokens: Field required", "max_tokens")
        if not _is_int(body["max_tokens"]) or body["max_tokens"] < 1:
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
            parts.append(Part("tools", _block_text(tool), -1, _cache_control(tool, f"tools.{i}")))
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
                parts.append(Part(role, _block_text(block), i, _cache_control(block, where)))
        else:
            raise RequestError(f"messages.{i}.content: Input should be a valid string or list")
    found = sum(1 for p in parts if p.cache_control is not None)
    if found > MAX_CACHE_BREAKPOINTS:
        raise RequestError(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {found}."
        )
    _check_temperature(body, 1.0)
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


OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def validate_openai(body: Any) -> list[Part]:
    """Check a Chat Completions body (basic level); return its parts in prompt order."""
    _check_model(body)
    messages = body.get("messages")
    if "messages" not in body:
        raise RequestError("Missing required parameter: 'messages'.", "messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages"
        )
    parts: list[Part] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in OPENAI_ROLES:
            raise RequestError(f"Invalid value for 'messages[{i}].role'.", f"messages[{i}].role")
        role = msg["role"]
        content = msg.get("content")
        if isinstance(content, str):
            parts.append(Part(role, content, i))
        elif isinstance(content, list):
            for j, item in enumerate(content):
                if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                    raise RequestError(
                        f"Invalid 'messages[{i}].content[{j}]': expected an object with a type.",
                        f"messages[{i}].content[{j}]",
                    )
                if item["type"] == "text" and not isinstance(item.get("text"), str):
                    raise RequestError(
                        f"Missing required parameter: 'messages[{i}].content[{j}].text'.",
                        f"messages[{i}].content[{j}].text",
                    )
                parts.append(Part(role, _block_text(item), i))
        elif content is None and role == "assistant":
            extra = {k: v for k, v in msg.items() if k not in ("role", "content")}
            parts.append(Part(role, json.dumps(extra, sort_keys=True), i))
        else:
            raise RequestError(
                f"Invalid type for 'messages[{i}].content': expected a string or an array.",
                f"messages[{i}].content",
            )
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not _is_int(value) or value < 1):
            raise RequestError(f"Invalid '{name}': integer below minimum value 1.", name)
    _check_temperature(body, 2.0)
    stop = body.get("stop")
    if (
        stop is not None
        and not isinstance(stop, str)
        and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise RequestError("Invalid 'stop': expected a string or an array of strings.", "stop")
    return parts


def max_tokens_of(provider: str, body: Mapping[str, Any]) -> int | None:
    """The tokens left for the reply text: max_tokens, less the thinking of a thinking model."""
    if provider == ANTHROPIC:
        limit = int(body["max_tokens"])
        return max(0, limit - THINKING_TOKENS) if thinks(str(body["model"])) else limit
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return int(value) if value is not None else None


def stop_sequences_of(provider: str, body: Mapping[str, Any]) -> list[str]:
    stops = body.get("stop_sequences" if provider == ANTHROPIC else "stop")
    if isinstance(stops, str):
        return [stops] if stops else []
    return [s for s in stops or [] if isinstance(s, str) and s]


# ---------------------------------------------------------------- replies


def reply_digest(parts: list[Part]) -> str:
    """8 hex digits of the sha256 of the request's message text (system and messages)."""
    text = "\n".join(p.text for p in parts if p.role != "tools")
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def last_user_text(parts: list[Part]) -> str:
    users = [p for p in parts if p.role == "user"]
    if not users:
        return ""
    last = users[-1].msg
    return "\n".join(p.text for p in users if p.msg == last)


def default_reply(parts: list[Part], marker: re.Pattern[str]) -> str:
    """`STANDIN <digest>`, then `- <line>` for each line of the last user message with a marker."""
    lines = [f"STANDIN {reply_digest(parts)}"]
    for line in last_user_text(parts).splitlines():
        if marker.search(line):
            lines.append(f"- {line.strip()}")
    return "\n".join(lines)


def shape_reply(text: str, max_tokens: int | None, stops: list[str]) -> Shaped:
    """Apply stop sequences and the max_tokens limit (4 chars a token) to a reply."""
    limit = max_tokens * 4 if max_tokens is not None else None
    hits = [(text.find(s), s) for s in stops if s in text]
    if hits:
        idx, seq = min(hits)
        if limit is None or idx < limit:
            cut = text[:idx]
            return Shaped(cut, "stop", seq, max(1, count_tokens(cut)))
    if limit is not None and len(text) > limit:
        cut = text[:limit]
        return Shaped(cut, "length", None, max(1, count_tokens(cut)))
    return Shaped(text, "end", None, max(1, count_tokens(text)))


# ---------------------------------------------------------------- prompt caching


@dataclass
class CacheUsage:
    input_tokens: int
    cache_creation: int = 0
    cache_read: int = 0
    creation_1h: int = 0


def _prefix_hashes(model: str, parts: list[Part]) -> list[str]:
    h = hashlib.sha256(model.encode() + b"\x02")
    out = []
    for p in parts:
        h.update(p.key())
        out.append(h.hexdigest())
    return out


class AnthropicPromptCache:
    """Explicit caching: prefixes ending at blocks with cache_control (not thread-safe)."""

    def __init__(self, min_tokens: int = 1024) -> None:
        self.min_tokens = min_tokens
        self._seen: set[str] = set()

    def clear(self) -> None:
        self._seen.clear()

    def account(self, model: str, parts: list[Part]) -> CacheUsage:
        total = sum(p.tokens for p in parts)
        points = [i for i, p in enumerate(parts) if p.cache_control is not None]
        if not points:
            return CacheUsage(total)
        cums: list[int] = []
        running = 0
        for p in parts:
            running += p.tokens
            cums.append(running)
        last = points[-1]
        if cums[last] < self.min_tokens:
            return CacheUsage(total)
        hashes = _prefix_hashes(model, parts[: last + 1])
        read = 0
        for b in reversed(points):
            if hashes[b] in self._seen:
                read = cums[b]
                break
        for b in points:
            if cums[b] >= self.min_tokens:
                self._seen.add(hashes[b])
        creation = cums[last] - read
        cc = parts[last].cache_control or {}
        return CacheUsage(
            input_tokens=total - cums[last],
            cache_creation=creation,
            cache_read=read,
            creation_1h=creation if cc.get("ttl") == "1h" else 0,
        )


def common_prefix_len(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class OpenAIPromptCache:
    """Automatic caching: longest previously seen prompt prefix, in 128-token steps."""

    def __init__(self, min_tokens: int = 1024, step: int = 128, fanout: int = 256) -> None:
        self.min_tokens = min_tokens
        self.step = step
        self.fanout = fanout
        # prefix hash (first k parts) -> the distinct (role, text) parts seen right after it
        self._next: dict[str, dict[tuple[str, str], None]] = {}

    def clear(self) -> None:
        self._next.clear()

    def account(self, model: str, parts: list[Part]) -> int:
        h = hashlib.sha256(model.encode() + b"\x02")
        cached = 0
        for p in parts:
            following = self._next.get(h.hexdigest())
            if following is None:
                break
            if (p.role, p.text) in following:
                cached += p.tokens
                h.update(p.key())
                continue
            best = max(
                (common_prefix_len(p.text, text) for role, text in following if role == p.role),
                default=0,
            )
            cached += best // 4
            break
        self._remember(model, parts)
        if cached < self.min_tokens:
            return 0
        return cached // self.step * self.step

    def _remember(self, model: str, parts: list[Part]) -> None:
        h = hashlib.sha256(model.encode() + b"\x02")
        for p in parts:
            following = self._next.setdefault(h.hexdigest(), {})
            if len(following) < self.fanout:
                following[(p.role, p.text)] = None
            h.update(p.key())
        self._next.setdefault(h.hexdigest(), {})


# ---------------------------------------------------------------- Anthropic bodies

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
    """Billed output: the text's tokens plus, for a thinking model, the thinking's."""
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


def split_pieces(text: str, size: int = SSE_PIECE_CHARS) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


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


# ---------------------------------------------------------------- OpenAI bodies

OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", None, "The requested resource does not exist."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached on requests per min (RPM) (stand-in). Please try again shortly.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that! (stand-in)",
    ),
    503: ("server_error", None, "The server is overloaded or not ready yet. (stand-in)"),
}


def openai_status(status: int) -> int:
    """OpenAI has no 529: an overloaded stand-in answers 503 there."""
    return 503 if status == 529 else status


def openai_error(status: int, message: str | None = None, param: str | None = None) -> JSON:
    kind, code, default = OPENAI_ERRORS.get(
        openai_status(status), ("server_error", None, f"Error {status} (stand-in).")
    )
    return {"error": {"message": message or default, "type": kind, "param": param, "code": code}}


def openai_usage(prompt_tokens: int, cached: int, completion_tokens: int) -> JSON:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


OPENAI_FINISH = {"end": "stop", "stop": "stop", "length": "length"}


def openai_completion(
    cid: str, model: str, shaped: Shaped, usage: JSON, tier: str = "default"
) -> JSON:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": shaped.text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": OPENAI_FINISH[shaped.reason],
            }
        ],
        "usage": usage,
        "service_tier": tier,
        "system_fingerprint": "fp_standin",
    }


def openai_events(
    cid: str, model: str, shaped: Shaped, usage: JSON, include_usage: bool
) -> list[bytes]:
    """`data:` lines of a streamed chat completion, ending with `data: [DONE]`."""
    created = int(time.time())

    def chunk(choices: list[JSON], last_usage: JSON | None = None) -> bytes:
        obj: JSON = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_standin",
            "choices": choices,
        }
        if include_usage:
            obj["usage"] = last_usage
        return f"data: {json.dumps(obj)}\n\n".encode()

    def choice(delta: JSON, finish: str | None = None) -> JSON:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    events = [chunk([choice({"role": "assistant", "content": "", "refusal": None})])]
    events += [chunk([choice({"content": piece})]) for piece in split_pieces(shaped.text)]
    events.append(chunk([choice({}, OPENAI_FINISH[shaped.reason])]))
    if include_usage:
        events.append(chunk([], usage))
    events.append(b"data: [DONE]\n\n")
    return events


def iter_jsonl(data: bytes) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if line.strip():
            yield number, line
