"""`ghost --help` and every `ghost <cmd> --help` stay fast: no SDK or langchain import."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("anthropic", "openai", "langchain_text_splitters", "llama_cpp", "tiktoken")
COMMANDS = ["", "summarize", "essay", "style-check", "profile", "mail", "mail index",
            "mail search", "dialogue", "screen", "init", "run", "status", "cache", "cache info"]

PROBE = """
import sys
from ghost.cli import main
sys.argv = ["ghost", *sys.argv[1:], "--help"]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("command", COMMANDS)
def test_help_imports_no_heavy_module(command: str) -> None:
    probe = PROBE.replace("{heavy!r}", repr(set(HEAVY)))
    done = subprocess.run([sys.executable, "-c", probe, *command.split()], capture_output=True,
                          text=True, timeout=60)
    assert "Usage" in done.stdout, done.stdout + done.stderr
    line = [x for x in done.stderr.splitlines() if x.startswith("HEAVY:")][-1]
    assert line == "HEAVY:", f"`ghost {command} --help` imported {line[6:]}"
