"""Turn bytes into text under a declared charset, with counted fallbacks for bogus ones."""

from __future__ import annotations

import codecs
from functools import lru_cache

from ghost.ingest.mail.records import ReadStats

# Labels seen in the wild that Python does not know, mapped to what senders meant.
_ALIASES = {
    "unknown-8bit": "", "x-unknown": "", "unknown": "", "default": "", "x-user-defined": "",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6", "ansi_x3.4-1968": "ascii",
    "x-mac-roman": "mac-roman", "macintosh": "mac-roman", "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "windows-874": "cp874", "x-sjis": "shift_jis",
    "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii", "iso-8859-1": "cp1252",
    "latin1": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252",
}


@lru_cache(maxsize=256)
def codec_for(label: str) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown or not a text codec.

    ISO-8859-1 maps to cp1252, as browsers do: mail labelled Latin-1 often carries
    Windows quotes and dashes in 0x80-0x9f.
    """
    name = label.strip().strip("\"'").lower()
    if not name:
        return None
    name = _ALIASES.get(name, name)
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None  # base64, rot13, zip...: not a charset
    return info.name


def decode_text(data: bytes, charset: str | None, stats: ReadStats | None = None) -> str:
    """Decode `data` under `charset`; fall back to UTF-8, then cp1252, counting each repair."""
    codec = codec_for(charset) if charset else None
    repaired = False
    if charset and codec is None:
        _count(stats, "unknown_charset")
        repaired = True
    if codec is not None and codec != "ascii":
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            _count(stats, "charset_mismatch")
            repaired = True
    if data.isascii():
        return data.decode("ascii")
    if not repaired:
        _count(stats, "undeclared_8bit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _count(stats: ReadStats | None, reason: str) -> None:
    if stats is not None:
        stats.fallbacks[reason] += 1
