"""ghost profile: a mailbox → a briefing on its owner for a new executive assistant.

index (incremental FTS5) → narrow (queries, model-written queries, or the owner's threads) →
triage each thread with one letter (cheap model) → notes on the relevant ones with Message-ID
citations (cheap model) → condense if needed → the profile (strong model), its citations
checked against the index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ghost.chunk.threads import Masking, ThreadChunk, thread_chunks
from ghost.cite import CitationReport, check_citations
from ghost.errors import InputError
from ghost.jobs.screen import guarded_call, guarded_screen_plan, screen_spec
from ghost.map.notes import Notes, expected_notes_tokens, is_nothing
from ghost.map.stage import check_chunks_fit
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Message, Request
from ghost.narrow.index import AddReport, MailIndex, StoredMessage
from ghost.narrow.query import compile_query
from ghost.plan import Plan, StagePlan
from ghost.privacy import datamark
from ghost.providers import is_cloud
from ghost.reduce.collapse import collapse_notes, join_notes
from ghost.session import Session
from ghost.tokens import count_tokens, counter_for

TRIAGE_LETTERS = {"R": "relevant", "N": "not relevant", "S": "sensitive"}
NOTES_SHARE = 0.5
MAX_AUTO_QUERIES = 8
QUERIES_MAX_TOKENS = 400
_LETTER = re.compile(r"\b([A-Z])\b")


@dataclass
class ProfileRequest:
    mailbox: Path
    owner: str
    queries: list[str] = field(default_factory=list)
    auto_queries: bool = False
    brief: str = ""
    max_threads: int = 60
    per_query: int = 40
    include_bulk: bool = False
    words: int = 1500


@dataclass
class ProfileResult:
    plan: Plan
    text: str = ""
    index_report: dict[str, Any] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    threads: int = 0
    triage: dict[str, int] = field(default_factory=dict)
    masked: dict[str, int] = field(default_factory=dict)          # in mail for the map model
    masked_reduce: dict[str, int] = field(default_factory=dict)   # in text for the strong one
    notes: list[Notes] = field(default_factory=list)
    collapse_rounds: int = 0
    citations: CitationReport = field(default_factory=CitationReport)
    screen: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.to_dict(), "mail": self.index_report, "queries": self.queries,
                "threads_selected": self.threads, "triage": self.triage,
                "secrets_masked": self.masked, "secrets_masked_reduce": self.masked_reduce,
                "collapse_rounds": self.collapse_rounds,
                "citations": self.citations.to_dict(), "screen": self.screen}


def owner_addresses(owner: str) -> list[str]:
    found = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", owner)
    return [a.lower() for a in found]


def open_index(session: Session, mailbox: Path, *, dry_run: bool) -> tuple[MailIndex,
                                                                           AddReport]:
    if not mailbox.exists():
        raise InputError(f"{mailbox}: no such mailbox (mbox file, Maildir or folder of .eml)")
    index = MailIndex(session.cache_dir / "mail")
    return index, index.add(mailbox)


def index_summary(report: AddReport, index: MailIndex) -> dict[str, Any]:
    stats = report.stats.to_dict()
    info = index.stats()
    return {"read": stats, "added": report.added, "seconds": round(report.seconds, 2),
            "messages": info["messages"], "threads": info["threads"], "bulk": info["bulk"]}


def select_threads(index: MailIndex, request: ProfileRequest,
                   queries: Sequence[str]) -> list[int]:
    from ghost.narrow.select import select_owner_threads

    if not queries:
        addresses = owner_addresses(request.owner)
        if not addresses:
            raise InputError("no query and no owner address: pass --owner 'Name <addr>', "
                             "--query or --auto-queries")
        return [p.thread_id for p in select_owner_threads(index, addresses,
                                                          limit=request.max_threads)]
    chosen: dict[int, None] = {}
    for query in queries:
        text = f"{query} include:bulk" if request.include_bulk else query
        for hit in index.search(text, limit=request.per_query):
            chosen.setdefault(hit.thread_id)
    return list(chosen)[: request.max_threads]


def queries_request(session: Session, index: MailIndex, request: ProfileRequest,
                    masking: Masking) -> Request:
    """The strong model's request to turn the brief into search queries. The correspondents'
    addresses come from the mail: delimited in the prompt, masked for a cloud model."""
    stats = index.stats()
    top = index.conn.execute("SELECT from_addr, count(*) c FROM messages WHERE is_bulk=0 "
                             "GROUP BY from_addr ORDER BY c DESC LIMIT 12").fetchall()
    prompt = session.templates.render(
        "profile-queries", owner=request.owner or "the owner", stats=stats,
        correspondents=[masking.apply(a) for a, _ in top if a], max_queries=MAX_AUTO_QUERIES,
        brief=request.brief or "Who matters to the owner, what is going on, what they care "
                               "about.")
    return Request(prompt.system, (Message.user(prompt.user),), max_tokens=QUERIES_MAX_TOKENS,
                   stage="queries")


def parse_queries(reply: str) -> list[str]:
    """The valid queries in the model's reply, at most MAX_AUTO_QUERIES; invalid ones dropped."""
    queries = []
    for line in reply.splitlines():
        line = line.strip().strip("`").lstrip("-*0123456789. ").strip()
        if not line:
            continue
        try:
            compile_query(line)
        except InputError:
            continue
        queries.append(line)
    return queries[:MAX_AUTO_QUERIES]


