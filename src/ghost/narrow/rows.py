"""MailRecord -> plain tuples for the index. Runs in the parsing workers, so the main
process only unpickles small tuples of str/int instead of objects."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ghost.ingest.mail.reader import Task, run_task
from ghost.ingest.mail.records import MailRecord, ReadStats
from ghost.narrow.schema import known_message_ids


@dataclass
class RowBatch:
    task: Task
    rows: list[tuple]  # see record_row
    stats: ReadStats


def _addr_text(names: list[str], addrs: list[str]) -> str:
    parts = []
    for i, addr in enumerate(addrs):
        name = names[i] if i < len(names) else ""
        parts.append(f"{name} <{addr}>" if name else addr)
    return ", ".join(parts)


def record_row(r: MailRecord) -> tuple:
    """(message_id, synthetic, subject, from_addr, from_name, from_t, to_t, cc_t, date,
    in_reply_to, refs, is_bulk, n_attachments, attachments, body, source, offset, size,
    participants[(addr, role)], thread keys[ids this message links to])."""
    participants = [(r.sender, 0)] if r.sender else []
    participants += [(a, 1) for a in dict.fromkeys(r.to) if a]
    participants += [(a, 2) for a in dict.fromkeys(r.cc) if a]
    links = r.thread_links
    return (
        r.message_id, int(r.synthetic_id), r.subject, r.sender, r.sender_name,
        _addr_text([r.sender_name], [r.sender]) if r.sender else r.sender_name,
        _addr_text(r.to_names, r.to), _addr_text(r.cc_names, r.cc),
        int(r.date.timestamp()) if r.date else None,
        r.in_reply_to, " ".join(r.references), int(r.is_bulk), len(r.attachments),
        json.dumps(r.attachments) if r.attachments else None, r.body,
        r.source, r.offset, r.size, participants, links,
    )


def run_row_task(task: Task, db_path: str | None = None) -> RowBatch:
    """Worker entry point: parse one task and convert its records to rows.

    With `db_path`, messages whose Message-ID the index already holds are dropped here
    (after parsing) and counted as duplicates, so they are not shipped to the writer. The
    writer still checks every row: this is only a shortcut.
    """
    result = run_task(task)
    records = result.records
    if db_path is not None and records:
        known = _known_ids(db_path, [r.message_id for r in records])
        if known:
            result.stats.duplicates += sum(r.message_id in known for r in records)
            records = [r for r in records if r.message_id not in known]
    return RowBatch(task, [record_row(r) for r in records], result.stats)


_readers: dict[str, sqlite3.Connection] = {}


def _known_ids(db_path: str, ids: list[str]) -> set[str]:
    conn = _readers.get(db_path)
    if conn is None:
        try:
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        except sqlite3.Error:
            return set()
        _readers[db_path] = conn
    try:
        return known_message_ids(conn, ids)
    except sqlite3.Error:
        return set()
