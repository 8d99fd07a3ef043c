"""ghost summarize: chunk → map (cheap model) → collapse if needed → reduce (strong model)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ghost.cite import CitationReport, check_citations
from ghost.map.stage import EpisodeNotes, build_map_requests, plan_notes, take_notes
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Message, Request
from ghost.plan import Plan, StagePlan
from ghost.reduce.collapse import join_notes
from ghost.session import Session
from ghost.sources import Source

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
    opts = session.options
    room = info.context - opts.reduce_max_tokens - INSTRUCTION_ROOM
    return max(1000, min(room, opts.reduce_input_tokens or room))


def summarize(session: Session, source: Source, *, words: int = 600,
              on_map_done: Callable[[int, Completion], None] | None = None) -> SummaryResult:
    opts = session.options
    reduce_info = session.info("reduce")
    budget = reduce_input_budget(reduce_info, session)
    requests = build_map_requests(session, source)
    stage_plans, notes_tokens = plan_notes(session, source, requests, budget)
    plan = Plan(source.describe(), stage_plans)
    plan.stages.append(StagePlan("reduce", reduce_info, 1, notes_tokens + 800, int(words * 1.4)))
    plan.check_budget(opts.budget)
    result = SummaryResult(plan)
    if opts.dry_run:
        return result
    result.notes = take_notes(session, source, requests, notes_budget=budget,
                              on_map_done=on_map_done)
    if not result.notes.notes:
        result.text = NOTHING_TO_SAY
        return result
    prompt = session.templates.render(
        "summarize-reduce", title=source.title, notes=join_notes(result.notes.notes),
        parts=result.notes.mapped, dropped=result.notes.dropped, target_words=words)
    request = Request(prompt.system, (Message.user(prompt.user),),
                      max_tokens=session.max_tokens("reduce"),
                      stage="reduce")
    final = session.runner.call(session.stage("reduce"), request,
                                expected_output=int(words * 1.4))
    result.text, result.citations = check_citations(final.text, source.citations,
                                                    mode=opts.citations)
    return result
