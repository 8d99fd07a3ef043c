"""ghost profile: a mailbox → a briefing on its owner for a new executive assistant.

index (incremental FTS5; the mailbox's own, so the profile sees no other mail) → narrow
(queries, queries written by the queries model, or the owner's threads) → triage each thread
with one letter (cheap model, read by the shared classifier's reader: profile_triage.py) →
notes on the relevant ones, each stamped with the date and sender of the message it cites
(profile_notes.py) → condense if needed, per person and project (profile-collapse) → the
profile (strong model), its citations checked against the mailbox's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.chunk.threads import Masking, ThreadChunk
from ghost.cite import CitationReport, check_citations
from ghost.errors import InputError
from ghost.jobs.profile_dry import NO_SELECTION, dry_notes, dry_plan, largest_picks, select_picks
from ghost.jobs.profile_notes import StampReport, stamp_notes
from ghost.jobs.profile_threads import (
    NOTES_SHARE,
    bound_plan,
    owner_addresses,
    plan_stages,
    queries_plan,
    thread_chunks_for,
    thread_requests,
    triage_requests,
)
from ghost.jobs.profile_triage import load_topics, load_triage_categories, read_triage
from ghost.jobs.runner import Document
from ghost.map.notes import Notes, is_nothing
from ghost.models.protocol import Message, Request
from ghost.narrow.index import AddReport, MailIndex
from ghost.narrow.mailboxes import (
    index_folder,
    indexing_progress,
    open_mailbox,
    sampled_mailbox,
)
from ghost.narrow.query import compile_query
from ghost.narrow.results import StoredMessage
from ghost.plan import Plan, StagePlan
from ghost.providers import is_cloud
from ghost.reduce.collapse import condense, join_notes
from ghost.reduce.final import cite, final_reply, reduce_request
from ghost.screen.classify import screen_spec
from ghost.session import Session

MAX_AUTO_QUERIES = 8
QUERIES_MAX_TOKENS = 400
PROFILE_COLLAPSE = "profile-collapse"


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
    triage_unclear: int = 0       # replies that were no category letter: kept, with care
    stamps: StampReport = field(default_factory=StampReport)
    masked: dict[str, int] = field(default_factory=dict)          # in mail for the map model
    masked_reduce: dict[str, int] = field(default_factory=dict)   # in text for the strong one
    notes: list[Notes] = field(default_factory=list)
    collapse_rounds: int = 0
    citations: CitationReport = field(default_factory=CitationReport)
    screen: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.to_dict(), "mail": self.index_report, "queries": self.queries,
                "threads_selected": self.threads, "triage": self.triage,
                "triage_unclear": self.triage_unclear,
                "notes_attributed_by_wording": self.stamps.by_wording,
                "notes_unattributed_dropped": self.stamps.dropped,
                "secrets_masked": self.masked, "secrets_masked_reduce": self.masked_reduce,
                "collapse_rounds": self.collapse_rounds,
                "citations": self.citations.to_dict(), "screen": self.screen}


def open_index(session: Session, mailbox: Path) -> tuple[MailIndex, AddReport]:
    """The mailbox's own index, brought up to date: the only mail the profile can see."""
    index = open_mailbox(session.cache_dir, mailbox)
    try:
        return index, index.add(progress=indexing_progress(session.tell))
    except BaseException:
        index.close()
        raise


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
            raise InputError(NO_SELECTION)
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


def build_profile(session: Session, request: ProfileRequest) -> ProfileResult:
    if not request.mailbox.exists():
        raise InputError(f"{request.mailbox}: no such mailbox (mbox file, Maildir or folder of "
                         ".eml)")
    if session.options.dry_run:
        return dry_profile(session, request)
    index, added = open_index(session, request.mailbox)
    try:
        return _build(session, index, added, request)
    finally:
        index.close()


