"""Bad input fails up front: one line on stderr, exit 2, no traceback, no model call.

Every case runs with the stand-in up and keys set, so a value that slipped through would
reach a (stand-in) provider; each test asserts that nothing did."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import typer
from conftest import REPO, run_cli
from typer.testing import Result

from ghost.errors import GhostError, InputError
from standin import StandIn

EPISODE = REPO / "corpora" / "episode-042.txt"
ESSAYS = REPO / "corpora" / "my_essays"
CLAUDE, GPT = "anthropic:claude-haiku-4-5", "openai:gpt-4o-mini"


def command(name: str, cache: Path) -> list[str | Path]:
    """A complete, valid invocation of `name` (without -o) that would make model calls."""
    return {
        "summarize": ["summarize", EPISODE],
        "essay": ["essay", "--samples", ESSAYS, "--transcript", EPISODE],
        "profile": ["profile", "--mbox", cache.parent / "no-such.mbox"],
        "dialogue": ["dialogue", "--a", CLAUDE, "--b", GPT, "--prompt", "Hello there."],
        "screen": ["screen", EPISODE],
    }[name] + ["--cache-dir", cache]


def assert_one_line_error(result: Result, *fragments: str, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ghost: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""
    return lines[0]


# --- numbers: (command, bad option and value, what the one line must say) ---

BAD_NUMBERS = [
    ("summarize", ["--chunk-tokens", "0"], ["--chunk-tokens", "at least 100", "map instructions"]),
    ("summarize", ["--chunk-tokens", "-5"], ["--chunk-tokens", "got -5"]),
    ("summarize", ["--chunk-tokens", "99"], ["--chunk-tokens", "at least 100"]),
    ("summarize", ["--words", "0"], ["--words must be at least 1, got 0"]),
    ("summarize", ["--words", "-3"], ["--words", "got -3"]),
    ("summarize", ["--concurrency", "0"], ["--concurrency must be at least 1"]),
    ("summarize", ["--concurrency", "-4"], ["--concurrency"]),
    ("summarize", ["--patience", "-1"], ["--patience must be 0 or more seconds"]),
    ("summarize", ["--patience", "nan"], ["--patience", "nan"]),
    ("summarize", ["--budget", "0"], ["--budget must be a positive number"]),
    ("summarize", ["--budget", "-2.5"], ["--budget", "got -2.5"]),
    ("essay", ["--words", "0"], ["--words must be at least 1"]),
    ("essay", ["--samples-budget", "0"], ["--samples-budget must be at least 1"]),
    ("essay", ["--samples-budget", "-100"], ["--samples-budget"]),
    ("essay", ["--chunk-tokens", "-1"], ["--chunk-tokens"]),
    ("essay", ["--concurrency", "0"], ["--concurrency"]),
    ("profile", ["--words", "-1"], ["--words must be at least 1"]),
    ("profile", ["--max-threads", "0"], ["--max-threads must be at least 1"]),
    ("profile", ["--patience", "-1"], ["--patience"]),
    ("dialogue", ["--turns", "0"], ["--turns must be at least 1"]),
    ("dialogue", ["--turns", "-2"], ["--turns"]),
    ("dialogue", ["--max-tokens", "0"], ["--max-tokens must be at least 1"]),
    ("dialogue", ["--temperature", "-0.5"], ["--temperature must be between 0 and 2"]),
    ("dialogue", ["--temperature", "3"], ["--temperature", "got 3"]),
    ("dialogue", ["--budget", "-1"], ["--budget"]),
    ("dialogue", ["--patience", "-1"], ["--patience"]),
    ("screen", ["--top-k", "-1"], ["--top-k must be at least 0"]),
    ("screen", ["--budget", "0"], ["--budget"]),
    ("screen", ["--patience", "-5"], ["--patience"]),
]


@pytest.mark.parametrize("name, bad, fragments", BAD_NUMBERS,
                         ids=[f"{n}{''.join(b)}" for n, b, _ in BAD_NUMBERS])
def test_bad_number_is_one_line_exit_2_before_any_call(
        standin: StandIn, tmp_path: Path, name: str, bad: list[str],
        fragments: list[str]) -> None:
    out = tmp_path / "out.md"
    args = command(name, tmp_path / "cache") + bad
    if name != "screen":
        args += ["-o", out]
    assert_one_line_error(run_cli(*args), *fragments)
    assert standin.calls(status=None) == 0
    assert not out.exists()


def test_bad_number_without_a_provider_too(tmp_path: Path) -> None:
    """No key, no server: the number is still what is reported (not the missing key)."""
    result = run_cli("summarize", EPISODE, "--cache-dir", tmp_path / "c", "--chunk-tokens", "0")
    assert_one_line_error(result, "--chunk-tokens")
    assert_one_line_error(run_cli("mail", "search", "x", "--limit", "0",
                                  "--cache-dir", tmp_path / "c"), "--limit must be at least 1")


@pytest.mark.parametrize("value", ["100", "4000"])
def test_sensible_numbers_still_pass(tmp_path: Path, value: str) -> None:
    result = run_cli("summarize", EPISODE, "--dry-run", "--chunk-tokens", value,
                     "--words", "1", "--patience", "0", "--concurrency", "1", "--budget", "5",
                     "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output


def test_run_options_refuse_unusable_numbers() -> None:
    from ghost.options import MIN_CHUNK_TOKENS, RunOptions

    assert RunOptions(chunk_tokens=MIN_CHUNK_TOKENS).chunk_tokens == MIN_CHUNK_TOKENS
    for bad in ({"chunk_tokens": 0}, {"concurrency": 0}, {"patience": -1.0},
                {"budget": 0.0}, {"budget": float("nan")}):
        with pytest.raises(InputError):
            RunOptions(**bad)


# --- -o: checked before anything is paid for ---

def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root can write to a read-only folder in-process; "
                    "test_unprivileged_outputs.py checks this case as root too")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    return folder / "out.md"


BAD_OUTPUTS = {
    # case: (target for -o, what the one line must say)
    "existing-folder": (lambda t: t, "is a folder"),
    "missing-folder": (lambda t: t / "nonexistent-dir" / "out.md", "does not exist"),
    "parent-is-a-file": (lambda t: t / "source.txt" / "out.md", "is not a folder"),
    "proc": (lambda t: Path("/proc/x"), "cannot write /proc/x"),
    "sys": (lambda t: Path("/sys/x"), "cannot write /sys/x"),
    "device": (lambda t: Path("/dev/null"), "is not a regular file"),
    "read-only-folder": (_unwritable_folder, "cannot write"),
}


@pytest.mark.parametrize("name", ["summarize", "essay", "profile", "dialogue"])
@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
def test_bad_output_path_fails_before_any_call(standin: StandIn, tmp_path: Path, name: str,
                                               case: str) -> None:
    (tmp_path / "source.txt").write_text("not a folder\n")
    make, fragment = BAD_OUTPUTS[case]
    target = make(tmp_path)
    if not target.parent.exists() and case in ("proc", "sys", "device"):
        pytest.skip(f"{target.parent} is not on this system")
    ours = target.parent.is_dir() and target.parent.is_relative_to(tmp_path)
    before = sorted(os.listdir(target.parent)) if ours else None
    line = assert_one_line_error(run_cli(*command(name, tmp_path / "cache"), "-o", target),
                                 fragment)
    assert str(target) in line
    assert standin.calls(status=None) == 0
    if before is not None:  # the write probe left nothing behind
        assert sorted(os.listdir(target.parent)) == before


def test_essay_notes_path_is_checked_too(standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / "essay.notes.md").mkdir()  # the essay itself could be written; its notes not
    result = run_cli(*command("essay", tmp_path / "cache"), "-o", tmp_path / "essay.md")
    assert_one_line_error(result, "essay.notes.md", "is a folder")
    assert standin.calls(status=None) == 0 and not (tmp_path / "essay.md").exists()


def test_good_output_path_leaves_no_probe_behind(tmp_path: Path) -> None:
    out = tmp_path / "plan.md"
    result = run_cli("summarize", EPISODE, "--dry-run", "-o", out, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # dry run: no cache, no probe


def test_write_failing_after_the_run_is_one_line(standin: StandIn, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure only the real write meets (disk full) is still one line, exit 1."""
    import ghost.write.atomic as atomic

    real_replace = os.replace

    def full_disk(src: str, dst: str) -> None:
        if str(dst).endswith("out.md"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", full_disk)
    out = tmp_path / "out.md"
    result = run_cli("summarize", EPISODE, "--cache-dir", tmp_path / "cache", "-o", out)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stdout + result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("ghost:")]
    assert errors == [f"ghost: error: cannot write {out}: No space left on device"]
    assert not out.exists() and not list(tmp_path.glob(".out.md.*"))


