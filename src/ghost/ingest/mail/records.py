"""The typed results of reading mail: one `MailRecord` per message, and `ReadStats` counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class MailRecord:
    """One message, decoded and cleaned. Addresses are lower-case; dates are UTC."""

    message_id: str  # normalized, without <>
    subject: str
    sender: str  # address
    sender_name: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    in_reply_to: str | None
    references: list[str]
    body: str  # cleaned text: quotes, signatures and list footers stripped
    attachments: list[tuple[str, int]]  # (file name, approximate decoded size in bytes)
    is_bulk: bool
    source: str
    offset: int | None  # byte offset of the message in an mbox; None for one-message files
    size: int  # raw size in bytes
    synthetic_id: bool = False  # message_id was made up from a hash (no usable Message-ID)
    to_names: list[str] = field(default_factory=list)  # display names aligned with `to`
    cc_names: list[str] = field(default_factory=list)  # display names aligned with `cc`
    gmail_thread_id: str | None = None  # X-GM-THRID of Gmail Takeout exports

    @property
    def thread_links(self) -> list[str]:
        """Ids this message shares a thread with: references, In-Reply-To, Gmail's thread."""
        links = [*self.references, *([self.in_reply_to] if self.in_reply_to else [])]
        if self.gmail_thread_id:
            links.append(f"gmail-thread:{self.gmail_thread_id}")
        return list(dict.fromkeys(links))


@dataclass
class ReadStats:
    """What happened while reading: nothing is lost silently.

    `skipped` counts messages that could not be used, by reason; `fallbacks` counts decoding
    repairs (unknown charset, undecodable bytes, bad base64...) in messages that were kept;
    `notes` counts harmless oddities (a body line starting with an unescaped "From ", a
    missing Message-ID replaced by a synthetic one, an unparseable date).
    """

    read: int = 0
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def merge(self, other: ReadStats) -> None:
        """Add `other`'s counts to this one (used to combine worker results)."""
        self.read += other.read
        self.duplicates += other.duplicates
        self.skipped.update(other.skipped)
        self.fallbacks.update(other.fallbacks)
        self.notes.update(other.notes)
        self.bytes_read += other.bytes_read

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "duplicates": self.duplicates,
            "skipped": dict(self.skipped),
            "fallbacks": dict(self.fallbacks),
            "notes": dict(self.notes),
            "bytes_read": self.bytes_read,
        }
