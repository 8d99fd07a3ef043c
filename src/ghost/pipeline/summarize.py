"""ghost summarize: chunk → map (cheap model) → collapse if needed → reduce (strong model)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ghost.cite import CitationReport, check_citations
from ghost.map.notes import Notes, expected_notes_tokens, map_chunks, map_requests
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Message, Request
from ghost.pipeline.plan import Plan, StagePlan
from ghost.pipeline.session import Session
from ghost.pipeline.source import Source
from ghost.reduce.collapse import collapse_notes, join_notes
from ghost.tokens import count_tokens, counter_for

INSTRUCTION_ROOM = 4000  # tokens kept free in the reduce model's context for the template


@dataclass
class SummaryResult:
    plan: Plan
    text: str = ""
    notes: list[Notes] = field(default_factory=list)
    dropped: int = 0
    collapse_rounds: int = 0
    citations: CitationReport = field(default_factory=CitationReport)

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.to_dict(), "chunks_kept": len(self.notes),
                "chunks_dropped": self.dropped, "collapse_rounds": self.collapse_rounds,
                "citations": self.citations.to_dict()}


def reduce_input_budget(info: ModelInfo, session: Session) -> int:
    opts = session.options
    room = info.context - opts.reduce_max_tokens - INSTRUCTION_ROOM
    return max(1000, min(room, opts.reduce_input_tokens or room))


def plan_summary(session: Session, source: Source, map_requests_: list[Request],
                 words: int) -> Plan:
    map_info, reduce_info = session.info("map"), session.info("reduce")
    map_in = sum(count_tokens(r.system + r.messages[0].text, map_info.tokenizer,
                              map_info.token_margin) for r in map_requests_)
    notes = sum(expected_notes_tokens(c.tokens, session.options.map_max_tokens)
                for c in source.chunks)
    cached = sum(session.is_cached(map_info, r.digest()) for r in map_requests_)
    plan = Plan(source.describe())
    plan.stages.append(StagePlan("map", map_info, len(map_requests_), map_in, notes, cached))
    budget = reduce_input_budget(reduce_info, session)
    if notes > budget:
        groups = math.ceil(notes / budget)
        plan.stages.append(StagePlan("collapse", reduce_info, groups, notes, notes // 3,
                                     note="notes exceed the reduce input budget; estimate"))
        notes = min(budget, notes // 3)
    plan.stages.append(StagePlan("reduce", reduce_info, 1, notes + 800, int(words * 1.4)))
    return plan


def summarize(session: Session, source: Source, *, words: int = 600,
              on_map_done: Callable[[int, Completion], None] | None = None) -> SummaryResult:
    opts = session.options
    requests = map_requests(source.chunks, session.templates, template="summarize-map",
                            title=source.title, max_tokens=opts.map_max_tokens)
    plan = plan_summary(session, source, requests, words)
    plan.check_budget(opts.budget)
    result = SummaryResult(plan)
    if opts.dry_run:
        return result
    map_stage, reduce_stage = session.stage("map"), session.stage("reduce")
    notes = map_chunks(session.runner, map_stage, source.chunks, requests, on_done=on_map_done)
    kept = [n for n in notes if not n.empty]
    result.dropped = len(notes) - len(kept)
    result.notes = kept
    reduce_info = reduce_stage.info
    count = counter_for(reduce_info.tokenizer, reduce_info.token_margin)
    condensed, result.collapse_rounds = collapse_notes(
        session.runner, reduce_stage, kept, session.templates, title=source.title,
        budget=reduce_input_budget(reduce_info, session), count_tokens=count,
        max_tokens=min(opts.reduce_max_tokens, reduce_info.max_output))
    prompt = session.templates.render("summarize-reduce", title=source.title,
                                      notes=join_notes(condensed), parts=len(notes),
                                      dropped=result.dropped, target_words=words)
    request = Request(prompt.system, (Message.user(prompt.user),),
                      max_tokens=min(opts.reduce_max_tokens, reduce_info.max_output),
                      stage="reduce")
    final = session.runner.call(reduce_stage, request, expected_output=int(words * 1.4))
    result.text, result.citations = check_citations(final.text, source.citations,
                                                    mode=opts.citations)
    return result
