"""ghost style-check: the command over the stylometric scorer (no model calls)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import REPO, run_cli, shared_path

CORPUS = REPO / "corpora" / "my_essays"


def test_own_essay_sounds_like_the_author_and_federalist_does_not(tmp_path: Path) -> None:
    essays = sorted(CORPUS.glob("*.md"))
    held_out = essays[-1]
    samples = tmp_path / "samples"
    samples.mkdir()
    for essay in essays[:-1]:
        shutil.copy(essay, samples)
    own = run_cli("style-check", held_out, "--samples", samples, "--json")
    assert own.exit_code == 0, own.output
    assert json.loads(own.stdout)["verdict"] == "sounds like the author"
    jay = shared_path("data", "essays", "federalist", "jay", "federalist-02.txt")
    other = run_cli("style-check", jay, "--samples", samples, "--strict")
    assert other.exit_code == 1 and "does not sound like the author" in other.stdout


def test_cliches_are_named_and_impostors_are_read_from_a_folder(tmp_path: Path) -> None:
    essays = sorted(CORPUS.glob("*.md"))
    samples = tmp_path / "samples"
    samples.mkdir()
    for essay in essays[:-1]:
        shutil.copy(essay, samples)
    draft = tmp_path / "draft.md"
    text = essays[-1].read_text()
    draft.write_text(text.replace("\n\n", "\n\nIt's important to note that we delve into a "
                                  "rich tapestry here.\n\n", 1))
    result = run_cli("style-check", draft, "--samples", samples, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] != "sounds like the author"
    assert report["cliches"] == ["It's important to note", "delve", "tapestry"]
    plain = run_cli("style-check", draft, "--samples", samples)
    assert '"tapestry"' in plain.stdout
    # impostors: Madison's papers given as other writers; a Madison paper scored as Hamilton's
    hamilton = shared_path("data", "essays", "federalist", "hamilton")
    madison = sorted(shared_path("data", "essays", "federalist", "madison").glob("*.txt"))
    others = tmp_path / "others"
    others.mkdir()
    for paper in madison[1:]:
        shutil.copy(paper, others)
    flagged = run_cli("style-check", madison[0], "--samples", hamilton, "--impostors", others,
                      "--json", "--strict")
    assert flagged.exit_code == 1
    assert json.loads(flagged.stdout)["nearer_impostors"] is True
    missing = run_cli("style-check", draft, "--samples", samples, "--impostors",
                      tmp_path / "none")
    assert missing.exit_code == 2 and "no such folder" in missing.stderr


def test_too_short_draft_gets_no_verdict(tmp_path: Path) -> None:
    draft = tmp_path / "d.md"
    draft.write_text("---\ntitle: x\n---\nA short note about pricing — and a question?\n")
    result = run_cli("style-check", draft, "--samples", CORPUS, "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["verdict"] == "unknown" and any("too short" in n for n in report["notes"])


def test_missing_draft_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("style-check", tmp_path / "nope.md", "--samples", CORPUS)
    assert result.exit_code == 2 and "no such file" in result.stderr
