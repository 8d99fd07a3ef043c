"""The threads a profile reads: their chunks (headers and bodies masked for a cloud model),
the requests made of them, and the plan — triage, map, collapse and reduce — checked against
--budget before the first call; with model-written queries, planned as if they chose the
largest threads."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ghost.chunk.threads import Masking, ThreadChunk, thread_chunks
from ghost.errors import InputError
from ghost.jobs.profile_triage import MAX_TOKENS as TRIAGE_TOKENS
from ghost.jobs.profile_triage import TEMPLATE as TRIAGE
from ghost.jobs.profile_triage import load_topics, load_triage_categories
from ghost.map.notes import expected_notes_tokens
from ghost.map.stage import check_chunks_fit
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Message, Request
from ghost.narrow.index import MailIndex, StoredMessage
from ghost.plan import Plan, StagePlan
from ghost.privacy import datamark
from ghost.screen.guard import guarded_screen_plan
from ghost.session import Session
from ghost.tokens import count_tokens, counter_for

if TYPE_CHECKING:
    from ghost.jobs.profile import ProfileRequest

NOTES_SHARE = 0.5


def owner_addresses(owner: str) -> list[str]:
    """The addresses in --owner, lower-case: "Dana <Dana@Acme.example>" → ["dana@acme.example"]."""
    found = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", owner)
    return [a.lower() for a in found]


def _mask_headers(messages: Sequence[StoredMessage], masking: Masking) -> list[StoredMessage]:
    """The messages with their headers masked like their bodies (which thread_chunks masks):
    subject, display name, addresses, attachment names. Message-IDs stay: they are the
    citations."""
    if not masking.enabled:
        return list(messages)
    return [replace(m, subject=masking.apply(m.subject), sender=masking.apply(m.sender),
                    sender_name=masking.apply(m.sender_name),
                    to=[masking.apply(a) for a in m.to], cc=[masking.apply(a) for a in m.cc],
                    attachments=[(masking.apply(n), size) for n, size in m.attachments])
            for m in messages]


def thread_chunks_for(session: Session, index: MailIndex, thread_ids: Sequence[int],
                      masking: Masking, owner: Sequence[str] = ()) -> list[ThreadChunk]:
    """The threads as chunks, the owner's messages marked as theirs (`owner`: addresses),
    relative dates resolved against each message's date."""
    opts = session.options
    map_info = session.info("map")
    count = counter_for(map_info.tokenizer, map_info.token_margin)
    chunks = thread_chunks([(tid, _mask_headers(index.thread(tid), masking))
                            for tid in thread_ids],
                           max_tokens=opts.chunk_tokens, count_tokens=count, masking=masking,
                           owner=owner, resolve_dates=True)
    check_chunks_fit(map_info, chunks, session.max_tokens("map"))
    return chunks


def thread_requests(session: Session, template: str, chunks: Sequence[ThreadChunk],
                    owner: str, *, max_tokens: int, stage: str, sensitive: bool = False,
                    parts: int | None = None, **variables: Any) -> list[Request]:
    out = []
    topics = load_topics(session.templates)
    for chunk in chunks:
        # The label is the thread's subject, the status names its last sender: untrusted.
        # Templates get them datamarked as the `heading` to put inside the THREAD delimiters
        # (`label` is the bare, masked text).
        heading = f"Thread: {chunk.label}" + (f"\n{chunk.status}" if chunk.status else "")
        prompt = session.templates.render(template, owner=owner or "the mailbox owner",
                                          part=chunk.index + 1, parts=parts or len(chunks),
                                          label=chunk.label, heading=datamark(heading),
                                          text=chunk.text, sensitive=sensitive,
                                          topics=topics, **variables)
        out.append(Request(prompt.system, (Message.user(prompt.user),), max_tokens=max_tokens,
                           stage=stage))
    return out


