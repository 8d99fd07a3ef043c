"""`ghost run` never eats its own outputs: nothing under its outputs folder, and no file whose
front matter says `generator: "ghost"`, is an episode or a sample (an outputs folder in the
inbox used to grow the work 1 → 3 → 9 … runs; ghost's essays counted as the host's)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from ghost.ingest.samples import load_samples
from ghost.write.markdown import written_by_ghost
from standin import StandIn

EPISODE = REPO / "corpora" / "episode-042.txt"
ESSAYS = REPO / "corpora" / "my_essays"


def essay_to(out: Path, tmp_path: Path) -> None:
    result = run_cli("essay", "--samples", ESSAYS, "--transcript", EPISODE, "--cache-dir",
                     tmp_path / "cache", "--chunk-tokens", "700", "-o", out)
    assert result.exit_code == 0, result.output


def episode_text(fact: str) -> str:
    return "\n".join(f"00:{i:02d}:00 \n {'Segment talk about the usual ground. ' * 5}"
                     + (f"Planted fact {fact} here." if i == 3 else "") + "\n"
                     for i in range(8))


def run_workspace(tmp_path: Path, inbox: str, outputs: str, samples: Path) -> Path:
    (tmp_path / "episodes").mkdir()
    (tmp_path / "episodes" / "ep1.txt").write_text(episode_text("FACT-EP1"))
    config = tmp_path / "ghost.toml"
    config.write_text(f'[episodes]\ninbox = "{inbox}"\n[samples]\nfolder = "{samples}"\n'
                      f'[outputs]\nfolder = "{outputs}"\nmake = ["essay", "summary"]\n'
                      '[run]\nchunk_tokens = 200\n')
    return config


@pytest.mark.parametrize(("inbox", "outputs"), [("episodes", "episodes"),
                                                ("episodes/**/*", "episodes/out")])
def test_ghost_run_never_takes_its_outputs_for_episodes(standin: StandIn, tmp_path: Path,
                                                        inbox: str, outputs: str) -> None:
    config = run_workspace(tmp_path, inbox, outputs, ESSAYS)
    first = run_cli("run", "-c", config, "--json")
    assert first.exit_code == 0, first.output
    assert list(json.loads(first.stdout)["processed"]) == ["ep1.txt"]
    written = sorted(p.name for p in (tmp_path / outputs).iterdir() if p.name != "ep1.txt")
    assert written == ["ep1.essay.md", "ep1.essay.notes.md", "ep1.summary.md"]
    assert all(written_by_ghost(tmp_path / outputs / name) for name in written)
    calls = standin.calls(status=None)
    second = run_cli("run", "-c", config, "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["processed"] == {}
    assert standin.calls(status=None) == calls  # the second run makes no call


def test_files_under_an_outputs_folder_inside_the_inbox_are_not_episodes(
        tmp_path: Path) -> None:
    from ghost.workspace.config import load_config

    config = load_config(run_workspace(tmp_path, "episodes/**/*", "episodes/out", ESSAYS))
    (tmp_path / "episodes" / "out").mkdir()
    (tmp_path / "episodes" / "out" / "stray.txt").write_text(episode_text("FACT-X"))
    (tmp_path / "episodes" / "copied.md").write_text('---\ngenerator: "ghost"\n---\n\nHi')
    (tmp_path / "episodes" / "mine.md").write_text("---\ngenerator: me\n---\n\nHi")
    assert [p.name for p in config.episodes()] == ["ep1.txt", "mine.md"]


def test_ghost_run_never_takes_its_outputs_for_samples(standin: StandIn,
                                                       tmp_path: Path) -> None:
    samples = tmp_path / "essays"
    shutil.copytree(ESSAYS, samples)
    count = len(load_samples(samples)[0])
    config = run_workspace(tmp_path, "episodes", "essays", samples)  # outputs among samples
    assert run_cli("run", "-c", config).exit_code == 0
    (tmp_path / "episodes" / "ep2.txt").write_text(episode_text("FACT-EP2"))
    calls = len(standin.requests)
    assert run_cli("run", "-c", config).exit_code == 0
    essay_calls = [json.dumps(r.body) for r in standin.requests[calls:]
                   if "cache_control" in json.dumps(r.body)]
    assert essay_calls and all("FACT-EP1" not in body for body in essay_calls)
    loaded, skipped = load_samples(samples)
    assert len(loaded) == count  # ep1's essay, notes and summary are not the host's
    assert sorted(p.name for p, why in skipped if "written by ghost" in why) == [
        "ep1.essay.md", "ep1.essay.notes.md", "ep1.summary.md", "ep2.essay.md",
        "ep2.essay.notes.md", "ep2.summary.md"]


def test_an_outputs_folder_inside_the_samples_folder_is_left_out(tmp_path: Path) -> None:
    samples = tmp_path / "essays"
    shutil.copytree(ESSAYS, samples)
    (samples / "out").mkdir()
    (samples / "out" / "edited.md").write_text("# Edited\n\nA draft the host reworked.")
    loaded, _ = load_samples(samples, exclude=[samples / "out"])
    assert "edited.md" not in [s.path.name for s in loaded]
    assert "edited.md" in [s.path.name for s in load_samples(samples)[0]]
    same = load_samples(samples, exclude=[samples, tmp_path])[0]  # holds them: place can't tell
    assert len(same) == len(load_samples(samples)[0])


def test_essay_cli_skips_ghosts_own_essays_among_the_samples(standin: StandIn,
                                                             tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    essay_to(tmp_path / "out" / "ep42.md", tmp_path)
    notes = tmp_path / "out" / "ep42.notes.md"
    assert notes.read_text().startswith('---\ngenerator: "ghost"\n---\n\n# Notes for ')
    samples = tmp_path / "essays"
    shutil.copytree(ESSAYS, samples)
    shutil.copytree(tmp_path / "out", samples / "drafts")
    result = run_cli("essay", "--samples", samples, "--transcript", EPISODE, "--cache-dir",
                     tmp_path / "cache", "--chunk-tokens", "700", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "ep42.md: written by ghost" in result.stderr
    assert "ep42.notes.md: written by ghost" in result.stderr
