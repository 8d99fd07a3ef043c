"""The index's bulk loading: many parsed batches per transaction, load settings put back,
progress kept when an add stops half-way, and the benchmark's all-unique copies."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
from pathlib import Path

import pytest

import ghost.narrow.index as index_module
from ghost.ingest.mail.reader import mbox_tasks
from ghost.narrow.index import MailIndex
from ghost.narrow.results import AddReport
from ghost.narrow.rows import run_row_task

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_mail.py"


def _settings(conn: sqlite3.Connection) -> tuple[int, int, int, int]:
    """Page cache, WAL checkpoint interval, FTS5 buffer and automerge (FTS5's defaults,
    1 MiB and 4, when never set)."""
    config = dict(conn.execute("SELECT k, v FROM mail_fts_config"))
    return (conn.execute("PRAGMA cache_size").fetchone()[0],
            conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
            int(config.get("hashsize", 1 << 20)), int(config.get("automerge", 4)))


def _threads(ix: MailIndex) -> set[frozenset[str]]:
    """The thread partition of the index (thread ids themselves may differ)."""
    groups: dict[int, set[str]] = {}
    for m in ix.iter_messages(include_bulk=True):
        groups.setdefault(m.thread_id, set()).add(m.message_id)
    return {frozenset(g) for g in groups.values()}


def _big_mbox(tmp_path: Path, copies: int) -> Path:
    """threads.mbox and pipermail.mbox, `copies` times: duplicates across the copies."""
    data = (FIXTURES / "threads.mbox").read_bytes() + b"\n" + (
        FIXTURES / "pipermail.mbox").read_bytes() + b"\n"
    box = tmp_path / "big.mbox"
    box.write_bytes(data * copies)
    return box


def test_load_settings_are_put_back(tmp_path: Path) -> None:
    with MailIndex(tmp_path / "cache") as ix:
        before = _settings(ix.conn)
        assert ix.add(FIXTURES / "threads.mbox", workers=1).added > 0
        assert _settings(ix.conn) == before == (-32000, 1000, 1 << 20, 4)


def test_batches_in_one_transaction_equal_batches_one_by_one(tmp_path: Path) -> None:
    box = _big_mbox(tmp_path, 3)
    tasks = mbox_tasks(box, 0, segment_bytes=700)  # many small tasks
    assert len(tasks) > 5
    batches = [run_row_task(t) for t in tasks]
    one_by_one, grouped = MailIndex(tmp_path / "a"), MailIndex(tmp_path / "b")
    report_a, report_b = AddReport(), AddReport()
    for batch in batches:
        one_by_one._store(batch, report_a)
    grouped._store_batches(batches, report_b)
    assert report_a.added == report_b.added > 0
    assert report_a.stats.duplicates == report_b.stats.duplicates > 0  # copies 2 and 3
    assert _threads(one_by_one) == _threads(grouped)
    for ix in (one_by_one, grouped):  # where the next add starts, and how many came from it
        assert ix.stats()["sources"] == [{"path": str(box), "offset": box.stat().st_size,
                                          "messages": report_a.added}]
    for m in one_by_one.iter_messages(include_bulk=True):
        other = grouped.get(m.message_id)
        assert other is not None and (other.body, other.offset) == (m.body, m.offset)
    assert ({h.message_id for h in one_by_one.search("solaris", limit=50)}
            == {h.message_id for h in grouped.search("solaris", limit=50)} != set())


def test_an_add_stopped_half_way_keeps_what_it_committed(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    box = _big_mbox(tmp_path, 40)
    monkeypatch.setattr(index_module, "_TRANSACTION_ROWS", 1)  # commit after every task
    monkeypatch.setattr(index_module, "mbox_tasks",
                        lambda path, start, end: mbox_tasks(path, start, end, segment_bytes=8000))
    calls: list[int] = []

    def stop_after_two(report: AddReport) -> None:
        calls.append(report.stats.read)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with MailIndex(tmp_path / "cache") as ix:
        settings = _settings(ix.conn)
        with pytest.raises(KeyboardInterrupt):
            ix.add(box, workers=1, progress=stop_after_two)
        assert _settings(ix.conn) == settings
        offset = ix.stats()["sources"][0]["offset"]
        assert 0 < offset < box.stat().st_size
        rest = ix.add(box, workers=1)
        assert rest.resumed == {str(box.resolve()): offset}
        ix.conn.execute("INSERT INTO mail_fts(mail_fts) VALUES('integrity-check')")
        assert rest.stats.read + calls[-1] == len(list(_raw_messages(box)))
    with MailIndex(tmp_path / "whole") as whole:
        whole.add(box, workers=1)
        with MailIndex(tmp_path / "cache") as ix:
            assert ix.stats()["messages"] == whole.stats()["messages"]
            assert _threads(ix) == _threads(whole)


def _raw_messages(box: Path) -> list[bytes]:
    from ghost.ingest.mail.mbox import iter_mbox

    return [data for _, data in iter_mbox(box)]


def _bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_mail", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_copies_are_all_unique_and_keep_their_threads(tmp_path: Path) -> None:
    bench = _bench()
    folded = b"Message-ID: <a@b>\nReferences: <x@y>\n\t<z@w>\nIn-Reply-To: z@w\n\nsee <a@b>\n"
    assert bench.unique_copy(folded, 3) == (  # type: ignore[attr-defined]
        b"Message-ID: <a@b.c3>\nReferences: <x@y.c3>\n\t<z@w.c3>\nIn-Reply-To: z@w.c3\n\n"
        b"see <a@b>\n")
    source = tmp_path / "source.mbox"
    shutil.copy(FIXTURES / "threads.mbox", source)
    with MailIndex(tmp_path / "one") as one:
        first = one.add(source, workers=1)
        single, single_threads = first.added, one.stats()["threads"]
        assert first.stats.duplicates == 1  # threads.mbox holds one message twice
    box = bench.build(source, 3, tmp_path)  # type: ignore[attr-defined]
    with MailIndex(tmp_path / "three") as three:
        report = three.add(box, workers=1)
        assert report.added == 3 * single and report.stats.duplicates == 3
        assert three.stats()["threads"] == 3 * single_threads
