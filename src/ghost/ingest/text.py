"""Read a text file whose encoding we do not know, refusing binaries with a clear error."""

from __future__ import annotations

import codecs
from pathlib import Path

from ghost.errors import InputError

# Tried in order after BOM sniffing. cp1252 leaves five bytes undefined, so it can fail;
# latin-1 never fails and would hide a binary or a wrong guess, so it is not on the list.
FALLBACK_ENCODINGS = ("utf-8", "cp1252")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_bytes(data: bytes, name: str = "input") -> str:
    """Decode `data` as text: BOM first, then UTF-8, then cp1252. Raise InputError otherwise."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"{name}: starts with a {encoding} mark but does not decode "
                                 f"({exc.reason}); re-save it as UTF-8") from None
    if b"\x00" in data[:8192]:
        raise InputError(f"{name}: looks like a binary file, not text; "
                         "pass a plain-text, Markdown or subtitle file")
    for encoding in FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{name}: is not UTF-8 or Windows-1252 text; re-save it as UTF-8")


def read_text(path: str | Path, *, allow_empty: bool = False) -> str:
    """Read `path` as text; missing, unreadable, binary, undecodable or empty → InputError."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; pass a file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from None
    text = decode_bytes(data, str(p)).replace("\r\n", "\n").replace("\r", "\n")
    if not allow_empty and not text.strip():
        raise InputError(f"{p}: is empty")
    return text
