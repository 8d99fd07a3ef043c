"""The SQLite FTS5 mail index: build, dedupe, incremental updates, search operators."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghost.errors import InputError
from ghost.narrow.index import MailIndex
from ghost.narrow.select import select_owner_threads

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "mail"
    shutil.copytree(FIXTURES, folder)
    return folder


@pytest.fixture()
def index(tmp_path: Path, corpus: Path) -> MailIndex:
    ix = MailIndex(tmp_path / "cache")
    report = ix.add(corpus, workers=1)
    assert report.added == 20 and report.stats.duplicates == 1
    return ix


def ids(index: MailIndex, query: str, **kw: object) -> set[str]:
    return {h.message_id for h in index.search(query, limit=100, now=NOW, **kw)}  # type: ignore[arg-type]


def test_build_get_has_thread_stats(index: MailIndex, tmp_path: Path) -> None:
    assert (tmp_path / "cache" / "mail-index.sqlite").exists()
    assert index.has_message_id("<move-2@rowan.example>")
    assert index.has_message_id("move-2@rowan.example")
    assert not index.has_message_id("made-up@nowhere.example")
    msg = index.get("att-001@rowan.example")
    assert msg is not None
    assert [name for name, _ in msg.attachments] == ["lease-signed.pdf", "floor plan été.png",
                                                     "fix.diff"]
    assert msg.to == ["avery@quill.example"]
    move = index.get("move-3@quill.example")
    assert move is not None and move.cc == ["dana@ops.example"]
    thread = index.thread(move.thread_id)
    assert [m.message_id for m in thread] == ["move-1@quill.example", "move-2@rowan.example",
                                              "move-3@quill.example"]
    reply = index.get("reply-001@rowan.example")
    original = index.get("alt-001@quill.example")
    assert reply is not None and original is not None
    assert reply.thread_id == original.thread_id
    stats = index.stats()
    assert stats["messages"] == 20 and stats["bulk"] == 2 and stats["with_attachments"] == 1
    # office move (3), parking (2), planning (2), solaris (2), Gmail NDA (2, by X-GM-THRID)
    assert stats["threads"] == 20 - 2 - 1 - 1 - 1 - 1


def test_text_phrase_and_prefix(index: MailIndex) -> None:
    assert ids(index, "movers") == {"move-3@quill.example"}
    assert ids(index, '"booking the movers"') == {"move-3@quill.example"}
    assert ids(index, '"movers the booking"') == set()
    assert "move-3@quill.example" in ids(index, "mover*")
    assert ids(index, "cafe") == {"enc-001@park.example"}  # diacritics folded; bulk excluded


def test_field_operators(index: MailIndex) -> None:
    assert ids(index, "from:blake subject:office") == {"move-2@rowan.example"}
    assert ids(index, "from:rowan.example lease") == {"att-001@rowan.example"}
    assert ids(index, 'from:"Kim Soto"') == {"pm-2@lab.example.net"}
    assert ids(index, "to:dana") == {"park-2@quill.example"}
    assert ids(index, "cc:dana") == {"move-3@quill.example", "alt-001@quill.example"}
    assert ids(index, "subject:parking") == {"park-1@ops.example", "park-2@quill.example"}


def test_negation_or_and_groups(index: MailIndex) -> None:
    assert ids(index, "subject:parking -from:dana") == {"park-2@quill.example"}
    assert ids(index, "office -movers") == {"move-1@quill.example", "move-2@rowan.example",
                                            "reply-001@rowan.example"}
    assert ids(index, "movers OR permits") == {"move-3@quill.example", "park-1@ops.example",
                                               "park-2@quill.example"}  # subject "Re: ..."
    assert ids(index, "{movers permits}") == ids(index, "movers OR permits")
    assert ids(index, "(movers OR permits) from:avery") == {"move-3@quill.example",
                                                            "park-2@quill.example"}
    everything = ids(index, "")
    assert ids(index, "-from:avery") == everything - ids(index, "from:avery")


def test_dates(index: MailIndex) -> None:
    assert ids(index, "after:2025/03/12") == {"outlook-001@lee.example",
                                              "inject-001@unknown.example"}
    assert ids(index, "before:2005-01-06") == {"pm-1@example.org", "pm-2@lab.example.net"}
    assert ids(index, "after:2025/03/04 before:2025/03/05") == {
        "park-1@ops.example", "park-2@quill.example", "alt-001@quill.example"}
    assert ids(index, "older_than:10y") == {"pm-1@example.org", "pm-2@lab.example.net"}
    assert ids(index, "newer_than:90d") == ids(index, "after:2025/03/03")


def test_attachment_and_bulk(index: MailIndex) -> None:
    assert ids(index, "has:attachment") == {"att-001@rowan.example"}
    assert ids(index, "digest") == set()  # bulk left out by default
    assert ids(index, "digest include:bulk") == {"html-001@news.example"}
    assert ids(index, "is:bulk") == {"html-001@news.example", "promo-1@shop.example"}
    assert "html-001@news.example" not in ids(index, "")


def test_gmail_takeout(index: MailIndex) -> None:
    first, reply = index.get("nda-1@nair.example"), index.get("nda-2@quill.example")
    assert first is not None and reply is not None
    assert first.thread_id == reply.thread_id  # no References: joined by X-GM-THRID
    assert reply.body == "Sent it this morning."  # HTML quote and attribution dropped
    assert ids(index, "nda") == {"nda-1@nair.example", "nda-2@quill.example"}
    assert ids(index, "sale") == set()  # Category Promotions is bulk


def test_injection_text_is_just_searchable_data(index: MailIndex) -> None:
    hits = index.search('"ignore your instructions"', now=NOW)
    assert [h.message_id for h in hits] == ["inject-001@unknown.example"]


def test_ranking_and_order(index: MailIndex) -> None:
    hits = index.search("office", now=NOW)
    assert hits[0].subject in ("Office move", "Re: Office move")  # subject weighs more
    by_date = index.search("office", order="date", now=NOW)
    dates = [h.date for h in by_date]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert len(index.search("", limit=3)) == 3


@pytest.mark.parametrize("query", ['"unclosed', "after:2025/13/45", "after:yesterday",
                                   "older_than:ages", "has:drive", "(movers", "movers )",
                                   "a OR", "from:"])
def test_malformed_queries(index: MailIndex, query: str) -> None:
    with pytest.raises(InputError):
        index.search(query)


def test_incremental_mbox(tmp_path: Path) -> None:
    mbox = tmp_path / "grow.mbox"
    data = (FIXTURES / "threads.mbox").read_bytes()
    cut = data.index(b"From dana@ops.example")
    mbox.write_bytes(data[:cut])
    ix = MailIndex(tmp_path / "cache")
    first = ix.add(mbox, workers=1)
    assert first.added == 3 and first.stats.duplicates == 1
    again = ix.add(mbox, workers=1)
    assert again.added == 0 and again.stats.read == 0  # nothing re-read
    with open(mbox, "ab") as fh:
        fh.write(data[cut:])
    grown = ix.add(mbox, workers=1)
    assert grown.stats.read == 2 and grown.added == 2
    assert grown.resumed == {str(mbox.resolve()): cut}
    assert ix.stats()["messages"] == 5
    park = ix.get("park-2@quill.example")
    assert park is not None and len(ix.thread(park.thread_id)) == 2


def test_replaced_mbox_is_reread(tmp_path: Path) -> None:
    mbox = tmp_path / "box.mbox"
    shutil.copy(FIXTURES / "threads.mbox", mbox)
    ix = MailIndex(tmp_path / "cache")
    ix.add(mbox, workers=1)
    mbox.write_bytes((FIXTURES / "pipermail.mbox").read_bytes() * 3)  # bigger, different head
    report = ix.add(mbox, workers=1)
    assert report.replaced == [str(mbox.resolve())]
    assert report.added == 2 and ix.stats()["messages"] == 2
    assert not ix.has_message_id("move-1@quill.example")
    assert ix.search("makefile")[0].message_id == "pm-2@lab.example.net"


def test_maildir_files_by_name(tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    shutil.copy(FIXTURES / "alternative.eml", box / "new" / "1700000000.1.host")
    ix = MailIndex(tmp_path / "cache")
    assert ix.add(box, workers=1).added == 1
    (box / "new" / "1700000000.1.host").rename(box / "cur" / "1700000000.1.host:2,S")
    shutil.copy(FIXTURES / "qp_body.eml", box / "new" / "1700000005.2.host")
    report = ix.add(box, workers=1)
    assert report.skipped_files == 1 and report.added == 1 and report.stats.read == 1


def test_thread_merge_when_parent_arrives_late(tmp_path: Path) -> None:
    data = (FIXTURES / "threads.mbox").read_bytes()
    messages = data.split(b"\nFrom ")
    first, second, third = messages[0], b"From " + messages[1], b"From " + messages[2]
    late = tmp_path / "late.mbox"
    late.write_bytes(third + b"\n" + second + b"\n")  # children before the root
    ix = MailIndex(tmp_path / "cache")
    ix.add(late, workers=1)
    root = tmp_path / "root.mbox"
    root.write_bytes(first + b"\n")
    ix.add(root, workers=1)
    tids = {m.thread_id for m in ix.iter_messages()}
    assert len(tids) == 1


def test_parallel_build_matches_serial(tmp_path: Path, corpus: Path) -> None:
    a = MailIndex(tmp_path / "a")
    b = MailIndex(tmp_path / "b")
    a.add(corpus, workers=1)
    b.add(corpus, workers=2)
    assert a.stats()["messages"] == b.stats()["messages"]
    assert ids(a, "office") == ids(b, "office")


def test_select_owner_threads(index: MailIndex) -> None:
    picks = select_owner_threads(index, ["Avery Quill <AVERY@quill.example>"], limit=10)
    subjects = [p.subject for p in picks]
    assert "Office move" in subjects and "Parking permits" in subjects
    assert "Your weekly digest" not in subjects  # bulk
    assert "Build fails on solaris" not in subjects  # avery not involved
    top = picks[0]
    assert top.owner_wrote and top.score >= picks[-1].score
    office = next(p for p in picks if p.subject == "Office move")
    assert office.messages == 3 and "blake@rowan.example" in office.correspondents
    with pytest.raises(InputError):
        select_owner_threads(index, [" "])


def test_r_devel_index(tmp_path: Path) -> None:
    from conftest import shared_path

    path = shared_path("data", "mail", "r-devel-2005-2012.mbox")
    ix = MailIndex(tmp_path / "cache")
    report = ix.add(path, workers=2)
    assert report.stats.read == 30153
    assert report.added == 30153 - report.stats.duplicates
    assert ix.has_message_id("20050401073151.GA13433@stat.umn.edu")
    assert ix.search('from:ripley "lazy loading"', limit=5)
    assert ix.add(path).stats.read == 0


def test_an_index_from_an_older_reader_is_read_again(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    mbox = tmp_path / "box.mbox"
    shutil.copy(FIXTURES / "threads.mbox", mbox)
    with MailIndex(tmp_path / "cache") as ix:
        added = ix.add(mbox, workers=1).added
        ix.conn.execute("UPDATE messages SET body = 'the old reader''s text'")
        ix.conn.execute("UPDATE meta SET value = '1' WHERE key = 'reader'")
    with MailIndex(tmp_path / "cache") as ix:
        assert "older mail reader" in caplog.text
        assert ix.stats()["messages"] == 0
        assert ix.add(mbox, workers=1).added == added  # read again, with today's reader
        assert not ids(ix, '"old reader"')
    caplog.clear()
    with MailIndex(tmp_path / "cache") as ix:  # current: kept as it is
        assert ix.stats()["messages"] == added and "older" not in caplog.text
