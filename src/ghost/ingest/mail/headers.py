"""Fast header handling: split a message, read its header block, decode header values.

The stdlib `email` package is correct but slow for millions of messages; these helpers do
the common cases with a few regular expressions and fall back to `email.utils` for the rare
hard ones (quoted names with commas, comments).
"""

from __future__ import annotations

import binascii
import calendar
import email.utils
import re
from datetime import UTC, datetime, timedelta

from ghost.ingest.mail.charsets import decode_text
from ghost.ingest.mail.records import ReadStats

Headers = dict[str, list[str]]

# A run of well-formed header fields (name, colon, value, folded continuation lines).
_HEADER_BLOCK = re.compile(rb"(?:[!-9;-~]+[ \t]*:[^\n]*\n(?:[ \t][^\n]*\n)*)*")
_FIELD = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*(?:\n[ \t].*)*)", re.M)
_FOLD = re.compile(r"\n(?=[ \t])")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)\s+(?==\?)")
_AT_DOMAIN = re.compile(r" at ([\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,})(?![\w@-])")
_ADDR_COMMENT = re.compile(r"\s*([^\s()<>\",]+@[^\s()<>\",]+)\s*\(([^()]*)\)\s*$")
_PIPERMAIL = re.compile(r"\s*([^\s()<>\",@]+) at ([^\s()<>\",@]+\.[^\s()<>\",@]+)"
                        r"\s*\(([^()]*)\)\s*$")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"[^\s<>,;\"]+@[^\s<>,;\"]+")


def split_message(raw: bytes, stats: ReadStats | None = None) -> tuple[bytes, bytes]:
    """Split raw message bytes (LF line ends) into the header block and the body."""
    m = _HEADER_BLOCK.match(raw)
    end = m.end() if m else 0
    if raw.startswith(b"\n", end):
        return raw[:end], raw[end + 1 :]
    if end < len(raw) and stats is not None and end > 0:
        stats.notes["missing_header_separator"] += 1
    return raw[:end], raw[end:]


def parse_headers(block: bytes, stats: ReadStats | None = None) -> Headers:
    """Header fields by lower-case name, values unfolded, in order of appearance."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("cp1252", errors="replace")
        if stats is not None:
            stats.fallbacks["header_8bit"] += 1
    headers: Headers = {}
    for name, value in _FIELD.findall(text):
        if "\n" in value:
            value = _FOLD.sub("", value)
        headers.setdefault(name.lower(), []).append(value.strip())
    return headers


def first(headers: Headers, name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def decode_words(value: str, stats: ReadStats | None = None) -> str:
    """Decode RFC 2047 encoded words (`=?utf-8?q?...?=`), tolerating bogus charsets."""
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub("", value)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        charset = m.group(1).split("*", 1)[0].lower()
        if m.start() > pos or charset != pending_charset:
            if pending:
                out.append(decode_text(b"".join(pending), pending_charset, stats))
                pending = []
            out.append(value[pos : m.start()])
        pending_charset = charset
        pending.append(_decode_word(m.group(2), m.group(3), stats))
        pos = m.end()
    if pending:
        out.append(decode_text(b"".join(pending), pending_charset, stats))
    out.append(value[pos:])
    return "".join(out)


def _decode_word(kind: str, text: str, stats: ReadStats | None) -> bytes:
    data = text.encode("ascii", errors="replace")
    if kind in "qQ":
        return binascii.a2b_qp(data, header=True)
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        if stats is not None:
            stats.fallbacks["bad_encoded_word"] += 1
        return data


def deobfuscate(text: str) -> str:
    """Turn pipermail's `john at example.com` back into `john@example.com`."""
    i = text.find(" at ")
    if i < 0:
        return text
    out: list[str] = []
    pos = 0
    while i >= 0:
        m = _AT_DOMAIN.match(text, i)
        before = text[i - 1 : i]
        # skip "me at john.doe at example.com": john.doe is the next one's local part
        if (m and before and (before.isalnum() or before in "._%+-")
                and not text.startswith(" at ", m.end())):
            out.append(text[pos:i])
            out.append("@" + m.group(1))
            pos = m.end()
        i = text.find(" at ", i + 4)
    out.append(text[pos:])
    return "".join(out)


