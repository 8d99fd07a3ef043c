"""What the mail index returns: search hits, stored messages, and build reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ghost.ingest.mail.records import ReadStats


@dataclass
class Hit:
    message_id: str
    thread_id: int
    date: datetime | None
    sender: str
    sender_name: str
    subject: str
    snippet: str
    score: float  # bm25 (lower is better) when the query had text, else 0
    is_bulk: bool
    has_attachment: bool


@dataclass
class StoredMessage:
    message_id: str
    thread_id: int
    date: datetime | None
    subject: str
    sender: str
    sender_name: str
    to: list[str]
    cc: list[str]
    in_reply_to: str | None
    references: list[str]
    body: str
    attachments: list[tuple[str, int]]
    is_bulk: bool
    synthetic_id: bool
    source: str
    offset: int | None
    size: int


@dataclass
class AddReport:
    stats: ReadStats = field(default_factory=ReadStats)
    added: int = 0
    skipped_files: int = 0  # one-message files indexed before
    resumed: dict[str, int] = field(default_factory=dict)  # mbox -> offset it resumed from
    replaced: list[str] = field(default_factory=list)  # mbox files re-read from the start
    seconds: float = 0.0
    bytes_planned: int = 0  # bytes of new mail this add reads (progress: of how much)
