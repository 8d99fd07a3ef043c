"""Every documented example runs, from one table (as typer tests every documented example).

The examples are read, not copied: the `Examples:` / `Example:` block of every command's
`--help` (commands found in typer's click tree) and the `ghost …` lines of README.md's ```sh
fences, with `\\` continuations joined and a trailing `# comment` dropped. Each must have a
row in examples_table.TABLE, keyed by that exact text, which says how it runs — DRY (with
`--dry-run` appended: no key, no call), STANDIN (as documented, against the loopback
stand-in) or LOCAL (as documented, no key: the command calls no model) — in a temp working
folder holding corpora/ and the inputs the examples name, and what it must produce.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from examples_table import DRY, STANDIN, TABLE, Row, Run
from examples_workdir import REPO, workdir


def without_comment(line: str) -> str:
    """The line up to a shell `#` comment (a `#` after a blank, outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def logical_lines(lines: list[str]) -> list[str]:
    """Join `\\` continuations, drop a trailing `# comment`, collapse runs of blanks."""
    out, buf = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1].strip() + " "
            continue
        out.append(buf + line.strip())
        buf = ""
    return [" ".join(without_comment(x).split()) for x in out if x]


def examples_in_help(text: str) -> list[str]:
    """The `ghost …` lines of the indented block under `Examples:` / `Example:`."""
    lines, found = text.splitlines(), []
    for i, line in enumerate(lines):
        if line.strip() not in ("Examples:", "Example:"):
            continue
        indent, block = len(line) - len(line.lstrip()), []
        for nxt in lines[i + 1:]:
            if not nxt.strip() or len(nxt) - len(nxt.lstrip()) <= indent:
                break
            block.append(nxt)
        found += [x for x in logical_lines(block) if x.startswith("ghost ")]
    return found


def command_paths() -> list[tuple[str, ...]]:
    """Every leaf command of the CLI, from typer's click tree (a new command is seen)."""
    import typer

    from ghost.cli import app

    def walk(cmd: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            return [path]
        return [p for name in sorted(subs) for p in walk(subs[name], (*path, name))]

    return walk(typer.main.get_command(app), ())


def help_examples() -> dict[str, str]:
    """Example → the `ghost … --help` that shows it."""
    found: dict[str, str] = {}
    for path in command_paths():
        result = run_cli(*path, "--help")
        assert result.exit_code == 0, result.output
        for ex in examples_in_help(result.stdout):
            found.setdefault(ex, f"ghost {' '.join(path)} --help")
    return found


def readme_examples() -> dict[str, str]:
    """`ghost …` lines of README's sh fences (and the `ghost …` after `pip … &&`)."""
    found: dict[str, str] = {}
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for fence in re.findall(r"^```sh\n(.*?)^```", text, flags=re.M | re.S):
        for line in logical_lines(fence.splitlines()):
            at = 0 if line.startswith("ghost ") else line.find("&& ghost ") + 3
            if at >= 0 and line[at:].startswith("ghost "):
                found.setdefault(line[at:], "README.md")
    return found


def documented() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for source in (help_examples(), readme_examples()):
        for ex, where in source.items():
            found.setdefault(ex, []).append(where)
    return found


def steps(example: str, row: Row) -> list[list[str]]:
    """The CLI argv of each `ghost` command in the example (after the row's substitutions)."""
    for old, new in row.subs:
        assert old in example, f"substitution {old!r} is no longer in {example!r}"
        example = example.replace(old, new)
    commands: list[list[str]] = [[]]
    for token in shlex.split(example):
        if token == "&&":
            commands.append([])
        else:
            commands[-1].append(token)
    assert all(c[:1] == ["ghost"] for c in commands), f"not only ghost commands: {example}"
    if row.mode == DRY and "--dry-run" not in commands[-1]:
        commands[-1].append("--dry-run")
    return [c[1:] for c in commands]


def readable_id(example: str) -> str:
    return re.sub(r"[^\w./:@~$&=-]+", " ", example.removeprefix("ghost ")).strip()


def param(example: str) -> Any:
    row = TABLE[example]
    marks = [pytest.mark.xfail(strict=True, reason=row.xfail)] if row.xfail else []
    return pytest.param(example, marks=marks, id=f"{row.mode}: {readable_id(example)}")


@pytest.mark.parametrize("example", [param(e) for e in TABLE])
def test_example(example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 request: pytest.FixtureRequest) -> None:
    row = TABLE[example]
    workdir(tmp_path)
    monkeypatch.chdir(tmp_path)
    run = Run(tmp_path, request.getfixturevalue("standin") if row.mode == STANDIN else None)
    if row.setup:
        row.setup(run)
    for argv in steps(example, row):
        result = run_cli(*argv)
        run.results.append(result)
        assert result.exit_code == row.code, (
            f"ghost {shlex.join(argv)}: exit {result.exit_code}, documented {row.code}\n"
            f"{result.output}")
    for check in row.checks:
        check(run)


def test_every_example_has_a_row_and_every_row_an_example() -> None:
    docs = documented()
    missing = {ex: where for ex, where in docs.items() if ex not in TABLE}
    stale = [ex for ex in TABLE if ex not in docs]
    assert not missing and not stale, (
        "documented examples without a row in tests/examples_table.py TABLE:\n"
        + "".join(f"  {ex!r}  ({', '.join(where)})\n" for ex, where in missing.items())
        + "rows whose example is no longer documented (update or drop them):\n"
        + "".join(f"  {ex!r}\n" for ex in stale))


def test_extraction_sees_every_command_and_the_readme() -> None:
    helps = set(help_examples().values())
    assert {f"ghost {' '.join(p)} --help" for p in command_paths()} == helps, (
        "a command has no `Examples:` block in its --help")
    assert len(readme_examples()) > 10


def test_extraction_joins_continuations_and_drops_comments() -> None:
    text = "  Examples:\n    ghost a \\\n        --b 'x # y'   # note\n    ghost c\n\n  More."
    assert examples_in_help(text) == ["ghost a --b 'x # y'", "ghost c"]