def parse_addresses(value: str, stats: ReadStats | None = None) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs from an address header value."""
    if not value:
        return []
    pairs: list[tuple[str, str]] = []
    m = _PIPERMAIL.match(value)
    if m:  # "john at example.com (John Smith)"
        pairs = [(m.group(3), f"{m.group(1)}@{m.group(2)}")]
    elif (m := _ADDR_COMMENT.match(value)) is not None:
        pairs = [(m.group(2), m.group(1))]
    else:
        if "@" not in value or " at " in value:
            value = deobfuscate(value)
        pairs = _split_addresses(value)
    out: list[tuple[str, str]] = []
    for name, addr in pairs:
        addr = addr.strip().strip("'\"").lower()
        addr = addr.removeprefix("mailto:")
        name = decode_words(name.strip().strip("'\""), stats).strip()
        if name.lower() == addr:
            name = ""
        if addr or name:
            out.append((name, addr))
    return out


def _split_addresses(value: str) -> list[tuple[str, str]]:
    if '"' in value or "(" in value:
        return email.utils.getaddresses([value])
    pairs: list[tuple[str, str]] = []
    for part in value.split(","):
        lt = part.find("<")
        if lt >= 0:
            gt = part.find(">", lt)
            pairs.append((part[:lt].strip(), part[lt + 1 : gt if gt > 0 else None]))
        elif part.strip():
            pairs.append(("", part))
    return pairs


_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
# The two shapes nearly all mail uses: RFC 2822 and asctime (pipermail, mbox envelopes).
_RFC_DATE = re.compile(r"(?:\w{3},\s*)?(\d{1,2})\s+(\w{3})\w*\s+(\d{4})\s+(\d{1,2}):(\d\d)"
                       r"(?::(\d\d))?\s*(?:([+-])(\d\d)(\d\d)|(?:UT|UTC|GMT|Z)\b)")
_ASCTIME = re.compile(r"\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d):(\d\d)\s+(\d{4})\s*$")


def _fast_date(value: str) -> datetime | None:
    m = None if value[3:4] == " " else _RFC_DATE.match(value)  # "Fri Apr  1" is asctime
    if m:
        day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
        month = _MONTHS.get(mon.lower())
        if month is None:
            return None
        offset = (int(oh) * 3600 + int(om) * 60) * (-1 if sign == "-" else 1) if sign else 0
        when = datetime(int(year), month, int(day), int(hh), int(mm), int(ss or 0), tzinfo=UTC)
        return when - timedelta(seconds=offset) if offset else when
    m = _ASCTIME.match(value) if value[3:4] == " " else None
    if m:
        mon, day, hh, mm, ss, year = m.groups()
        month = _MONTHS.get(mon.lower())
        if month is None:
            return None
        return datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    return None


def parse_date(value: str) -> datetime | None:
    """UTC datetime from a Date header or an mbox envelope date; None when unusable."""
    if not value:
        return None
    try:
        when = _fast_date(value.strip())
        if when is not None:
            return when if 1971 <= when.year <= 2100 else None
    except (ValueError, OverflowError):
        pass  # e.g. 31 February: let the general parser try
    try:
        parts = email.utils.parsedate_tz(value)
    except (ValueError, IndexError, TypeError, OverflowError):
        return None
    if parts is None:
        return None
    try:
        stamp = calendar.timegm(parts[:9]) - (parts[9] or 0)
        when = datetime.fromtimestamp(stamp, UTC)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    return when if 1971 <= when.year <= 2100 else None


def message_ids(value: str) -> list[str]:
    """Message-IDs (without <>) in a Message-ID, In-Reply-To or References value."""
    if not value:
        return []
    return _ANGLE_ID.findall(value) or _BARE_ID.findall(value)  # neither holds spaces
