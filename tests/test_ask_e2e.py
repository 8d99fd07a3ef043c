"""ghost ask end to end: the CLI, the real SDKs, the loopback stand-in, over a generated folder
of 100 short documents (98 text files, a PDF and an HTML page) with facts planted in five.

The stand-in's map replies are the lines holding a FACT marker, each cited by its document
and place (tests/ask_helpers.py); its reduce reply is its default (the lines of the passages
holding a marker) unless a test scripts the answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from ask_helpers import (
    FACT,
    PLANTED,
    body_text,
    hundred_documents,
    is_map,
    is_reduce,
    passages_reply,
    standin_map,
)
from standin import StandIn

QUESTION = "What changed this quarter, and who owns it?"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = hundred_documents(tmp_path / "docs")
    (folder / "blob.bin").write_bytes(b"\x00\x01\x02" * 64)  # unreadable: skipped, counted
    return folder


def ask(folder: Path, cache: Path, *extra: Any):
    return run_cli("ask", QUESTION, folder, "--cache-dir", cache, *extra)


def map_bodies(standin: StandIn) -> list[dict[str, Any]]:
    return [r.body for r in standin.requests if r.status == 200 and is_map(r.body)]


def reduce_texts(standin: StandIn) -> list[str]:
    return [body_text(r.body)[1] for r in standin.requests
            if r.status == 200 and is_reduce(r.body)]


def test_every_planted_fact_reaches_the_strong_model_with_its_document(
        standin: StandIn, folder: Path, tmp_path: Path) -> None:
    standin.responder = standin_map
    result = ask(folder, tmp_path / "cache", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(map_bodies(standin)) == 100  # one short chunk per document, every one read
    [reduce] = reduce_texts(standin)
    for name, fact in PLANTED.items():
        marker = FACT.search(fact)
        assert marker is not None
        [line] = [line for line in reduce.splitlines() if marker.group(0) in line]
        assert f"[{name} " in line, line  # cited by the document it came from
        heading = reduce[:reduce.index(line)].rstrip().rsplit("\n## ", 1)[-1].split("\n")[0]
        assert heading == name  # and grouped under it
    assert "[report.pdf p.2]" in reduce  # the PDF's page, the HTML page's lines
    assert re.search(r"\[page\.html L\d+-L\d+\]", reduce)
    assert not any("FACT_SCRIPT" in json.dumps(b) for b in map_bodies(standin))  # no <script>
    documents = report["documents"]
    assert (documents["read"], documents["with_passages"], documents["without_passages"]) \
        == (100, 5, 95)
    assert [s["reason"] for s in documents["skipped"]] == ["a binary file, not text"]
    assert "skipped 1 file: blob.bin" in result.stderr
    # documents with nothing relevant are dropped before the strong model
    assert not re.search(r"doc-0(0[0-6]|1\d|5\d|9\d)\.", reduce)
    assert sorted(p["document"] for p in report["passages"]) == sorted(PLANTED)
    assert all(p["citation"].startswith(p["document"] + " ") for p in report["passages"])
    assert report["map_citations"]["unknown"] == []
    assert report["citations"]["unknown"] == [] and report["citations"]["found"] == 5


def scripted_answer(body: dict[str, Any]) -> str:
    """An answer citing the passages' first two citations, and five citations that fail."""
    cited = re.findall(r"\[((?:doc|nested)[^\]\n]+)\]", body_text(body)[1])
    return (f"The launch moved to May [{cited[0]}], and the budget was cut [{cited[1]}].\n\n"
            "- Sales were flat in every region [doc-001.md L1-L7].\n"
            "- The launch note runs on for pages [doc-007.md L90-L99].\n"
            "- Revenue rose on the ninth page [report.pdf p.9].\n"
            "- A memo nobody wrote says so [nowhere.md L1-L2].\n"
            "- A message nobody sent says so [<nobody@example.org>].\n"
            "- This sentence cites nothing at all here.\n")


def answering(body_reply: Any) -> Any:
    def respond(provider: str, body: dict[str, Any]) -> str | None:
        if is_map(body):
            return passages_reply(body_text(body)[1])
        return body_reply(body) if is_reduce(body) else None
    return respond