def triage_letter(text: str) -> str:
    match = _LETTER.search(text.strip().upper())
    letter = match.group(1) if match else "R"
    return letter if letter in TRIAGE_LETTERS else "R"  # unsure: keep it


def build_profile(session: Session, request: ProfileRequest,
                  on_progress: Callable[[str, int, int], None] | None = None) -> ProfileResult:
    opts = session.options
    index, added = open_index(session, request.mailbox, dry_run=opts.dry_run)
    try:
        return _build(session, index, added, request, on_progress)
    finally:
        index.close()


def _build(session: Session, index: MailIndex, added: AddReport, request: ProfileRequest,
           on_progress: Callable[[str, int, int], None] | None) -> ProfileResult:
    opts = session.options
    map_info, reduce_info = session.info("map"), session.info("reduce")
    result = ProfileResult(Plan({"mailbox": str(request.mailbox), "owner": request.owner}))
    result.index_report = index_summary(added, index)
    result.plan.source.update(messages=result.index_report["messages"],
                              threads=result.index_report["threads"])
    map_cloud = is_cloud(map_info, opts.base_url)
    reduce_cloud = is_cloud(reduce_info, opts.base_url)
    queries = list(request.queries)
    queries_plan: StagePlan | None = None
    if request.auto_queries:
        # A paid strong-model call: planned, and checked against --budget, before it is made.
        q_request = queries_request(session, index, request,
                                    Masking(enabled=reduce_cloud, counts=result.masked_reduce))
        queries_plan = _queries_plan(session, reduce_info, q_request)
        if opts.dry_run or opts.budget is not None:
            bound = _bound_plan(session, index, request, result.plan.source, queries_plan,
                                Masking(enabled=map_cloud, counts={}))
            if opts.dry_run:
                result.plan = bound
                return result
            bound.check_budget(opts.budget)
        reply = session.runner.call(session.stage("reduce"), q_request)
        queries += parse_queries(reply.text)
    result.queries = queries
    thread_ids = select_threads(index, request, queries)
    result.threads = len(thread_ids)
    if not thread_ids:
        raise InputError("no thread matched; loosen the query or check --owner")
    chunks = _chunks(session, index, thread_ids, Masking(enabled=map_cloud, counts=result.masked))
    triage = _requests(session, "profile-triage", chunks, request.owner, max_tokens=5,
                       stage="triage")
    result.plan.source["selected threads"] = len(thread_ids)
    _plan(session, result.plan, chunks, triage, request, queries_plan)
    result.plan.check_budget(opts.budget)
    if opts.dry_run:
        return result
    map_stage = session.stage("map")
    _record_recipients(session, map_stage.endpoint, chunks)
    letters = [triage_letter(c.text) for c in session.runner.map(map_stage, triage)]
    for letter in letters:
        name = TRIAGE_LETTERS[letter]
        result.triage[name] = result.triage.get(name, 0) + 1
    keep = [(c, letter == "S") for c, letter in zip(chunks, letters, strict=True)
            if letter != "N"]
    notes_requests = [_requests(session, "profile-map", [c], request.owner, sensitive=s,
                                max_tokens=session.max_tokens("map"),
                                stage="map", parts=len(chunks))[0]
                      for c, s in keep]
    done = [0]

    def tick(*_: object) -> None:
        done[0] += 1
        if on_progress:
            on_progress("map", done[0], len(notes_requests))

    completions = session.runner.map(map_stage, notes_requests, on_done=tick)
    valid = {mid for c in chunks for mid in c.message_ids}
    notes = []
    for (chunk, _), completion in zip(keep, completions, strict=True):
        if is_nothing(completion.text):
            continue
        text, report = check_citations(completion.text, valid, mode="strip",
                                       accept=index.has_message_id)
        result.citations.unknown += report.unknown
        notes.append(Notes(chunk.index, chunk.label, text))
    if _notes_leave(session, reduce_cloud):
        # Notes repeat what the mail says; a local map model saw it unmasked.
        masking = Masking(enabled=True, counts=result.masked_reduce)
        notes = [Notes(n.index, masking.apply(n.label), masking.apply(n.text)) for n in notes]
    reduce_stage = session.stage("reduce")
    budget = int(reduce_info.context * NOTES_SHARE)
    result.notes, result.collapse_rounds = collapse_notes(
        session.runner, reduce_stage, notes, session.templates, title=request.owner,
        budget=budget, count_tokens=counter_for(reduce_info.tokenizer, reduce_info.token_margin),
        max_tokens=session.max_tokens("reduce"))
    if not result.notes:
        result.text = f"# Profile: {request.owner}\n\nNo selected thread held anything to brief."
        return result
    prompt = session.templates.render(
        "profile-reduce", owner=request.owner or "the mailbox owner",
        notes=join_notes(result.notes), threads=len(keep),
        dropped=len(chunks) - len(keep), target_words=request.words)
    final, result.screen = guarded_call(session, reduce_stage, Request(
        prompt.system, (Message.user(prompt.user),),
        max_tokens=session.max_tokens("reduce"), stage="reduce"),
        screen_text=join_notes(result.notes), expected_output=int(request.words * 1.5))
    result.text, report = check_citations(final.text, valid, mode=opts.citations,
                                          accept=index.has_message_id)
    result.citations.found += report.found
    result.citations.unknown += report.unknown
    return result


