"""ghost essay end to end against the stand-in: sample pack caching, facts, citations, output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, run_cli, shared_path

from standin import StandIn

CORPUS_SAMPLES = REPO / "corpora" / "my_essays"


def episode(path: Path, topic: str, fact: str, blocks: int = 40) -> Path:
    """A timestamp-blocks transcript with `fact` planted in the middle block."""
    parts = []
    for i in range(blocks):
        stamp = f"00:{i // 2:02d}:{(i % 2) * 30:02d}"
        text = f"We kept talking about {topic} and what it means for small teams. " * 6
        if i == blocks // 2:
            text += f"Then she said the release was tagged {fact} internally."
        parts.append(f"{stamp} \n {text}\n")
    path.write_text("\n".join(parts))
    return path


def essay_requests(standin: StandIn) -> list[dict]:
    return [r.body for r in standin.requests
            if r.status == 200 and "ESSAY" in json.dumps(r.body.get("messages", ""))]


def run_essay(samples: Path, transcript: Path, tmp_path: Path, *extra: str):
    return run_cli("essay", "--samples", samples, "--transcript", transcript,
                   "--cache-dir", tmp_path / "cache", "--chunk-tokens", "700", *extra)


def test_essay_with_example_corpus_writes_essay_notes_and_style(standin: StandIn,
                                                                tmp_path: Path) -> None:
    transcript = REPO / "corpora" / "episode-042.txt"
    out = tmp_path / "essay.md"
    result = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "-o", out)
    assert result.exit_code == 0, result.output
    essay = out.read_text()
    assert essay.startswith("---\n") and "samples_used: 12" in essay
    assert "FACT-BREWLOG-7" in essay  # the planted fact travelled transcript → essay
    notes = (tmp_path / "essay.notes.md").read_text()
    assert "## Reading\n\n- full:" in notes and "Samples used" in notes
    assert "style" in result.stderr.lower()
    body = essay_requests(standin)[0]
    system = json.dumps(body["system"])
    assert "FACT-BREWLOG-7" not in system and "Build slow" not in system  # data stays out
    blocks = body["messages"][0]["content"]
    assert blocks[0]["cache_control"] == {"type": "ephemeral"}
    assert "Build slow" in blocks[0]["text"] and "FACT-BREWLOG-7" in blocks[1]["text"]


def test_sample_block_is_identical_across_episodes_and_read_from_cache(standin: StandIn,
                                                                       tmp_path: Path) -> None:
    samples = shared_path("data", "essays", "federalist", "hamilton")
    ep1 = episode(tmp_path / "ep1.txt", "pricing", "FACT-ONE")
    ep2 = episode(tmp_path / "ep2.txt", "hiring", "FACT-TWO")
    first = run_essay(samples, ep1, tmp_path, "--json", "--samples-budget", "60000")
    assert first.exit_code == 0, first.output
    second = run_essay(samples, ep2, tmp_path, "--json", "--samples-budget", "60000")
    assert second.exit_code == 0, second.output
    r1, r2 = json.loads(first.stdout), json.loads(second.stdout)
    req1, req2 = essay_requests(standin)
    assert req1["messages"][0]["content"][0] == req2["messages"][0]["content"][0]
    assert req1["system"] == req2["system"]
    assert "FACT-ONE" in json.dumps(req1) and "FACT-TWO" in json.dumps(req2)
    assert r1["ledger"]["stages"]["essay"]["cache_write_tokens"] > 10_000
    assert r2["ledger"]["stages"]["essay"]["cache_read_tokens"] > 10_000
    assert r2["ledger"]["stages"]["essay"]["cache_write_tokens"] == 0
    assert r1["samples_available"] == 51 and 0 < len(r1["samples_used"]) < 51


def test_bogus_timestamps_in_the_essay_reply_are_caught(standin: StandIn,
                                                        tmp_path: Path) -> None:
    transcript = episode(tmp_path / "ep.txt", "pricing", "FACT-X", blocks=10)
    reply = ("# A title\n\nA paragraph that cites [00:99:00] by mistake.\n\nAnother one.\n\n"
             "=== SOURCES ===\nP1: [00:01:00] [00:77:00]\nP2: none\n")
    standin.enqueue("- Pricing talk [00:01:00]\n- Release FACT-X [00:02:30]")
    standin.enqueue(reply)
    result = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--json", "--chunk-tokens", "5000",
                       "--read", "notes")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(report["citations"]["unknown"]) == ["00:77:00", "00:99:00"]
    assert "not in source" in report["text"]
    assert "not in source" in report["paragraph_sources"]["1"]
    assert "citations not in the transcript" in result.stderr


@pytest.mark.parametrize("bad", ["missing", "empty", "binary"])
def test_bad_essay_inputs_fail_cleanly(tmp_path: Path, standin: StandIn, bad: str) -> None:
    out = tmp_path / "essay.md"
    transcript = tmp_path / "t.txt"
    if bad == "empty":
        transcript.write_text("")
    elif bad == "binary":
        transcript.write_bytes(b"\x00\xff" * 50)
    result = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "-o", out)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip().count("\n") == 0
    assert not out.exists() and standin.calls(status=None) == 0


def test_samples_folder_without_usable_files(tmp_path: Path, standin: StandIn) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.pdf").write_bytes(b"%PDF")
    result = run_essay(tmp_path / "s", REPO / "corpora" / "episode-042.txt", tmp_path)
    assert result.exit_code == 2 and "sample" in result.stderr.lower()


def screening(letter: str):
    """A stand-in responder: the screen answers `letter`; everything else gets the default."""

    def respond(provider: str, body: dict) -> str | None:
        return letter if "screening classifier" in json.dumps(body.get("system", "")) else None

    return respond


@pytest.mark.parametrize(("letter", "essays", "written", "exit_code"),
                         [("C", 1, False, 1), ("B", 2, True, 0), ("A", 1, True, 0)])
def test_screen_cancels_on_c_and_cautions_on_b(tmp_path: Path, monkeypatch, letter: str,
                                               essays: int, written: bool,
                                               exit_code: int) -> None:
    with StandIn(responder=screening(letter)) as server:
        for name, value in server.env("k-test-123456").items():
            monkeypatch.setenv(name, value)
        out = tmp_path / "essay.md"
        result = run_essay(CORPUS_SAMPLES, REPO / "corpora" / "episode-042.txt", tmp_path,
                           "--screen", "-o", out)
        assert result.exit_code == exit_code, result.output
        # The screen and the essay start together: on C the essay request was closed, on B
        # closed and sent again with the caution (counted at the stand-in). Under load the
        # screen may answer before the first essay request reached the stand-in at all.
        sent = essay_requests(server)
        cautioned = sorted("flagged the source as" in json.dumps(r["system"]) for r in sent)
        assert out.exists() == written
        if letter == "C":
            assert "screen" in result.stderr and "nothing was written" in result.stderr
            assert cautioned in ([], [False])
        elif letter == "B":  # the cautioned request may reach the server before the closed one
            assert cautioned in ([True], [False, True])
        else:
            assert cautioned == [False]
        assert len(sent) <= essays


def test_the_dry_run_shows_the_very_samples_sent_and_what_was_left_out(
        standin: StandIn, tmp_path: Path) -> None:
    transcript = REPO / "corpora" / "episode-042.txt"
    args = ("--samples-budget", "4000", "--json")
    dry = run_essay(CORPUS_SAMPLES, transcript, tmp_path, "--dry-run", *args)
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert 0 < len(planned["samples_used"]) < 12
    left_out = [n for n in planned["plan"]["notes"] if "left out" in n]
    assert left_out and f"{12 - len(planned['samples_used'])} of 12 left out" in left_out[0]
    real = run_essay(CORPUS_SAMPLES, transcript, tmp_path, *args)
    assert real.exit_code == 0, real.output
    sent = json.loads(real.stdout)
    assert sent["samples_used"] == planned["samples_used"]
    titles = [s["title"] for s in sent["samples_used"]]
    prompt = json.dumps(essay_requests(standin)[-1])
    assert all(title in prompt for title in titles)


def test_the_sample_pack_has_a_default_cap(tmp_path: Path) -> None:
    folder = tmp_path / "essays"
    folder.mkdir()
    for n in range(90):  # ~90 essays of ~3,500 tokens: more than the 250,000-token cap
        body = " ".join(f"Essay {n} sentence {k} on pricing, hiring and the craft." for k in
                        range(300))
        (folder / f"2026-01-{n % 28 + 1:02d}-essay-{n}.md").write_text(f"# Essay {n}\n\n{body}\n")
    result = run_essay(folder, REPO / "corpora" / "episode-042.txt", tmp_path, "--dry-run",
                       "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["samples_available"] == 90
    assert 0 < report["samples_tokens"] <= 250_000 and len(report["samples_used"]) < 90
    assert any("250,000 tokens" in note for note in report["plan"]["notes"])


def test_a_new_draft_re_asks_only_the_strong_model(standin: StandIn, tmp_path: Path) -> None:
    transcript = REPO / "corpora" / "episode-042.txt"
    notes = ("--read", "notes")  # read through notes: the map calls are what is reused

    def calls() -> tuple[int, int]:
        essays = len(essay_requests(standin))
        return standin.calls() - essays, essays

    first = run_essay(CORPUS_SAMPLES, transcript, tmp_path, *notes, "-o", tmp_path / "one.md")
    assert first.exit_code == 0, first.output
    other_calls, essays = calls()
    assert essays == 1 and other_calls >= 1
    second = run_essay(CORPUS_SAMPLES, transcript, tmp_path, *notes, "--draft", "2",
                       "-o", tmp_path / "two.md")
    assert second.exit_code == 0, second.output
    assert calls() == (other_calls, 2)  # the map stage came from the cache
    again = run_essay(CORPUS_SAMPLES, transcript, tmp_path, *notes, "--draft", "2", "--json")
    assert again.exit_code == 0 and calls() == (other_calls, 2)  # draft 2 is cached too
    assert run_essay(CORPUS_SAMPLES, transcript, tmp_path, *notes, "--draft", "0").exit_code == 2
