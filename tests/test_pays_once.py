"""Pays once: a grown transcript, a light edit, a rename or one new thread re-pays only what
changed. Counted as map calls arriving at the stand-in, through the real SDKs."""

from __future__ import annotations

import json
import random
from pathlib import Path

from conftest import run_cli

from ghost.chunk.text import chunk_text
from standin import StandIn

MAP_MARK = "meticulous research assistant"  # the summarize-map system prompt
TRIAGE_MARK = "You screen email threads"
NOTES_MARK = "From one email thread you extract"
WORDS = ("budget launch pricing churn hiring roadmap customer support onboarding feedback "
         "retention investor board metrics release migration outage incident postmortem "
         "design review contract vendor partner security audit compliance forecast quarter "
         "growth experiment cohort funnel signup trial upgrade invoice renewal").split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."


def hour_long(path: Path, *, blocks: int = 240, start: int = 0, seed: int = 7) -> Path:
    """About an hour of `HH:MM:SS` blocks of speech, 15 s apart (~19k tokens)."""
    rng = random.Random(seed)
    text = []
    for n in range(start, start + blocks):
        seconds = 15 * n
        stamp = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        speaker = ("Maya", "Guest")[n % 2]
        text.append(f"{stamp}\n{speaker}: " + " ".join(sentence(rng) for _ in range(4)) + "\n")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(text) + "\n")
    return path


def map_calls(standin: StandIn, mark: str = MAP_MARK) -> int:
    return sum(1 for r in standin.requests if r.status == 200 and mark in json.dumps(r.body))


def summarize(path: Path, cache: Path, *extra: object):
    result = run_cli("summarize", path, "--chunk-tokens", "1500", "--cache-dir", cache,
                     "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_grown_transcript_re_pays_at_most_three_map_calls(standin: StandIn,
                                                            tmp_path: Path) -> None:
    episode = hour_long(tmp_path / "ep.txt")
    first = summarize(episode, tmp_path / "cache")
    chunks = first["plan"]["source"]["chunks"]
    assert map_calls(standin) == chunks >= 13
    hour_long(episode, blocks=18, start=240, seed=8)  # ~1,500 tokens of new segments
    before = map_calls(standin)
    again = summarize(episode, tmp_path / "cache")
    assert again["plan"]["source"]["chunks"] > chunks
    assert map_calls(standin) - before <= 3


def test_forty_words_mid_paragraph_re_pay_at_most_three(standin: StandIn, tmp_path: Path) -> None:
    episode = hour_long(tmp_path / "ep.txt")
    summarize(episode, tmp_path / "cache")
    lines = episode.read_text().split("\n")
    middle = len(lines) // 2
    middle += next(n for n, line in enumerate(lines[middle:]) if line.startswith("Maya:"))
    lines[middle] += " " + " ".join(f"added{n}" for n in range(40))
    episode.write_text("\n".join(lines))
    before = map_calls(standin)
    summarize(episode, tmp_path / "cache")
    assert 1 <= map_calls(standin) - before <= 3


def test_a_renamed_transcript_re_pays_no_map_call(standin: StandIn, tmp_path: Path) -> None:
    episode = hour_long(tmp_path / "ep.txt")
    summarize(episode, tmp_path / "cache")
    renamed = episode.rename(tmp_path / "2026-12-01 episode 43 final.txt")
    before = map_calls(standin)
    report = summarize(renamed, tmp_path / "cache")
    assert map_calls(standin) == before
    assert report["ledger"]["stages"]["map"]["cached"] == report["plan"]["source"]["chunks"]


def test_plain_text_boundaries_follow_content() -> None:
    rng = random.Random(3)
    text = "\n\n".join(" ".join(sentence(rng) for _ in range(rng.randint(2, 9)))
                       for _ in range(300))
    count = lambda s: len(s.split())  # noqa: E731
    before = chunk_text(text, max_tokens=600, count_tokens=count)
    assert "".join(c.text for c in before) == text and all(c.tokens <= 600 for c in before)
    at = text.index(". ", len(text) // 2) + 1
    edited = text[:at] + " " + " ".join(f"added{n}" for n in range(40)) + text[at:]
    old = {(c.label, c.text) for c in before}
    changed = [c for c in chunk_text(edited, max_tokens=600, count_tokens=count)
               if (c.label, c.text) not in old]
    assert 1 <= len(changed) <= 3


# --- mail: one new matching thread

OWNER = "Dana Reyes <dana@acme.example>"


def thread_mail(n: int, subject: str) -> str:
    date = f"Mon, {1 + n % 27:02d} Sep 2025 {8 + n % 10:02d}:00:00 +0000"
    return (f"From sam{n}@acme.example {date}\nMessage-ID: <t{n}@acme.example>\n"
            f"From: Sam {n} <sam{n}@acme.example>\nTo: {OWNER}\nSubject: {subject} {n}\n"
            f"Date: {date}\n\nDana, about the settlement item {n}: FACT-T{n} is agreed.\n\n")


def test_one_new_thread_re_pays_at_most_four_cheap_calls(standin: StandIn,
                                                         tmp_path: Path) -> None:
    box = tmp_path / "inbox.mbox"
    box.write_text("".join(thread_mail(n, "Settlement") for n in range(30))
                   + "".join(thread_mail(n, "Lunch") for n in range(30, 40)))

    def profile() -> None:
        result = run_cli("profile", "--mbox", box, "--owner", OWNER, "--query",
                         "subject:settlement", "--cache-dir", tmp_path / "cache", "--json")
        assert result.exit_code == 0, result.output

    profile()
    cheap = map_calls(standin, TRIAGE_MARK) + map_calls(standin, NOTES_MARK)
    assert map_calls(standin, TRIAGE_MARK) == 30
    with box.open("a") as fh:
        fh.write(thread_mail(99, "Settlement"))
    profile()
    again = map_calls(standin, TRIAGE_MARK) + map_calls(standin, NOTES_MARK)
    assert 1 <= again - cheap <= 4


def test_two_compatible_servers_never_share_answers(tmp_path: Path) -> None:
    """`llama3.1` on one server is not `llama3.1` on another: the cache keeps them apart."""
    episode = hour_long(tmp_path / "ep.txt", blocks=20)
    with StandIn() as first, StandIn() as second:
        def run(server: StandIn) -> None:
            result = run_cli("summarize", episode, "--map-model", "openai:llama3.1",
                             "--reduce-model", "openai:llama3.1", "--base-url",
                             server.openai_base_url, "--cache-dir", tmp_path / "cache")
            assert result.exit_code == 0, result.output

        run(first)
        run(second)
        assert first.calls() == second.calls() >= 2  # the second server was asked everything
        run(first)
        assert first.calls() == second.calls()  # and each server's answers are cached
