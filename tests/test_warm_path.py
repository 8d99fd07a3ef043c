"""A warm re-run costs about a dry run: every answer comes from ghost's cache, so no SDK is
loaded (over a second of imports) and no connection is made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import TEST_KEY

from standin import StandIn
from test_summarize_e2e import planted_text

PROBE = """
import sys
from ghost.cli import main
sys.argv = ["ghost", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    code = done.code
print("SDKS:", sorted(m for m in ("anthropic", "openai") if m in sys.modules), file=sys.stderr)
sys.exit(code)
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_a_warm_rerun_loads_no_sdk(standin: StandIn, tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text(planted_text())
    env = {**os.environ, **standin.env(TEST_KEY), "PYTHONPATH": os.pathsep.join(sys.path)}
    args = ["summarize", str(source), "--cache-dir", str(tmp_path / "cache"),
            "--chunk-tokens", "600", "--map-model", "openai:gpt-4o-mini"]
    cold = run(args, env)
    assert cold.returncode == 0, cold.stderr
    assert "SDKS: ['anthropic', 'openai']" in cold.stderr
    calls = len(standin.requests)
    warm = run(args, env)
    assert warm.returncode == 0, warm.stderr
    assert "SDKS: []" in warm.stderr
    assert len(standin.requests) == calls
    assert warm.stdout == cold.stdout
