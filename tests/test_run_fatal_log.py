"""`ghost run` from cron: an error that ends the run is one line in .ghost/ghost.log too, not
only on a stderr nobody reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from standin import StandIn
from test_run_workspace import ghost_run, held_lock, workspace


def log_lines(tmp_path: Path) -> list[str]:
    path = tmp_path / ".ghost" / "ghost.log"
    return path.read_text().splitlines() if path.exists() else []


def test_a_config_error_is_logged(tmp_path: Path) -> None:
    config = workspace(tmp_path, extra="concurrency_typo = 3")
    (tmp_path / ".ghost").mkdir()  # an earlier run made it
    result = ghost_run(config)
    assert result.exit_code == 2
    lines = log_lines(tmp_path)
    assert len(lines) == 1 and " error: " in lines[0], lines
    assert lines[0].split(" error: ", 1)[1] in result.stderr


def test_a_held_lock_is_logged(standin: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]')
    state_dir = tmp_path / ".ghost"
    state_dir.mkdir()
    with held_lock(state_dir):
        result = ghost_run(config)
        assert result.exit_code == 75
    lines = [line for line in log_lines(tmp_path) if " error: " in line]
    assert len(lines) == 1 and "holds" in lines[0]


def test_an_unexpected_error_is_logged(standin: StandIn, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import ghost.workspace.run

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("state file\nwent missing")

    monkeypatch.setattr(ghost.workspace.run, "run_workspace", broken)
    config = workspace(tmp_path, make='["summary"]')
    result = ghost_run(config)
    assert result.exit_code != 0
    lines = [line for line in log_lines(tmp_path) if " error: " in line]
    assert len(lines) == 1
    assert "unexpected: RuntimeError: state file went missing" in lines[0]


def test_rejected_credentials_stop_ghost_run_once(standin, tmp_path: Path) -> None:
    import json

    from test_run_workspace import write_episode

    config = workspace(tmp_path, make='["summary"]')
    write_episode(tmp_path / "episodes" / "ep2.txt", "FACT-EP2")
    standin.fail_next(401, count=1000)
    result = ghost_run(config)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("ghost: error:")]
    assert len(errors) == 1 and "rejected the credentials (HTTP 401)" in errors[0]
    assert "ANTHROPIC_API_KEY" in errors[0]
    calls = standin.calls(status=None)
    assert 1 <= calls <= 4  # one episode's calls in flight, not every episode's in turn
    state = json.loads((tmp_path / ".ghost" / "state.json").read_text())
    assert list(state["episodes"]) == ["ep1.txt"]  # ep2 was never started
    assert "rejected the credentials" in (tmp_path / ".ghost" / "ghost.log").read_text()
