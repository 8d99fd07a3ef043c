"""A cache that cannot be used never stops a run: corrupt (moved aside, a fresh one), read-only
(hits still served, new answers not kept), full (the answer is used, not kept). One warning
each, never a traceback; driven through the CLI, the real SDKs and the stand-in."""

from __future__ import annotations

import errno
import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import diskcache
import diskcache.core
import pytest
from conftest import run_cli

from ghost.cache import ResponseCache
from standin import StandIn
from test_summarize_e2e import planted_text
from unprivileged import ghost_cli, read_only, writable


def summarize(source: Path, cache: Path, out: Path):
    return run_cli("summarize", source, "--cache-dir", cache, "--chunk-tokens", "600",
                   "-o", out)


def warnings(stderr: str, word: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ghost:") and word in line]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "minutes.txt"
    path.write_text(planted_text())
    return path


class ReadOnlySqlite:
    """The sqlite3 module as diskcache sees it, every database opened read-only (SQLite's own
    mode=ro: tests run as root, where chmod does not stop writes)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    def connect(self, database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)


def test_a_corrupt_cache_is_moved_aside_and_the_run_goes_on(standin: StandIn, source: Path,
                                                            tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert summarize(source, cache, tmp_path / "a.md").exit_code == 0
    calls = standin.calls(status=None)
    (cache / "responses" / "cache.db").write_bytes(b"this is not sqlite " * 500)
    result = summarize(source, cache, tmp_path / "b.md")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert len(warnings(result.stderr, "corrupt")) == 1
    aside = [p.name for p in cache.iterdir() if p.name.startswith("responses.corrupt-")]
    assert len(aside) == 1
    assert standin.calls(status=None) > calls  # paid again: the answers were in the bad file
    # the fresh cache works: a third run is free
    calls = standin.calls(status=None)
    again = summarize(source, cache, tmp_path / "c.md")
    assert again.exit_code == 0 and standin.calls(status=None) == calls
    assert not warnings(again.stderr, "corrupt")


def tree_digest(tree: Path) -> dict[str, str]:
    return {p.relative_to(tree).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tree.rglob("*")) if p.is_file()}


def test_a_read_only_cache_serves_its_answers_and_warns_once(
        standin: StandIn, source: Path, tmp_path: Path) -> None:
    """For real: the cache folder belongs to another user with no write bit anywhere, and
    ghost runs as a process the permissions apply to (as root: without CAP_DAC_OVERRIDE)."""
    cache = tmp_path / "cache"

    def run(cache: Path, out: str, *args: str) -> subprocess.CompletedProcess[str]:
        return ghost_cli(["summarize", source, "--cache-dir", cache, "--chunk-tokens", "600",
                          "-o", tmp_path / out, *args])

    assert run(cache, "a.md").returncode == 0  # a process of its own: no connection left open
    calls = standin.calls(status=None)
    kept = ResponseCache(cache)
    answers = len(kept)
    kept.close()
    before = tree_digest(cache)
    read_only(cache)
    try:
        result = run(cache, "b.md")
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert standin.calls(status=None) == calls  # every answer came from the read-only cache
        assert (tmp_path / "b.md").read_text().split("---")[-1] == \
            (tmp_path / "a.md").read_text().split("---")[-1]
        assert len(warnings(result.stderr, "read-only")) == 1
        # New answers are paid for and used (none is lost: the output has them), not kept;
        # still one warning.
        source.write_text(planted_text(44))
        changed = run(cache, "c.md", "--json")
        assert changed.returncode == 0, changed.stderr
        assert "Traceback" not in changed.stderr
        paid = standin.calls(status=200) - calls
        ledger = json.loads(changed.stdout)["ledger"]["stages"]
        assert paid > 0 and sum(s["calls"] for s in ledger.values()) == paid
        assert "FACT-P43" in (tmp_path / "c.md").read_text()
        assert len(warnings(changed.stderr, "read-only")) == 1
    finally:
        writable(cache)
    # what a run with a cache that works writes
    assert run(tmp_path / "fresh", "d.md").returncode == 0
    assert (tmp_path / "c.md").read_text().split("---")[-1] == \
        (tmp_path / "d.md").read_text().split("---")[-1]
    assert tree_digest(cache) == before  # nothing in it was written, not even a manifest
    kept = ResponseCache(cache)
    assert len(kept) == answers
    kept.close()


def test_a_write_refused_as_read_only_stops_writing_and_warns_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    cache = ResponseCache(tmp_path)
    cache.set("a", {"text": "A"})
    tries: list[str] = []

    def refuse(self: Any, key: str, value: Any, *args: Any, **kwargs: Any) -> bool:
        tries.append(key)
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(diskcache.Cache, "set", refuse)
    assert cache.set("b", {"text": "B"}) is False
    assert cache.set("c", {"text": "C"}) is False
    assert cache.get("a") == {"text": "A"} and cache.get("b") is None
    assert tries == ["b"]  # it stops trying
    assert len([r for r in caplog.records if "read-only" in r.getMessage()]) == 1
    cache.close()


@pytest.mark.parametrize("fault", [OSError(errno.ENOSPC, "No space left on device"),
                                   sqlite3.OperationalError("database or disk is full")])
def test_a_full_disk_is_one_warning_and_the_answers_are_still_used(
        standin: StandIn, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fault: Exception) -> None:
    def full(*args: Any, **kwargs: Any) -> Any:
        raise fault

    monkeypatch.setattr(diskcache.Disk, "store", full)  # where ghost's disk writes a value
    result = summarize(source, tmp_path / "cache", tmp_path / "a.md")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "FACT-P20" in (tmp_path / "a.md").read_text()
    assert len(warnings(result.stderr, "full")) == 1
    monkeypatch.undo()
    cache = ResponseCache(tmp_path / "cache")
    assert len(cache) == 0
    cache.close()


def test_a_cache_folder_sqlite_cannot_open_for_writing_still_serves_hits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A WAL database in a folder we may not write fails to open ("unable to open database
    file": no -shm can be made); its rows are still read."""
    cache = ResponseCache(tmp_path)
    cache.set("a", {"text": "A" * 50_000})  # a value file too
    cache.set("b", {"text": "B"})
    cache.close()

    class CannotOpen(ReadOnlySqlite):
        def connect(self, database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
            raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(diskcache.core, "sqlite3", CannotOpen())
    again = ResponseCache(tmp_path)
    assert again.get("b") == {"text": "B"} and again.get("a") == {"text": "A" * 50_000}
    assert again.set("c", {"text": "C"}) is False and len(again) == 2
    assert len([r for r in caplog.records if "read-only" in r.getMessage()]) == 1
    assert not list(tmp_path.glob("responses.corrupt-*"))  # not mistaken for corrupt
    again.close()
