"""ghost run: idempotent, resumable, locked, budgeted, batched — counted at the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import REPO, TEST_KEY, kill_after_calls, run_cli

from ghost.cache import ResponseCache
from ghost.workspace.state import WorkspaceState, this_month
from standin import StandIn

SAMPLES = REPO / "corpora" / "my_essays"


def write_episode(path: Path, fact: str, blocks: int = 12) -> Path:
    parts = []
    for i in range(blocks):
        text = f"Segment {i} of {path.stem} covers the usual ground in some detail. " * 5
        if i == blocks // 2:
            text += f"Planted fact {fact} here."
        parts.append(f"00:{i:02d}:00 \n {text}\n")
    path.write_text("\n".join(parts))
    return path


def workspace(tmp_path: Path, *, make: str = '["essay", "summary"]', extra: str = "",
              chunk_tokens: int = 200, concurrency: int = 4) -> Path:
    (tmp_path / "episodes").mkdir()
    write_episode(tmp_path / "episodes" / "ep1.txt", "FACT-EP1")
    config = tmp_path / "ghost.toml"
    config.write_text(f'''
[episodes]
inbox = "episodes"
[samples]
folder = "{SAMPLES}"
[outputs]
folder = "out"
make = {make}
[run]
concurrency = {concurrency}
chunk_tokens = {chunk_tokens}
{extra}
''')
    return config


@contextmanager
def held_lock(state_dir: Path) -> Iterator[None]:
    """Another process holds the workspace lock while the block runs, then dies without
    cleaning up (as a crashed run would)."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; "
         "from ghost.workspace.lock import workspace_lock\n"
         "with workspace_lock(Path(sys.argv[1])):\n"
         "    print('locked', flush=True); time.sleep(30)", str(state_dir)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()


def ghost_run(config: Path, *args: str):
    return run_cli("run", "-c", config, *args)


