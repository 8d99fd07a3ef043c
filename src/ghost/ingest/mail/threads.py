"""Drop duplicate messages and rebuild conversations from References / In-Reply-To.

Threads are the connected groups of the reply graph, as in JWZ's algorithm: two messages
share a thread when one references the other, or both reference the same (possibly missing)
ancestor, or Gmail gave them the same X-GM-THRID. Each message's parent is its In-Reply-To,
else its last known reference. Subjects are not used to join threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ghost.ingest.mail.records import MailRecord, ReadStats

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dedupe(records: Iterable[MailRecord], stats: ReadStats | None = None) -> Iterator[MailRecord]:
    """Records with a Message-ID not seen before (keeps the first; counts the rest)."""
    seen: set[str] = set()
    for record in records:
        if record.message_id in seen:
            if stats is not None:
                stats.duplicates += 1
            continue
        seen.add(record.message_id)
        yield record


@dataclass
class Thread:
    thread_id: str  # Message-ID of the root (earliest known) message
    subject: str
    participants: list[str]  # addresses, most active first
    message_ids: list[str]  # in date order
    parents: dict[str, str | None] = field(default_factory=dict)  # id -> parent id in thread
    first_date: datetime | None = None
    last_date: datetime | None = None


class UnionFind:
    """Union-find over string keys (path halving, union by size)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}

    def find(self, key: str) -> str:
        parent = self.parent.setdefault(key, key)
        while parent != key:
            grand = self.parent[parent]
            self.parent[key] = grand
            key, parent = parent, grand
        return key

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size.get(ra, 1) < self.size.get(rb, 1):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] = self.size.get(ra, 1) + self.size.get(rb, 1)


def build_threads(records: Iterable[MailRecord]) -> list[Thread]:
    """Threads of `records` (deduplicated by Message-ID), newest activity first."""
    by_id: dict[str, MailRecord] = {}
    for record in records:
        by_id.setdefault(record.message_id, record)
    uf = UnionFind()
    for mid, record in by_id.items():
        uf.find(mid)
        for link in record.thread_links:
            uf.union(mid, link)
    groups: dict[str, list[MailRecord]] = {}
    for mid, record in by_id.items():
        groups.setdefault(uf.find(mid), []).append(record)
    threads = [_make_thread(members, by_id) for members in groups.values()]
    threads.sort(key=lambda t: t.last_date or _EPOCH, reverse=True)
    return threads


def _make_thread(members: list[MailRecord], by_id: dict[str, MailRecord]) -> Thread:
    members.sort(key=lambda r: (r.date or _EPOCH, r.message_id))
    ids = {r.message_id for r in members}
    parents: dict[str, str | None] = {}
    for r in members:
        candidates = ([r.in_reply_to] if r.in_reply_to else []) + r.references[::-1]
        parents[r.message_id] = next(
            (c for c in candidates if c in ids and c != r.message_id), None)
    _break_cycles(parents)
    roots = [r for r in members if parents[r.message_id] is None] or members
    root = roots[0]
    counts: dict[str, int] = {}
    for r in members:
        for addr in [r.sender, *r.to, *r.cc]:
            if addr:
                counts[addr] = counts.get(addr, 0) + 1
    dates = [r.date for r in members if r.date is not None]
    return Thread(
        thread_id=root.message_id,
        subject=root.subject,
        participants=sorted(counts, key=lambda a: (-counts[a], a)),
        message_ids=[r.message_id for r in members],
        parents=parents,
        first_date=min(dates) if dates else None,
        last_date=max(dates) if dates else None,
    )


def _break_cycles(parents: dict[str, str | None]) -> None:
    """Cut parent loops (A replies to B, B to A) so every chain ends at a root."""
    for start in parents:
        seen = {start}
        node = parents[start]
        while node is not None:
            if node in seen:
                parents[start] = None
                break
            seen.add(node)
            node = parents.get(node)
