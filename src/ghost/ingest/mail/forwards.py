"""Forwarded messages inside a body: found, and rendered with their original sender and date.

    >>> body = ("FYI, please book it.\\n\\n---------- Forwarded message ---------\\n"
    ...         "From: Air Travel <book@air.example>\\nDate: Mon, Jan 20, 2025 at 10:00 AM\\n"
    ...         "Subject: Itinerary\\nTo: sam@acme.example\\n\\nFlight TP123, seat 3C.\\n")
    >>> own, block = split_forward(body, is_forward_subject=False)
    >>> own
    'FYI, please book it.\\n\\n'
    >>> block.sender, block.date, block.subject
    ('Air Travel <book@air.example>', '2025-01-20 10:00', 'Itinerary')
    >>> print(render_forward(block, "Flight TP123, seat 3C.").replace(", subject", ",\\n subject"))
    [Forwarded message from Air Travel <book@air.example>, dated 2025-01-20 10:00,
     subject "Itinerary"]
    Flight TP123, seat 3C.
    [End of forwarded message]

Explicit forward markers (Gmail's "---------- Forwarded message ---------", Apple Mail's
"Begin forwarded message:", Thunderbird's "-------- Forwarded Message --------", their German
and French forms) always start a forwarded block. Outlook writes "-----Original Message-----"
(or a bare From:/Sent:/To:/Subject: block) both when it forwards and when it replies: it is a
forward only when the message's own subject says so (Fw:, Fwd:, WG:, TR:); in a reply it is
the quoted history, which the thread already holds, and clean.py cuts it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

from ghost.ingest.mail.headers import parse_date

_MARKER = re.compile(
    r"\n[ \t]*(?:-{2,}[ \t]*(?:Forwarded message|Weitergeleitete Nachricht|"
    r"Message transféré|Mensaje reenviado)[ \t]*-{2,}"
    r"|Begin forwarded message:|Anfang der weitergeleiteten Nachricht:"
    r"|Début du message réexpédié\s?:)[ \t]*(?=\n)", re.I)
# Words every marker holds and few bodies do: most bodies are not searched at all.
_HINTS = ("orwarded message", "orwarded Message", "ORWARDED MESSAGE", "eitergeleitete",
          "transféré", "reenviado", "réexpédié")
_OUTLOOK = re.compile(
    r"\n[ \t]*(?:-{2,}[ \t]*(?:Original Message|Message d'origine|Ursprüngliche Nachricht)"
    r"[ \t]*-{2,}[ \t]*(?=\n)|_{10,}[ \t]*(?=\n[ \t]*(?:From|De|Von):)"
    r"|(?=From:[^\n]*\n(?:[^\n]*\n)?(?:Sent|Date):[^\n]*\n(?:[^\n]*\n)?(?:To|Subject):))",
    re.I)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:re|aw|sv)\s*:\s*)*(?:fwd?|wg|tr|fw)\s*:", re.I)
_HEADER = re.compile(r"[ \t>*]*(From|De|Von|Date|Sent|Envoyé|Gesendet|Datum|Subject|Objet|"
                     r"Betreff|To|À|An|Cc|Reply-To)[ \t*]*:[ \t*]*(.*)", re.I)
_CLOCK = re.compile(r"\d\s*(?:[AP]\.?M\.?)\b|\bat\s+\d", re.I)
# "GMT+1" (Apple Mail): dateutil reads it the POSIX way round (UTC-1); "+0100" it reads right.
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d\d))?\b")
_MAILTO = re.compile(r"\s*\[mailto:([^\]\s]+)\]")
_KEYS = {"from": "from", "de": "from", "von": "from", "date": "date", "sent": "date",
         "envoyé": "date", "gesendet": "date", "datum": "date", "subject": "subject",
         "objet": "subject", "betreff": "subject"}


@dataclass(frozen=True)
class Forward:
    """A forwarded message's own header, as its forwarder's client wrote it."""

    start: int     # where the marker begins in the body
    body_at: int   # where the forwarded body begins
    sender: str
    date: str      # "YYYY-MM-DD HH:MM" (UTC when the value gave its zone), else as written
    subject: str


def is_forward_subject(subject: str) -> bool:
    """Whether a subject marks its message as a forward: Fwd:, Fw:, WG:, TR: (after any Re:)."""
    return bool(_FORWARD_SUBJECT.match(subject or ""))


def split_forward(text: str, *, is_forward_subject: bool) -> tuple[str, Forward | None]:
    """The text before the first forwarded block, and that block's header (None: no forward).

    `text` may or may not start with a newline; the forwarded body is `text[block.body_at:]`.
    """
    probe = text if text.startswith("\n") else "\n" + text
    shift = 0 if text.startswith("\n") else 1
    marker = _MARKER.search(probe) if _has_hint(probe) else None
    if marker is None and is_forward_subject:
        marker = _OUTLOOK.search(probe)
    if marker is None:
        return text, None
    start = max(0, marker.start() - shift)
    header_at = marker.end() - shift
    fields, body_at = _read_header(text, header_at)
    if "from" not in fields and marker.re is _OUTLOOK:
        return text, None  # an underline or dashes without a header: not a forward
    sender = _MAILTO.sub(r" <\1>", fields.get("from", "")).strip()
    block = Forward(start, body_at, sender, _iso(fields.get("date", "")),
                    fields.get("subject", ""))
    return text[:start] + "\n", block


def _has_hint(text: str) -> bool:
    """Whether `text` holds a word of _HINTS (spelled out: this runs on every body)."""
    return ("orwarded message" in text or "orwarded Message" in text
            or "ORWARDED MESSAGE" in text or "eitergeleitete" in text or "reenviado" in text
            or (not text.isascii() and ("transféré" in text or "réexpédié" in text)))


def render_forward(block: Forward, body: str) -> str:
    """The forwarded message as the reader sees it: who wrote it and when, then its text."""
    about = [f"from {block.sender}" if block.sender else "from an unknown sender"]
    if block.date:
        about.append(f"dated {block.date}")
    if block.subject:
        about.append(f'subject "{block.subject}"')
    return (f"[Forwarded message {', '.join(about)}]\n{body.strip() or '(empty)'}\n"
            "[End of forwarded message]")


def _read_header(text: str, at: int) -> tuple[dict[str, str], int]:
    """The forwarded header's fields (from, date, subject) and where its body starts: the
    header is a run of `Key: value` lines (blank lines before it are skipped)."""
    fields: dict[str, str] = {}
    pos = at
    seen_header = False
    while pos < len(text):
        end = text.find("\n", pos + 1)
        end = len(text) if end < 0 else end
        line = text[pos:end].strip("\n")
        m = _HEADER.fullmatch(line.rstrip())
        if m:
            key = _KEYS.get(m.group(1).lower())
            if key and key not in fields:
                fields[key] = m.group(2).strip().strip("*").strip()
            seen_header = True
        elif line.strip() or seen_header:
            break
        pos = end
    return fields, pos


def _iso(value: str) -> str:
    """A forwarded Date/Sent value as "YYYY-MM-DD HH:MM": in UTC when the value names its
    zone, else the sender's clock as written; an unreadable value is kept as written."""
    if not value:
        return ""
    # email.utils reads "February 4, 2025 3:15 PM" as 03:15: clock times are dateutil's.
    when: datetime | None = None if _CLOCK.search(value) else parse_date(value)
    if when is None:
        from dateutil import parser as date_parser

        try:
            written = _GMT_OFFSET.sub(_offset, value.replace(" at ", " "))
            with warnings.catch_warnings():  # "PST" and friends: read as the clock written
                warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
                when = date_parser.parse(written, fuzzy=True)
        except (ValueError, OverflowError, TypeError):
            return value[:60]
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return f"{when:%Y-%m-%d %H:%M}"


def _offset(m: re.Match[str]) -> str:
    return f"{m.group(1)}{int(m.group(2)):02d}{m.group(3) or '00'}"
