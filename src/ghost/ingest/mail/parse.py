"""Raw message bytes -> `MailRecord`: headers, MIME text, attachments, cleaning."""

from __future__ import annotations

import hashlib
import logging
import re

from ghost.ingest.mail.clean import clean_body
from ghost.ingest.mail.headers import (
    Headers,
    decode_words,
    first,
    message_ids,
    parse_addresses,
    parse_date,
    parse_headers,
    split_message,
)
from ghost.ingest.mail.html import html_to_text
from ghost.ingest.mail.mime import Content, simple_text, walk
from ghost.ingest.mail.records import MailRecord, ReadStats

log = logging.getLogger(__name__)

_ESCAPED_FROM = re.compile(rb"\n>(>*From )")
_NOREPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply|mailer-daemon|postmaster|"
                      r"notifications?|bounces?)(?:[+._-]|@)", re.I)
_OBFUSCATED_FROM = re.compile(r"\s*[^\s@()<>\",]+ at [^\s@()<>\",]+\.\w")
_ENVELOPE_DATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b.*$")
_KNOWN = frozenset(("from", "to", "cc", "subject", "date", "message-id"))
# Gmail Takeout labels that mark machine or list mail.
_BULK_LABELS = ("Spam", "Category Promotions", "Category Updates", "Category Forums",
                "Category Social")
# What a message reads as: change it whenever parsing or cleaning changes a body, so mail
# indexes built by the older reader are read again rather than serve old text.
READER_VERSION = "2: forwards kept, answered quotes kept"
MAX_BODY_CHARS = 200_000  # longer bodies (logs, pasted dumps) are cut, and counted


def parse_message(raw: bytes, source: str, offset: int | None = None,
                  stats: ReadStats | None = None) -> MailRecord | None:
    """Parse one raw message (with or without its mbox "From " line).

    Returns None, counting the reason in `stats.skipped`, when the bytes are not a message
    at all; any other damage is repaired as well as possible and counted in `stats.fallbacks`.
    """
    stats = stats if stats is not None else ReadStats()
    size = len(raw)
    try:
        record = _parse(raw, source, offset, size, stats)
    except Exception as exc:  # a parser bug must cost one message, not the run
        log.warning("%s@%s: could not parse message: %r", source, offset, exc)
        stats.skip("parse_error")
        return None
    if record is not None:
        stats.read += 1
        stats.bytes_read += size
    return record


def _parse(raw: bytes, source: str, offset: int | None, size: int,
           stats: ReadStats) -> MailRecord | None:
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    envelope = b""
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        envelope, raw = (raw, b"") if nl < 0 else (raw[:nl], raw[nl + 1 :])
    if not raw.endswith(b"\n"):
        raw += b"\n"
    block, body = split_message(raw, stats)
    if not block.strip():
        stats.skip("no_headers" if raw.strip() else "empty")
        return None
    headers = parse_headers(block, stats)
    if not _KNOWN & headers.keys():
        stats.skip("no_mail_headers")
        return None
    if b">From " in body:
        body = _ESCAPED_FROM.sub(rb"\n\1", b"\n" + body)[1:]

    content = Content()
    simple = simple_text(headers, body, stats)
    if simple is not None:
        text = simple
    else:
        walk(headers, body, content, stats)
        if content.plain:
            text = "\n\n".join(content.plain)
        elif content.html:
            text = "\n\n".join(html_to_text(h) for h in content.html)
        else:
            text = ""
    obfuscated = _OBFUSCATED_FROM.match(first(headers, "from")) is not None  # pipermail
    subject = " ".join(decode_words(first(headers, "subject"), stats).split())
    text = clean_body(text, deobfuscate_addresses=obfuscated, subject=subject)
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS]
        stats.notes["body_truncated"] += 1

    senders = parse_addresses(decode_words(first(headers, "from"), stats), stats)
    if not senders:
        senders = parse_addresses(first(headers, "sender") or first(headers, "return-path"),
                                  stats)
    sender_name, sender = senders[0] if senders else ("", "")
    to = _all_addresses(headers, "to", stats)
    cc = _all_addresses(headers, "cc", stats)

    date = parse_date(first(headers, "date"))
    if date is None:
        m = _ENVELOPE_DATE.search(envelope.decode("latin-1"))
        date = parse_date(m.group()) if m else None
        stats.notes["bad_date" if first(headers, "date") else "no_date"] += 1
    ids = message_ids(first(headers, "message-id"))
    references = message_ids(" ".join(headers.get("references", ())))
    reply_ids = message_ids(first(headers, "in-reply-to"))
    synthetic = not ids
    if synthetic:
        stats.notes["synthetic_message_id"] += 1
        digest = hashlib.sha1(block + b"\0" + body).hexdigest()[:24]
        message_id = f"{digest}@synthetic.ghost"
    else:
        message_id = ids[0]
    return MailRecord(
        message_id=message_id,
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        to=[a for _, a in to],
        cc=[a for _, a in cc],
        date=date,
        in_reply_to=reply_ids[0] if reply_ids else None,
        references=[r for r in dict.fromkeys(references) if r != message_id],
        body=text,
        attachments=content.attachments,
        is_bulk=is_bulk(headers, sender),
        source=source,
        offset=offset,
        size=size,
        synthetic_id=synthetic,
        to_names=[n for n, _ in to],
        cc_names=[n for n, _ in cc],
        gmail_thread_id=first(headers, "x-gm-thrid") or None,
    )


def _all_addresses(headers: Headers, name: str, stats: ReadStats) -> list[tuple[str, str]]:
    values = headers.get(name)
    if not values:
        return []
    return parse_addresses(", ".join(values), stats)


def is_bulk(headers: Headers, sender: str) -> bool:
    """Mailing-list, newsletter or machine mail: List-* headers, Precedence, Auto-Submitted,
    Gmail category/spam labels, no-reply senders."""
    if "list-id" in headers or "list-unsubscribe" in headers:
        return True
    if first(headers, "precedence").lower() in ("bulk", "list", "junk"):
        return True
    auto = first(headers, "auto-submitted").lower()
    if auto and auto != "no":
        return True
    labels = first(headers, "x-gmail-labels")
    if labels and any(label in labels for label in _BULK_LABELS):
        return True
    return bool(_NOREPLY.match(sender))
