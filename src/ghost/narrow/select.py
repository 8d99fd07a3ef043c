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
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS owner_threads(tid INTEGER PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS familiar(addr TEXT PRIMARY KEY, n INT)")
    for table in ("owner_msgs", "owner_threads", "familiar"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute(
        f"INSERT INTO owner_msgs SELECT p.msg, max(p.role = 0) FROM participants p "
        f"JOIN messages m ON m.id = p.msg WHERE p.addr IN ({marks}) AND m.is_bulk = 0 "
        f"GROUP BY p.msg", owners)
    conn.execute("INSERT INTO owner_threads SELECT DISTINCT m.thread_id FROM messages m "
                 "JOIN owner_msgs o ON o.msg = m.id")
    # How many of the owner's messages each correspondent appears in.
    conn.execute(
        f"INSERT INTO familiar SELECT p.addr, count(DISTINCT p.msg) FROM participants p "
        f"JOIN owner_msgs o ON o.msg = p.msg WHERE p.addr NOT IN ({marks}) GROUP BY p.addr",
        owners)
    newest = conn.execute("SELECT max(date) FROM messages WHERE is_bulk = 0").fetchone()[0]
    ref = now.timestamp() if now else (newest or 0)

    def score(last: int | None, count: int, sent: int, familiar: int | None) -> float:
        age_days = max(ref - (last or 0), 0) / 86400 if last else 10 * half_life_days
        recency = 0.5 ** (age_days / half_life_days)
        return round(recency * (1.0 + math.log1p(familiar or 0)) * (1.5 if sent else 1.0)
                     * (1 + math.log1p(count) / 4), 6)

    # The top `limit` in SQL: an archive with a million owner threads never comes into memory.
    conn.create_function("ghost_thread_score", 4, score, deterministic=True)
    top = conn.execute(
        "SELECT t.tid, t.last, t.n, t.sent, ghost_thread_score(t.last, t.n, t.sent, "
        " (SELECT max(f.n) FROM messages x JOIN participants p ON p.msg = x.id "
        "  JOIN familiar f ON f.addr = p.addr WHERE x.thread_id = t.tid)) AS score "
        "FROM (SELECT m.thread_id AS tid, max(m.date) AS last, count(*) AS n, "
        "      max(coalesce(o.sent, 0)) AS sent FROM messages m "
        "      LEFT JOIN owner_msgs o ON o.msg = m.id "
        "      WHERE m.is_bulk = 0 AND m.thread_id IN (SELECT tid FROM owner_threads) "
        "      GROUP BY m.thread_id) AS t "
        "ORDER BY score DESC, coalesce(t.last, 0) DESC LIMIT ?", (limit,)).fetchall()
    picks = []
    for tid, last, count, sent, thread_score in top:
        subject = conn.execute("SELECT subject FROM messages WHERE thread_id = ? "
                               "ORDER BY date IS NULL, date LIMIT 1", (tid,)).fetchone()[0]
        people = {addr for (addr,) in conn.execute(
            "SELECT DISTINCT p.addr FROM messages m JOIN participants p ON p.msg = m.id "
            "WHERE m.thread_id = ?", (tid,))} - set(owners)
        familiarity = dict(conn.execute(
            f"SELECT addr, n FROM familiar WHERE addr IN ({','.join('?' * len(people))})",
            sorted(people)).fetchall()) if people else {}
        correspondents = sorted(people, key=lambda a: (-familiarity.get(a, 0), a))
        picks.append(ThreadPick(tid, subject or "", thread_score,
                                datetime.fromtimestamp(last, UTC) if last else None, count,
                                bool(sent), correspondents))
    return picks
