"""Mask obvious secrets before text leaves the machine, and mark untrusted text as data.

Masking is deliberately conservative about what counts as a secret (a card number must pass
the Luhn check) and generous about labelled ones ("password: …"). It is not a DLP system; it
keeps the obvious from being pasted into a cloud provider's logs.

Message-IDs are never masked: header lines that carry them (Message-ID, In-Reply-To,
References, quoted or folded) and `<id@host>` / `[<id@host>]` tokens anywhere in the text are
left exactly as they are. An ID such as `<20050610153245.GA26106@host>` holds a digit run that
can pass the Luhn check; masking it broke the citations that point at the message and counted
a card number that was never there.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_LABELLED = re.compile(
    r"(?i)\b(password|passwd|pwd|passcode|pin|api[ _-]?key|secret|token)"
    r"(\s*(?:is|:|=)\s*)(\S+)")
_ACCOUNT = re.compile(
    r"(?i)\b(account (?:number|no\.?|#)|acct\.?(?: no\.?| #)?|routing (?:number|no\.?)|"
    r"sort code)(\s*(?:is|:|=)?\s*)(\d[\d -]{3,}\d)")
_KEY_SHAPES = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
                         r"|xox[abpr]-[A-Za-z0-9-]{10,})\b")

# Never masked: header lines that list Message-IDs (`Message-ID: <...>`, also quoted with `>`,
# datamarked or folded onto more lines; a line is one when its value starts with `<`, so prose
# such as "References: on request" is masked as usual), `<local@host>` tokens (Message-IDs,
# addresses), and citation tokens `[id@host]` (`[<id@host>]` is an angle token in brackets).
_ID_HEADERS = r"(?:message-id|in-reply-to|references|resent-message-id|original-message-id)"
_PROTECTED = re.compile(
    rf"(?im)^[ \t>▏]*{_ID_HEADERS}[ \t]*:[ \t]*<.*(?:\n[ \t>▏]*[ \t]<.*)*"
    r"|<[^\s<>@]+@[^\s<>@]+>"
    r"|\[[^\s<>@\[\]]+@[^\s<>@\[\]]+\]")

DATAMARK = "▏"
_REDACTED = "[REDACTED"


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask_secrets(text: str) -> tuple[str, Counter[str]]:
    """`text` with secrets replaced by [REDACTED kind], and how many of each kind.

    Idempotent: masking already-masked text changes nothing and counts nothing, so text
    derived from masked text (notes on masked mail) can be masked again before it is sent.
    Message-IDs (header lines and `<id@host>` tokens, see _PROTECTED) are never touched: the
    text between them is masked piece by piece."""
    found: Counter[str] = Counter()
    pieces, start = [], 0
    for kept in _PROTECTED.finditer(text):
        pieces += [_mask_piece(text[start:kept.start()], found), kept.group(0)]
        start = kept.end()
    pieces.append(_mask_piece(text[start:], found))
    return "".join(pieces), found


def _mask_piece(text: str, found: Counter[str]) -> str:
    if not text:
        return text

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and _luhn(digits):
            found["card"] += 1
            return "[REDACTED card]"
        return m.group(0)

    def labelled(m: re.Match[str]) -> str:
        if m.group(3).startswith(_REDACTED):
            return m.group(0)
        found[m.group(1).lower().split()[0]] += 1
        return f"{m.group(1)}{m.group(2)}[REDACTED]"

    def kind(name: str) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            found[name] += 1
            return f"[REDACTED {name}]"
        return sub

    text = _KEY_SHAPES.sub(kind("key"), text)
    text = _LABELLED.sub(labelled, text)
    text = _ACCOUNT.sub(labelled, text)
    text = _CARD.sub(card, text)
    text = _IBAN.sub(kind("iban"), text)
    text = _SSN.sub(kind("ssn"), text)
    return text


def datamark(text: str) -> str:
    """Prefix every line of untrusted text with a marker the instructions name (spotlighting),
    so the model can always tell data from instructions, even deep inside a long email."""
    return "\n".join(DATAMARK + line for line in text.split("\n"))


def is_local_endpoint(endpoint: str) -> bool:
    """True for in-process models and servers on this machine or a private network."""
    from ghost.providers import IN_PROCESS

    if endpoint == IN_PROCESS:
        return True
    host = urlsplit(endpoint).hostname if "://" in endpoint else endpoint
    if host in (None, "localhost"):
        return host == "localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private
