"""Format detection and the real archives in ../shared (skipped when absent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import shared_path

from ghost.errors import InputError
from ghost.ingest.mail import ReadStats, dedupe, iter_messages, iter_records

FIXTURES = Path(__file__).parent / "fixtures" / "mail"


def make_maildir(root: Path) -> Path:
    box = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    shutil.copy(FIXTURES / "alternative.eml", box / "cur" / "1700000000.1.host:2,S")
    shutil.copy(FIXTURES / "quoted_reply.eml", box / "new" / "1700000001.2.host")
    shutil.copy(FIXTURES / "injection.eml", box / "tmp" / "1700000002.3.host")
    (box / ".uidvalidity").write_text("1\n")
    return box


def test_maildir(tmp_path: Path) -> None:
    stats = ReadStats()
    records = list(iter_records(make_maildir(tmp_path), stats))
    assert sorted(r.message_id for r in records) == ["alt-001@quill.example",
                                                     "reply-001@rowan.example"]
    assert stats.skipped == {"maildir_tmp": 1, "hidden_file": 1}
    assert all(r.offset is None for r in records)


def test_folder_of_files_and_mboxes(tmp_path: Path) -> None:
    for name in ("threads.mbox", "pipermail.mbox", "base64_body.eml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not mail at all\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2" * 100)
    stats = ReadStats()
    raws = list(iter_messages(tmp_path, stats))
    assert len(raws) == 6 + 2 + 1
    assert stats.skipped == {"file_not_mail": 1, "file_binary": 1}


def test_single_eml_and_errors(tmp_path: Path) -> None:
    assert len(list(iter_messages(FIXTURES / "qp_body.eml"))) == 1
    with pytest.raises(InputError, match="no such file"):
        list(iter_messages(tmp_path / "missing.mbox"))
    (tmp_path / "empty.mbox").write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        list(iter_messages(tmp_path / "empty.mbox"))
    (tmp_path / "prose.txt").write_text("Dear diary,\ntoday nothing happened.\n")
    with pytest.raises(InputError, match="not an mbox"):
        list(iter_messages(tmp_path / "prose.txt"))


def test_parallel_equals_serial() -> None:
    serial = list(iter_records(FIXTURES / "threads.mbox"))
    parallel = list(iter_records(FIXTURES, workers=2))
    assert {r.message_id for r in serial} <= {r.message_id for r in parallel}


def test_r_devel_archive() -> None:
    """30,160 "From " lines, of which 7 are unescaped body lines ("From the help page...")
    that Python's mailbox module wrongly splits on: 30,153 real messages, none lost."""
    path = shared_path("data", "mail", "r-devel-2005-2012.mbox")
    stats = ReadStats()
    unique = sum(1 for _ in dedupe(iter_records(path, stats, workers=2), stats))
    assert stats.read == 30153
    assert stats.total_skipped == 0
    assert stats.notes["from_line_in_body"] == 7
    assert stats.read + stats.notes["from_line_in_body"] == 30160
    assert stats.bytes_read == path.stat().st_size
    assert unique == stats.read - stats.duplicates


def test_malformed_corpus_reads_without_crash() -> None:
    root = shared_path("data", "mail", "malformed")
    stats = ReadStats()
    records = list(iter_records(root, stats))
    assert stats.read == len(records) >= 50
    assert stats.skipped == {"file_not_mail": 1}  # LICENSE.txt
    assert stats.fallbacks  # the corpus is full of repairs: they are counted
    assert all(isinstance(r.body, str) and r.message_id for r in records)


def test_notmuch_corpus_reads_without_crash() -> None:
    root = shared_path("data", "mail", "notmuch")
    stats = ReadStats()
    records = list(dedupe(iter_records(root, stats, workers=2), stats))
    assert stats.read == 290 and stats.skipped == {"file_not_mail": 1}  # LICENSE.txt
    assert len(records) == stats.read - stats.duplicates
    assert stats.duplicates >= 8  # duplicate/ holds copies of three messages
