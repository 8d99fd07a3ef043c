"""Impostor texts for the style check, as a user sets them: `ghost essay --impostors DIR` and
ghost.toml's `[samples] impostors`; errors name the setting, never the samples folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from ghost.errors import InputError
from ghost.ingest.samples import load_impostors, load_samples
from standin import StandIn
from test_essay_e2e import CORPUS_SAMPLES, run_essay
from test_run_workspace import write_episode


def test_a_missing_impostors_folder_is_one_line_naming_the_option(standin: StandIn,
                                                                   tmp_path: Path) -> None:
    result = run_essay(CORPUS_SAMPLES, REPO / "corpora" / "episode-042.txt", tmp_path,
                       "--impostors", tmp_path / "nope")
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert "--impostors (other writers' texts)" in line and "nope: no such folder" in line
    assert "past essays" not in line and standin.calls(status=None) == 0


def test_impostors_drop_the_author_s_own_texts_and_name_the_setting(tmp_path: Path) -> None:
    samples, _ = load_samples(CORPUS_SAMPLES)
    others = tmp_path / "others"
    others.mkdir()
    (others / "mine.md").write_text(samples[0].text)  # the author's own essay, copied in
    (others / "theirs.md").write_text("Another writer entirely, on another subject. " * 20)
    assert load_impostors(others, called="--impostors", samples=samples) == (
        (others / "theirs.md").read_text().strip(),)
    (others / "theirs.md").unlink()
    with pytest.raises(InputError, match="every text there is also among the samples"):
        load_impostors(others, called="--impostors", samples=samples)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as caught:
        load_impostors(tmp_path / "empty", called="ghost.toml [samples] impostors")
    assert str(caught.value).startswith("ghost.toml [samples] impostors (other writers' texts): ")
    assert "no usable style samples" in str(caught.value)


def workspace(tmp_path: Path, make: str, impostors: str) -> Path:
    essays = tmp_path / "essays"
    shutil.copytree(CORPUS_SAMPLES, essays)
    (tmp_path / "episodes").mkdir()
    write_episode(tmp_path / "episodes" / "ep1.txt", "FACT-EP1")
    config = tmp_path / "ghost.toml"
    config.write_text(f'[episodes]\ninbox = "episodes"\n[samples]\nfolder = "essays"\n'
                      f'impostors = "{impostors}"\n[outputs]\nfolder = "out"\nmake = {make}\n'
                      '[run]\nchunk_tokens = 200\n')
    return config


def test_a_run_that_makes_no_essay_never_reads_the_impostors(standin: StandIn,
                                                             tmp_path: Path) -> None:
    result = run_cli("run", "-c", workspace(tmp_path, '["summary"]', "missing"))
    assert result.exit_code == 0, result.output


def test_an_impostors_folder_inside_the_samples_is_not_read_as_the_author_s(
        standin: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, '["essay"]', "essays/others")
    others = tmp_path / "essays" / "others"
    others.mkdir()
    for n in range(3):
        (others / f"other-{n}.md").write_text(f"Another writer, text {n}. " * 60)
    result = run_cli("run", "-c", config)
    assert result.exit_code == 0, result.output
    essay = (tmp_path / "out" / "ep1.essay.md").read_text()
    assert "samples_used: 12" in essay  # the host's 12 essays, not 15
