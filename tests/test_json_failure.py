"""--json on a run that fails: stdout still holds a report a script can read (why it failed,
the exit code, what it spent), and stderr the one error line."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TEST_KEY, run_cli

from standin import StandIn
from test_summarize_e2e import planted_text


def test_a_failed_run_reports_json(standin: StandIn, tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text(planted_text())
    standin.fail_next(400, message=f"bad request; your key was {TEST_KEY}")
    result = run_cli("summarize", source, "--cache-dir", tmp_path / "cache", "--json",
                     "--chunk-tokens", "600")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["command"] == "summarize" and report["exit_code"] == 1
    assert "bad request" in report["error"] and TEST_KEY not in result.stdout
    assert report["status"] != "ok" and "stages" in report["ledger"]
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("ghost: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
