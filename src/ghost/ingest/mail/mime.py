"""Walk a MIME tree without the `email` package: split multiparts, decode leaf payloads.

Only what a briefing needs: the text parts (plain preferred, HTML converted when there is no
plain part) and the names and sizes of attachments. Malformed structure degrades to
"treat it as text" with a counted fallback, never an exception.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from ghost.ingest.mail.charsets import decode_text
from ghost.ingest.mail.headers import Headers, decode_words, first, parse_headers, split_message
from ghost.ingest.mail.records import ReadStats

MAX_DEPTH = 12
_PARAM = re.compile(r';\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")


@dataclass
class Content:
    """What a message holds: text parts by kind, and attachments."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[tuple[str, int]] = field(default_factory=list)


def content_type(value: str) -> tuple[str, dict[str, str]]:
    """('type/subtype' lower-case, params) from a Content-Type or Content-Disposition value."""
    semi = value.find(";")
    main = (value if semi < 0 else value[:semi]).strip().lower()
    params: dict[str, str] = {}
    if semi >= 0:
        for key, val in _PARAM.findall(value[semi:]):
            if val.startswith('"'):
                val = val[1:-1].replace('\\"', '"')
            params.setdefault(key.lower(), val)
    return main, params


def walk(headers: Headers, body: bytes, out: Content, stats: ReadStats, depth: int = 0,
         default_type: str = "text/plain") -> None:
    """Collect the text and attachments of one entity (recursively) into `out`."""
    ctype, params = content_type(first(headers, "content-type"))
    if "/" not in ctype:
        ctype = default_type
    disposition, dparams = content_type(first(headers, "content-disposition"))
    if ctype.startswith("multipart/") and depth < MAX_DEPTH:
        parts = split_multipart(body, params.get("boundary", ""))
        if parts is not None:
            child_default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
            for part in parts:
                block, part_body = split_message(part)
                walk(parse_headers(block, stats), part_body, out, stats, depth + 1, child_default)
            return
        stats.fallbacks["bad_multipart"] += 1
        ctype = "text/plain"
    if ctype == "message/rfc822" and depth < MAX_DEPTH and disposition != "attachment":
        block, inner = split_message(_decode_payload(headers, body, stats))
        walk(parse_headers(block, stats), inner, out, stats, depth + 1)
        return
    filename = dparams.get("filename") or params.get("name") or ""
    is_text = ctype in ("text/plain", "text/html", "text/enriched") or ctype == "text"
    if disposition == "attachment" or filename or not is_text:
        if ctype.startswith("multipart/") or (not filename and not body.strip()):
            return
        name = decode_words(filename, stats) if filename else f"(unnamed {ctype})"
        out.attachments.append((name, _decoded_size(headers, body)))
        return
    text = decode_text(_decode_payload(headers, body, stats), params.get("charset"), stats)
    (out.html if ctype == "text/html" else out.plain).append(text)


def simple_text(headers: Headers, body: bytes, stats: ReadStats) -> str | None:
    """Fast path: the text of a single-part text/plain message, or None for anything else."""
    ctype = headers.get("content-type")
    if "content-disposition" in headers:
        return None
    charset = None
    if ctype:
        value = ctype[0]
        if value[:10].lower() != "text/plain":
            return None
        charset = content_type(value)[1].get("charset")
    return decode_text(_decode_payload(headers, body, stats), charset, stats)


def split_multipart(body: bytes, boundary: str) -> list[bytes] | None:
    """The parts of a multipart body, or None when the boundary never occurs."""
    if not boundary:
        return None
    delim = b"\n--" + boundary.encode("ascii", errors="replace")
    pieces = (b"\n" + body).split(delim)
    if len(pieces) < 2:
        return None
    parts: list[bytes] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # closing delimiter: the rest is the epilogue
        nl = piece.find(b"\n")
        if nl < 0 or piece[:nl].strip():
            # Not a delimiter line: the boundary was a prefix of longer text. Rejoin it.
            if parts:
                parts[-1] += delim + piece
            continue
        parts.append(piece[nl + 1 :])
    return parts


def _decode_payload(headers: Headers, body: bytes, stats: ReadStats) -> bytes:
    cte = first(headers, "content-transfer-encoding").strip().lower()
    if not cte or cte in ("7bit", "8bit", "binary"):
        return body
    if cte == "quoted-printable":
        return binascii.a2b_qp(body)
    if cte == "base64":
        data = _B64_JUNK.sub(b"", body)
        data = data[: len(data) - len(data) % 4] if b"=" not in data else data
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            stats.fallbacks["bad_base64"] += 1
            return body
    if "quoted" in cte:
        stats.fallbacks["odd_transfer_encoding"] += 1
        return binascii.a2b_qp(body)
    stats.fallbacks["odd_transfer_encoding"] += 1
    return body


def _decoded_size(headers: Headers, body: bytes) -> int:
    if first(headers, "content-transfer-encoding").strip().lower() == "base64":
        return len(body.replace(b"\n", b"").rstrip(b"=")) * 3 // 4
    return len(body)
