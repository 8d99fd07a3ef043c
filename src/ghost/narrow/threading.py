"""Incremental threading inside the index.

`thread_map` maps every Message-ID seen (indexed, or only referenced by one) to a thread.
A batch of new messages is grouped with union-find over the ids each one links to; groups
that touch existing threads join them, and a group touching several existing threads merges
them into the oldest (smallest id). The result equals threading all the mail at once.
"""

from __future__ import annotations

import sqlite3

from ghost.ingest.mail.threads import UnionFind

_CHUNK = 500


def assign_threads(conn: sqlite3.Connection,
                   items: list[tuple[str, list[str]]]) -> dict[str, int]:
    """Thread id for each (message_id, linked ids) in `items`; updates the tables.

    Must run inside the transaction that inserts the messages.
    """
    if not items:
        return {}
    keys: set[str] = set()
    uf = UnionFind()
    for mid, links in items:
        keys.add(mid)
        uf.find(mid)
        for link in links:
            keys.add(link)
            uf.union(mid, link)
    known = _lookup(conn, list(keys))
    root_of = {key: uf.find(key) for key in keys}
    tids_of: dict[str, set[int]] = {}
    for key, root in root_of.items():
        tids = tids_of.setdefault(root, set())
        if key in known:
            tids.add(known[key])
    next_tid = (conn.execute("SELECT max(thread_id) FROM thread_map").fetchone()[0] or 0) + 1
    chosen: dict[str, int] = {}
    merges: list[tuple[int, int]] = []
    for root, tids in tids_of.items():
        if not tids:
            chosen[root] = next_tid
            next_tid += 1
            continue
        keep = min(tids)
        chosen[root] = keep
        merges.extend((keep, old) for old in tids if old != keep)
    for keep, old in merges:
        conn.execute("UPDATE thread_map SET thread_id=? WHERE thread_id=?", (keep, old))
        conn.execute("UPDATE messages SET thread_id=? WHERE thread_id=?", (keep, old))
    tid_of = {key: chosen[root] for key, root in root_of.items()}
    conn.executemany(
        "INSERT INTO thread_map(mid, thread_id) VALUES (?, ?) "
        "ON CONFLICT(mid) DO UPDATE SET thread_id=excluded.thread_id",
        [(key, tid) for key, tid in tid_of.items() if known.get(key) != tid])
    return {mid: tid_of[mid] for mid, _ in items}


def _lookup(conn: sqlite3.Connection, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(conn.execute(
            f"SELECT mid, thread_id FROM thread_map WHERE mid IN ({marks})", chunk).fetchall())
    return found
