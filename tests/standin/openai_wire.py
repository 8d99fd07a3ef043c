"""The OpenAI Chat Completions API as the stand-in speaks it: request validation and the reply
bodies (JSON, `data:` stream chunks, errors, usage). Pure logic, no sockets.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .prompt import (
    JSON,
    Part,
    RequestError,
    block_text,
    check_model,
    check_temperature,
    is_int,
)
from .replies import Shaped, split_pieces

OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def validate_openai(body: Any) -> list[Part]:
    """Check a Chat Completions body (basic level); return its parts in prompt order."""
    check_model(body)
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
                parts.append(Part(role, block_text(item), i))
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
        if value is not None and (not is_int(value) or value < 1):
            raise RequestError(f"Invalid '{name}': integer below minimum value 1.", name)
    check_temperature(body, 2.0)
    stop = body.get("stop")
    if (
        stop is not None
        and not isinstance(stop, str)
        and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise RequestError("Invalid 'stop': expected a string or an array of strings.", "stop")
    return parts


# ---------------------------------------------------------------- reply bodies

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
