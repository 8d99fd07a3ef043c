"""Read mail exports (mbox, Maildir, message folders, .eml) into cleaned `MailRecord`s.

    stats = ReadStats()
    records = list(dedupe(iter_records("export.mbox", stats, workers=2), stats))
    threads = build_threads(records)
"""

from ghost.ingest.mail.mbox import iter_mbox
from ghost.ingest.mail.parse import parse_message
from ghost.ingest.mail.reader import RawMessage, iter_messages, iter_records
from ghost.ingest.mail.records import MailRecord, ReadStats
from ghost.ingest.mail.threads import Thread, build_threads, dedupe

__all__ = [
    "MailRecord",
    "RawMessage",
    "ReadStats",
    "Thread",
    "build_threads",
    "dedupe",
    "iter_mbox",
    "iter_messages",
    "iter_records",
    "parse_message",
]
