"""Cut-off and empty replies: never cached, a cut-off note asked again with more room, a cut-off
summary or essay an error that says what to raise, an empty reply an error (not NOTHING)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FAKE, run_cli

from ghost.errors import ModelCallError
from ghost.jobs.runner import JobRun
from ghost.jobs.summarize import SummarizeJob
from ghost.models.protocol import Completion, Request, Usage
from test_jobs import episode, options


def cut(text: str) -> Completion:
    return Completion(text, Usage(100, 50), "fake", "max_tokens")


def test_a_cut_off_note_is_asked_again_with_twice_the_room(tmp_path: Path) -> None:
    path = episode(tmp_path / "ep.txt", "FACT-CUT", minutes=2)

    def map_reply(request: Request) -> Completion | None:
        if request.stage == "map" and request.max_tokens == 1024:
            return cut("- the first half of a no")
        return None  # the default: every FACT line as a note

    FAKE.responders["fake:cheap"] = map_reply
    result = JobRun(SummarizeJob([path]), options(tmp_path)).execute()
    asked = [r.max_tokens for r in FAKE.models["fake:cheap"].history]
    assert asked == [1024, 2048]
    assert "FACT-CUT-1" in result.notes.notes[0].text  # the whole note, not the cut one
    FAKE.reset()
    FAKE.responders["fake:cheap"] = map_reply
    JobRun(SummarizeJob([path]), options(tmp_path)).execute()
    # the whole answer was cached under the roomier request; the cut one never was
    assert [r.max_tokens for r in FAKE.models["fake:cheap"].history] == [1024]


def test_a_cut_off_summary_is_an_error_and_is_never_replayed(tmp_path: Path) -> None:
    path = episode(tmp_path / "ep.txt", "FACT-S", minutes=2)
    FAKE.responders["fake:strong"] = lambda request: cut("A summary that stops in the mid")
    out = tmp_path / "summary.md"
    for _ in range(2):
        result = run_cli("summarize", path, "--map-model", "fake:cheap", "--reduce-model",
                         "fake:strong", "--cache-dir", tmp_path / "cache", "-o", out)
        assert result.exit_code == 1, result.output
        assert "was cut off at its 8,192-token limit and is not kept" in result.stderr
        assert "Traceback" not in result.stderr and not out.exists()
    assert len(FAKE.models["fake:strong"].history) == 1  # the second run asked again


def test_a_cut_off_essay_names_the_allowance_to_raise(tmp_path: Path) -> None:
    thinking = tmp_path / "models.toml"
    thinking.write_text('[models."fake:thinker"]\ncontext = 200000\nmax_output = 64000\n'
                        'input = 5.0\noutput = 25.0\nthinking_allowance = 4000\n')
    FAKE.responders["fake:thinker"] = lambda request: (
        cut("An essay that") if request.stage == "essay" else None)
    result = run_cli("essay", "--samples", Path(__file__).parents[1] / "corpora" / "my_essays",
                     "--transcript", episode(tmp_path / "ep.txt", "FACT-E"), "--map-model",
                     "fake:cheap", "--reduce-model", "fake:thinker", "--models-file", thinking,
                     "--cache-dir", tmp_path / "cache", "-o", tmp_path / "essay.md")
    assert result.exit_code == 1, result.output
    assert "raise thinking_allowance for fake:thinker" in result.stderr
    assert not (tmp_path / "essay.md").exists()


def test_an_empty_reply_is_an_error_not_nothing(tmp_path: Path) -> None:
    path = episode(tmp_path / "ep.txt", "FACT-EMPTY", minutes=2)
    FAKE.responders["fake:cheap"] = lambda request: Completion("", Usage(80, 0), "fake",
                                                               "end_turn")
    run = JobRun(SummarizeJob([path]), options(tmp_path))
    with pytest.raises(ModelCallError, match="empty reply to a map call"):
        run.execute()
    assert run.ledger.stages["map"].calls == 1  # billed, so counted
    FAKE.reset()
    again = JobRun(SummarizeJob([path]), options(tmp_path)).execute()  # nothing was cached
    assert again.notes.mapped == 1 and again.notes.dropped == 0
