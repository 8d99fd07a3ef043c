"""Progress as a user sees it: a bar on a terminal, a line at each tenth in a pipe or a cron log."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from conftest import TEST_KEY, run_cli

from ghost.progress import Milestones
from standin import StandIn
from test_summarize_e2e import planted_text


def test_milestones_tell_each_tenth_and_the_ends() -> None:
    lines: list[str] = []
    tell = Milestones(lines.append, clock=lambda: 0.0)
    for done in range(1, 401):
        tell("map", done, 400)
    assert lines[0] == "map 1/400 (0%)" and lines[-1] == "map 400/400"
    assert lines[1:4] == ["map 40/400 (10%)", "map 80/400 (20%)", "map 120/400 (30%)"]
    assert len(lines) == 11
    lines.clear()
    for done in range(1, 4):
        tell("essay", done, 3)
    assert lines == ["essay 1/3 (33%)", "essay 2/3 (66%)", "essay 3/3"]


def test_a_restarted_stage_is_told_again() -> None:
    lines: list[str] = []
    tell = Milestones(lines.append)
    for total in (2, 2):
        for done in range(1, total + 1):
            tell("map", done, total)
    assert lines == ["map 1/2 (50%)", "map 2/2"] * 2


def test_a_piped_run_prints_progress_lines(standin: StandIn, tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text(planted_text())
    result = run_cli("summarize", source, "--cache-dir", tmp_path / "cache",
                     "--chunk-tokens", "600")
    assert result.exit_code == 0, result.output
    maps = standin.calls("anthropic", path="/v1/messages") - 1
    lines = [ln for ln in result.stderr.splitlines() if re.match(r"map \d+/\d+", ln)]
    assert lines[0] == f"map 1/{maps} ({100 // maps}%)"
    assert lines[-1] == f"map {maps}/{maps}"
    assert "map" not in result.stdout


def on_a_terminal(server: StandIn, *args: str) -> tuple[int, str, str]:
    """Run `ghost ARGS` with stderr on a pseudo-terminal: (exit code, what the terminal
    showed, stdout)."""
    leader, follower = pty.openpty()
    env = {**os.environ, **server.env(TEST_KEY), "COLUMNS": "100", "TERM": "xterm",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "ghost", *args], stdout=subprocess.PIPE,
                          stderr=follower, env=env, timeout=120, check=False, text=True)
    os.close(follower)
    seen = b""
    try:
        while chunk := os.read(leader, 65536):
            seen += chunk
    except OSError:
        pass  # the terminal closed
    os.close(leader)
    return proc.returncode, seen.decode("utf-8", "replace"), proc.stdout


def test_a_terminal_gets_a_bar(standin: StandIn, tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text(planted_text())
    code, screen, stdout = on_a_terminal(standin, "summarize", str(source), "--cache-dir",
                                         str(tmp_path / "cache"), "--chunk-tokens", "600")
    assert code == 0
    assert "map" in screen and "━" in screen  # rich's bar
    assert "map 1/" not in screen  # no pipe-style lines on a terminal
    assert stdout.strip()  # the summary itself went to stdout


def test_ghost_run_logs_progress_for_cron(standin: StandIn, tmp_path: Path) -> None:
    from test_run_workspace import ghost_run, workspace

    result = ghost_run(workspace(tmp_path))
    assert result.exit_code == 0, result.output
    log = (tmp_path / ".ghost" / "ghost.log").read_text().splitlines()
    progress = [ln for ln in log if re.search(r"ep1\.txt map \d+/\d+", ln)]
    assert progress and re.search(r"map (\d+)/\1$", progress[-1])


def stage_lines(stderr: str) -> dict[str, list[str]]:
    """Progress lines ("stage done/total ...") by stage."""
    found: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        match = re.match(r"(\w[\w ]*?) (\d+)/(\d+)( \(\d+%\))?(, \d+s)?$", line)
        if match:
            found.setdefault(match.group(1), []).append(line)
    return found


def test_a_piped_profile_shows_every_stage(standin: StandIn, tmp_path: Path) -> None:
    from test_profile_e2e import profile

    result = profile(tmp_path, "-o", tmp_path / "profile.md")
    assert result.exit_code == 0, result.output
    stages = stage_lines(result.stderr)
    for stage in ("indexing MB", "triage", "map", "reduce"):
        assert stage in stages, (stage, sorted(stages))
    assert stages["reduce"] == ["reduce 0/1 (0%)", "reduce 1/1"]  # the final call, told twice


def test_condensing_shows_its_progress(tmp_path: Path) -> None:
    from conftest import FAKE

    from ghost.jobs.runner import Hooks, JobRun
    from ghost.jobs.summarize import SummarizeJob
    from ghost.options import RunOptions
    from test_jobs import episode

    small = tmp_path / "models.toml"
    small.write_text('[models."fake:small"]\ncontext = 7800\nmax_output = 2000\n'
                     'input = 5.0\noutput = 25.0\n')
    path = episode(tmp_path / "ep.txt", "FACT-LONG " + "detail " * 60, minutes=40)
    FAKE.responders["fake:cheap"] = lambda request: (
        "- condensed [00:00:00]" if request.stage == "collapse" else None)
    told: list[tuple[str, int, int]] = []
    opts = RunOptions(cache_dir=tmp_path / "cache", map_model="fake:cheap",
                      reduce_model="fake:small", models_file=str(small), chunk_tokens=800)
    JobRun(SummarizeJob([path]), opts,
           Hooks(progress=lambda *args: told.append(args))).execute()
    stages = {stage for stage, _, _ in told}
    assert {"map", "collapse", "reduce"} <= stages
    collapse = [(done, total) for stage, done, total in told if stage == "collapse"]
    assert collapse[-1][0] == collapse[-1][1]  # every condensing call told


def test_a_terminal_gets_bars_for_indexing_and_triage(standin: StandIn, tmp_path: Path) -> None:
    from test_profile_e2e import OWNER, mailbox

    code, screen, _ = on_a_terminal(standin, "profile", "--mbox",
                                    str(mailbox(tmp_path / "inbox.mbox")), "--owner", OWNER,
                                    "--cache-dir", str(tmp_path / "cache"), "-o",
                                    str(tmp_path / "p.md"))
    assert code == 0
    for stage in ("indexing MB", "triage", "map", "reduce"):
        assert stage in screen, stage
    assert "━" in screen and "triage 1/" not in screen


def test_indexing_a_grown_mailbox_counts_only_its_new_part(tmp_path: Path) -> None:
    from test_profile_e2e import message

    def messages(first: int, count: int) -> str:
        body = "A long line of ordinary mail text, repeated to make the box weigh. " * 150
        return "".join(message(f"m{i}@example.org", "Ann <ann@example.org>", f"Note {i}",
                               body, "Mon, 03 Feb 2025 09:00:00 +0000")
                       for i in range(first, first + count))

    box = tmp_path / "inbox.mbox"
    box.write_text(messages(0, 600))  # ~6 MB
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = run_cli("mail", "index", box, *cache)
    assert first.exit_code == 0, first.output
    with box.open("a") as out:
        out.write(messages(600, 200))  # ~2 MB more
    grown = run_cli("mail", "index", box, *cache)
    assert grown.exit_code == 0, grown.output
    totals = {int(m) for m in re.findall(r"indexing MB \d+/(\d+)", first.stderr)}
    assert totals == {6}, first.stderr
    assert set(re.findall(r"indexing MB \d+/(\d+)", grown.stderr)) == {"2"}, grown.stderr
