"""Deduplication and threading (References, In-Reply-To only, loops, missing parents)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ghost.ingest.mail import MailRecord, ReadStats, build_threads, dedupe, iter_records

FIXTURES = Path(__file__).parent / "fixtures" / "mail"


def rec(mid: str, refs: list[str] | None = None, irt: str | None = None, day: int = 1,
        sender: str = "a@x.example") -> MailRecord:
    return MailRecord(message_id=mid, subject=f"s-{mid}", sender=sender, sender_name="", to=[],
                      cc=[], date=datetime(2025, 1, day, tzinfo=UTC), in_reply_to=irt,
                      references=refs or [], body="", attachments=[], is_bulk=False,
                      source="t", offset=None, size=0)


def test_fixture_threads_and_duplicate() -> None:
    stats = ReadStats()
    records = list(dedupe(iter_records(FIXTURES / "threads.mbox", stats), stats))
    assert stats.read == 6 and stats.duplicates == 1
    assert len(records) == 5
    threads = build_threads(records)
    assert len(threads) == 2
    by_root = {t.thread_id: t for t in threads}
    move = by_root["move-1@quill.example"]
    assert move.message_ids == ["move-1@quill.example", "move-2@rowan.example",
                                "move-3@quill.example"]
    assert move.subject == "Office move"
    assert move.parents["move-3@quill.example"] == "move-2@rowan.example"
    assert set(move.participants) == {"avery@quill.example", "blake@rowan.example",
                                      "dana@ops.example"}
    park = by_root["park-1@ops.example"]  # linked by In-Reply-To only
    assert park.message_ids == ["park-1@ops.example", "park-2@quill.example"]
    assert threads[0] is park  # newest activity first


def test_missing_parent_still_groups_siblings() -> None:
    threads = build_threads([rec("b", refs=["ghost"], day=2), rec("c", refs=["ghost"], day=3)])
    assert len(threads) == 1
    assert threads[0].message_ids == ["b", "c"]
    assert threads[0].thread_id == "b"


def test_reply_loop_does_not_hang() -> None:
    threads = build_threads([rec("x", irt="y", day=1), rec("y", irt="x", day=2)])
    assert len(threads) == 1
    parents = threads[0].parents
    assert None in parents.values()


def test_unrelated_messages_are_separate_threads() -> None:
    assert len(build_threads([rec("1"), rec("2"), rec("3")])) == 3


def test_gmail_thread_id_joins_messages_without_references() -> None:
    a, b = rec("g1", day=1), rec("g2", day=2)
    a.gmail_thread_id = b.gmail_thread_id = "1790000000000000001"
    threads = build_threads([a, b, rec("other", day=3)])
    assert sorted(len(t.message_ids) for t in threads) == [1, 2]
