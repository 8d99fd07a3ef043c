"""`ghost run` (the unattended job) killed with SIGKILL at many points — while map calls are in
flight, just after k answers arrived, during the summary's reduce call and during the essay's
call — then run again: the rerun pays for none of the calls the stand-in had answered before
the kill, only for the ones never answered, and writes what a run never killed writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, TEST_KEY

from standin import StandIn
from test_kill_points import SETTLE, answered, sent
from test_run_workspace import workspace

LATENCY = 0.3  # each call stays in flight this long: a kill lands with calls in flight
MAPS = 12      # the episode's map calls (chunk_tokens 150); then the reduce, then the essay


def ghost_run(server: StandIn, config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **server.env(TEST_KEY),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "ghost", "run", "-c", str(config), "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def paid_calls(report: dict[str, Any]) -> int:
    """The calls the run's ledgers say were paid (sent to the provider)."""
    return sum(stage["calls"] for ledger in report["ledgers"].values()
               for stage in ledger["stages"].values())


def outputs(workspace: Path) -> dict[str, str]:
    """The workspace's outputs, its own path (in the front matter) written as <ws>."""
    folder = workspace / "out"
    return {p.relative_to(folder).as_posix(): p.read_text().replace(str(workspace), "<ws>")
            for p in sorted(folder.rglob("*.md"))}


def new_workspace(folder: Path) -> Path:
    return workspace(folder, make='["summary", "essay"]', chunk_tokens=150, concurrency=3)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, str]]:
    """Every model request a whole run sends, in order, and the outputs it writes."""
    folder = tmp_path_factory.mktemp("reference")
    config = new_workspace(folder)
    with StandIn() as server:
        report = finish(ghost_run(server, config))
        requests = sent(server)
    assert len(requests) == len(set(requests)) == MAPS + 2 == paid_calls(report)
    return requests, outputs(folder)


def arrived(j: int) -> Callable[[StandIn], bool]:
    """The j-th model request (1-based) has reached the stand-in: it is in flight."""
    return lambda server: len(sent(server)) >= j


def after_answers(k: int) -> Callable[[StandIn], bool]:
    """k answers have been sent: the kill lands just after them, as they are being kept."""
    return lambda server: len(answered(server, time.monotonic())) >= k


# (name, when to kill): 11 kill points over the whole episode job
KILL_POINTS = [
    ("first map call in flight", arrived(1)),
    ("after 2 answers", after_answers(2)),
    ("fourth map call in flight", arrived(4)),
    ("after 5 answers", after_answers(5)),
    ("eighth map call in flight", arrived(8)),
    ("after 9 answers", after_answers(9)),
    ("last map call in flight", arrived(MAPS)),
    ("just after the last map answer", after_answers(MAPS)),
    ("during the reduce call", arrived(MAPS + 1)),
    ("just after the reduce answer", after_answers(MAPS + 1)),
    ("during the essay call", arrived(MAPS + 2)),
]


@pytest.mark.parametrize("when", [w for _, w in KILL_POINTS], ids=[n for n, _ in KILL_POINTS])
def test_ghost_run_killed_then_rerun_repays_no_answered_call(
        reference: tuple[list[str], dict[str, str]], tmp_path: Path,
        when: Callable[[StandIn], bool]) -> None:
    everything, written = reference
    config = new_workspace(tmp_path)
    with StandIn(latency=LATENCY) as server:
        proc = ghost_run(server, config)
        deadline = time.monotonic() + 60
        while not when(server):
            if proc.poll() is not None:
                pytest.fail(f"the run ended before the kill: {proc.communicate()[1]}")
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished
        time.sleep(LATENCY + 0.2)  # let the requests in flight finish at the stand-in
        first = sent(server)
        safe = answered(server, killed - SETTLE)  # surely read (and kept) before the kill
        grey = answered(server, killed + 1) - safe  # answered around the kill
        mark = len(server.requests)
        server.latency = 0.0
        report = finish(ghost_run(server, config))
        again = sent(server, mark)
    assert not set(again) & safe, "an answer paid for before the kill was paid for again"
    assert len(again) == len(set(again)) == paid_calls(report)
    never = set(everything) - set(first) | (set(first) - safe - grey)
    assert never <= set(again) <= never | grey  # exactly the ones never answered
    assert report["processed"] == {"ep1.txt": "done"}
    assert outputs(tmp_path) == written  # as if never killed


