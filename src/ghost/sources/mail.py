"""Mail (an mbox, a Maildir, a folder of messages or one .eml): one chunk per thread (split
between messages when long), each message headed by its Message-ID, cited as [<id@host>].

`ghost profile` reads mail through its index (ghost/narrow/) to choose threads; this kind
reads a whole, small mailbox straight through, secrets masked when `Reading.mask` is set. It
is read when a job asks for it by name (`SummarizeJob([box], kind="mail")`), never guessed."""

from __future__ import annotations

import re
from pathlib import Path

from ghost.chunk.threads import Masking, thread_chunks
from ghost.cite import CitationForm, register_form
from ghost.errors import InputError
from ghost.ingest.mail import ReadStats, build_threads, dedupe, iter_records
from ghost.ingest.mail.reader import kind_of_file
from ghost.sources import Reading, Source, SourceKind, register_kind, source_title

MESSAGE_ID = re.compile(r"^<?[^\s<>@]+@[^\s<>@]+>?$")
MESSAGE_SUFFIXES = (".eml", ".msg")


def is_mail_folder(path: Path) -> bool:
    if (path / "cur").is_dir() or (path / "new").is_dir():
        return True
    return any(p.suffix.lower() in MESSAGE_SUFFIXES or kind_of_file(p) == "mbox"
               for p in list(path.iterdir())[:50] if p.is_file())


class MailKind(SourceKind):
    name = "mail"
    detected = False  # an mbox is text too: read as mail only when asked (kind="mail")

    def detects(self, path: Path) -> bool:
        if path.is_dir():
            return is_mail_folder(path)
        kind = kind_of_file(path)
        return kind == "mbox" or (kind == "message" and path.suffix.lower() in MESSAGE_SUFFIXES)

    def load(self, path: Path, reading: Reading) -> Source:
        stats = ReadStats()
        records = list(dedupe(iter_records(path, stats), stats))
        if not records:
            raise InputError(f"{path}: no mail found ({stats.total_skipped} messages skipped)")
        by_id = {r.message_id: r for r in records}
        threads = build_threads(records)
        masking = Masking(enabled=reading.mask, counts={})
        chunks = thread_chunks(
            [(n, [by_id[mid] for mid in t.message_ids if mid in by_id])
             for n, t in enumerate(threads)],
            max_tokens=reading.chunk_tokens, count_tokens=reading.count_tokens, masking=masking)
        text = "\n\n".join(c.text for c in chunks)
        meta = {"messages": len(records), "threads": len(threads),
                "skipped": stats.total_skipped, "masked": dict(masking.counts)}
        return Source(path, source_title(path), self.name, text, chunks,
                      frozenset(by_id), meta)


register_form(CitationForm("message id", lambda token: bool(MESSAGE_ID.match(token)),
                           lambda token: token.strip().strip("<>")))
register_kind(MailKind())
