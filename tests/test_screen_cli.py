"""`ghost screen` from the command line: the letter, the JSON report, examples, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TEST_KEY

from standin import StandIn
from test_screen import EXAMPLES, Script


def screen_cli(*args: object):
    from typer.testing import CliRunner

    from ghost.cli.screen import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def source_file(tmp_path: Path) -> Path:
    path = tmp_path / "episode.txt"
    path.write_text("A caller says the mayor took bribes from a developer.\n")
    return path


def test_cli_prints_letter_and_label(standin: StandIn, source_file: Path, tmp_path: Path) -> None:
    standin.responder = Script("B")
    result = screen_cli(source_file, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "B borderline"
    assert "screen" in result.stderr  # the ledger table


def test_cli_json_with_examples_and_verbose(standin: StandIn, source_file: Path,
                                            tmp_path: Path) -> None:
    standin.responder = Script("C")
    result = screen_cli(source_file, "--cache-dir", tmp_path / "c", "--examples", EXAMPLES,
                        "--similarity", "lexical", "--top-k", "2", "--json",
                        "--screen-model", "openai:gpt-4o-mini")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["letter"] == "C" and report["label"] == "refuse"
    assert report["action"] == "cancel" and report["model"] == "openai:gpt-4o-mini"
    assert report["examples_file"]["bad_lines"] == 5
    assert report["examples"][0]["line"] == 3
    assert "skipped 5 bad line(s)" in result.stderr
    assert TEST_KEY not in result.output
    verbose = screen_cli(source_file, "--cache-dir", tmp_path / "c", "--examples", EXAMPLES,
                         "--similarity", "lexical", "-v")
    assert verbose.exit_code == 0, verbose.output
    assert verbose.stdout.strip() == "C refuse"
    assert "example line 3 [B]" in verbose.stderr and "line 4: not JSON" in verbose.stderr


def test_cli_malformed_reply_is_b_with_a_note(standin: StandIn, source_file: Path,
                                              tmp_path: Path) -> None:
    standin.responder = lambda provider, body: "As an AI"
    result = screen_cli(source_file, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "B borderline" and "note:" in result.stderr


def test_cli_input_errors_exit_2(standin: StandIn, source_file: Path, tmp_path: Path) -> None:
    missing = screen_cli(source_file, "--examples", tmp_path / "none.jsonl",
                         "--cache-dir", tmp_path / "c")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert screen_cli(tmp_path / "absent.txt").exit_code == 2
    bad = screen_cli(source_file, "--similarity", "fuzzy", "--cache-dir", tmp_path / "c")
    assert bad.exit_code == 2 and "--similarity" in bad.stderr
    assert standin.calls(status=None) == 0
