"""What a request asks for: its prompt parts, their token counts, and the checks both
providers' validators share. Pure logic, no sockets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

ANTHROPIC = "anthropic"
OPENAI = "openai"


def count_tokens(text: str) -> int:
    """The stand-in's token count of a text: ceil(chars / 4), for both providers."""
    return (len(text) + 3) // 4


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


# ---------------------------------------------------------------- checks both validators use


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def block_text(block: Mapping[str, Any]) -> str:
    if block.get("type") == "text":
        return str(block.get("text", ""))
    rest = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(rest, sort_keys=True, ensure_ascii=False)


def check_model(body: Any) -> str:
    if not isinstance(body, dict):
        raise RequestError("Request body must be a JSON object")
    model = body.get("model")
    if "model" not in body:
        raise RequestError("model: Field required", "model")
    if not isinstance(model, str) or not model:
        raise RequestError("model: Input should be a non-empty string", "model")
    return model


def check_temperature(body: Mapping[str, Any], high: float) -> None:
    temp = body.get("temperature")
    if temp is not None and (not isinstance(temp, int | float) or not 0 <= temp <= high):
        raise RequestError(f"temperature: Input should be between 0 and {high:g}", "temperature")
