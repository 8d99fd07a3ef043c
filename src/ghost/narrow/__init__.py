"""Narrowing: find the mail worth reading in a huge export, before any model sees it.

    index = MailIndex(cache_dir)            # SQLite + FTS5, one file, built incrementally
    index.add("export.mbox", workers=2)
    hits = index.search('from:anna "board meeting" after:2024/01/01 -is:bulk')
    picks = select_owner_threads(index, ["owner@example.com"], limit=40)
"""

from ghost.narrow.index import AddReport, Hit, MailIndex, StoredMessage
from ghost.narrow.query import CompiledQuery, compile_query, parse_query
from ghost.narrow.select import ThreadPick, select_owner_threads

__all__ = [
    "AddReport",
    "CompiledQuery",
    "Hit",
    "MailIndex",
    "StoredMessage",
    "ThreadPick",
    "compile_query",
    "parse_query",
    "select_owner_threads",
]
