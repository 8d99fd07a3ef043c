"""Narrowing: find the mail worth reading in a huge export, before any model sees it.

    index = open_mailbox(cache_dir, "export.mbox")  # its own SQLite + FTS5 file, incremental
    index.add(workers=2)                            # that mailbox, and only that one
    hits = index.search('from:anna "board meeting" after:2024/01/01 -is:bulk')
    picks = select_owner_threads(index, ["owner@example.com"], limit=40)
"""

from ghost.narrow.index import AddReport, Hit, MailIndex, StoredMessage
from ghost.narrow.mailboxes import forget_mailbox, mail_indexes, open_mailbox
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
    "forget_mailbox",
    "mail_indexes",
    "open_mailbox",
    "parse_query",
    "select_owner_threads",
]