def dry_profile(session: Session, request: ProfileRequest) -> ProfileResult:
    """The plan alone, in seconds whatever the mailbox's size: the stored index read as it
    is, the mail it does not cover read (or sampled) into a temporary database
    (profile_dry.py); nothing is written, no call is made."""
    opts = session.options
    mail = sampled_mailbox(session.cache_dir, request.mailbox)
    try:
        result = ProfileResult(Plan({"mailbox": str(request.mailbox), "owner": request.owner}))
        info = result.index_report = mail.summary()
        result.plan.source.update(messages=info["messages"], threads=info["threads"])
        folder = index_folder(session.cache_dir, request.mailbox)
        result.plan.notes += dry_notes(mail, str(request.mailbox), str(folder))
        session.say(f"mail: {'~' if mail.estimated else ''}{info['messages']:,} messages "
                    f"({info['stored_messages']:,} indexed, {info['added']:,} "
                    + ("sampled of the new" if mail.estimated else "new") + ")")
        masking = Masking(enabled=is_cloud(session.info("map"), opts.base_url),
                          counts=result.masked)
        if not request.auto_queries:
            result.queries = list(request.queries)
            picks = select_picks(mail, request, result.queries)
            if not picks:
                raise InputError("no thread matched; loosen the query or check --owner")
            result.threads = round(sum(p.weight for p in picks))
            dry_plan(session, mail, result.plan, picks, request, masking)
            result.plan.check_budget(opts.budget)
            return result
        queries_info = session.info("queries")
        # A stored index read in place is not scanned for the prompt's figures: the new mail's.
        q_request = queries_request(
            session, mail.parts[-1].index, request,
            Masking(enabled=is_cloud(queries_info, opts.base_url), counts=result.masked_reduce))
        picks = largest_picks(mail, request)
        if not picks:
            raise InputError(f"{request.mailbox}: no thread to read")
        largest = round(sum(p.weight for p in picks))
        plan = Plan({**result.plan.source, "selected threads": f"up to {largest}, by the "
                     "queries"}, notes=result.plan.notes)
        q_plan = queries_plan(session, queries_info, q_request)
        if len(mail.parts) > 1:
            q_plan.note += "; the prompt's mailbox figures from the new mail only: estimate"
        dry_plan(session, mail, plan, picks, request, masking, q_plan)
        plan.notes.append(f"the model-written queries choose the threads: planned, and checked "
                          f"against --budget, as if they chose the {largest} largest")
        result.plan = plan
        return result
    finally:
        mail.close()


def _build(session: Session, index: MailIndex, added: AddReport,
           request: ProfileRequest) -> ProfileResult:
    opts = session.options
    map_info, reduce_info = session.info("map"), session.info("reduce")
    result = ProfileResult(Plan({"mailbox": str(request.mailbox), "owner": request.owner}))
    result.index_report = index_summary(added, index)
    result.plan.source.update(messages=result.index_report["messages"],
                              threads=result.index_report["threads"])
    indexed = result.index_report
    skipped = indexed.get("read", {}).get("skipped_total") or 0
    session.say(f"mail: {indexed.get('messages', 0):,} messages indexed "
                f"({indexed.get('added', 0):,} new"
                + (f", {skipped:,} skipped" if skipped else "") + ")")
    map_cloud = is_cloud(map_info, opts.base_url)
    reduce_cloud = is_cloud(reduce_info, opts.base_url)
    owner = owner_addresses(request.owner)
    queries = list(request.queries)
    q_plan: StagePlan | None = None
    if request.auto_queries:
        # A paid call (the reduce model's unless --queries-model): planned, and checked
        # against --budget, before it is made.
        queries_info = session.info("queries")
        q_request = queries_request(
            session, index, request,
            Masking(enabled=is_cloud(queries_info, opts.base_url), counts=result.masked_reduce))
        q_plan = queries_plan(session, queries_info, q_request)
        if opts.budget is not None:
            bound_plan(session, index, request, result.plan.source, q_plan,
                       Masking(enabled=map_cloud, counts={})).check_budget(opts.budget)
        reply = session.runner.call(session.stage("queries"), q_request)
        _record_sent(session, "queries", "queries", "the top correspondents' addresses", [])
        queries += parse_queries(reply.text)
    result.queries = queries
    for query in queries:
        session.say(f"query: {query}")
    thread_ids = select_threads(index, request, queries)
    result.threads = len(thread_ids)
    if not thread_ids:
        raise InputError("no thread matched; loosen the query or check --owner")
    chunks = thread_chunks_for(session, index, thread_ids,
                               Masking(enabled=map_cloud, counts=result.masked), owner)
    triage = triage_requests(session, chunks, request.owner)
    result.plan.source["selected threads"] = len(thread_ids)
    plan_stages(session, result.plan, chunks, triage, request, q_plan)
    result.plan.check_budget(opts.budget)
    map_stage = session.stage("map")
    _record_recipients(session, map_stage.endpoint, chunks)
    decided = read_triage([c.text for c in session.runner.map(map_stage, triage)],
                          load_triage_categories(session.templates))
    result.triage, result.triage_unclear = decided.counts, decided.unclear
    keep = [(c, sensitive) for c, kept, sensitive
            in zip(chunks, decided.keep, decided.sensitive, strict=True) if kept]
    notes_requests = [thread_requests(session, "profile-map", [c], request.owner, sensitive=s,
                                      max_tokens=session.max_tokens("map"),
                                      stage="map", parts=len(chunks))[0]
                      for c, s in keep]
    completions = session.runner.map(map_stage, notes_requests)
    valid = {mid for c in chunks for mid in c.message_ids}
    notes = []
    by_id: dict[str, StoredMessage] = {}
    for (chunk, _), completion in zip(keep, completions, strict=True):
        if is_nothing(completion.text):
            continue
        text, report = check_citations(completion.text, valid, mode="strip",
                                       accept=index.has_message_id)
        result.citations.unknown += report.unknown
        mine = {m.message_id: m for m in index.thread(chunk.thread_id)
                if m.message_id in chunk.message_ids}
        by_id.update(mine)
        text, stamped = stamp_notes(text, mine, owner)
        result.stamps.add(stamped)
        if text:
            label = f"{chunk.label} — {chunk.status}" if chunk.status else chunk.label
            notes.append(Notes(chunk.index, label, text))
    if _notes_leave(session, reduce_cloud):
        # Notes repeat what the mail says; a local map model saw it unmasked.
        masking = Masking(enabled=True, counts=result.masked_reduce)
        notes = [Notes(n.index, masking.apply(n.label), masking.apply(n.text)) for n in notes]
    derived_from = [mid for chunk, _ in keep for mid in chunk.message_ids]
    result.notes, result.collapse_rounds = condense(
        session, notes, title=request.owner, budget=int(reduce_info.context * NOTES_SHARE),
        template=PROFILE_COLLAPSE)
    if result.collapse_rounds:
        _record_sent(session, "collapse", "collapse", "notes on these messages", derived_from)
        result.notes = _restamped(result.notes, by_id, owner, result.stamps)
        if _notes_leave(session, reduce_cloud):  # the stamps come from unmasked headers
            masking = Masking(enabled=True, counts=result.masked_reduce)
            result.notes = [Notes(n.index, n.label, masking.apply(n.text))
                            for n in result.notes]
    if not result.notes:
        result.text = f"# Profile: {request.owner}\n\nNo selected thread held anything to brief."
        return result
    final_request = reduce_request(
        session, "profile-reduce", owner=request.owner or "the mailbox owner",
        notes=join_notes(result.notes), threads=len(keep),
        dropped=len(chunks) - len(keep), target_words=request.words,
        topics=load_topics(session.templates))
    _record_sent(session, "reduce", "reduce", "notes on these messages", derived_from)
    if session.options.screen:
        _record_sent(session, "screen", "screen", "notes on these messages", derived_from)
    final, result.screen = final_reply(session, final_request,
                                       screen_text=join_notes(result.notes),
                                       expected_output=int(request.words * 1.5))
    result.text, cited = cite(session, final.text, valid, accept=index.has_message_id)
    result.citations.found += cited.found
    result.citations.unknown += cited.unknown
    return result


