"""Email threads as map-stage chunks: each message headed by its Message-ID, datamarked.

A thread that does not fit one chunk is split between messages (a single huge message is
cut by the text splitter); every piece keeps the thread's subject in its label, and its
`status`: who wrote last and when, and whether the owner has answered.

Each message shows its ISO date and weekday and its sender; with the owner's addresses
given, the owner's own messages say so ("(the owner)"); with `resolve_dates`, relative dates
in the body are resolved against the message's date (ingest/mail/relative_dates.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ghost.ingest.mail.relative_dates import resolve_relative
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
    status: str = ""  # e.g. "Last message: 2025-02-05 from Sam <sam@x>, unanswered by the owner."


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


def sender_of(m: MessageLike, owner: Sequence[str] = ()) -> str:
    """`Name <address>`, with " (the owner)" after the owner's own (`owner`: addresses)."""
    sender = f"{m.sender_name} <{m.sender}>" if m.sender_name else m.sender
    return f"{sender} (the owner)" if is_owner(m, owner) else sender


def is_owner(m: MessageLike, owner: Sequence[str]) -> bool:
    return bool(m.sender) and m.sender.lower() in owner


def render_message(m: MessageLike, masking: Masking, *, owner: Sequence[str] = (),
                   resolve_dates: bool = False) -> str:
    """A message as the map model reads it. The header lines are never masked (the exact
    `Message-ID: <id>` line is what a note cites); the body is, but Message-IDs in it
    (quoted headers, `<id@host>`) are kept as they are (see `privacy.mask_secrets`)."""
    lines = [f"Message-ID: <{m.message_id}>", f"From: {sender_of(m, owner)}"]
    if m.to:
        lines.append(f"To: {', '.join(m.to[:8])}" + (" …" if len(m.to) > 8 else ""))
    lines += [f"Date: {m.date:%Y-%m-%d %H:%M} UTC ({m.date:%A})" if m.date else "Date: unknown",
              f"Subject: {m.subject}"]
    if m.attachments:
        lines.append("Attachments: " + ", ".join(f"{n} ({s // 1024} KB)"
                                                 for n, s in m.attachments))
    body = masking.apply(m.body.strip())
    if resolve_dates:
        body = resolve_relative(body, m.date)
    return "\n".join(lines) + "\n\n" + body


def thread_status(messages: Sequence[MessageLike], owner: Sequence[str] = ()) -> str:
    """Who wrote last and when; with the owner's addresses, whether the owner has answered.

    Messages are in date order (the last one is the newest)."""
    if not messages:
        return ""
    last = messages[-1]
    when = f"{last.date:%Y-%m-%d}" if last.date else "undated"
    if not owner:
        return f"Last message: {when} from {sender_of(last)}."
    if is_owner(last, owner):
        return f"Last message: {when} from the owner."
    return f"Last message: {when} from {sender_of(last)}, unanswered by the owner."


def thread_chunks(threads: Sequence[tuple[int, Sequence[MessageLike]]], *, max_tokens: int,
                  count_tokens: Callable[[str], int], masking: Masking,
                  owner: Sequence[str] = (), resolve_dates: bool = False) -> list[ThreadChunk]:
    """`owner`: the owner's addresses, lower-case (their messages are marked as theirs)."""
    chunks: list[ThreadChunk] = []
    for thread_id, messages in threads:
        subject = messages[0].subject or "(no subject)"
        status = thread_status(messages, owner)
        parts: list[tuple[str, list[str]]] = [("", [])]
        for m in messages:
            rendered = datamark(render_message(m, masking, owner=owner,
                                               resolve_dates=resolve_dates))
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
                                      tuple(dict.fromkeys(ids)), status))
    return chunks


def _fit(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[str]:
    if count_tokens(text) <= max_tokens:
        return [text]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=max_tokens, chunk_overlap=0,
                                              length_function=count_tokens,
                                              separators=["\n\n", "\n", ". ", " ", ""])
    return splitter.split_text(text)
