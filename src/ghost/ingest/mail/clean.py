"""Strip what a reader of one message does not need: quoted replies, signatures, footers.

Conservative by design: a block is only dropped when it clearly is a quote (`>` lines, an
attribution line just before them such as "On <date>, X wrote:", an Outlook "Original
Message" tail), a signature (after a `-- ` line, a short sign-off block at the very end, a
"Sent from my phone" line) or a mailing-list footer.

Kept, because they carry facts the thread does not hold elsewhere: a forwarded message
(forwards.py), rendered with its original sender and date; and the quoted lines an inline
reply answers (the last QUOTE_KEPT_LINES of each quoted block that has the writer's own text
after it), so an answer keeps its question. A quote at the very end (top-posting) is dropped.

This runs on every message, so it is written for speed: patterns start with a literal
character the regex engine can jump to, and end-of-message checks look at the tail only.
"""

from __future__ import annotations

import re

from ghost.ingest.mail.forwards import is_forward_subject, render_forward, split_forward
from ghost.ingest.mail.headers import deobfuscate

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None) | {
    0xA0: " ", 0x202F: " ", 0x2007: " ", 0x0C: "\n", 0x0B: "\n",
}
_ORIGINAL = re.compile(
    r"\n[ \t]*(?:-{2,}[ \t]*(?:Original Message|Message d'origine|Ursprüngliche Nachricht)"
    r"[ \t]*-{2,}|_{10,}[ \t]*\n[ \t]*(?:From|De|Von):[^\n]*\n"
    r"|From:[^\n]*\n(?:[^\n]*\n)?(?:Sent|Date):[^\n]*\n(?:[^\n]*\n)?(?:To|Subject):)",
    re.I,
)
_VERBS = ("wrote", "writes", "écrit", "schrieb", "escribió", "scrisse", "napisał", "skrev")
_INTRO_WORDS = ("On ", "Am ", "Le ", "El ", "Il ", "Op ", "Den ", "På ", "W dniu ")
_QUOTE_START = re.compile(r"\n[ \t]*>")  # first line of a quoted block
_QUOTE_END = re.compile(r"\n(?![ \t]*>)")  # first line after it that is not quoted
_LONE_ON_WROTE = re.compile(r"\n[ \t]*On\b[^\n]{0,250}\bwrote:[ \t]*(?=\n)")
_LIST_FOOTER = re.compile(
    r"\n[ \t]*_{20,}[ \t]*\n[^\n]*(?:mailing list|listinfo|unsubscribe)[\s\S]{0,600}$", re.I
)
_GROUPS_FOOTER = re.compile(r"\n[^\n]*You received this message because you are subscribed"
                            r"[\s\S]{0,800}$")
_MOBILE = re.compile(
    r"\n[ \t]*(?:Sent from my [\w ,.-]{1,40}|Sent from (?:Mail|Outlook) for [\w ]{1,30}"
    r"|Get Outlook for [\w ]{1,20}|Sent via [\w ,.-]{1,40})[ \t]*(?=\n)",
    re.I,
)
_SIG_DELIM = re.compile(r"\n-- ?(?=\n)")
# A sign-off line, then at most 4 short lines (name, title, phone) to the end.
_SIGNOFF = re.compile(
    r"\n[ \t]*(?:best|best regards|best wishes|kind regards|warm regards|regards|cheers|"
    r"thanks|many thanks|thanks again|thank you|sincerely|yours|yours sincerely|"
    r"all the best|br|rgds|mit freundlichen grüßen|cordialement)[ \t]*[,.!]?[ \t]*"
    r"(?:\n[^\n]{0,60}){0,4}\s*$",
    re.I,
)
_FOOTER_TAIL = 800  # list footers and phone lines are looked for in the last chars only
_SIG_TAIL = 2500  # a `-- ` signature of at most 20 lines starts within the last chars
QUOTE_KEPT_LINES = 6  # of a quoted block an inline answer follows: its last lines are kept
_ANSWER_WINDOW = 2000  # chars after a quote looked at for the writer's answer
_PHONE_LINES = ("Sent from ", "Sent via ", "Get Outlook")
_NESTED_FORWARDS = 4  # forwards of forwards rendered; deeper ones are cleaned as plain text