def _notes_leave(session: Session, reduce_cloud: bool) -> bool:
    """Whether the notes go to a cloud model: the strong one, or the screen's (--screen)."""
    if reduce_cloud:
        return True
    if not session.options.screen:
        return False
    screen_info = session.catalog.resolve(screen_spec(session))
    return is_cloud(screen_info, session.options.base_url)


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


def _chunks(session: Session, index: MailIndex, thread_ids: Sequence[int],
            masking: Masking) -> list[ThreadChunk]:
    opts = session.options
    map_info = session.info("map")
    count = counter_for(map_info.tokenizer, map_info.token_margin)
    chunks = thread_chunks([(tid, _mask_headers(index.thread(tid), masking))
                            for tid in thread_ids],
                           max_tokens=opts.chunk_tokens, count_tokens=count, masking=masking)
    check_chunks_fit(map_info, chunks, session.max_tokens("map"))
    return chunks


def _requests(session: Session, template: str, chunks: Sequence[ThreadChunk], owner: str, *,
              max_tokens: int, stage: str, sensitive: bool = False,
              parts: int | None = None) -> list[Request]:
    out = []
    for chunk in chunks:
        # The label is the thread's subject: untrusted. Templates get it datamarked as the
        # `heading` to put inside the THREAD delimiters (`label` is the bare, masked text).
        prompt = session.templates.render(template, owner=owner or "the mailbox owner",
                                          part=chunk.index + 1, parts=parts or len(chunks),
                                          label=chunk.label,
                                          heading=datamark(f"Thread: {chunk.label}"),
                                          text=chunk.text, sensitive=sensitive)
        out.append(Request(prompt.system, (Message.user(prompt.user),), max_tokens=max_tokens,
                           stage=stage))
    return out


