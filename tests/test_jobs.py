"""The job runner, driven with the `fake:` provider: several sources in one job, what a run
keeps when it fails, a provider and a source kind added from outside the package."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import FAKE, run_cli

from ghost.cite import CitationForm, check_citations, register_form
from ghost.errors import InputError, ModelCallError
from ghost.jobs.runner import JobRun
from ghost.jobs.summarize import SummarizeJob
from ghost.options import RunOptions
from ghost.sources import (
    Reading,
    Source,
    SourceKind,
    load_source,
    register_kind,
    source_title,
)

FAKE_MODELS = {"map_model": "fake:cheap", "reduce_model": "fake:strong"}


def episode(path: Path, fact: str, minutes: int = 3) -> Path:
    blocks = [f"00:{m:02d}:00\nHost: minute {m} of this show. {fact}-{m} is said here.\n"
              for m in range(minutes)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def options(tmp_path: Path, **extra: object) -> RunOptions:
    return RunOptions(cache_dir=tmp_path / "cache", **FAKE_MODELS, **extra)  # type: ignore[arg-type]


def test_one_job_reads_several_episodes(tmp_path: Path) -> None:
    first = episode(tmp_path / "ep1.txt", "FACT-ONE")
    second = episode(tmp_path / "ep2.txt", "FACT-TWO")
    run = JobRun(SummarizeJob([first, second], words=200), options(tmp_path))
    result = run.execute(tmp_path / "newsletter.md")

    assert run.status == "ok"
    assert result.plan.source["source"] == [str(first), str(second)]
    assert result.notes.mapped == 2 and result.notes.dropped == 0
    reduce_prompt = FAKE.models["fake:strong"].history[-1].messages[-1].text
    # each episode's notes reach the strong model, labelled with the episode they came from
    assert "[ep1 00:00:00" in reduce_prompt and "[ep2 00:00:00" in reduce_prompt
    assert "FACT-ONE-2" in reduce_prompt and "FACT-TWO-2" in reduce_prompt
    written = (tmp_path / "newsletter.md").read_text()
    assert "FACT-ONE-0" in written and "FACT-TWO-0" in written
    assert '"source": ' not in written and str(second) in written  # both sources in the front
    manifest = json.loads(run.manifest.read_text()) if run.manifest else {}
    assert [i["path"] for i in manifest["inputs"]] == [str(first), str(second)]


def test_each_episode_s_notes_are_checked_against_its_own_timestamps(tmp_path: Path) -> None:
    short = episode(tmp_path / "short.txt", "FACT-S", minutes=1)
    long = episode(tmp_path / "long.txt", "FACT-L", minutes=3)

    def cite_minute_two(request):  # type: ignore[no-untyped-def]
        facts = [ln.strip() for ln in request.messages[-1].text.splitlines() if "FACT-" in ln]
        return "\n".join(f"- {fact} [00:02:00]" for fact in facts)

    FAKE.responders["fake:cheap"] = cite_minute_two
    result = JobRun(SummarizeJob([short, long]), options(tmp_path)).execute()
    assert result.notes.citations.unknown == ["00:02:00"]  # only long.txt has a minute 2
    by_source = {n.label.split()[0]: n.text for n in result.notes.notes}
    assert "00:02:00" not in by_source["short"] and "[00:02:00]" in by_source["long"]


def test_a_failed_run_keeps_its_ledger_status_and_manifest(tmp_path: Path) -> None:
    path = episode(tmp_path / "ep.txt", "FACT-X")
    run = JobRun(SummarizeJob([path]), options(tmp_path))
    FAKE.responders["fake:strong"] = lambda request: ModelCallError("the strong model refused")
    with pytest.raises(ModelCallError):
        run.execute(tmp_path / "out.md")
    assert run.status == "failed" and run.result is None
    assert run.ledger.stages["map"].calls == 1  # what the failed run paid for is still known
    assert run.manifest is not None and json.loads(run.manifest.read_text())["status"] == "failed"
    assert not (tmp_path / "out.md").exists()  # no half-written output


def test_a_dry_run_plans_and_writes_nothing(tmp_path: Path) -> None:
    path = episode(tmp_path / "ep.txt", "FACT-D")
    run = JobRun(SummarizeJob([path]), options(tmp_path, dry_run=True))
    result = run.execute(tmp_path / "out.md")
    assert [s.name for s in result.plan.stages] == ["map", "reduce"]
    assert result.plan.cost is not None and result.plan.cost > 0  # the fake's rows are priced
    assert run.written == [] and not (tmp_path / "out.md").exists()
    assert FAKE.models == {}  # no model was even built


def test_a_provider_added_from_outside_runs_from_the_command_line(tmp_path: Path) -> None:
    """The fake: provider is one module and its table rows: the CLI takes it like any other."""
    path = episode(tmp_path / "ep.txt", "FACT-CLI")
    result = run_cli("summarize", path, "--map-model", "fake:cheap", "--reduce-model",
                     "fake:strong", "--cache-dir", tmp_path / "cache", "-o", tmp_path / "s.md")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "s.md").read_text()
    assert "FACT-CLI-1" in text and 'map_model: "fake:cheap"' in text


class RowsKind(SourceKind):
    """A kind added from outside the package: CSV rows, cited as [row 3]."""

    name = "rows"

    def detects(self, path: Path) -> bool:
        return path.suffix == ".csv"

    def load(self, path: Path, reading: Reading) -> Source:
        from ghost.chunk.text import TextChunk

        lines = path.read_text().splitlines()
        chunks = [TextChunk(i, f"row {i + 1}: {line}", reading.count_tokens(line), i + 1, i + 1)
                  for i, line in enumerate(lines)]
        return Source(path, source_title(path), self.name, "\n".join(lines), chunks,
                      frozenset(f"row {i + 1}" for i in range(len(lines))))


ROW = re.compile(r"^row \d+$")


def test_a_source_kind_added_from_outside_is_detected_and_cited(tmp_path: Path) -> None:
    register_kind(RowsKind())
    register_form(CitationForm("row", lambda token: bool(ROW.match(token))))
    table = tmp_path / "prices.csv"
    table.write_text("apples,3\npears,4\n")
    source = load_source(table, Reading(100, lambda s: len(s.split())))
    assert source.kind == "rows" and source.citations == {"row 1", "row 2"}
    text, report = check_citations("Pears cost 4 [row 2]; plums 9 [row 7].", source.citations)
    assert report.found == 2 and report.unknown == ["row 7"]
    assert "row 7 ⚠" in text
    plain = tmp_path / "notes.txt"
    plain.write_text("just text\n")
    assert load_source(plain, Reading(100, len)).kind == "text"  # plain text still the last resort


def test_an_unknown_kind_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown kind of source 'captions'"):
        load_source(tmp_path, Reading(100, len), kind="captions")


def test_a_mailbox_read_as_mail_is_cited_by_message_id(tmp_path: Path) -> None:
    box = tmp_path / "team.mbox"
    box.write_text(
        "From sam@acme.example Mon Feb  3 09:00:00 2025\nMessage-ID: <m1@acme.example>\n"
        "From: Sam <sam@acme.example>\nSubject: Offsite\nDate: Mon, 03 Feb 2025 09:00:00 +0000"
        "\n\nFACT-OFFSITE is in Lisbon. My card 4111 1111 1111 1111.\n\n")
    FAKE.responders["fake:cheap"] = lambda request: (
        "- the offsite is in Lisbon [<m1@acme.example>] and in Porto [<m9@acme.example>]")
    run = JobRun(SummarizeJob([box], kind="mail"), options(tmp_path))
    result = run.execute()
    assert result.plan.source["kind"] == "mail" and result.plan.source["messages"] == 1
    assert result.notes.citations.unknown == ["<m9@acme.example>"]  # not in the mailbox
    sent = FAKE.models["fake:cheap"].history[0].messages[-1].text
    assert "Message-ID: <m1@acme.example>" in sent and "4111 1111" in sent  # fake: is local
    assert JobRun(SummarizeJob([box]), options(tmp_path, dry_run=True)).execute() \
        .plan.source["kind"] == "text"  # an mbox is read as mail only when asked


def test_a_failed_essay_keeps_the_paid_summary_in_ghost_run(tmp_path: Path) -> None:
    from test_run_workspace import workspace

    config = workspace(tmp_path, extra='[models]\nmap = "fake:cheap"\nreduce = "fake:strong"')
    FAKE.responders["fake:strong"] = lambda request: (
        ModelCallError("the essay call failed") if request.stage == "essay" else None)
    result = run_cli("run", "-c", config, "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["processed"] == {"ep1.txt": "failed"}
    summary = (tmp_path / "out" / "ep1.summary.md").read_text()
    assert "FACT-EP1" in summary and "cost_usd" not in summary  # same front matter each run
    assert not (tmp_path / "out" / "ep1.essay.md").exists()


def test_a_dialogue_does_not_depend_on_the_default_models(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    retired = tmp_path / "models.toml"
    retired.write_text('[models."anthropic:claude-opus-5-5"]\nretired = true\n')
    monkeypatch.setenv("GHOST_MODELS", str(retired))
    result = run_cli("dialogue", "--a", "fake:cheap", "--b", "fake:strong", "--turns", "2",
                     "--prompt", "Hello FACT-HI", "--cache-dir", tmp_path / "c",
                     "-o", tmp_path / "chat.txt")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "chat.txt").read_text().count("FACT-HI") >= 2


@pytest.mark.parametrize("collapse, expected", [(None, "fake:cheap"), ("fake:strong",
                                                                       "fake:strong")])
def test_notes_too_long_for_the_reduce_model_are_condensed_by_the_map_model(
        tmp_path: Path, collapse: str | None, expected: str) -> None:
    small = tmp_path / "models.toml"
    # Room for notes: 7,800 context - 2,000 output really sent - 4,000 for the prompt.
    small.write_text('[models."fake:small"]\ncontext = 7800\nmax_output = 2000\n'
                     'input = 5.0\noutput = 25.0\n')
    path = episode(tmp_path / "ep.txt", "FACT-LONG " + "detail " * 60, minutes=40)
    opts = RunOptions(cache_dir=tmp_path / "cache", map_model="fake:cheap",
                      reduce_model="fake:small", collapse_model=collapse,
                      models_file=str(small), chunk_tokens=800)
    for spec in ("fake:cheap", "fake:strong"):
        FAKE.responders[spec] = lambda request: (
            "- condensed [00:00:00]" if request.stage == "collapse" else None)
    run = JobRun(SummarizeJob([path]), opts)
    result = run.execute()
    assert result.notes.collapse_rounds >= 1
    assert run.ledger.stages["collapse"].model == expected
