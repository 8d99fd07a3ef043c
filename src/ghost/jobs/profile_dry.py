"""ghost profile --dry-run: the plan in seconds, whatever the mailbox's size.

The stored index is read as it is and the mail it does not cover is read, or sampled, into a
temporary index (narrow/sample.py). The threads are chosen over both as a run chooses them
(queries, or the owner's threads), a sampled thread standing for as many threads as the
sample's scale (the last one cut so that at most --max-threads are planned); each planned
thread is costed by its own chunks, repeated as many times as it stands for. With a sample,
every count and cost is an estimate, and the plan says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ghost.chunk.threads import Masking, ThreadChunk
from ghost.errors import InputError
from ghost.jobs.profile_threads import (
    owner_addresses,
    plan_stages,
    thread_chunks_for,
    triage_requests,
)
from ghost.models.protocol import Request
from ghost.narrow.sample import MailPart, SampledMail
from ghost.plan import Plan, StagePlan
from ghost.session import Session

if TYPE_CHECKING:
    from ghost.jobs.profile import ProfileRequest

NO_SELECTION = ("no query and no owner address: pass --owner 'Name <addr>', --query or "
                "--auto-queries")


@dataclass
class Pick:
    part: MailPart
    thread_id: int
    weight: float  # how many threads of the mailbox it stands for


def _capped(ranked: Iterable[tuple[MailPart, int]], mail: SampledMail,
            cap: float) -> list[Pick]:
    """The first threads of `ranked` (each once) until they stand for `cap` threads."""
    picks: list[Pick] = []
    seen: set[tuple[int, int]] = set()
    total = 0.0
    for part, tid in ranked:
        if total >= cap:
            break
        if (id(part), tid) in seen:
            continue
        seen.add((id(part), tid))
        weight = min(mail.weight(part, tid), cap - total)
        total += weight
        picks.append(Pick(part, tid, weight))
    return picks


def _newest(mail: SampledMail) -> datetime | None:
    dates = [part.index.conn.execute("SELECT max(date) FROM messages WHERE is_bulk = 0")
             .fetchone()[0] for part in mail.parts]
    known = [d for d in dates if d is not None]
    return datetime.fromtimestamp(max(known), UTC) if known else None


def select_picks(mail: SampledMail, request: ProfileRequest,
                 queries: Sequence[str]) -> list[Pick]:
    """The threads the run would read, over every part of the view: each query's hits (best
    first across the parts, --per-query of them counting what sampled hits stand for), or
    the owner's best threads (scored against the newest mail of the whole view)."""
    from ghost.narrow.select import select_owner_threads

    if not queries:
        addresses = owner_addresses(request.owner)
        if not addresses:
            raise InputError(NO_SELECTION)
        now = _newest(mail)
        scored = [(pick.score, part, pick.thread_id) for part in mail.parts
                  for pick in select_owner_threads(part.index, addresses,
                                                   limit=request.max_threads, now=now)]
        scored.sort(key=lambda s: -s[0])
        return _capped(((part, tid) for _, part, tid in scored), mail, request.max_threads)
    ranked: list[tuple[MailPart, int]] = []
    for query in queries:
        text = f"{query} include:bulk" if request.include_bulk else query
        hits = [(hit.score, -(hit.date.timestamp() if hit.date else 0.0), part, hit.thread_id)
                for part in mail.parts for hit in part.index.search(text,
                                                                    limit=request.per_query)]
        hits.sort(key=lambda h: (h[0], h[1]))
        taken = 0.0  # hits, a sampled one counting for those it stands for
        for _, _, part, tid in hits:
            if taken >= request.per_query:
                break
            taken += mail.weight(part, tid)
            ranked.append((part, tid))
    return _capped(ranked, mail, request.max_threads)