def _restamped(notes: Sequence[Notes], by_id: dict[str, StoredMessage], owner: Sequence[str],
               report: StampReport) -> list[Notes]:
    """Condensed notes with any bullet that lost its date and sender stamped again from the
    citations it kept (one that kept neither is dropped, and counted)."""
    out = []
    for n in notes:
        text, stamped = stamp_notes(n.text, by_id, owner, by_wording=False)
        report.add(stamped)
        out.append(Notes(n.index, n.label, text))
    return out


def _notes_leave(session: Session, reduce_cloud: bool) -> bool:
    """Whether the notes go to a cloud model: the strong one, the one that condenses them,
    or the screen's (--screen)."""
    if reduce_cloud or is_cloud(session.info("collapse"), session.options.base_url):
        return True
    if not session.options.screen:
        return False
    screen_info = session.resolve(screen_spec(session))
    return is_cloud(screen_info, session.options.base_url)


def _record_sent(session: Session, stage: str, role: str, what: str, ids: Sequence[str]) -> None:
    """The audit trail of text derived from mail: which stage sent it where (ids, never
    content). Recorded as it is sent, so a killed run's journal has it too."""
    endpoint = session.endpoint_used(role) or (
        session.stage_for(role, screen_spec(session)) if role == "screen"
        else session.stage(role)).endpoint
    session.manifest.record("mail_sent", {"stage": stage, "endpoint": endpoint, "what": what,
                                          "message_ids": list(dict.fromkeys(ids))})


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
    _record_sent(session, "triage and map", "map", "the messages themselves",
                 [mid for chunk in chunks for mid in chunk.message_ids])


@dataclass
class ProfileJob:
    request: ProfileRequest
    command: str = "profile"

    def run(self, session: Session) -> ProfileResult:
        return build_profile(session, self.request)

    def documents(self, result: ProfileResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        return [Document(target, result.text, front, private=True)]  # made from mail