def test_rerun_with_nothing_new_is_free_and_new_episode_runs_alone(standin: StandIn,
                                                                   tmp_path: Path) -> None:
    config = workspace(tmp_path)
    first = ghost_run(config, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["processed"] == {"ep1.txt": "done"}
    out = tmp_path / "out"
    assert "FACT-EP1" in (out / "ep1.essay.md").read_text()
    assert (out / "ep1.summary.md").exists() and (out / "ep1.essay.notes.md").exists()
    calls = standin.calls(status=None)

    second = ghost_run(config)
    assert second.exit_code == 0 and "nothing to do" in second.stderr
    assert standin.calls(status=None) == calls

    write_episode(tmp_path / "episodes" / "ep2.txt", "FACT-EP2")
    third = ghost_run(config, "--json")
    assert third.exit_code == 0, third.output
    report = json.loads(third.stdout)
    assert report["processed"] == {"ep2.txt": "done"} and report["skipped"] == ["ep1.txt"]
    new_bodies = json.dumps([r.body for r in standin.requests[calls:]])
    assert "FACT-EP2" in new_bodies and "FACT-EP1" not in new_bodies
    log = (tmp_path / ".ghost" / "ghost.log").read_text()
    assert "ep1.txt map" in log and "ep2.txt essay" in log and "ep2.txt done" in log


def test_changed_transcript_is_redone(standin: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]')
    assert ghost_run(config).exit_code == 0
    write_episode(tmp_path / "episodes" / "ep1.txt", "FACT-CHANGED")
    result = ghost_run(config, "--json")
    assert json.loads(result.stdout)["processed"] == {"ep1.txt": "done"}
    assert "FACT-CHANGED" in (tmp_path / "out" / "ep1.summary.md").read_text()


def test_a_second_concurrent_run_exits_75(standin: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]')
    state_dir = tmp_path / ".ghost"
    state_dir.mkdir()
    with held_lock(state_dir):
        result = ghost_run(config)
        assert result.exit_code == 75 and "holds" in result.stderr
        assert standin.calls(status=None) == 0
    # the holder died without cleaning up: its stale lock is taken over
    assert ghost_run(config).exit_code == 0


def test_kill_9_mid_map_then_rerun_pays_only_for_missing_calls(tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]', chunk_tokens=120, concurrency=2)
    with StandIn(latency=0.4) as server:
        kill_after_calls(server, ["run", "-c", str(config), "-q"])
        time.sleep(0.5)  # let the in-flight requests land at the stand-in
        cache = ResponseCache(tmp_path / "cache")
        cached = len(cache)
        cache.close()
        chunks = json.loads(run_cli("summarize", "--transcript",
                                    tmp_path / "episodes" / "ep1.txt", "--dry-run", "--json",
                                    "--chunk-tokens", "120").stdout)["plan"]["source"]["chunks"]
        assert 0 < cached < chunks, "the kill should land mid-map"
        assert not (tmp_path / "out" / "ep1.summary.md").exists()
        # What was paid before the kill is in the month's spend, although the rerun gets
        # those answers free from the cache.
        assert WorkspaceState.load(tmp_path / ".ghost").month_spend() > 0
        before = server.calls(path="/v1/messages")
        os.environ.update(server.env(TEST_KEY))
        try:
            result = ghost_run(config, "--json")
        finally:
            for name in server.env(TEST_KEY):
                os.environ.pop(name, None)
        assert result.exit_code == 0, result.output
        made = server.calls(path="/v1/messages") - before
        assert made == (chunks - cached) + 1  # the missing map calls, then one reduce
        assert (tmp_path / "out" / "ep1.summary.md").read_text().count("FACT-EP1") >= 1


def test_monthly_budget_stops_before_spending(standin: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, extra="[budget]\nper_month = 1.00\n")
    state = WorkspaceState.load(tmp_path / ".ghost")
    state.spend[this_month()] = 0.999
    state.save()
    result = ghost_run(config, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["processed"] == {"ep1.txt": "over-budget"}
    assert standin.calls(status=None) == 0
    status = run_cli("status", "-c", config)
    assert "over-budget" in status.stdout and "of $1.00" in status.stdout


def test_batch_submits_then_a_later_run_collects(tmp_path: Path, slow_batches: StandIn) -> None:
    config = workspace(tmp_path, make='["summary"]')
    server = slow_batches
    first = ghost_run(config, "--batch", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["processed"] == {"ep1.txt": "waiting"}
    assert server.calls(path="/v1/messages") == 0  # nothing sent one by one
    assert list((tmp_path / "cache" / "batches").glob("*.json"))
    assert "waiting" in run_cli("status", "-c", config).stdout

    still = ghost_run(config, "--batch", "--json")  # batch not finished yet
    assert json.loads(still.stdout)["processed"] == {"ep1.txt": "waiting"}
    batch_posts = [r for r in server.requests if r.method == "POST" and "batches" in r.path]
    assert len(batch_posts) == 1  # not submitted twice

    server.finish_batches()
    done = ghost_run(config, "--batch", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["processed"] == {"ep1.txt": "done"}
    assert server.calls(path="/v1/messages") == 1  # only the reduce call
    assert "FACT-EP1" in (tmp_path / "out" / "ep1.summary.md").read_text()
    ledger = report["ledgers"]["ep1.txt"]["stages"]["map"]
    assert ledger["calls"] >= 2 and ledger["cost_usd"] > 0
    assert not list((tmp_path / "cache" / "batches").glob("*.json"))


def test_openai_batch_round_trip(tmp_path: Path, slow_batches: StandIn) -> None:
    config = workspace(tmp_path, make='["summary"]',
                       extra='[models]\nmap = "openai:gpt-4o-mini"\nreduce = "openai:gpt-4o"\n')
    server = slow_batches
    assert json.loads(ghost_run(config, "--batch", "--json").stdout)["processed"] == \
        {"ep1.txt": "waiting"}
    server.finish_batches()
    result = ghost_run(config, "--batch", "--json")
    assert json.loads(result.stdout)["processed"] == {"ep1.txt": "done"}, result.output
    assert "FACT-EP1" in (tmp_path / "out" / "ep1.summary.md").read_text()


def test_init_writes_a_config_once_and_bad_config_exits_2(tmp_path: Path,
                                                          monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("init").exit_code == 0
    assert "[episodes]" in (tmp_path / "ghost.toml").read_text()
    again = run_cli("init")
    assert again.exit_code == 2 and "already exists" in again.stderr
    (tmp_path / "bad.toml").write_text("[episodes\n")
    assert run_cli("run", "-c", "bad.toml").exit_code == 2
    missing = run_cli("run", "-c", "nope.toml")
    assert missing.exit_code == 2 and "ghost init" in missing.stderr


@pytest.mark.parametrize("body", ['[episodes]\ninbox = "e"\n[outputs]\nmake = ["poem"]\n',
                                  '[episodes]\ninbox = "e"\n[budget]\nper_run = -1\n'])
def test_config_errors_are_one_line(tmp_path: Path, body: str) -> None:
    (tmp_path / "ghost.toml").write_text(body)
    result = run_cli("run", "-c", tmp_path / "ghost.toml")
    assert result.exit_code == 2 and result.stderr.strip().count("\n") == 0