def largest_picks(mail: SampledMail, request: ProfileRequest) -> list[Pick]:
    """The threads that cost the most to read (what model-written queries could choose). In
    a stored index read in place, among its threads with the most messages (its own index:
    summing every body of a large index would take minutes)."""
    sized: list[tuple[int, MailPart, int]] = []
    for part in mail.parts:
        conn = part.index.conn
        if part.in_place:
            for (tid,) in conn.execute(
                    "SELECT thread_id FROM messages GROUP BY thread_id ORDER BY count(*) DESC, "
                    "thread_id LIMIT ?", (4 * request.max_threads,)).fetchall():
                size, bulk = conn.execute(
                    "SELECT sum(length(body)) + sum(length(subject)), min(is_bulk) FROM "
                    "messages WHERE thread_id = ?", (tid,)).fetchone()
                if request.include_bulk or not bulk:
                    sized.append((size or 0, part, tid))
            continue
        sized += [(size, part, tid) for tid, size in conn.execute(
            "SELECT thread_id, sum(length(body)) + sum(length(subject)) AS size FROM messages "
            "GROUP BY thread_id HAVING ? OR min(is_bulk) = 0 ORDER BY size DESC, thread_id "
            "LIMIT ?", (int(request.include_bulk), request.max_threads))]
    sized.sort(key=lambda s: -s[0])
    return _capped(((part, tid) for _, part, tid in sized), mail, request.max_threads)


def picked_chunks(session: Session, picks: Sequence[Pick], masking: Masking,
                  owner: str) -> tuple[list[ThreadChunk], list[Request]]:
    """The picks' chunks and triage requests, each repeated as many times as its thread
    stands for (rounded so that the repeats add up to the picks' total weight)."""
    weight: dict[tuple[int, int], float] = {}
    by_part: dict[int, tuple[MailPart, list[int]]] = {}
    for pick in picks:
        weight[(id(pick.part), pick.thread_id)] = pick.weight
        by_part.setdefault(id(pick.part), (pick.part, []))[1].append(pick.thread_id)
    chunks: list[ThreadChunk] = []
    triage: list[Request] = []
    carried = 0.0
    addresses = owner_addresses(owner)
    for key, (part, tids) in by_part.items():
        mine = thread_chunks_for(session, part.index, tids, masking, addresses)
        requests = triage_requests(session, mine, owner)
        for tid in tids:
            before = round(carried)
            carried += weight[(key, tid)]
            repeats = round(carried) - before
            for chunk, req in zip(mine, requests, strict=True):
                if chunk.thread_id == tid:
                    chunks += [chunk] * repeats
                    triage += [req] * repeats
    return chunks, triage


def dry_plan(session: Session, mail: SampledMail, plan: Plan, picks: Sequence[Pick],
             request: ProfileRequest, masking: Masking,
             queries_plan: StagePlan | None = None) -> None:
    """Plan the stages over the picks into `plan`; with a sample, marked as estimates."""
    chunks, triage = picked_chunks(session, picks, masking, request.owner)
    planned = round(sum(p.weight for p in picks))
    plan.source.setdefault("selected threads", f"~{planned:,} (estimate)" if mail.estimated
                           else len(picks))
    plan_stages(session, plan, chunks, triage, request, queries_plan)
    if mail.estimated:
        for stage in plan.stages:
            if stage is not queries_plan:
                stage.note = (f"{stage.note}; " if stage.note else "") + "estimated from a sample"


def dry_notes(mail: SampledMail, mailbox: str, folder: str) -> list[str]:
    """What the dry run read and wrote (nothing), and which of its figures are estimates."""
    info = mail.summary()
    notes = [mail.stored_note] if mail.stored_note else []
    kept = f"nothing was written; the run keeps the index in {folder}"
    if not mail.pending.ranges and not mail.pending.files:
        notes.append(f"the stored index covers the whole mailbox: read as it is; {kept}")
    elif not info["stored_messages"]:
        notes.append("the mail was read into a temporary database, deleted after this dry run: "
                     + kept)
    else:
        notes.append(f"the stored index was read as it is and the new mail into a temporary "
                     f"database, deleted after this dry run: {kept}")
        if len(mail.parts) > 1:
            notes.append("the stored index is too large to copy: a new reply to an older "
                         "thread is planned as a thread of its own")
    if mail.estimated:
        notes.append(f"estimated from a sample: {info['sampled_messages']:,} of "
                     f"~{info['new_messages']:,} new messages ({info['sampled_share']:.1%}); "
                     "the message, thread and call counts and the costs are scaled from it "
                     "(threads rather too many: a sample cuts some in parts); "
                     f"`ghost mail index {mailbox}` first for an exact plan")
    return notes