# ------------------------------------------------------------------ batch collection

def test_a_batch_result_is_kept_then_noted_billed_then_billed(tmp_path: Path) -> None:
    """The order a collection follows for each result: a kill between any two steps loses at
    most the result's ledger line, never the answer, and never bills it twice."""
    from conftest import fake_stage

    from ghost.cache import ResponseCache
    from ghost.ledger import Ledger
    from ghost.manifest import Manifest
    from ghost.models.protocol import Completion, Usage
    from ghost.models.runner import Runner

    cache = ResponseCache(tmp_path / "cache")
    steps: list[tuple[str, bool]] = []
    ledger = Ledger(on_spend=lambda dollars: steps.append(("billed", cache.get("cid") is not None)))
    result = Completion("- FACT-B", Usage(100, 10), "m", "end_turn")
    Runner(ledger, cache, Manifest("t")).record_batch_result(
        fake_stage(), "map", "cid", result, "sha",
        before_bill=lambda: steps.append(("noted", cache.get("cid") is not None)))
    cache.close()
    assert steps == [("noted", True), ("billed", True)]


def batch_run(server: StandIn, config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **server.env(TEST_KEY),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "ghost", "run", "-c", str(config), "--batch",
                             "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def month_spend(workspace: Path) -> float:
    from ghost.workspace.state import WorkspaceState

    return WorkspaceState.load(workspace / ".ghost").month_spend()


def batched_episode(server: StandIn, folder: Path) -> Path:
    """A summary-only workspace whose map calls are in a finished batch, not yet collected."""
    config = workspace(folder, make='["summary"]')
    assert finish(batch_run(server, config))["processed"] == {"ep1.txt": "waiting"}
    server.finish_batches()
    return config


@pytest.fixture(scope="module")
def batch_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[float, float,
                                                                        dict[str, str]]:
    """What a collection never killed bills (the month's spend), its costliest result, and
    the outputs it writes."""
    folder = tmp_path_factory.mktemp("batch-reference")
    with StandIn(batch_auto_finish=False) as server:
        report = finish(batch_run(server, batched_episode(server, folder)))
    assert report["processed"] == {"ep1.txt": "done"}
    return month_spend(folder), max(batch_result_costs(folder)), outputs(folder)


def batch_result_costs(folder: Path) -> list[float]:
    """What each batch result collected in `folder`'s runs cost (from their manifests)."""
    from ghost.ledger import usage_cost
    from ghost.models.catalog import load_catalog
    from ghost.models.protocol import Usage

    catalog, costs = load_catalog(), []
    for manifest in (folder / "cache" / "runs").glob("*.json"):
        for call in json.loads(manifest.read_text())["calls"]:
            if call.get("batch"):
                info = catalog.resolve(call["model"])
                costs.append(usage_cost(info, Usage(**call["usage"]),
                                        info.batch_discount) or 0.0)
    return costs


@pytest.mark.parametrize("offset", [0.0, 0.05, 0.1, 0.15, 0.2, 0.3])
def test_ghost_run_killed_while_collecting_a_batch_bills_no_result_twice(
        batch_reference: tuple[float, float, dict[str, str]], tmp_path: Path,
        offset: float) -> None:
    """Killed `offset` seconds after the batch's results were sent, as they are being kept
    and billed one by one: the rerun sends no call again (nothing is submitted twice), and
    the month's spend never counts a result twice (a kill may lose the ledger line of the
    one result being billed at that instant, never more)."""
    spend, costliest, written = batch_reference
    with StandIn(batch_auto_finish=False) as server:
        config = batched_episode(server, tmp_path)
        creates = server.calls(path="/v1/messages/batches")
        proc = batch_run(server, config)
        deadline = time.monotonic() + 60
        while not any(r.path.endswith("/results") and r.finished for r in server.requests):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.002)
        time.sleep(offset)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        mark = len(server.requests)
        report = finish(batch_run(server, config))
        assert server.calls(path="/v1/messages/batches") == creates  # nothing submitted again
        again = sent(server, mark)
    assert len(again) <= 1  # at most the reduce call, if the kill came before it
    # Done by the rerun, or (a fast machine, a late kill) already by the killed run: either
    # way written once, billed once.
    assert report["processed"] in ({"ep1.txt": "done"}, {})
    assert spend - costliest - 1e-6 <= month_spend(tmp_path) <= spend + 1e-6
    assert outputs(tmp_path) == written
