"""ghost essay: this week's transcript + the host's past essays → an essay in their voice.

    result = write_essay(session, source, samples, EssaySettings(drafts=3, revise=True))
    result.read.mode          # "full": the strong model read the whole transcript
    result.text               # the best of 3 drafts (or its revision, if that scored better)
    [d.to_dict() for d in result.drafts]   # the ranking, best first

The plan (ghost.jobs.essay_plan) decides how the episode is read (ghost.jobs.essay_read) and
what each call costs; the drafts share one cached prefix and are ranked by the style check
(ghost.jobs.essay_drafts).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.cite import CitationReport
from ghost.ingest.samples import Sample
from ghost.jobs.essay_drafts import (
    DraftScore,
    essay_request,
    rank_drafts,
    revise_request,
    revision_guidance,
)
from ghost.jobs.essay_impostor import plain_request, write_plain
from ghost.jobs.essay_plan import (
    TEMPLATE,
    EssayPlan,
    EssaySettings,
    episode_part,
    plan_essay,
    samples_part,
)
from ghost.jobs.essay_read import ReadChoice, transcript_text
from ghost.jobs.runner import Document
from ghost.map.stage import EpisodeNotes, take_notes
from ghost.models.protocol import Request
from ghost.plan import Plan
from ghost.reduce.collapse import join_notes
from ghost.reduce.final import cite, final_reply
from ghost.session import Session
from ghost.sources import Source
from ghost.style.pack import SamplePack
from ghost.style.voice import VoiceProfile

log = logging.getLogger(__name__)

SOURCES_MARK = "=== SOURCES ==="
_PARAGRAPH_SOURCE = re.compile(r"^\s*P(\d+)\s*:\s*(.*)$")
__all__ = ["EssayJob", "EssayResult", "EssaySettings", "write_essay"]


@dataclass
class EssayResult:
    plan: Plan
    text: str = ""
    notes: EpisodeNotes = field(default_factory=EpisodeNotes)
    pack: SamplePack | None = None
    paragraph_sources: dict[int, str] = field(default_factory=dict)
    citations: CitationReport = field(default_factory=CitationReport)
    style: Any = None  # ghost.style StyleReport of the essay kept
    screen: dict[str, Any] | None = None
    read: ReadChoice | None = None
    voice: VoiceProfile | None = None
    target_words: int = 0
    drafts: list[DraftScore] = field(default_factory=list)  # ranked, best first
    revision: DraftScore | None = None
    guidance: list[str] = field(default_factory=list)  # what the revision was asked to fix
    kept: str = ""  # "draft 2", "revision"
    plain_words: int | None = None  # --impostor-draft: the cheap model's plain essay's length

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "plan": self.plan.to_dict(), "chunks_mapped": self.notes.mapped,
            "chunks_dropped": self.notes.dropped, "collapse_rounds": self.notes.collapse_rounds,
            "map_citations": self.notes.citations.to_dict(), "citations": self.citations.to_dict(),
            "paragraph_sources": self.paragraph_sources, "target_words": self.target_words,
            "read": self.read.to_dict() if self.read else None,
            "voice": self.voice.to_dict() if self.voice else None,
        }
        if self.drafts:
            data["drafts"] = [d.to_dict() for d in self.drafts]
            data["kept"] = self.kept
        if self.revision is not None:
            data["revision"] = {**self.revision.to_dict(), "guidance": self.guidance,
                                "kept": self.kept == "revision"}
        if self.pack is not None:
            data["samples_used"] = self.pack.describe()
            data["samples_available"] = self.pack.available
            data["samples_tokens"] = self.pack.tokens
        if self.style is not None:
            data["style"] = self.style.to_dict()
        if self.screen is not None:
            data["screen"] = self.screen
        if self.plain_words is not None:
            data["impostor_draft_words"] = self.plain_words
        return data


def split_sources(reply: str) -> tuple[str, dict[int, str]]:
    """Separate the essay from its `=== SOURCES ===` block of `P1: [00:01:02]` lines."""
    essay, _, tail = reply.partition(SOURCES_MARK)
    sources = {}
    for line in tail.splitlines():
        match = _PARAGRAPH_SOURCE.match(line)
        if match:
            sources[int(match.group(1))] = match.group(2).strip()
    return essay.strip(), sources


def write_essay(session: Session, source: Source, samples: Sequence[Sample],
                settings: EssaySettings | None = None) -> EssayResult:
    settings = settings or EssaySettings()
    planned = plan_essay(session, source, samples, settings)
    result = EssayResult(planned.plan, pack=planned.pack, read=planned.read,
                         voice=planned.voice, target_words=planned.words)
    if session.options.dry_run:
        return result
    if planned.read.mode == "notes":
        result.notes = take_notes(session, source, planned.map_requests,
                                  notes_budget=planned.notes_budget)
        read = join_notes(result.notes.notes)
        episode = episode_part(session, source, words=planned.words, voice=planned.voice,
                               notes=read)
    else:
        read = transcript_text(source)
        episode = episode_part(session, source, words=planned.words, voice=planned.voice,
                               transcript=read)
    impostors = settings.impostors
    if settings.impostor_draft:
        text = {"notes" if planned.read.mode == "notes" else "transcript": read}
        plain = write_plain(session, plain_request(session, source, words=planned.words, **text))
        impostors, result.plain_words = (*impostors, plain), len(plain.split())
    system = session.templates.file(TEMPLATE, "system", {})
    prefix = samples_part(session, planned.pack, planned.voice)
    requests = {number: essay_request(system, prefix, episode, session.max_tokens("reduce"),
                                      draft=number, ttl=settings.cache_ttl)
                for number in settings.draft_numbers}
    drafts = []
    for number, request in requests.items():
        reply, result.screen = final_reply(session, request, screen_text=read,
                                           expected_output=int(planned.words * 1.6))
        essay, _ = split_sources(reply.text)
        drafts.append(DraftScore(number, essay, style_check(essay, samples, impostors),
                                 reply.text))
    result.drafts = rank_drafts(drafts)
    best = result.drafts[0]
    result.kept = f"draft {best.number}"
    if settings.revise:
        best = revise(session, planned, requests[best.number], best, samples, read, result,
                      impostors=impostors)
    keep(session, result, best, source)
    return result


def revise(session: Session, planned: EssayPlan, request: Request, best: DraftScore,
           samples: Sequence[Sample], screen_text: str, result: EssayResult, *,
           impostors: Sequence[str] = ()) -> DraftScore:
    """Ask once for a revision that fixes what the style check measured; the better of the
    two is returned (the draft when nothing was measured to fix)."""
    result.guidance = revision_guidance(best.report, planned.voice, best.text,
                                        target_words=planned.words)
    if not result.guidance:
        session.say("revise: the style check found nothing to fix; the draft is kept")
        return best
    part = session.templates.file(TEMPLATE, "revise", {"guidance": result.guidance,
                                                       "target_words": planned.words})
    reply, _ = final_reply(session, revise_request(request, best.reply, part),
                           screen_text=screen_text, expected_output=int(planned.words * 1.6))
    essay, _ = split_sources(reply.text)
    result.revision = DraftScore(0, essay, style_check(essay, samples, impostors), reply.text)
    if result.revision.key < best.key:
        result.kept = "revision"
        return result.revision
    return best


def keep(session: Session, result: EssayResult, kept: DraftScore, source: Source) -> None:
    """The kept essay's text, citations and style report go in the result."""
    essay, sources = split_sources(kept.reply)
    result.text, report = cite(session, essay, source.citations)
    for number, cites in sources.items():
        result.paragraph_sources[number], extra = cite(session, cites, source.citations)
        report.found += extra.found
        report.unknown += extra.unknown
    result.citations = report
    result.style = kept.report


