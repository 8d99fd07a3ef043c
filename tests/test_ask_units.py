"""ghost ask's parts: the [document place] citations, the passages of a map reply, which files
a set of paths holds, the PDF and HTML kinds, and progress per document (fake: provider)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FAKE

from ask_helpers import fake_map, minimal_pdf
from ghost.ask.citations import Places, Scope, check_refs, parse_refs, uncited_claims
from ghost.ask.documents import citable, find_documents, read_documents
from ghost.ask.passages import MapReport, checked_passages, split_passages
from ghost.errors import InputError
from ghost.jobs.ask import AskJob
from ghost.jobs.runner import Hooks, JobRun
from ghost.jobs.summarize import SummarizeJob
from ghost.models.protocol import Request
from ghost.options import RunOptions
from ghost.sources import Reading, load_source

READING = Reading(400, lambda text: len(text.split()))


def test_a_bracket_s_citations_each_belong_to_the_document_named_before_them() -> None:
    refs = parse_refs("notes.md L3-L9, L20-L25; Q3 report.pdf p.2-3; <a1@x.example>")
    assert [(r.doc, r.place.kind, r.place.ends) for r in refs] == [
        ("notes.md", "lines", (3, 9)), ("notes.md", "lines", (20, 25)),
        ("Q3 report.pdf", "page", (2, 3)), (None, "id", ("a1@x.example",))]
    [start, end] = parse_refs("ep12.txt 00:14:05–00:15:00")  # an en dash splits; both named
    assert (start.doc, start.place.ends, end.doc, end.place.ends) == \
        ("ep12.txt", ("00:14:05", "00:14:05"), "ep12.txt", ("00:15:00", "00:15:00"))
    assert parse_refs("sic") == [] and parse_refs("see the notes") == []
    [bare] = parse_refs("L3-L9")
    assert bare.doc is None  # a place that names no document


def test_a_citation_holds_only_where_its_document_has_the_place() -> None:
    scope = Scope({"notes.md": Places(lines=(1, 40)), "report.pdf": Places(pages=frozenset({1, 2})),
                   "ep12.txt": Places(stamps=frozenset({"00:14:05"})),
                   "box.mbox": Places(ids=frozenset({"a1@x.example"}))})
    holds = lambda inner: [scope.holds(r) for r in parse_refs(inner)]  # noqa: E731
    assert holds("notes.md L3-L9; notes.md L30-L41") == [True, False]
    assert holds("report.pdf p.2; report.pdf p.1-3") == [True, False]
    assert holds("ep12 00:14:05; EP12.TXT 14:05; ep12.txt 00:14:06") == [True, True, False]
    assert holds("<a1@x.example>; <b@x.example>; L3-L9; other.md L1-L2") == [
        True, False, False, False]


def test_check_refs_flags_strips_or_keeps_what_fails() -> None:
    scope = Scope({"notes.md": Places(lines=(1, 40))})
    text = "Up [notes.md L1-L4]. Down [notes.md L50-L60; L2-L3]. Aside [sic]."
    flagged, report = check_refs(text, scope)
    assert (report.found, report.unknown) == (3, ["notes.md L50-L60"])
    assert "[notes.md L50-L60; L2-L3 ⚠ not in source: notes.md L50-L60]" in flagged
    assert "[sic]" in flagged and "Up [notes.md L1-L4]." in flagged
    stripped, _ = check_refs(text, scope, mode="strip")
    assert "Down [notes.md L2-L3]." in stripped
    assert check_refs(text, scope, mode="keep")[0] == text


def test_uncited_claims_are_sentences_that_cite_nothing() -> None:
    answer = ("# Answer\n\nThe launch moved to May [a.md L1-L2].\n\n## Details:\n"
              "- Nobody knows why the budget was cut.\n- Short line.\n")
    assert uncited_claims(answer) == ["Nobody knows why the budget was cut."]


def test_a_map_reply_s_passages() -> None:
    assert split_passages("NOTHING") == [] and split_passages("**Nothing.**") == []
    reply = ('Here is what I found:\n- "One" [a.md L1-L2]\n  continued here\n'
             '2. "Two" [a.md L3-L4]\n- NOTHING')
    assert split_passages(reply) == [("Here is what I found:", False),
                                     ('"One" [a.md L1-L2] continued here', True),
                                     ('"Two" [a.md L3-L4]', True)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_passages_are_checked_against_their_own_chunk(tmp_path: Path) -> None:
    source = write(tmp_path / "a.md", "\n\n".join(f"Paragraph {n} " + "word " * 60
                                                 for n in range(20)))
    [document], _ = read_documents(*find_documents([source])[:1], READING)
    assert len(document.source.chunks) > 2
    second = document.source.chunks[1]
    inside, outside = f"L{second.first_line}-L{second.first_line}", "L1-L1"  # type: ignore
    report = MapReport()
    kept = checked_passages(document, 1, f'- "x" [a.md {inside}]\n- "y" [a.md {outside}]\n'
                                         f'- "z" [a {inside}; b.md L1-L2]\n- "w" [{inside}]\n'
                                         '- "v", uncited\n\nI found no more.', report)
    assert [p.citations for p in kept[:3]] == [(f"a.md {inside}",)] * 3
    # spelled out for the strong model: the stem and the bare place get the full name
    assert [p.text for p in kept[1:3]] == [f'"z" [a.md {inside}]', f'"w" [a.md {inside}]']
    assert kept[3].text == f'"v", uncited [a.md {second.label}]'  # cited by its chunk
    assert (report.passages, report.by_chunk, report.uncited, report.miscited) == (4, 1, 1, 1)
    assert report.citations.unknown == [f"a.md {outside}", "b.md L1-L2"]


def test_folders_globs_and_files_are_named_by_their_place_under_what_was_given(
        tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.md", "A\n")
    write(docs / "sub" / "b.txt", "B\n")
    write(docs / ".hidden.md", "H\n")
    write(docs / ".git" / "config", "G\n")
    write(docs / "cache" / "x.json", "{}\n")
    write(docs / "Maildir" / "cur" / "1", "Message-ID: <m1@x>\nSubject: s\n\nbody\n")
    write(docs / "eml" / "one.eml", "Message-ID: <e1@x>\nSubject: s\n\nbody\n")
    write(docs / "answer.md", "---\ngenerator: \"ghost\"\n---\n\nAn answer.\n")
    write(tmp_path / "other" / "a.md", "Other A\n")
    write(tmp_path / "weird, name [1].md", "W\n")
    found, skipped = find_documents([docs, tmp_path / "other" / "*.md",
                                     tmp_path / "weird, name [1].md", docs / "a.md"],
                                    exclude=[docs / "cache"])
    names = {f.name: f.mailbox for f in found}
    assert names == {str(docs / "a.md"): False, str(tmp_path / "other" / "a.md"): False,
                     "sub/b.txt": False, "Maildir": True, "eml": True,
                     "weird_ name _1_.md": False}
    assert [s.reason for s in skipped] == ["written by ghost"]
    assert citable("a - b;c\n[d].md") == "a-b_c _d_.md"
    with pytest.raises(InputError, match="no such file"):
        find_documents([tmp_path / "nope"])
    with pytest.raises(InputError, match="matches no file"):
        find_documents([tmp_path / "*.pdf"])


def test_a_pdf_is_read_by_page_and_cited_by_page(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    appendix = "\n".join(f"Line {n} of a long appendix page" for n in range(60))
    path.write_bytes(minimal_pdf(["Cover page", "Results\nRevenue rose 4 percent", appendix]))
    source = load_source(path, READING)
    assert source.kind == "pdf" and source.meta["pages"] == 3
    assert "[p.2]\nResults\nRevenue rose 4 percent" in source.text
    assert {"p.1", "p.2", "p.3"} <= source.citations
    assert all(c.tokens <= READING.chunk_tokens for c in source.chunks)
    assert [c.label for c in source.chunks][-1] == "p.3"  # the long page cut, keeping its page
    assert source.text.count("[p.3]") == 2
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really\n")
    (tmp_path / "blank.pdf").write_bytes(minimal_pdf([""]))
    for bad, why in (("broken.pdf", "not a readable PDF"), ("blank.pdf", "no text layer")):
        with pytest.raises(InputError, match=why):
            load_source(tmp_path / bad, READING)


def test_html_is_cleaned_like_mail_html_and_detected_without_a_suffix(tmp_path: Path) -> None:
    page = write(tmp_path / "page", "<!DOCTYPE html><html><head><style>p{}</style>"
                 "<script>FACT_SCRIPT()</script></head><body><h1>Notice</h1>"
                 "<p>The office closes on Fridays.</p></body></html>")
    source = load_source(page, READING)
    assert source.kind == "html" and "FACT_SCRIPT" not in source.text and "p{}" not in source.text
    assert "Notice" in source.text and "The office closes on Fridays." in source.text
    assert source.citations == {c.label for c in source.chunks}


def test_progress_is_counted_per_document_and_unreadable_files_are_one_line(
        tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for n in range(6):
        body = "\n\n".join(f"Paragraph {p} " + "word " * 80 for p in range(4))
        write(docs / f"d{n}.md", body + ("\n\nFACT-D0 here.\n" if n == 0 else ""))
    (docs / "x.bin").write_bytes(b"\x00" * 8)
    FAKE.responders["fake:cheap"] = fake_map
    seen: list[tuple[str, int, int]] = []
    said: list[str] = []
    run = JobRun(AskJob("What?", [docs]), RunOptions(cache_dir=tmp_path / "c",
                                                        map_model="fake:cheap",
                                                        reduce_model="fake:strong",
                                                        chunk_tokens=200),
                 Hooks(progress=lambda *a: seen.append(a), say=said.append))
    result = run.execute()
    documents = [s for s in seen if s[0] == "documents"]
    assert documents[-1] == ("documents", 6, 6) and len(documents) == 6
    assert sum(len(d.source.chunks) for d in result.documents) > 6  # several chunks each
    skipped_line = [line for line in said if line.startswith("skipped")]
    assert len(skipped_line) == 1 and "x.bin" in skipped_line[0]
    assert [p.document for p in result.passages] == ["d0.md"]
    assert result.without_passages == [f"d{n}.md" for n in range(1, 6)]


def test_an_uncited_bullet_from_a_thread_is_cited_by_the_message_holding_it(
        tmp_path: Path) -> None:
    box = write(tmp_path / "team.mbox", "".join(
        f"From a@x.example Mon Feb  3 0{n}:00:00 2025\nMessage-ID: <m{n}@x.example>\n"
        f"From: A <a@x.example>\nSubject: {'Re: ' if n > 1 else ''}Venue\n"
        + (f"In-Reply-To: <m{n - 1}@x.example>\n" if n > 1 else "")
        + f"Date: Mon, 03 Feb 2025 0{n}:00:00 +0000\n\nLine {n}: the venue is room {n}.\n\n"
        for n in (1, 2)))
    [document], _ = read_documents(*find_documents([box])[:1], READING)
    assert document.source.chunks[0].message_ids == ("m1@x.example", "m2@x.example")  # type: ignore
    report = MapReport()
    kept = checked_passages(document, 0, '- "Line 2: the venue is room 2."\n- "the venue is"',
                            report)
    assert [p.citations for p in kept] == [("<m2@x.example>",)]
    assert (report.by_chunk, report.uncited) == (1, 1)  # words in both messages: no one place


def test_summarize_reads_a_pdf_and_checks_its_page_citations(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(minimal_pdf(["Cover", "Results: FACT-PDF revenue rose 4 percent"]))
    FAKE.responders["fake:cheap"] = lambda request: "- FACT-PDF revenue rose [p.2]\n- x [p.7]"
    result = JobRun(SummarizeJob([path]), RunOptions(cache_dir=tmp_path / "c",
                                                     map_model="fake:cheap",
                                                     reduce_model="fake:strong")).execute()
    assert result.notes.citations.unknown == ["p.7"] and result.notes.citations.found == 2


def test_passages_over_the_reduce_budget_are_condensed_keeping_their_citations(
        tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for n in range(40):
        write(docs / f"d{n:02d}.md", f"Intro {n}.\n\nFACT-{n} " + "detail " * 60 + "\n")
    def cheap(request: Request) -> str | None:
        if "You condense notes" not in request.system:
            return fake_map(request)
        return "\n".join(f"- {m.group(1)} {m.group(2)}" for m in re.finditer(  # shorter
            r"(FACT-\d+).*?(\[[^\]]+\])", request.messages[-1].text))

    FAKE.responders["fake:cheap"] = cheap
    run = JobRun(AskJob("What?", [docs]), RunOptions(cache_dir=tmp_path / "c",
                                                      map_model="fake:cheap",
                                                      reduce_model="fake:strong",
                                                      reduce_input_tokens=1000))
    result = run.execute()
    assert result.collapse_rounds >= 1 and len(result.passages) == 40
    assert result.citations.found == 40 and result.citations.unknown == []
