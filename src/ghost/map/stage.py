"""The map stage as jobs use it: plan it, run it over one or several sources, keep what is cited,
then condense (reduce/collapse) until the notes fit the strong model.

Several sources (a newsletter from ten episodes) are mapped as one stage: each chunk is read
with its own source's title and its notes are checked against its own source's citations;
the notes then carry the source's title in their label, so the strong model can tell them
apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ghost.cite import CitationReport, check_citations
from ghost.errors import InputError
from ghost.map.notes import (
    Notes,
    expected_notes_tokens,
    map_chunks,
    map_requests,
    notes_from,
    with_room,
)
from ghost.models.batch import run_batched
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Request
from ghost.plan import StagePlan
from ghost.reduce.collapse import condense
from ghost.session import Session
from ghost.sources import ChunkLike, Source
from ghost.tokens import count_tokens

PROMPT_ROOM = 600  # tokens of instructions around each chunk
MAP_TEMPLATE = "summarize-map"  # shared by summarize and essay, so both reuse cached notes


@dataclass
class EpisodeNotes:
    notes: list[Notes] = field(default_factory=list)  # kept, condensed if needed, in order
    mapped: int = 0
    dropped: int = 0
    collapse_rounds: int = 0
    citations: CitationReport = field(default_factory=CitationReport)


def as_list(sources: Source | Sequence[Source]) -> list[Source]:
    return [sources] if isinstance(sources, Source) else list(sources)


def sources_title(sources: Sequence[Source]) -> str:
    return sources[0].title if len(sources) == 1 else f"{len(sources)} sources"


def all_citations(sources: Sequence[Source]) -> frozenset[str]:
    return frozenset().union(*(s.citations for s in sources))


def build_map_requests(session: Session, sources: Source | Sequence[Source]) -> list[Request]:
    """One request per chunk of every source, in order."""
    info = session.info("map")
    max_tokens = session.max_tokens("map")
    requests: list[Request] = []
    for source in as_list(sources):
        check_chunks_fit(info, source.chunks, max_tokens)
        requests += map_requests(source.chunks, session.templates, template=MAP_TEMPLATE,
                                 title=source.title, max_tokens=max_tokens)
    return requests


def check_chunks_fit(info: ModelInfo, chunks: Sequence[ChunkLike], max_tokens: int) -> None:
    """Fail before any call when a chunk plus its answer cannot fit the map model's context."""
    largest = max((c.tokens for c in chunks), default=0)
    if largest + max_tokens + PROMPT_ROOM > info.context:
        raise InputError(f"chunks of {largest:,} tokens plus a {max_tokens:,}-token answer do "
                         f"not fit {info.spec}'s {info.context:,}-token context; lower "
                         "--chunk-tokens")


def plan_notes(session: Session, sources: Source | Sequence[Source], requests: list[Request],
               notes_budget: int) -> tuple[list[StagePlan], int]:
    """Plans for map (and collapse if needed), and the expected notes size in tokens."""
    info = session.info("map")
    tokens_in = sum(count_tokens(r.system + r.messages[0].text, info.tokenizer, info.token_margin)
                    for r in requests)
    notes = sum(expected_notes_tokens(c.tokens, session.max_tokens("map"))
                for s in as_list(sources) for c in s.chunks)
    cached = sum(session.is_cached(info, r.digest()) for r in requests)
    discount = info.batch_discount if session.options.batch else 0.0
    plans = [StagePlan("map", info, len(requests), tokens_in, notes, cached, discount=discount,
                       note="through the batch API" if discount else "",
                       max_tokens=session.max_tokens("map"))]
    if notes > notes_budget:
        plans.append(StagePlan("collapse", session.info("collapse"),
                               math.ceil(notes / notes_budget),
                               notes, notes // 3, note="notes exceed the budget; estimate",
                               max_tokens=session.max_tokens("collapse")))
        notes = min(notes_budget, notes // 3)
    return plans, notes


def take_notes(session: Session, sources: Source | Sequence[Source], requests: list[Request], *,
               notes_budget: int) -> EpisodeNotes:
    """Map every chunk, drop the empty ones, strip citations the source lacks, condense."""
    sources = as_list(sources)
    chunks = [c for s in sources for c in s.chunks]
    owners = [s for s in sources for _ in s.chunks]
    result = EpisodeNotes()
    if session.batch is not None:
        stage = session.stage("map")
        completions = run_batched(session.runner, stage, requests, session.batch)
        mapped = notes_from(chunks, with_room(session.runner, stage, requests, completions))
    else:
        mapped = map_chunks(session.runner, session.stage("map"), chunks, requests)
    result.mapped = len(mapped)
    kept = []
    for position, (note, source) in enumerate(zip(mapped, owners, strict=True)):
        if note.empty:
            result.dropped += 1
            continue
        text, report = check_citations(note.text, source.citations, mode="strip")
        result.citations.found += report.found
        result.citations.unknown += report.unknown
        label = note.label if len(sources) == 1 else f"{source.title} {note.label}"
        kept.append(Notes(position, label, text))
    result.notes, result.collapse_rounds = condense(session, kept, title=sources_title(sources),
                                                    budget=notes_budget)
    return result