def test_the_answer_s_citations_are_checked_against_the_documents_they_name(
        standin: StandIn, folder: Path, tmp_path: Path) -> None:
    standin.responder = answering(scripted_answer)
    result = ask(folder, tmp_path / "cache", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    citations = report["citations"]
    assert citations["found"] == 7
    # doc-001.md exists but held nothing relevant: the strong model never saw it
    assert citations["unknown"] == sorted(["doc-001.md L1-L7", "doc-007.md L90-L99",
                                           "report.pdf p.9", "nowhere.md L1-L2",
                                           "<nobody@example.org>"])
    answer = report["answer"]
    first = answer.split("\n")[0]
    assert "⚠" not in first and "[doc-007.md L1-L7]" in first
    assert answer.count("⚠ not in source") == 5
    assert citations["uncited_claims"] == ["This sentence cites nothing at all here."]
    strip = ask(folder, tmp_path / "cache", "--json", "--citations", "strip")
    stripped = json.loads(strip.stdout)["answer"]
    assert "nowhere.md" not in stripped and "[doc-007.md L1-L7]" in stripped


def test_adding_a_document_re_pays_only_that_document_s_calls(
        standin: StandIn, folder: Path, tmp_path: Path) -> None:
    standin.responder = standin_map
    answer = folder / "answer.md"  # inside the folder: never read back
    assert ask(folder, tmp_path / "cache", "-o", answer).exit_code == 0
    assert len(map_bodies(standin)) == 100 and answer.exists()
    standin.reset()
    (folder / "late.md").write_text("A late memo.\n\nIt says FACT-LATE the venue changed.\n")
    again = ask(folder, tmp_path / "cache", "--json", "-o", answer)
    assert again.exit_code == 0, again.output
    [late] = map_bodies(standin)  # the 101st document's one chunk; the 100 others cached
    assert "Document: late.md" in body_text(late)[1]
    assert "FACT-LATE" in reduce_texts(standin)[0]
    ledger = json.loads(again.stdout)["ledger"]["stages"]
    assert (ledger["map"]["calls"], ledger["map"]["cached"]) == (1, 100)
    standin.reset()
    third = ask(folder, tmp_path / "cache")
    assert third.exit_code == 0, third.output
    assert standin.calls(status=None) == 0  # unchanged: every call from the cache
    assert "answer.md (written by ghost)" in third.stderr  # ghost's own output, left out


def test_a_passage_citing_another_document_or_a_place_outside_its_chunk_is_dropped(
        standin: StandIn, folder: Path, tmp_path: Path) -> None:
    def respond(provider: str, body: dict[str, Any]) -> str | None:
        text = body_text(body)[1]
        if not is_map(body):
            return None
        if "Document: doc-007.md" in text:
            return ('- "FACT-LAUNCH the launch moved to May" [doc-042.txt L1-L7]\n'
                    '- "FACT-LAUNCH again" [doc-007.md L50-L60]\n'
                    '\nFACT-LAUNCH is all I found, says the model, citing nothing.')
        if "Document: doc-042.txt" in text:
            return ('- "FACT-BUDGET cut" [doc-042.txt L1-L7; report.pdf p.1]\n'
                    '- "FACT-BUDGET-2 an uncited bullet"')
        return passages_reply(text)

    standin.responder = respond
    result = ask(folder, tmp_path / "cache", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "doc-007.md" not in {p["document"] for p in report["passages"]}
    assert report["documents"]["without_passages"] == 96
    assert report["map_citations"]["dropped_miscited"] == 2
    assert report["map_citations"]["dropped_uncited"] == 1
    assert report["map_citations"]["unknown"] == sorted(["doc-042.txt L1-L7",
                                                         "doc-007.md L50-L60",
                                                         "report.pdf p.1"])
    assert report["map_citations"]["cited_by_chunk"] == 1
    budget = [p for p in report["passages"] if p["document"] == "doc-042.txt"]
    assert [p["citation"] for p in budget] == ["doc-042.txt L1-L7"] * 2  # foreign one stripped
    assert budget[1]["text"] == '"FACT-BUDGET-2 an uncited bullet" [doc-042.txt L1-L7]'
    assert "FACT-LAUNCH" not in reduce_texts(standin)[0]


def test_dry_run_plans_every_document_and_makes_no_call(standin: StandIn, folder: Path,
                                                        tmp_path: Path) -> None:
    result = ask(folder, tmp_path / "cache", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert plan["source"]["documents"] == 100 and plan["source"]["skipped"] == 1
    assert [s["stage"] for s in plan["stages"]] == ["map", "reduce"]
    assert plan["stages"][0]["calls"] == 100 and plan["estimated_cost_usd"] > 0
    text = ask(folder, tmp_path / "cache", "--dry-run")
    assert "documents: 100" in text.stdout and "est. cost" in text.stdout
    assert standin.calls(status=None) == 0
    assert not (tmp_path / "cache").exists()


def test_budget_below_the_estimate_exits_2_before_any_call(standin: StandIn, folder: Path,
                                                           tmp_path: Path) -> None:
    result = ask(folder, tmp_path / "cache", "--budget", "0.001", "-o", tmp_path / "a.md")
    assert result.exit_code == 2
    assert "exceeds --budget" in result.stderr and "Traceback" not in result.output
    assert standin.calls(status=None) == 0 and not (tmp_path / "a.md").exists()


def test_nothing_readable_or_a_missing_path_is_one_line_exit_2(standin: StandIn,
                                                               tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.bin").write_bytes(b"\x00" * 10)
    (junk / "empty.txt").write_text("")
    for target in (junk, tmp_path / "missing", tmp_path / "*.nothing"):
        result = run_cli("ask", QUESTION, target, "--cache-dir", tmp_path / "c")
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "nothing readable" in run_cli("ask", QUESTION, junk).stderr
    assert standin.calls(status=None) == 0


def message(mid: str, subject: str, body: str) -> str:
    return (f"From a@example.org Mon Feb  3 09:00:00 2025\nMessage-ID: <{mid}>\n"
            f"From: Ann <a@example.org>\nTo: b@example.org\nSubject: {subject}\n"
            f"Date: Mon, 03 Feb 2025 09:00:00 +0000\n\n{body}\n\n")


def test_each_mailbox_cites_only_its_own_messages_and_the_answer_is_private(
        standin: StandIn, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "alice.mbox").write_text(message("a1@alice.example", "Venue",
                                             "FACT-ALICE the venue is Lisbon."))
    (docs / "bob.mbox").write_text(message("b1@bob.example", "Venue",
                                           "FACT-BOB the venue is Porto."))
    (docs / "notes.md").write_text("Notes.\n\nFACT-NOTES the date is 9 May.\n")

    def respond(provider: str, body: dict[str, Any]) -> str | None:
        text = body_text(body)[1]
        if is_map(body) and "Document: bob.mbox" in text:  # cites Alice's message too
            return ('- "FACT-BOB the venue is Porto." [<b1@bob.example>]\n'
                    '- "FACT-ALICE-LEAK Lisbon" [<a1@alice.example>]')
        return passages_reply(text) if is_map(body) else None

    standin.responder = respond
    out = tmp_path / "answer.md"
    result = run_cli("ask", QUESTION, docs, "--cache-dir", tmp_path / "c", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    cites = {p["document"]: p["citation"] for p in report["passages"]}
    assert cites == {"alice.mbox": "<a1@alice.example>", "bob.mbox": "<b1@bob.example>",
                     "notes.md": "notes.md L1-L3"}
    assert report["map_citations"]["unknown"] == ["<a1@alice.example>"]  # not in bob.mbox
    assert "FACT-ALICE-LEAK" not in reduce_texts(standin)[0]
    assert out.stat().st_mode & 0o777 == 0o600  # mail went into it
    assert "question:" in out.read_text()


def test_batch_submits_then_a_later_run_collects_and_answers(standin: StandIn, folder: Path,
                                                             tmp_path: Path) -> None:
    standin.responder = standin_map
    first = ask(folder, tmp_path / "cache", "--batch", "-o", tmp_path / "a.md")
    assert first.exit_code == 0, first.output
    assert "provider batches" in first.stderr and not (tmp_path / "a.md").exists()
    assert reduce_texts(standin) == []
    second = ask(folder, tmp_path / "cache", "--batch", "-o", tmp_path / "a.md")
    assert second.exit_code == 0, second.output
    assert "FACT-LAUNCH" in (tmp_path / "a.md").read_text()
    assert map_bodies(standin) == []  # every map call went through the batch API


def test_map_on_gpt_reduce_on_claude(standin: StandIn, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Intro.\n\nFACT-A the pilot starts in June.\n")
    (docs / "b.txt").write_text("Nothing relevant here at all.\n")
    standin.responder = standin_map
    result = run_cli("ask", QUESTION, docs, "--cache-dir", tmp_path / "c", "--json",
                     "--map-model", "openai:gpt-4o-mini", "--reduce-model",
                     "anthropic:claude-opus-5-5")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert standin.calls("openai") == 2 and standin.calls("anthropic") == 1
    assert [p["citation"] for p in report["passages"]] == ["a.md L1-L3"]
    assert "FACT-A" in report["answer"] and report["citations"]["unknown"] == []
