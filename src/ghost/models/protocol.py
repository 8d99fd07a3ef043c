"""The one small model protocol every provider adapter implements."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ghost.models.capacity import Room


@dataclass(frozen=True)
class Part:
    """A piece of a message. `cache=True` marks the end of a stable prefix worth caching;
    `cache_ttl` asks the provider to keep it longer than its default ("1h": Anthropic's
    one-hour cache, whose writes cost more; "" the provider's default, five minutes)."""

    text: str
    cache: bool = False
    cache_ttl: str = ""


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    parts: tuple[Part, ...]

    @classmethod
    def user(cls, *texts: str | Part) -> Message:
        return cls("user", tuple(t if isinstance(t, Part) else Part(t) for t in texts))

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", (Part(text),))

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)


@dataclass(frozen=True)
class Request:
    """What a stage asks of a model. `system` holds only our own instructions, never user data."""

    system: str
    messages: tuple[Message, ...]
    max_tokens: int = 2048
    temperature: float | None = 0.0
    cache_system: bool = False
    stage: str = "call"  # for the ledger and manifest only; not sent, not part of the cache key
    # Not sent, but part of the cache key: tells apart requests sent alike on purpose (the
    # second draft of an essay asks what the first asked, and wants a new answer).
    variant: str = ""

    def payload(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("stage")
        if not data["variant"]:
            data.pop("variant")  # so the keys of requests without one stay as they were
        for message in data["messages"]:
            for part in message["parts"]:
                if not part["cache_ttl"]:
                    part.pop("cache_ttl")  # likewise for parts cached for the default time
        return data

    @property
    def cache_ttl(self) -> str:
        """The longest time a marked part asks the provider to cache it ("" the default)."""
        return max((p.cache_ttl for m in self.messages for p in m.parts if p.cache), default="")

    def digest(self) -> str:
        """sha256 of everything that is sent, for cache keys and the manifest."""
        blob = json.dumps(self.payload(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    @property
    def text_size(self) -> int:
        return len(self.system) + sum(len(m.text) for m in self.messages)


@dataclass
class Usage:
    """Token counts normalised across providers: `input_tokens` excludes cache reads and writes.

    `estimated`: ghost counted them itself, because the server sent none (llama.cpp's streams
    do not): a sum is estimated when any of its parts is."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens, those kept for an hour (dearer)
    estimated: bool = False  # counted by ghost: the server sent no usage

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens,
                     self.output_tokens + other.output_tokens,
                     self.cache_write_tokens + other.cache_write_tokens,
                     self.cache_read_tokens + other.cache_read_tokens,
                     self.cache_write_1h_tokens + other.cache_write_1h_tokens,
                     self.estimated or other.estimated)

    @property
    def reported(self) -> bool:
        """Whether the server said what the call used (any count at all)."""
        return bool(self.prompt_tokens or self.output_tokens)

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    stop_reason: str = ""
    cached: bool = False  # served from ghost's own cache: no call, no cost
    clamped_to: int | None = None  # max_tokens the budget lowered the request to (not stored)
    room: Room | None = None  # what the response's rate-limit headers left (not stored)

    @property
    def truncated(self) -> bool:
        """The reply stopped because it ran out of max_tokens: it is not whole."""
        return self.stop_reason in TRUNCATED

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "usage": asdict(self.usage), "model": self.model,
                "stop_reason": self.stop_reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Completion:
        return cls(text=str(data["text"]), usage=Usage(**data.get("usage", {})),
                   model=str(data.get("model", "")), stop_reason=str(data.get("stop_reason", "")),
                   cached=True)


# Stop reasons that mean the reply was cut off: Anthropic's and OpenAI's (and compatible servers').
TRUNCATED = frozenset({"max_tokens", "length"})


class RetryableError(Exception):
    """A transient provider failure (429, 529, 5xx, connection). `retry_after` is in seconds.

    `detail` is the server's own explanation (redacted), for the line that ends the retries.
    A fault that only deserves a few tries says so: `tries` (in all) and `final`, the error
    raised once they are spent. `same_as` is the fault's reply, word for word (a 5xx body):
    a reply that comes back identical try after try is no passing fault (see retry.Streak).
    """

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None,
                 *, detail: str = "", tries: int | None = None, final: Exception | None = None,
                 same_as: str = ""):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        self.detail = detail
        self.tries = tries
        self.final = final
        self.same_as = same_as


class Model(Protocol):
    """An adapter: one provider, one model. Adapters do no retries; the runner does."""

    spec: str

    def complete(self, request: Request) -> Completion: ...
