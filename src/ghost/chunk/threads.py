"""Email threads as map-stage chunks: each message headed by its Message-ID, datamarked.

A thread that does not fit one chunk is split between messages (a single huge message is
cut by the text splitter); every piece keeps the thread's subject in its label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ghost.privacy import datamark, mask_secrets


class MessageLike(Protocol):
    @property
    def message_id(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def sender_name(self) -> str: ...
    @property
    def to(self) -> list[str]: ...
    @property
    def date(self) -> datetime | None: ...
    @property
    def body(self) -> str: ...
    @property
    def attachments(self) -> list[tuple[str, int]]: ...


@dataclass(frozen=True)
class ThreadChunk:
    index: int
    text: str
    tokens: int
    label: str
    thread_id: int
    message_ids: tuple[str, ...]


@dataclass
class Masking:
    enabled: bool
    counts: dict[str, int]

    def apply(self, text: str) -> str:
        if not self.enabled:
            return text
        masked, found = mask_secrets(text)
        for kind, n in found.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        return masked


def render_message(m: MessageLike, masking: Masking) -> str:
    """A message as the map model reads it. The header lines are never masked (the exact
    `Message-ID: <id>` line is what a note cites); the body is, but Message-IDs in it
    (quoted headers, `<id@host>`) are kept as they are (see `privacy.mask_secrets`)."""
    sender = f"{m.sender_name} <{m.sender}>" if m.sender_name else m.sender
    lines = [f"Message-ID: <{m.message_id}>", f"From: {sender}"]
    if m.to:
        lines.append(f"To: {', '.join(m.to[:8])}" + (" …" if len(m.to) > 8 else ""))
    lines += [f"Date: {m.date:%Y-%m-%d %H:%M}" if m.date else "Date: unknown",
              f"Subject: {m.subject}"]
    if m.attachments:
        lines.append("Attachments: " + ", ".join(f"{n} ({s // 1024} KB)"
                                                 for n, s in m.attachments))
    return "\n".join(lines) + "\n\n" + masking.apply(m.body.strip())


def thread_chunks(threads: Sequence[tuple[int, Sequence[MessageLike]]], *, max_tokens: int,
                  count_tokens: Callable[[str], int], masking: Masking) -> list[ThreadChunk]:
    chunks: list[ThreadChunk] = []
    for thread_id, messages in threads:
        subject = messages[0].subject or "(no subject)"
        parts: list[tuple[str, list[str]]] = [("", [])]
        for m in messages:
            rendered = datamark(render_message(m, masking))
            for piece in _fit(rendered, max_tokens, count_tokens):
                text, ids = parts[-1]
                joined = f"{text}\n\n{piece}" if text else piece
                if text and count_tokens(joined) > max_tokens:
                    parts.append((piece, [m.message_id]))
                else:
                    parts[-1] = (joined, [*ids, m.message_id])
        for n, (text, ids) in enumerate(parts):
            label = subject[:80] + (f" (part {n + 1} of {len(parts)})" if len(parts) > 1 else "")
            chunks.append(ThreadChunk(len(chunks), text, count_tokens(text), label, thread_id,
                                      tuple(dict.fromkeys(ids))))
    return chunks


def _fit(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[str]:
    if count_tokens(text) <= max_tokens:
        return [text]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=max_tokens, chunk_overlap=0,
                                              length_function=count_tokens,
                                              separators=["\n\n", "\n", ". ", " ", ""])
    return splitter.split_text(text)
