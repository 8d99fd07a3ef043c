"""The streaming mbox splitter: separators, escaping, CRLF, byte ranges, block edges."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ghost.ingest.mail.mbox import is_from_line, iter_mbox, looks_like_mbox
from ghost.ingest.mail.records import ReadStats

FIXTURES = Path(__file__).parent / "fixtures" / "mail"


@pytest.mark.parametrize("line", [
    b"From avery@quill.example Mon Mar  3 09:00:00 2025",
    b"From jordan.hale at example.org  Wed Jan  5 10:00:00 2005",
    b"From 1790000000000000000@xxx Wed Jan 05 10:00:00 +0000 2005",
    b"From - Mon Mar  3 09:00:00 2025",
    b"From MAILER-DAEMON Fri, 08 Jul 2011 12:08:34 +0000",
    b"From =?iso-8859-1?Q?Ren=E9e?=  Thu Jul  7 01:20:19 2005",
])
def test_separator_lines(line: bytes) -> None:
    assert is_from_line(line)


@pytest.mark.parametrize("line", [
    b"From the window you can see the new site.",
    b"From: Avery <avery@quill.example>",
    b"From R-help",
    b"From Monday at 10:30 we move",
    b">From avery Mon Mar  3 09:00:00 2025",
])
def test_body_lines_are_not_separators(line: bytes) -> None:
    assert not is_from_line(line)


def test_splits_messages_with_offsets() -> None:
    path = FIXTURES / "threads.mbox"
    data = path.read_bytes()
    stats = ReadStats()
    messages = list(iter_mbox(path, stats=stats))
    assert len(messages) == 6
    for offset, raw in messages:
        assert data[offset : offset + len(raw)] == raw
        assert raw.startswith(b"From ")
    assert sum(len(raw) for _, raw in messages) == len(data)
    assert stats.notes["from_line_in_body"] == 1  # the unescaped "From the window" line


@pytest.mark.parametrize("block", [7, 64, 1000, 1 << 20])
def test_block_size_does_not_matter(block: int) -> None:
    path = FIXTURES / "threads.mbox"
    expected = list(iter_mbox(path))
    assert list(iter_mbox(path, block_size=block)) == expected


def test_byte_ranges_partition_the_file() -> None:
    path = FIXTURES / "threads.mbox"
    expected = list(iter_mbox(path))
    size = path.stat().st_size
    for step in (1, 37, 300, 999):
        cuts = [*range(0, size, step), size]
        got = [m for a, b in itertools.pairwise(cuts)
               for m in iter_mbox(path, a, b, block_size=128)]
        assert got == expected, step


def test_crlf_mbox(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.mbox"
    crlf.write_bytes((FIXTURES / "threads.mbox").read_bytes().replace(b"\n", b"\r\n"))
    messages = list(iter_mbox(crlf, block_size=50))
    assert len(messages) == 6
    assert all(raw.startswith(b"From ") and b"\r\n" in raw for _, raw in messages)


def test_text_before_first_separator_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "odd.mbox"
    path.write_bytes(b"\n\n" + (FIXTURES / "threads.mbox").read_bytes())
    assert len(list(iter_mbox(path))) == 6  # leading blank lines are not a message


def test_looks_like_mbox() -> None:
    assert looks_like_mbox((FIXTURES / "threads.mbox").read_bytes()[:200])
    assert looks_like_mbox((FIXTURES / "pipermail.mbox").read_bytes()[:200])
    assert not looks_like_mbox((FIXTURES / "alternative.eml").read_bytes()[:200])
