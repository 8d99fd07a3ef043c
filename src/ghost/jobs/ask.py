"""ghost ask: one question over many documents. The cheap model reads every chunk of every
document with the question and returns only the passages that bear on it, each cited
`[document place]`; the strong model answers from the passages that survive, citing every
claim; every citation is checked against the document it names.

    job = AskJob("When did the launch slip, and why?", [Path("docs")])
    result = JobRun(job, RunOptions(dry_run=True)).execute()
    result.plan.render()      # documents, chunks, calls and cost per stage; no call made

Documents whose passages all said NOTHING (or whose every passage failed its citation check)
are dropped before the strong model and counted; files that cannot be read are skipped and
counted, and only a set with nothing readable at all is an error.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.ask.citations import Scope, check_refs, uncited_claims
from ghost.ask.documents import (
    AskDocument,
    Skipped,
    describe_skipped,
    find_documents,
    read_documents,
)
from ghost.ask.passages import (
    MapReport,
    Passage,
    checked_passages,
    map_requests,
    passages_by_document,
    render_blocks,
)
from ghost.cite import CitationReport
from ghost.errors import InputError
from ghost.jobs.runner import Document
from ghost.jobs.summarize import reduce_input_budget
from ghost.map.notes import expected_notes_tokens, notes_from, with_room
from ghost.map.stage import check_chunks_fit, plan_notes
from ghost.models.batch import run_batched
from ghost.models.protocol import Completion, Request
from ghost.plan import Plan, StagePlan
from ghost.providers import is_cloud
from ghost.reduce.collapse import condense
from ghost.reduce.final import final_reply, reduce_request
from ghost.session import Session
from ghost.sources import Reading
from ghost.tokens import counter_for

NOTHING_RELEVANT = "None of the documents holds anything that bears on the question."


@dataclass
class AskResult:
    plan: Plan
    question: str
    text: str = ""
    documents: list[AskDocument] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    without_passages: list[str] = field(default_factory=list)  # documents dropped
    map_report: MapReport = field(default_factory=MapReport)
    citations: CitationReport = field(default_factory=CitationReport)
    uncited: list[str] = field(default_factory=list)           # answer lines citing nothing
    collapse_rounds: int = 0

    @property
    def private(self) -> bool:
        """Mail went into it, so its output is written 0600."""
        return any(d.source.kind == "mail" for d in self.documents)

    def to_dict(self) -> dict[str, Any]:
        cited = {p.document for p in self.passages}
        return {
            "plan": self.plan.to_dict(), "question": self.question, "answer": self.text,
            "documents": {"read": len(self.documents), "with_passages": len(cited),
                          "without_passages": len(self.without_passages),
                          "skipped": [{"path": str(s.path), "reason": s.reason}
                                      for s in self.skipped]},
            "passages": [p.to_dict() for p in self.passages],
            "map_citations": self.map_report.to_dict(),
            "citations": {**self.citations.to_dict(), "uncited_claims": self.uncited},
            "collapse_rounds": self.collapse_rounds,
        }


def reading_for(session: Session) -> Reading:
    info = session.info("map")
    return Reading(session.options.chunk_tokens, counter_for(info.tokenizer, info.token_margin),
                   mask=is_cloud(info, session.options.base_url))


def describe(paths: Sequence[Path], documents: Sequence[AskDocument],
             skipped: Sequence[Skipped]) -> dict[str, Any]:
    return {"source": [str(p) for p in paths], "documents": len(documents),
            "kind": sorted({d.source.kind for d in documents}),
            "skipped": len(skipped),
            "chunks": sum(len(d.source.chunks) for d in documents),
            "tokens": sum(d.source.tokens for d in documents)}


def map_replies(session: Session, documents: Sequence[AskDocument],
                requests: Sequence[Request]) -> list[str]:
    """Every chunk's reply, in order: through the batch API with --batch (BatchPending until
    collected), else concurrently with progress counted per document."""
    chunks = [c for d in documents for c in d.source.chunks]
    owner = [n for n, d in enumerate(documents) for _ in d.source.chunks]
    stage = session.stage("map")
    if session.batch is not None:
        completions = run_batched(session.runner, stage, requests, session.batch)
    else:
        left = [len(d.source.chunks) for d in documents]
        tick = session.ticker("documents", len(documents))
        lock = threading.Lock()

        def done(index: int, _: Completion) -> None:
            with lock:  # replies land on the runner's worker threads
                left[owner[index]] -= 1
                finished = left[owner[index]] == 0
            if finished:
                tick()

        expected = [expected_notes_tokens(c.tokens, r.max_tokens)
                    for c, r in zip(chunks, requests, strict=True)]
        completions = session.runner.map(stage, requests, expected_output=expected,
                                         on_done=done)
    notes = notes_from(chunks, with_room(session.runner, stage, requests, completions))
    return [n.text for n in notes]


def ask(session: Session, question: str, paths: Sequence[Path],
        documents: Sequence[AskDocument], skipped: Sequence[Skipped], *,
        words: int = 600) -> AskResult:
    opts = session.options
    map_info, map_tokens = session.info("map"), session.max_tokens("map")
    requests: list[Request] = []
    for document in documents:
        check_chunks_fit(map_info, document.source.chunks, map_tokens)
        requests += map_requests(session.templates, document, question, max_tokens=map_tokens)
    reduce_info = session.info("reduce")
    budget = reduce_input_budget(reduce_info, session)
    stage_plans, passages_tokens = plan_notes(session, [d.source for d in documents], requests,
                                              budget)
    plan = Plan({"question": question, **describe(paths, documents, skipped)}, stage_plans)
    plan.stages.append(StagePlan("reduce", reduce_info, 1, passages_tokens + 900,
                                 int(words * 1.4), max_tokens=session.max_tokens("reduce")))
    plan.notes.append("map: every chunk of every document is read; the reduce estimate "
                      "assumes every chunk yields passages (documents with nothing relevant "
                      "are dropped before it)")
    plan.check_budget(opts.budget)
    result = AskResult(plan, question, documents=list(documents), skipped=list(skipped))
    if opts.dry_run:
        return result
    replies = iter(map_replies(session, documents, requests))
    for document in documents:
        found = [p for n in range(len(document.source.chunks))
                 for p in checked_passages(document, n, next(replies), result.map_report)]
        if found:
            result.passages += found
        else:
            result.without_passages.append(document.name)
    if not result.passages:
        result.text = NOTHING_RELEVANT
        return result
    kept = {p.document for p in result.passages}
    session.say(f"{len(kept)} of {len(documents)} documents hold passages that bear on the "
                f"question ({len(result.passages)} passages)")
    blocks, result.collapse_rounds = condense(session, passages_by_document(result.passages),
                                              title=f"{len(kept)} documents", budget=budget)
    request = reduce_request(session, "ask-reduce", question=question,
                             passages=render_blocks(blocks), documents=len(kept),
                             read=len(documents), dropped=len(result.without_passages),
                             target_words=words)
    final, _ = final_reply(session, request, expected_output=int(words * 1.4))
    scope = Scope({d.name: d.places for d in documents if d.name in kept})
    result.text, result.citations = check_refs(final.text, scope, mode=opts.citations)
    result.uncited = uncited_claims(result.text)
    return result


@dataclass
class AskJob:
    question: str
    paths: Sequence[Path]
    words: int = 600
    exclude: Sequence[Path] = ()  # never read (the output file); the cache folder never is
    command: str = "ask"

    def run(self, session: Session) -> AskResult:
        if not self.question.strip():
            raise InputError("the question is empty: ghost ask \"QUESTION\" PATH…")
        found, skipped = find_documents(self.paths, exclude=[session.cache_dir, *self.exclude])
        documents, unread = read_documents(found, reading_for(session))
        skipped += unread
        if not documents:
            what = describe_skipped(skipped) if skipped else "no files found"
            raise InputError(f"nothing readable in {', '.join(map(str, self.paths))}: {what}")
        if skipped:
            session.say(describe_skipped(skipped))
        for document in documents:
            session.add_input(document.source.path, document.source.text,
                              kind=document.source.kind)
        return ask(session, self.question, self.paths, documents, skipped, words=self.words)

    def documents(self, result: AskResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        return [Document(target, result.text, {**front, "question": self.question},
                         private=result.private)]
