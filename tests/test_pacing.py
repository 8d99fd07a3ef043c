"""The pacer: grows while calls succeed with room, halves on a 429 or low room, and comes down
when latency shows the calls queueing behind each other (a one-at-a-time server)."""

from __future__ import annotations

import threading

import pytest

from ghost.models.pacing import Pacer, Room, room_from_headers
from ghost.models.retry import CallStopped


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


def test_grows_to_the_ceiling_while_there_is_room() -> None:
    pacer = Pacer(ceiling=32)
    assert pacer.limit == 4
    for _ in range(100):
        pacer.succeeded(0.5, Room(900, 1000), flying=1)
    assert pacer.limit == 32


def test_halves_on_a_429_and_on_low_room_then_grows_slowly() -> None:
    pacer = Pacer(ceiling=64, start=32)
    pacer.limited()
    assert pacer.limit == 16
    pacer.succeeded(0.5, Room(2, 1000), flying=1)
    assert pacer.limit == 8
    for _ in range(8):
        pacer.succeeded(0.5, Room(900, 1000), flying=1)
    assert 8 < pacer.limit < 10  # about one more per round once it has backed off
    for _ in range(10):
        pacer.limited()
    assert pacer.limit == 1  # never below one


def test_a_one_at_a_time_server_brings_it_down() -> None:
    pacer = Pacer(ceiling=8, start=8)
    pacer.succeeded(1.0, flying=1)  # alone: the base latency
    for _ in range(12):  # eight in flight, each took eight times as long: all queueing
        pacer.succeeded(8.0, flying=8)
    assert pacer.limit <= 4


def test_slots_hold_to_the_limit() -> None:
    pacer = Pacer(ceiling=3, start=3)
    inside = threading.Semaphore(0)
    release = threading.Event()

    def call() -> None:
        with pacer.slot():
            inside.release()
            release.wait(5)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for _ in range(3):
        assert inside.acquire(timeout=5)
    assert not inside.acquire(timeout=0.3)  # the fourth waits
    assert pacer.in_flight == 3
    release.set()
    for t in threads:
        t.join(5)
    assert pacer.peak == 3 and pacer.in_flight == 0


def test_a_stop_frees_a_waiting_slot() -> None:
    pacer = Pacer(ceiling=1, start=1)
    stop = threading.Event()
    with pacer.slot():
        stop.set()
        with pytest.raises(CallStopped), pacer.slot(stop):
            pass
