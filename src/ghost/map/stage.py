"""The stages every job shares: map every chunk to cited notes, then condense them to fit."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ghost.cite import CitationReport, check_citations
from ghost.errors import InputError
from ghost.map.notes import (
    ChunkLike,
    Notes,
    expected_notes_tokens,
    map_chunks,
    map_requests,
    notes_from,
)
from ghost.models.batch import run_batched
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Request
from ghost.plan import StagePlan
from ghost.reduce.collapse import collapse_notes
from ghost.session import Session
from ghost.sources import Source
from ghost.tokens import count_tokens, counter_for

PROMPT_ROOM = 600  # tokens of instructions around each chunk
MAP_TEMPLATE = "summarize-map"  # shared by summarize and essay, so both reuse cached notes


@dataclass
class EpisodeNotes:
    notes: list[Notes] = field(default_factory=list)  # kept, condensed if needed, in order
    mapped: int = 0
    dropped: int = 0
    collapse_rounds: int = 0
    citations: CitationReport = field(default_factory=CitationReport)


def build_map_requests(session: Session, source: Source) -> list[Request]:
    info = session.info("map")
    max_tokens = session.max_tokens("map")
    check_chunks_fit(info, source.chunks, max_tokens)
    return map_requests(source.chunks, session.templates, template=MAP_TEMPLATE,
                        title=source.title, max_tokens=max_tokens)


def check_chunks_fit(info: ModelInfo, chunks: Sequence[ChunkLike], max_tokens: int) -> None:
    """Fail before any call when a chunk plus its answer cannot fit the map model's context."""
    largest = max((c.tokens for c in chunks), default=0)
    if largest + max_tokens + PROMPT_ROOM > info.context:
        raise InputError(f"chunks of {largest:,} tokens plus a {max_tokens:,}-token answer do "
                         f"not fit {info.spec}'s {info.context:,}-token context; lower "
                         "--chunk-tokens")


def plan_notes(session: Session, source: Source, requests: list[Request],
               notes_budget: int) -> tuple[list[StagePlan], int]:
    """Plans for map (and collapse if needed), and the expected notes size in tokens."""
    info = session.info("map")
    tokens_in = sum(count_tokens(r.system + r.messages[0].text, info.tokenizer, info.token_margin)
                    for r in requests)
    notes = sum(expected_notes_tokens(c.tokens, session.options.map_max_tokens)
                for c in source.chunks)
    cached = sum(session.is_cached(info, r.digest()) for r in requests)
    discount = info.batch_discount if session.options.batch else 0.0
    plans = [StagePlan("map", info, len(requests), tokens_in, notes, cached, discount=discount,
                       note="through the batch API" if discount else "")]
    if notes > notes_budget:
        plans.append(StagePlan("collapse", session.info("reduce"), math.ceil(notes / notes_budget),
                               notes, notes // 3, note="notes exceed the budget; estimate"))
        notes = min(notes_budget, notes // 3)
    return plans, notes


def take_notes(session: Session, source: Source, requests: list[Request], *, notes_budget: int,
               on_map_done: Callable[[int, Completion], None] | None = None) -> EpisodeNotes:
    """Map every chunk, drop the empty ones, strip citations the source lacks, condense."""
    result = EpisodeNotes()
    if session.batch is not None:
        completions = run_batched(session.runner, session.stage("map"), requests, session.batch)
        mapped = notes_from(source.chunks, completions)
    else:
        mapped = map_chunks(session.runner, session.stage("map"), source.chunks, requests,
                            on_done=on_map_done)
    result.mapped = len(mapped)
    kept = []
    for note in mapped:
        if note.empty:
            result.dropped += 1
            continue
        text, report = check_citations(note.text, source.citations, mode="strip")
        result.citations.found += report.found
        result.citations.unknown += report.unknown
        kept.append(Notes(note.index, note.label, text))
    reduce_stage = session.stage("reduce")
    info: ModelInfo = reduce_stage.info
    result.notes, result.collapse_rounds = collapse_notes(
        session.runner, reduce_stage, kept, session.templates, title=source.title,
        budget=notes_budget, count_tokens=counter_for(info.tokenizer, info.token_margin),
        max_tokens=session.max_tokens("reduce"))
    return result