def style_check(draft: str, samples: Sequence[Sample], impostors: Sequence[str] = ()) -> Any:
    """The stylometric report (against other writers' texts too, when given), or None when it
    cannot be computed (a tiny corpus, an empty draft): the essay has been paid for by then,
    so this must never fail the run."""
    from ghost.errors import InputError
    from ghost.style.stylometry import score_draft

    try:
        return score_draft(draft, [s.text for s in samples], impostors=impostors)
    except InputError as exc:
        log.warning("no style check: %s", exc)
        return None


def notes_document(result: EssayResult, source: Source) -> str:
    """The notes file written beside the essay: how the episode was read, the drafts' ranking,
    what each paragraph draws on, and the episode notes."""
    lines = [f"# Notes for {source.title}", ""]
    if result.read is not None:
        lines += ["## Reading", "", f"- {result.read.mode}: {result.read.reason}", ""]
    if len(result.drafts) > 1 or result.revision is not None:
        lines += ["## Drafts, best first", "", "| draft | verdict | Delta | z | words |",
                  "|---|---|---|---|---|"]
        rows = [*result.drafts, *([result.revision] if result.revision else [])]
        for row in (d.to_dict() for d in rows):
            lines.append(f"| {row['draft']} | {row['verdict']} | {row['delta']} | "
                         f"{row['z']} | {row['words']} |")
        lines += ["", f"Kept: {result.kept}.", ""]
    if result.guidance:
        lines += ["## Revision asked for", "", *result.guidance, ""]
    if result.paragraph_sources:
        lines += ["## Sources per paragraph", ""]
        lines += [f"- P{n}: {cites}" for n, cites in sorted(result.paragraph_sources.items())]
        lines.append("")
    if result.pack is not None:
        lines += ["## Samples used", ""]
        lines += [f"- {s['title']} ({s['date'] or 'undated'})" for s in result.pack.describe()]
        lines.append("")
    if result.notes.notes:
        lines += ["## Episode notes", "", join_notes(result.notes.notes), ""]
    return "\n".join(lines)


def notes_path(output: Path) -> Path:
    """Where the notes go beside an essay written to `output`."""
    return output.with_name(output.stem + ".notes.md")


def essay_documents(result: EssayResult, source: Source, target: Path,
                    meta: dict[str, Any]) -> list[Document]:
    """The essay at `target`, with `meta` as its front matter, and its notes file beside it."""
    return [Document(target, result.text, meta),
            Document(notes_path(target), notes_document(result, source),
                     {"generator": "ghost"})]


def samples_used(result: EssayResult) -> int:
    return len(result.pack.samples) if result.pack else 0


@dataclass
class EssayJob:
    """This episode's essay in the host's voice: `samples` are their past essays."""

    transcript: Path
    samples: Sequence[Sample]
    settings: EssaySettings = field(default_factory=EssaySettings)
    fmt: str | None = None
    keep_filler: bool = False
    command: str = "essay"
    source: Source | None = None  # the episode as read, once the job has run

    def run(self, session: Session) -> EssayResult:
        from ghost.jobs.summarize import read_sources

        self.source, = read_sources(session, [self.transcript], kind="transcript",
                                    fmt=self.fmt, keep_filler=self.keep_filler)
        for sample in self.samples:
            session.add_input(sample.path, sample.text, kind="sample")
        return write_essay(session, self.source, self.samples, self.settings)

    def documents(self, result: EssayResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        assert self.source is not None
        meta = {**front, "samples_used": samples_used(result),
                "samples_available": len(self.samples)}
        if result.style is not None:
            meta["style_verdict"] = result.style.verdict
        return essay_documents(result, self.source, target, meta)
