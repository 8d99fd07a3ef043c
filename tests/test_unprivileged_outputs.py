"""`-o` into a folder we may not write fails before any call, for real also under root: the
folder belongs to another user with no write bit, and ghost runs as a process the permissions
apply to (tests/unprivileged.py). The in-process variant in test_cli_validation skips as root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from standin import StandIn
from test_cli_validation import command
from unprivileged import ghost_cli, read_only, writable


@pytest.mark.parametrize("name", ["summarize", "essay", "profile", "dialogue"])
def test_a_read_only_output_folder_fails_before_any_call(standin: StandIn, tmp_path: Path,
                                                         name: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "kept.md").write_text("someone else's\n")
    target = locked / "out.md"
    read_only(locked)
    try:
        done = ghost_cli([*command(name, tmp_path / "cache"), "-o", target])
        after = sorted(os.listdir(locked))
    finally:
        writable(locked)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ghost: error: cannot write"), done.stderr
    assert str(target) in lines[0]
    assert standin.calls(status=None) == 0
    assert after == ["kept.md"]  # the write probe left nothing behind