def _queries_plan(session: Session, info: ModelInfo, request: Request) -> StagePlan:
    tokens = count_tokens(request.system + request.messages[0].text, info.tokenizer,
                          info.token_margin)
    return StagePlan("queries", info, 1, tokens, request.max_tokens,
                     int(session.is_cached(info, request.digest())),
                     note="the strong model writes the searches (--auto-queries)")


def _largest_threads(index: MailIndex, request: ProfileRequest) -> list[int]:
    """The threads the queries could select that cost the most to read: the largest."""
    rows = index.conn.execute(
        "SELECT thread_id FROM messages GROUP BY thread_id HAVING ? OR min(is_bulk) = 0 "
        "ORDER BY sum(length(body)) + sum(length(subject)) DESC, thread_id LIMIT ?",
        (int(request.include_bulk), request.max_threads)).fetchall()
    return [tid for (tid,) in rows]


def _bound_plan(session: Session, index: MailIndex, request: ProfileRequest,
                source: dict[str, Any], queries_plan: StagePlan, masking: Masking) -> Plan:
    """The plan before the queries are written: their call, then the rest as if they selected
    the largest threads (--max-threads of them), the most they can cost."""
    thread_ids = _largest_threads(index, request)
    if not thread_ids:
        raise InputError(f"{request.mailbox}: no thread to read")
    chunks = _chunks(session, index, thread_ids, masking)
    triage = _requests(session, "profile-triage", chunks, request.owner, max_tokens=5,
                       stage="triage")
    plan = Plan({**source, "selected threads": f"up to {len(thread_ids)}, by the queries"})
    _plan(session, plan, chunks, triage, request, queries_plan)
    plan.notes.append(f"the model-written queries choose the threads: planned, and checked "
                      f"against --budget, as if they chose the {len(thread_ids)} largest")
    return plan


def _plan(session: Session, plan: Plan, chunks: Sequence[ThreadChunk],
          triage: Sequence[Request], request: ProfileRequest,
          queries: StagePlan | None = None) -> None:
    map_info, reduce_info = session.info("map"), session.info("reduce")
    if queries is not None:
        plan.stages.append(queries)
    triage_in = sum(count_tokens(r.system + r.messages[0].text, map_info.tokenizer,
                                 map_info.token_margin) for r in triage)
    cached = sum(session.is_cached(map_info, r.digest()) for r in triage)
    plan.stages.append(StagePlan("triage", map_info, len(triage), triage_in, len(triage) * 2,
                                 cached))
    notes = sum(expected_notes_tokens(c.tokens, session.options.map_max_tokens) for c in chunks)
    plan.stages.append(StagePlan("map", map_info, len(chunks), triage_in, notes,
                                 note="upper bound: only threads triaged relevant are mapped"))
    budget = int(reduce_info.context * NOTES_SHARE)
    if notes > budget:
        plan.stages.append(StagePlan("collapse", reduce_info, math.ceil(notes / budget), notes,
                                     notes // 3, note="if the notes exceed the strong model's "
                                                      "share; estimate"))
        notes = min(budget, notes // 3)
    screen = guarded_screen_plan(session, notes)
    if screen is not None:
        plan.stages.append(screen)
    plan.stages.append(StagePlan("reduce", reduce_info, 1, notes + 800,
                                 int(request.words * 1.5)))


def _record_recipients(session: Session, endpoint: str, chunks: Sequence[ThreadChunk]) -> None:
    """The manifest's audit trail: which messages went to which provider (ids, not content)."""
    sent = session.manifest.data.setdefault("messages_sent", {})
    ids = sent.setdefault(endpoint, [])
    seen = set(ids)
    for chunk in chunks:
        for mid in chunk.message_ids:
            if mid not in seen:
                ids.append(mid)
                seen.add(mid)