def clean_body(text: str, deobfuscate_addresses: bool = False, subject: str = "",
               _depth: int = 0) -> str:
    """Cleaned text of one message body (see module doc); never raises. `subject` tells an
    Outlook forward (Fw: ...) from an Outlook reply, whose quoted history is cut."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = text.translate(_INVISIBLE)
    text = "\n" + text
    if _depth < _NESTED_FORWARDS:
        own, block = split_forward(text, is_forward_subject=is_forward_subject(subject))
        if block is not None:
            inner = clean_body(text[block.body_at:], deobfuscate_addresses, block.subject,
                               _depth + 1)
            mine = clean_body(own, deobfuscate_addresses, _depth=_NESTED_FORWARDS)
            forwarded = render_forward(block, inner)
            if deobfuscate_addresses:
                forwarded = deobfuscate(forwarded)
            return f"{mine}\n\n{forwarded}" if mine else forwarded
    if ">" in text:
        text = _strip_quotes(text)
    if " \n" in text or "\t\n" in text:
        text = "\n".join(map(str.rstrip, text.split("\n")))
    text += "\n"
    if "Orig" in text or "___" in text or "\nFrom:" in text:
        m = _ORIGINAL.search(text)
        if m:
            text = text[: m.start() + 1]
    if "wrote:" in text:
        text = _LONE_ON_WROTE.sub("", text)
    text = strip_signature(text)
    if deobfuscate_addresses:
        text = deobfuscate(text)
    while "\n\n\n" in text:  # runs of blank lines to one (str.replace beats a regex here)
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _strip_quotes(text: str) -> str:
    """Remove quoted blocks (`>` lines) with the attribution line just before each one; of a
    block the writer answers below it, keep its last QUOTE_KEPT_LINES lines."""
    out: list[str] = []
    pos = 0
    m = _QUOTE_START.search(text)
    while m:
        start = m.start()
        e = _QUOTE_END.search(text, start + 1)
        end = e.start() if e else len(text)
        out.append(text[pos : _attribution_start(text, pos, start)])
        if _answered(text, end):
            out.append(_kept_quote(text[start:end]))
        pos = end
        m = _QUOTE_START.search(text, end)
    out.append(text[pos:])
    return "".join(out)


def _answered(text: str, end: int) -> bool:
    """Whether own text of some words follows the quote ending at `end`, before the next
    quote, an attribution or a signature: an inline answer. Looks at the next lines only."""
    nxt = _QUOTE_START.search(text, end, end + _ANSWER_WINDOW)
    stop = nxt.start() if nxt else min(end + _ANSWER_WINDOW, len(text))
    pos = end
    while True:  # line by line: the answer, if any, is in the first few
        nl = text.find("\n", pos, stop)
        stripped = text[pos : nl if nl >= 0 else stop].strip()
        if stripped == "--" or stripped.startswith(_PHONE_LINES):
            return False
        if " " in stripped and not stripped.endswith(":"):
            return True
        if nl < 0:
            return False
        pos = nl + 1


def _kept_quote(block: str) -> str:
    """The last lines of a quoted block (`>` marks kept), a `> …` line where some were cut."""
    tail = block.rsplit("\n", 4 * QUOTE_KEPT_LINES)  # enough lines, blank ones among them
    lines = [s for s in map(str.strip, tail) if s.strip(">").strip()]
    kept = lines[-QUOTE_KEPT_LINES:]
    if len(tail) > 4 * QUOTE_KEPT_LINES or len(lines) > len(kept):
        kept.insert(0, "> …")
    return "\n\n" + "\n".join(kept) + "\n"


def _attribution_start(text: str, lo: int, quote: int) -> int:
    """Where the attribution before the quote at `quote` begins, or `quote` if there is none.

    Attributions: a line ending in "wrote:" (or the same verb in a few languages), possibly
    wrapped after an "On <date>, <name>" line; or an "On/Am/Le ... :" line, wrapped over up
    to 3 lines, that holds a digit or an address.
    """
    end = quote
    for _ in range(3):  # skip up to 2 blank lines between attribution and quote
        prev = text.rfind("\n", lo, end)
        if prev < 0:
            return quote
        if text[prev + 1 : end].strip():
            break
        end = prev
    else:
        return quote
    line = text[prev + 1 : end].rstrip()
    if not line.endswith(":"):
        return quote
    begin = prev
    if line[:-1].rstrip().endswith(_VERBS):
        up = text.rfind("\n", lo, begin)
        for _ in range(2):  # "On <date>, <name>\n<address> wrote:"
            if text.startswith(_INTRO_WORDS, begin + 1) or up < 0:
                break
            if text.startswith(_INTRO_WORDS, up + 1):
                begin = up
                break
            up = text.rfind("\n", lo, up)
        return begin if text.startswith(_INTRO_WORDS, begin + 1) else prev
    for _ in range(2):
        if text.startswith(_INTRO_WORDS, begin + 1):
            break
        up = text.rfind("\n", lo, begin)
        if up < 0 or not text[up + 1 : begin].strip():
            return quote
        begin = up
    chunk = text[begin:end]
    if (text.startswith(_INTRO_WORDS, begin + 1) and len(chunk) <= 400
            and ("@" in chunk or any(c.isdigit() for c in chunk))):
        return begin
    return quote


def strip_signature(text: str) -> str:
    """Drop list footers, phone sign-offs, a `-- ` signature and a closing sign-off block.

    `text` starts with a newline (see clean_body).
    """
    cut = max(len(text) - _FOOTER_TAIL, 0)
    tail = text[cut:]
    if "___" in tail or "You received" in tail or "Sent " in tail or "Get Outlook" in tail:
        tail = _LIST_FOOTER.sub("", tail) if "___" in tail else tail
        tail = _GROUPS_FOOTER.sub("", tail) if "You received" in tail else tail
        tail = _MOBILE.sub("", tail)
        text = text[:cut] + tail
    cut = max(len(text) - _SIG_TAIL, 0)
    if text.find("\n--", cut) >= 0:
        delims = list(_SIG_DELIM.finditer(text, cut))
        if delims:
            last = delims[-1]
            rest = [ln for ln in text[last.end() :].split("\n") if ln.strip()]
            if len(rest) <= (20 if last.group().endswith(" ") else 8):
                text = text[: last.start() + 1]
    cut = len(text.rstrip(" \n\t"))
    for _ in range(6):  # the sign-off is within the last 6 lines
        cut = text.rfind("\n", 0, cut)
        if cut <= 0:
            cut = 0
            break
    tail = text[cut:].lower()
    if not _has_signoff_word(tail):
        return text
    m = _SIGNOFF.search(text, cut)
    if m and m.start() > 0 and text[: m.start()].strip():
        text = text[: m.start() + 1]
    return text


def _has_signoff_word(tail: str) -> bool:
    """Whether a lower-cased tail holds a word a sign-off line starts with (spelled out:
    this runs on every body)."""
    return ("br" in tail or "best" in tail or "regard" in tail or "thank" in tail
            or "cheers" in tail or "yours" in tail or "sincerely" in tail or "rgds" in tail
            or "cordialement" in tail or "grüß" in tail)
