"""ghost profile --dry-run on mailboxes too large to index for a plan: the stored index is read
as it is, the mail it does not cover is read in full when small and sampled when large, the
figures from a sample are scaled and marked as estimates, and nothing is written."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import run_cli

from ghost.narrow import sample

OWNER = "Dana Reyes <dana@acme.example>"
PEOPLE = [f"Person {i} <p{i}@corp{i % 7}.example>" for i in range(40)]
MODELS = ("--map-model", "fake:cheap", "--reduce-model", "fake:strong")


def synthetic_mbox(path: Path, count: int, *, first: int = 0, seed: int = 1) -> int:
    """`count` messages (1-9 KB, a third replies, the owner in most) appended to `path`;
    the bytes written."""
    rng = random.Random(seed + first)
    chunks = []
    for n in range(first, first + count):
        sender = OWNER if rng.random() < 0.3 else rng.choice(PEOPLE)
        day, hour = 1 + n % 28, n % 24
        date = f"Mon, {day:02d} Feb 2025 {hour:02d}:00:00 +0000"
        headers = [f"From x@y.example {date}", f"Message-ID: <m{n}@acme.example>",
                   f"From: {sender}", f"To: {OWNER if sender != OWNER else rng.choice(PEOPLE)}",
                   f"Subject: Topic {n // 3}", f"Date: {date}"]
        if n % 3 and n > 0:
            headers += [f"In-Reply-To: <m{n - 1}@acme.example>",
                        f"References: <m{n - 1}@acme.example>"]
        words = " ".join(rng.choice(("budget", "offsite", "travel", "board", "plan", "call"))
                         for _ in range(rng.randint(150, 1400)))
        chunks.append("\n".join(headers) + f"\n\nNote {n}: {words}\n\n")
    data = "".join(chunks).encode()
    with open(path, "ab") as fh:
        fh.write(data)
    return len(data)


def dry(box: Path, cache: Path, *args: str) -> dict:
    result = run_cli("profile", "--mbox", box, "--owner", OWNER, "--cache-dir", cache,
                     *MODELS, "--dry-run", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def index_files(cache: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()} if cache.exists() else {}


def stages(report: dict) -> dict[str, dict]:
    return {s["stage"]: s for s in report["plan"]["stages"]}


def test_a_large_mbox_without_an_index_is_sampled_not_indexed(tmp_path: Path) -> None:
    box, cache = tmp_path / "big.mbox", tmp_path / "cache"
    size = synthetic_mbox(box, 6_000)
    assert size > 1.5 * sample.SAMPLE_BYTES  # more than a sample's worth, at the real bounds
    report = dry(box, cache)
    mail = report["mail"]
    assert mail["estimated"] is True and mail["stored_messages"] == 0
    assert mail["new_mbox_bytes"] == size
    assert mail["sampled_mbox_bytes"] <= sample.SAMPLE_BYTES
    # The temporary index holds the sample only: the message bound, give or take one window.
    assert mail["added"] == mail["sampled_messages"] <= sample.SAMPLE_MESSAGES + 60
    assert mail["sampled_messages"] < 6_000 * 0.5
    assert 6_000 / 1.3 < mail["messages"] < 6_000 * 1.3  # the estimate, scaled by bytes
    assert mail["sampled_share"] == pytest.approx(mail["sampled_messages"] / mail["new_messages"],
                                                  abs=1e-3)
    notes = " ".join(report["plan"]["notes"])
    assert "estimated from a sample" in notes and f"ghost mail index {box}" in notes
    plan = stages(report)
    assert "estimated from a sample" in plan["triage"]["note"]
    assert 50 <= plan["triage"]["calls"] <= 80  # about --max-threads (60) threads
    assert "(estimate)" in report["plan"]["source"]["selected threads"]
    assert index_files(cache) == {}  # nothing written to the cache
    text = run_cli("profile", "--mbox", box, "--owner", OWNER, "--cache-dir", cache, *MODELS,
                   "--dry-run")
    assert text.exit_code == 0 and "estimated from a sample" in text.stdout
    assert "messages (0 indexed," in text.stderr


@pytest.fixture
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sample bounds for a mailbox of a few hundred messages (the real ones: thousands)."""
    monkeypatch.setattr(sample, "SAMPLE_BYTES", 96 * 1024)
    monkeypatch.setattr(sample, "SAMPLE_MESSAGES", 60)


@pytest.mark.parametrize("grown", [0, 12], ids=["up to date", "a little new mail"])
def test_a_stored_index_is_read_as_it_is_and_plans_exactly(tmp_path: Path, grown: int) -> None:
    box, cache = tmp_path / "inbox.mbox", tmp_path / "cache"
    synthetic_mbox(box, 300)
    assert run_cli("mail", "index", box, "--cache-dir", cache).exit_code == 0
    before = index_files(cache)
    if grown:  # replies to the stored threads among them
        synthetic_mbox(box, grown, first=300)
    args = ("--query", "budget offsite") if grown else ()
    report = dry(box, cache, *args)
    mail = report["mail"]
    assert mail["estimated"] is False and mail["added"] == grown
    assert mail["stored_messages"] == 300 and mail["messages"] == 300 + grown
    notes = " ".join(report["plan"]["notes"])
    assert ("covers the whole mailbox" in notes) is not bool(grown)
    assert "sample" not in json.dumps(report["plan"])  # no estimate
    assert {p: b for p, b in index_files(cache).items() if p in before} == before
    # Exact: the plan of the run itself.
    real = run_cli("profile", "--mbox", box, "--owner", OWNER, "--cache-dir", cache, *MODELS,
                   *args, "--json")
    assert real.exit_code == 0, real.output
    ran = stages(json.loads(real.stdout))
    for stage, planned in stages(report).items():
        assert (planned["calls"], planned["input_tokens"]) == (
            ran[stage]["calls"], ran[stage]["input_tokens"]), stage


