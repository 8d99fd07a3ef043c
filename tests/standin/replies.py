"""What both wire formats share on the way out: the default reply text, its shaping by stop
sequences and max_tokens, and the reply objects the HTTP handler sends. Pure logic.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from .prompt import Part, count_tokens

DEFAULT_MARKER = r"FACT-[A-Za-z0-9_-]+"
SSE_PIECE_CHARS = 16


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


@dataclass
class Shaped:
    """Reply text after stop sequences and max_tokens: reason is end | stop | length."""

    text: str
    reason: str
    stop_sequence: str | None
    output_tokens: int
    billed: int | None = None  # output tokens to bill instead (StandIn(bill="max_tokens"))


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


def split_pieces(text: str, size: int = SSE_PIECE_CHARS) -> list[str]:
    """A reply text cut into the pieces a stream sends, one delta each."""
    return [text[i : i + size] for i in range(0, len(text), size)]
