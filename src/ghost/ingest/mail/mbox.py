"""Stream an mbox file of any size with flat memory.

The file is read in large binary blocks and split on "From " separator lines. A line that
starts with "From " only counts as a separator when the rest of it looks like the envelope
line mail tools write (`From sender  Wed Jan  5 10:00:00 2005`, Gmail's
`From 123@xxx Wed Jan 05 10:00:00 +0000 2005`...): mboxo archives such as pipermail's often
leave body lines like "From the help page..." unescaped, and those must not split a message.
No table of contents is built: each message is yielded as soon as its end is seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ghost.ingest.mail.records import ReadStats

BLOCK_SIZE = 16 * 1024 * 1024

_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MON = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# asctime (`Wed Jan  5 10:00:00 2005`) or RFC 2822 (`Wed, 05 Jan 2005 10:00:00`) somewhere
# after the envelope sender, matched anywhere on the line (the sender may contain spaces).
_FROM_LINE = re.compile(
    rb"From [^\r\n]*?[ \t]" + _DAY + rb",?[ \t]+(?:" + _MON + rb"[ \t]+\d{1,2}"
    rb"|\d{1,2}[ \t]+" + _MON + rb"[ \t]+\d{4})[ \t]+\d{1,2}:\d\d"
)
_SEP = b"\nFrom "


def is_from_line(line: bytes) -> bool:
    """True when `line` (without its newline) is an mbox envelope separator line."""
    return line.startswith(b"From ") and _FROM_LINE.match(line) is not None


def looks_like_mbox(head: bytes) -> bool:
    """True when a file starting with `head` is an mbox (its first line is a separator)."""
    head = head.lstrip(b"\r\n")
    return is_from_line(head.split(b"\n", 1)[0])


def iter_mbox(
    path: str | Path,
    start: int = 0,
    end: int | None = None,
    stats: ReadStats | None = None,
    block_size: int = BLOCK_SIZE,
) -> Iterator[tuple[int, bytes]]:
    """Yield `(offset, raw_bytes)` for each message whose separator line starts in [start, end).

    `raw_bytes` includes the "From " line. With start > 0 the first message is the first
    separator at or after `start`, so callers can cut a file into byte ranges and read each
    range independently (every message belongs to exactly one range). With start == 0,
    anything before the first separator is yielded too (it may be a message without one).
    The last message may extend past `end`; it is read to its real end.
    """
    stats = stats if stats is not None else ReadStats()
    overlap = len(_SEP) - 1
    with open(path, "rb") as fh:
        if start > 0:
            # Read one byte before `start` so a separator exactly at `start` is seen as "\nFrom ".
            fh.seek(start - 1)
            base = start - 1  # file offset of buf[0]
            buf = fh.read(block_size)
            msg_start: int | None = None  # index in buf of the current message's first byte
        else:
            base = -1  # a "\n" is prepended so a separator on the first line is found too
            buf = b"\n" + fh.read(block_size)
            msg_start = 1  # text before the first separator is kept as a message
        eof = len(buf) < block_size
        search = 0
        while True:
            i = buf.find(_SEP, search)
            nl = buf.find(b"\n", i + 1) if i >= 0 else -1
            if i < 0 or nl < 0:
                if eof:
                    if i < 0:
                        break
                    nl = len(buf)
                else:
                    # Need more data: keep the current message (or the tail that may hold
                    # the start of a separator) and append the next block.
                    if i >= 0:
                        keep = min(i, msg_start) if msg_start is not None else i
                        resume = i
                    else:
                        resume = max(len(buf) - overlap, search)
                        keep = min(resume, msg_start) if msg_start is not None else resume
                    more = fh.read(block_size)
                    eof = len(more) < block_size
                    buf = buf[keep:] + more
                    base += keep
                    search = resume - keep
                    if msg_start is not None:
                        msg_start -= keep
                    continue
            search = i + 1
            if not _FROM_LINE.match(buf, i + 1, nl):
                if msg_start is not None:
                    stats.notes["from_line_in_body"] += 1
                continue
            if msg_start is not None and (i - msg_start > 64 or buf[msg_start : i + 1].strip()):
                yield base + msg_start, buf[msg_start : i + 1]
            if end is not None and base + i + 1 >= end:
                return
            msg_start = i + 1
        if msg_start is not None and buf[msg_start:].strip():
            yield base + msg_start, buf[msg_start:]
