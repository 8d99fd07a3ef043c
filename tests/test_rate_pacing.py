"""The map stage runs at the account's rate limit without tripping it: the gate in front of the
calls grows while the rate-limit headers show room and backs off on a 429 or when little is
left (models/capacity.py), against a stand-in that enforces a limit as the APIs do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, run_cli

from ghost.models.capacity import Capacity, Room, room_from_headers
from standin import StandIn
from standin.ratelimit import RateLimit


def many_paragraphs(n: int) -> str:
    """`n` paragraphs, five of them with a planted fact (the stand-in's notes copy those)."""
    return "\n\n".join(f"Paragraph {i} says {'FACT-' if i % (n // 5) == 0 else 'little'}{i} "
                       "and some ordinary words about it. " * 8 for i in range(n)) + "\n"


def summarize_long(tmp_path: Path, paragraphs: int, *extra: str) -> Any:
    """`ghost summarize` of `paragraphs` paragraphs in 400-token chunks, at most 64 in flight."""
    source = tmp_path / "long.txt"
    source.write_text(many_paragraphs(paragraphs))
    return run_cli("summarize", source, "--cache-dir", tmp_path / "cache",
                   "--chunk-tokens", "400", "--concurrency", "64", *extra)


def most_in_flight(server: StandIn) -> int:
    calls = [(r.started, r.finished) for r in server.requests
             if r.status == 200 and r.path == "/v1/messages" and r.finished is not None]
    return max(sum(1 for s, f in calls if s <= start < f) for start, _ in calls)


@pytest.fixture
def limited(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    per_minute, latency = request.param
    with StandIn(rate_limit=RateLimit(per_minute), latency=latency) as server:
        for name, value in server.env(TEST_KEY).items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.mark.parametrize("limited", [(1800, 0.4)], indirect=True)
def test_a_roomy_account_gets_more_calls_in_flight_than_the_start(limited: StandIn,
                                                                  tmp_path: Path) -> None:
    result = summarize_long(tmp_path, 400, "--budget", "5")
    assert result.exit_code == 0, result.output
    maps = sum(1 for r in limited.requests if r.status == 200) - 1
    assert maps > 60
    assert most_in_flight(limited) > 8  # grew past where a cloud gate starts
    assert limited.rate_limit is not None and limited.rate_limit.refused <= maps // 10


@pytest.mark.parametrize("limited", [(120, 0.05)], indirect=True)
def test_a_small_account_is_paced_down_and_every_call_lands(limited: StandIn,
                                                            tmp_path: Path) -> None:
    result = summarize_long(tmp_path, 60)
    assert result.exit_code == 0, result.output
    assert limited.rate_limit is not None
    answered = sum(1 for r in limited.requests if r.status == 200)
    assert limited.rate_limit.refused <= answered  # backed off: not a 429 storm
    assert "FACT-" in result.stdout


def test_the_gate_grows_with_room_and_halves_on_a_429_or_little_room() -> None:
    gate = Capacity(32, local=False)
    assert gate.limit == 8
    for _ in range(60):
        gate.learn(0, 0.5, Room(900, 1000))
    assert gate.limit == 32  # slow start up to the ceiling
    gate.limited()
    assert gate.limit == 16
    gate.learn(0, 0.5, Room(2, 1000))
    assert gate.limit == 8
    for _ in range(8):
        gate.learn(0, 0.5, Room(900, 1000))
    assert 8 <= gate.limit <= 9  # after a back-off: about one more per round
    for _ in range(10):
        gate.limited()
    assert gate.limit == 1


def test_a_local_address_with_rate_limit_headers_is_paced_by_them() -> None:
    gate = Capacity(32, local=True)
    assert gate.limit == 2
    gate.learn(0, 0.5, Room(90, 100))
    gate.learn(0, 0.5, Room(90, 100))
    assert not gate.local and gate.limit == 3
    fixed = Capacity(8, local=True, fixed=True)
    fixed.learn(3, 9.0, Room(0, 100))
    fixed.limited()
    assert fixed.limit == 8  # in-process: nothing to learn


def test_headers_of_both_providers() -> None:
    anthropic = room_from_headers({"Anthropic-RateLimit-Requests-Remaining": "40",
                                   "anthropic-ratelimit-requests-limit": "50",
                                   "anthropic-ratelimit-tokens-remaining": "1000",
                                   "anthropic-ratelimit-tokens-limit": "100000"})
    assert anthropic == Room(40, 50, 1000, 100000)
    assert anthropic.share_left == pytest.approx(0.01)
    openai = room_from_headers({"x-ratelimit-remaining-requests": "9",
                                "x-ratelimit-limit-requests": "10"})
    assert openai is not None and openai.share_left == pytest.approx(0.9)
    assert room_from_headers({"content-type": "application/json"}) is None
    assert room_from_headers({"x-ratelimit-remaining-requests": "lots"}) is None
