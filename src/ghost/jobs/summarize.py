"""ghost summarize: chunk → map (cheap model) → collapse if needed → reduce (strong model).

One source or several (the notes of every source go to one summary)::

    job = SummarizeJob([Path("corpora/notes.txt")], words=300)
    result = JobRun(job, RunOptions(dry_run=True)).execute()
    result.plan.render()       # chunks, tokens, calls and cost per stage
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.cite import CitationReport
from ghost.jobs.runner import Document
from ghost.map.stage import (
    EpisodeNotes,
    all_citations,
    build_map_requests,
    plan_notes,
    sources_title,
    take_notes,
)
from ghost.models.catalog import ModelInfo
from ghost.plan import Plan, StagePlan
from ghost.providers import is_cloud
from ghost.reduce.collapse import join_notes
from ghost.reduce.final import cite, final_reply, reduce_request
from ghost.session import Session
from ghost.sources import Reading, Source, load_sources
from ghost.tokens import counter_for

INSTRUCTION_ROOM = 4000  # tokens kept free in the reduce model's context for the template
NOTHING_TO_SAY = "The source holds nothing worth summarizing."


@dataclass
class SummaryResult:
    plan: Plan
    text: str = ""
    notes: EpisodeNotes = field(default_factory=EpisodeNotes)
    citations: CitationReport = field(default_factory=CitationReport)

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.to_dict(), "chunks_mapped": self.notes.mapped,
                "chunks_dropped": self.notes.dropped,
                "collapse_rounds": self.notes.collapse_rounds,
                "map_citations": self.notes.citations.to_dict(),
                "citations": self.citations.to_dict()}


def reduce_input_budget(info: ModelInfo, session: Session) -> int:
    """The notes the reduce call may take: its context, less the output it is really sent
    (--reduce-max-tokens capped at the model's max_output, plus any thinking allowance)."""
    opts = session.options
    room = info.context - info.asked_output(session.max_tokens("reduce")) - INSTRUCTION_ROOM
    return max(1000, min(room, opts.reduce_input_tokens or room))


def read_sources(session: Session, paths: Sequence[Path], *, kind: str | None = None,
                 fmt: str | None = None, keep_filler: bool = False) -> list[Source]:
    """The job's sources, chunked for the map model and recorded in the manifest."""
    info = session.info("map")
    reading = Reading(session.options.chunk_tokens, counter_for(info.tokenizer,
                                                                info.token_margin),
                      fmt=fmt, keep_filler=keep_filler,
                      mask=is_cloud(info, session.options.base_url))
    sources = load_sources(paths, reading, kind=kind)
    for source in sources:
        session.add_input(source.path, source.text, kind=source.kind)
    return sources


def describe(sources: Sequence[Source]) -> dict[str, Any]:
    if len(sources) == 1:
        return sources[0].describe()
    return {"source": [str(s.path) for s in sources], "kind": sorted({s.kind for s in sources}),
            "chunks": sum(len(s.chunks) for s in sources),
            "tokens": sum(s.tokens for s in sources)}


def summarize(session: Session, sources: Source | Sequence[Source], *,
              words: int = 600) -> SummaryResult:
    sources = [sources] if isinstance(sources, Source) else list(sources)
    opts = session.options
    reduce_info = session.info("reduce")
    budget = reduce_input_budget(reduce_info, session)
    requests = build_map_requests(session, sources)
    stage_plans, notes_tokens = plan_notes(session, sources, requests, budget)
    plan = Plan(describe(sources), stage_plans)
    plan.stages.append(StagePlan("reduce", reduce_info, 1, notes_tokens + 800, int(words * 1.4),
                                 max_tokens=session.max_tokens("reduce")))
    plan.check_budget(opts.budget)
    result = SummaryResult(plan)
    if opts.dry_run:
        return result
    result.notes = take_notes(session, sources, requests, notes_budget=budget)
    if not result.notes.notes:
        result.text = NOTHING_TO_SAY
        return result
    request = reduce_request(
        session, "summarize-reduce", title=sources_title(sources),
        notes=join_notes(result.notes.notes), parts=result.notes.mapped,
        dropped=result.notes.dropped, target_words=words)
    final, _ = final_reply(session, request, expected_output=int(words * 1.4))
    result.text, result.citations = cite(session, final.text, all_citations(sources))
    return result


@dataclass
class SummarizeJob:
    paths: Sequence[Path]
    words: int = 600
    kind: str | None = None        # None: each path's kind is detected
    fmt: str | None = None
    keep_filler: bool = False
    command: str = "summarize"

    def run(self, session: Session) -> SummaryResult:
        sources = read_sources(session, self.paths, kind=self.kind, fmt=self.fmt,
                               keep_filler=self.keep_filler)
        return summarize(session, sources, words=self.words)

    def documents(self, result: SummaryResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        return [Document(target, result.text, front)]