# --- the error edge: OS errors the core let through ---

@pytest.mark.parametrize("exc, code, line", [
    (PermissionError(errno.EACCES, "Permission denied", "/proc/x"), 2,
     "ghost: error: /proc/x: Permission denied"),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "out"), 2,
     "ghost: error: out: Is a directory"),
    (OSError(errno.ENOSPC, "No space left on device", "/tmp/a", None, "/tmp/b"), 1,
     "ghost: error: /tmp/a -> /tmp/b: No space left on device"),
    (OSError("socket closed"), 1, "ghost: error: socket closed"),
    (InputError("bad input"), 2, "ghost: error: bad input"),
])
def test_cli_errors_turns_os_errors_into_one_line(capsys: pytest.CaptureFixture[str],
                                                  exc: Exception, code: int,
                                                  line: str) -> None:
    from ghost.cli.common import cli_errors

    with pytest.raises(typer.Exit) as exit_info, cli_errors(0):
        raise exc
    assert exit_info.value.exit_code == code
    assert capsys.readouterr().err == line + "\n"


def test_write_text_atomic_names_the_target(tmp_path: Path) -> None:
    from ghost.write.atomic import write_text_atomic

    with pytest.raises(InputError, match="it is a folder"):
        write_text_atomic(tmp_path, "x")
    with pytest.raises(InputError, match="does not exist"):
        write_text_atomic(tmp_path / "missing" / "out.md", "x")
    if Path("/proc").is_dir():
        with pytest.raises(GhostError, match=r"^cannot write /proc/x: "):
            write_text_atomic("/proc/x", "x")
    assert list(tmp_path.iterdir()) == []
