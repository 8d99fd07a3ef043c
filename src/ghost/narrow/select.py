"""Pick the threads that matter to the mailbox owner when no query is given.

A thread scores by recency (half-life decay from the newest mail in the index, so an old
archive is judged on its own timeline) times how familiar its correspondents are (how many
of the owner's messages each one appears in), with a bonus when the owner wrote in it.
Bulk mail is ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from ghost.errors import InputError
from ghost.narrow.index import MailIndex


@dataclass
class ThreadPick:
    thread_id: int
    subject: str
    score: float
    last_date: datetime | None
    messages: int
    owner_wrote: bool
    correspondents: list[str]  # non-owner participants, most familiar first


def _normalize(address: str) -> str:
    address = address.strip()
    if "<" in address and ">" in address:
        address = address[address.index("<") + 1 : address.index(">")]
    return address.strip().lower()


def select_owner_threads(index: MailIndex, owner_addresses: list[str], limit: int = 50,
                         half_life_days: float = 180.0,
                         now: datetime | None = None) -> list[ThreadPick]:
    """The `limit` best threads the owner took part in (sent, or was in To/Cc), best first."""
    owners = sorted({_normalize(a) for a in owner_addresses if a.strip()})
    if not owners:
        raise InputError("no owner address given; pass the mailbox owner's e-mail address(es)")
    conn = index.conn
    marks = ",".join("?" * len(owners))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS owner_msgs(msg INTEGER PRIMARY KEY, sent INT)")
    conn.execute("DELETE FROM owner_msgs")
    conn.execute(
        f"INSERT INTO owner_msgs SELECT p.msg, max(p.role = 0) FROM participants p "
        f"JOIN messages m ON m.id = p.msg WHERE p.addr IN ({marks}) AND m.is_bulk = 0 "
        f"GROUP BY p.msg", owners)
    familiarity = dict(conn.execute(
        f"SELECT p.addr, count(DISTINCT p.msg) FROM participants p JOIN owner_msgs o "
        f"ON o.msg = p.msg WHERE p.addr NOT IN ({marks}) GROUP BY p.addr", owners).fetchall())
    threads = conn.execute(
        "SELECT m.thread_id, max(m.date), count(*), max(coalesce(o.sent, 0)), "
        "(SELECT subject FROM messages s WHERE s.thread_id = m.thread_id "
        " ORDER BY s.date IS NULL, s.date LIMIT 1) "
        "FROM messages m LEFT JOIN owner_msgs o ON o.msg = m.id "
        "WHERE m.is_bulk = 0 AND m.thread_id IN (SELECT DISTINCT thread_id FROM messages "
        " WHERE id IN (SELECT msg FROM owner_msgs)) GROUP BY m.thread_id").fetchall()
    people: dict[int, set[str]] = {}
    for tid, addr in conn.execute(
            "SELECT m.thread_id, p.addr FROM messages m JOIN participants p ON p.msg = m.id "
            "WHERE m.thread_id IN (SELECT DISTINCT thread_id FROM messages WHERE id IN "
            "(SELECT msg FROM owner_msgs))"):
        if addr not in owners:
            people.setdefault(tid, set()).add(addr)
    newest = conn.execute("SELECT max(date) FROM messages WHERE is_bulk = 0").fetchone()[0]
    ref = now.timestamp() if now else (newest or 0)
    picks = []
    for tid, last, count, sent, subject in threads:
        age_days = max(ref - (last or 0), 0) / 86400 if last else 10 * half_life_days
        recency = 0.5 ** (age_days / half_life_days)
        correspondents = sorted(people.get(tid, ()), key=lambda a: (-familiarity.get(a, 0), a))
        familiar = max((math.log1p(familiarity.get(a, 0)) for a in correspondents), default=0.0)
        score = recency * (1.0 + familiar) * (1.5 if sent else 1.0) * (1 + math.log1p(count) / 4)
        picks.append(ThreadPick(tid, subject or "", round(score, 6),
                                datetime.fromtimestamp(last, UTC) if last else None, count,
                                bool(sent), correspondents))
    picks.sort(key=lambda p: (-p.score, -(p.last_date.timestamp() if p.last_date else 0)))
    return picks[:limit]