@pytest.mark.parametrize("copied", [True, False], ids=["index copied", "index read in place"])
def test_a_grown_mbox_samples_only_its_new_part(tmp_path: Path, small_sample: None,
                                                monkeypatch: pytest.MonkeyPatch,
                                                copied: bool) -> None:
    if not copied:  # as for an index too large to copy: read beside the sample
        monkeypatch.setattr(sample, "SEED_BYTES", 0)
    box, cache = tmp_path / "inbox.mbox", tmp_path / "cache"
    synthetic_mbox(box, 150)
    assert run_cli("mail", "index", box, "--cache-dir", cache).exit_code == 0
    before = index_files(cache)
    grown = synthetic_mbox(box, 450, first=150)
    report = dry(box, cache)
    mail = report["mail"]
    assert mail["estimated"] is True and mail["stored_messages"] == 150
    assert mail["new_mbox_bytes"] == grown  # the new part only
    assert mail["sampled_mbox_bytes"] <= 96 * 1024 and mail["added"] <= 60 + 30
    assert 450 / 1.5 < mail["new_messages"] < 450 * 1.5
    assert 150 + 450 / 1.5 < mail["messages"] < 150 + 450 * 1.5
    notes = " ".join(report["plan"]["notes"])
    assert "read as it is" in notes and "estimated from a sample" in notes
    assert ("too large to copy" in notes) is not copied
    assert {p: b for p, b in index_files(cache).items() if p in before} == before
    info = json.loads(run_cli("cache", "info", "--cache-dir", cache, "--json").stdout)["mail"]
    assert info["mailboxes"][0]["messages"] == 150  # the stored index did not grow


def test_a_little_new_mail_beside_a_large_index_is_read_in_full(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sample, "SEED_BYTES", 0)
    box, cache = tmp_path / "inbox.mbox", tmp_path / "cache"
    synthetic_mbox(box, 120)
    assert run_cli("mail", "index", box, "--cache-dir", cache).exit_code == 0
    synthetic_mbox(box, 5, first=120)
    report = dry(box, cache, "--auto-queries")
    mail = report["mail"]
    assert mail["estimated"] is False
    assert (mail["stored_messages"], mail["added"], mail["messages"]) == (120, 5, 125)
    plan = stages(report)
    assert plan["queries"]["calls"] == 1 and "new mail only" in plan["queries"]["note"]
    assert plan["triage"]["calls"] >= 40  # the 40 largest threads (of 3 messages), some split
    assert "too large to copy" in " ".join(report["plan"]["notes"])


def test_a_folder_of_many_messages_samples_a_spread_of_files(tmp_path: Path,
                                                             small_sample: None) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    one = tmp_path / "one.mbox"
    for n in range(400):
        one.write_bytes(b"")
        synthetic_mbox(one, 1, first=n)
        text = one.read_text().split("\n", 1)[1]  # a message file: no envelope line
        (folder / f"{n:04d}.eml").write_text(text)
    report = dry(folder, tmp_path / "cache")
    mail = report["mail"]
    assert mail["estimated"] is True and mail["new_files"] == 400
    assert mail["sampled_files"] == mail["added"] <= 60
    assert mail["messages"] == 400  # a file is a message: scaled by count
    assert index_files(tmp_path / "cache") == {}


def test_sample_windows_are_spread_and_inside_the_unindexed_ranges(tmp_path: Path) -> None:
    assert sample.spread(8) == [0, 4, 2, 6, 1, 5, 3, 7]
    assert sorted(sample.spread(5)) == [0, 1, 2, 3, 4]
    a, b = tmp_path / "a.mbox", tmp_path / "b.mbox"
    ranges = [(a, 1_000, 101_000), (b, 0, 300_000)]
    windows = sample.mbox_windows(ranges, 8_000, windows=8)
    assert len(windows) == 8 and sum(w.end - w.start for w in windows) == 8_000
    for w in windows:
        start, end = next((s, e) for p, s, e in ranges if str(p) == w.path)
        assert start <= w.start < w.end <= end
    spans = sorted((w.path, w.start) for w in windows)
    assert len(set(spans)) == 8  # no two alike
    assert [w.path for w in windows].count(str(b)) == 6  # by size: 3/4 of the bytes


def test_a_sample_is_indexed_into_its_own_mailbox_only(tmp_path: Path) -> None:
    from ghost.errors import InputError
    from ghost.ingest.mail.reader import MboxTask
    from ghost.narrow.index import MailIndex

    box, other = tmp_path / "inbox.mbox", tmp_path / "other.mbox"
    size = synthetic_mbox(box, 30)
    synthetic_mbox(other, 3)
    with MailIndex(None, mailbox=box) as index:
        half = index.add_tasks([MboxTask(str(box), size // 2, size)])
        assert 10 <= half.added <= 20 and index.stats()["messages"] == half.added
        with pytest.raises(InputError, match="holds"):
            index.add_tasks([MboxTask(str(other), 0, 100)])