def triage_requests(session: Session, chunks: Sequence[ThreadChunk],
                    owner: str) -> list[Request]:
    """One one-letter request per chunk, the categories from the profile-triage template."""
    categories = load_triage_categories(session.templates)
    return thread_requests(session, TRIAGE, chunks, owner, max_tokens=TRIAGE_TOKENS,
                           stage="triage", categories=categories.items,
                           letters=categories.letters)


def queries_plan(session: Session, info: ModelInfo, request: Request) -> StagePlan:
    tokens = count_tokens(request.system + request.messages[0].text, info.tokenizer,
                          info.token_margin)
    who = "the reduce model" if session.options.queries_model is None else "--queries-model"
    return StagePlan("queries", info, 1, tokens, request.max_tokens,
                     int(session.is_cached(info, request.digest())),
                     note=f"{who} writes the searches (--auto-queries)",
                     max_tokens=request.max_tokens)


def _largest_threads(index: MailIndex, request: ProfileRequest) -> list[int]:
    """The threads the queries could select that cost the most to read: the largest."""
    rows = index.conn.execute(
        "SELECT thread_id FROM messages GROUP BY thread_id HAVING ? OR min(is_bulk) = 0 "
        "ORDER BY sum(length(body)) + sum(length(subject)) DESC, thread_id LIMIT ?",
        (int(request.include_bulk), request.max_threads)).fetchall()
    return [tid for (tid,) in rows]


def bound_plan(session: Session, index: MailIndex, request: ProfileRequest,
                source: dict[str, Any], queries_plan: StagePlan, masking: Masking) -> Plan:
    """The plan before the queries are written: their call, then the rest as if they selected
    the largest threads (--max-threads of them), the most they can cost."""
    thread_ids = _largest_threads(index, request)
    if not thread_ids:
        raise InputError(f"{request.mailbox}: no thread to read")
    chunks = thread_chunks_for(session, index, thread_ids, masking,
                               owner_addresses(request.owner))
    triage = triage_requests(session, chunks, request.owner)
    plan = Plan({**source, "selected threads": f"up to {len(thread_ids)}, by the queries"})
    plan_stages(session, plan, chunks, triage, request, queries_plan)
    plan.notes.append(f"the model-written queries choose the threads: planned, and checked "
                      f"against --budget, as if they chose the {len(thread_ids)} largest")
    return plan


def plan_stages(session: Session, plan: Plan, chunks: Sequence[ThreadChunk],
          triage: Sequence[Request], request: ProfileRequest,
          queries: StagePlan | None = None) -> None:
    map_info, reduce_info = session.info("map"), session.info("reduce")
    if queries is not None:
        plan.stages.append(queries)
    triage_in = sum(count_tokens(r.system + r.messages[0].text, map_info.tokenizer,
                                 map_info.token_margin) for r in triage)
    cached = sum(session.is_cached(map_info, r.digest()) for r in triage)
    plan.stages.append(StagePlan("triage", map_info, len(triage), triage_in, len(triage) * 2,
                                 cached, max_tokens=max((r.max_tokens for r in triage), default=0)))
    notes = sum(expected_notes_tokens(c.tokens, session.options.map_max_tokens) for c in chunks)
    plan.stages.append(StagePlan("map", map_info, len(chunks), triage_in, notes,
                                 note="upper bound: only threads triaged relevant are mapped",
                                 max_tokens=session.max_tokens("map")))
    budget = int(reduce_info.context * NOTES_SHARE)
    if notes > budget:
        plan.stages.append(StagePlan("collapse", session.info("collapse"),
                                     math.ceil(notes / budget), notes,
                                     notes // 3, note="if the notes exceed the strong model's "
                                                      "share; estimate",
                                     max_tokens=session.max_tokens("collapse")))
        notes = min(budget, notes // 3)
    screen = guarded_screen_plan(session, notes)
    if screen is not None:
        plan.stages.append(screen)
    plan.stages.append(StagePlan("reduce", reduce_info, 1, notes + 800,
                                 int(request.words * 1.5), max_tokens=session.max_tokens("reduce")))
