"""No paid answer is lost, whenever the process dies: `ghost summarize` killed (-9) after k
answered calls for several k, then run again, sends none of the requests the stand-in had
already answered, and exactly the ones never answered; SIGTERM stops it like Ctrl-C (calls in
flight land in the cache, the manifest says interrupted, exit 143)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TEST_KEY

from standin import StandIn
from test_summarize_e2e import planted_text

SETTLE = 0.25  # a reply finished this long before the kill has surely been read and kept


def ghost(server: StandIn, source: Path, cache: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **server.env(TEST_KEY),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "ghost", "summarize", str(source),
                             "--cache-dir", str(cache), "--chunk-tokens", "150",
                             "--concurrency", "3", "-o", str(out), "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def sent(server: StandIn, since: int = 0) -> list[str]:
    return [json.dumps(r.body, sort_keys=True) for r in server.requests[since:]
            if r.path == "/v1/messages" and "messages" in r.body]  # not one cut off by the kill


def answered(server: StandIn, before: float) -> set[str]:
    return {json.dumps(r.body, sort_keys=True) for r in server.requests
            if r.path == "/v1/messages" and r.status == 200 and r.finished is not None
            and r.finished <= before}


def wait_answers(server: StandIn, k: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while len(answered(server, time.monotonic())) < k and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before the kill"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The source, and every model request a whole uninterrupted run sends."""
    folder = tmp_path_factory.mktemp("reference")
    source = folder / "minutes.txt"
    source.write_text(planted_text(16))
    with StandIn() as server:
        proc = ghost(server, source, folder / "cache", folder / "out.md")
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
        requests = sent(server)
    assert len(requests) == len(set(requests)) >= 8
    return source, requests


@pytest.mark.parametrize("k", [1, 3, 6])
def test_kill_9_after_k_answers_then_rerun_repays_no_answered_call(
        reference: tuple[Path, list[str]], tmp_path: Path, k: int) -> None:
    source, everything = reference
    cache = tmp_path / "cache"
    with StandIn(latency=0.3) as server:
        proc = ghost(server, source, cache, tmp_path / "out.md")
        wait_answers(server, k, proc)
        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        proc.wait()
        time.sleep(0.5)  # let the requests in flight finish at the stand-in
        first = sent(server)
        safe = answered(server, killed - SETTLE)  # surely read (and kept) before the kill
        grey = answered(server, killed + 1) - safe  # answered around the kill
        assert k <= len(safe | grey) < len(everything), "the kill should land mid-run"
        mark = len(server.requests)
        proc = ghost(server, source, cache, tmp_path / "out.md")
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
        again = sent(server, mark)
    assert not set(again) & safe, "an answer paid for before the kill was paid for again"
    assert len(again) == len(set(again))
    never = set(everything) - set(first) | (set(first) - safe - grey)
    assert never <= set(again) <= never | grey  # exactly the ones never answered
    assert (tmp_path / "out.md").exists()


def test_sigterm_stops_like_ctrl_c(reference: tuple[Path, list[str]], tmp_path: Path) -> None:
    source, everything = reference
    cache = tmp_path / "cache"
    with StandIn(latency=0.3) as server:
        proc = ghost(server, source, cache, tmp_path / "out.md")
        wait_answers(server, 3, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (143, 130)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in stderr and "interrupted" in stderr
        first = sent(server)
        assert len(first) < len(everything), "SIGTERM should land mid-run"
        # the calls in flight were waited for: every request sent was answered and kept
        assert set(first) == answered(server, time.monotonic())
        manifests = list((cache / "runs").glob("*.json"))
        assert len(manifests) == 1
        assert json.loads(manifests[0].read_text())["status"] == "interrupted"
        assert not (tmp_path / "out.md").exists()
        mark = len(server.requests)
        proc = ghost(server, source, cache, tmp_path / "out.md")
        assert proc.wait(timeout=120) == 0
        again = sent(server, mark)
    assert not set(again) & set(first)
    assert set(again) == set(everything) - set(first)
