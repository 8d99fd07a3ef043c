"""ghost essay --impostor-draft: the cheap model's plain essay is one more impostor for the
style check, planned and priced like any call, paid once."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from ghost.ingest.samples import load_samples
from standin import StandIn
from test_essay_e2e import CORPUS_SAMPLES, run_essay

TRANSCRIPT = REPO / "corpora" / "episode-042.txt"
PLAIN_MARK = "Write only the essay."


def plain_requests(server: StandIn) -> list[dict]:
    return [r.body for r in server.requests
            if r.status == 200 and PLAIN_MARK in json.dumps(r.body.get("system", ""))]


def writes(essay: str, plain: str):
    """A stand-in responder: every essay draft is `essay`, the plain essay is `plain`."""

    def respond(provider: str, body: dict) -> str | None:
        if PLAIN_MARK in json.dumps(body.get("system", "")):
            return plain
        if "ESSAY" in json.dumps(body.get("messages", "")):
            return essay + "\n\n=== SOURCES ===\nP1: none\n"
        return None

    return respond


def test_the_plain_essay_is_planned_sent_to_the_cheap_model_and_paid_once(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples, _ = load_samples(CORPUS_SAMPLES)
    with StandIn(responder=writes(samples[3].text, "# Plain\n\n" + "A plain essay. " * 80)) \
            as server:
        for name, value in server.env("k-test-123456").items():
            monkeypatch.setenv(name, value)
        dry = run_essay(CORPUS_SAMPLES, TRANSCRIPT, tmp_path, "--impostor-draft", "--dry-run",
                        "--json")
        first = run_essay(CORPUS_SAMPLES, TRANSCRIPT, tmp_path, "--impostor-draft", "--json")
        again = run_essay(CORPUS_SAMPLES, TRANSCRIPT, tmp_path, "--impostor-draft", "--json")
        plain = plain_requests(server)
    assert dry.exit_code == first.exit_code == again.exit_code == 0, first.output
    stage = next(s for s in json.loads(dry.stdout)["plan"]["stages"] if s["stage"] == "impostor")
    assert stage["calls"] == 1 and stage["cost_usd"] > 0 and "haiku" in stage["model"]
    assert len(plain) == 1  # the second run read it from the cache
    assert "haiku" in plain[0]["model"]
    user = json.dumps(plain[0]["messages"])
    assert "FACT-BREWLOG-7" in user  # the episode itself, delimited in the user turn
    assert "ESSAY" not in user and "FACT-BREWLOG-7" not in json.dumps(plain[0]["system"])
    report = json.loads(first.stdout)
    assert report["impostor_draft_words"] == 3 + 3 * 80 - 1  # "# Plain" + the sentences
    assert report["style"]["nearer_impostors"] is False  # checked, and the draft is the host's
    assert report["ledger"]["stages"]["impostor"]["calls"] == 1


def test_a_draft_that_reads_like_the_plain_essay_does_not_sound_like_the_host(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples, _ = load_samples(CORPUS_SAMPLES)
    generic = samples[3].text  # as if the plain essay came out in this very voice
    with StandIn(responder=writes(generic, generic)) as server:
        for name, value in server.env("k-test-123456").items():
            monkeypatch.setenv(name, value)
        plain = run_essay(CORPUS_SAMPLES, TRANSCRIPT, tmp_path, "--json")
        checked = run_essay(CORPUS_SAMPLES, TRANSCRIPT, tmp_path, "--impostor-draft", "--json")
    assert plain.exit_code == checked.exit_code == 0, checked.output
    assert json.loads(plain.stdout)["style"]["verdict"] == "sounds like the author"
    report = json.loads(checked.stdout)["style"]
    assert report["nearer_impostors"] is True and report["verdict"] != "sounds like the author"


def test_a_plain_essay_longer_than_asked_is_still_paid_once(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples, _ = load_samples(CORPUS_SAMPLES)
    overshoot = "# Plain\n\n" + "A plain essay that runs on. " * 45  # ~300 tokens for 40 words
    with StandIn(responder=writes(samples[3].text, overshoot)) as server:
        for name, value in server.env("k-test-123456").items():
            monkeypatch.setenv(name, value)
        for _ in range(2):
            result = run_essay(CORPUS_SAMPLES, TRANSCRIPT, tmp_path, "--impostor-draft",
                               "--words", "40", "--json")
            assert result.exit_code == 0, result.output
        plain = plain_requests(server)
    assert len(plain) == 1  # a reply cut off at its cap would not be cached: paid every run
    assert json.loads(result.stdout)["ledger"]["stages"]["impostor"]["cut_off_calls"] == 0
