"""ghost essay: episode notes (map, collapse) + the host's past essays → an essay in their voice.

The essay request is ordered for prompt caching: system instructions, then the sample pack
(marked with cache_control), then this episode's notes. For the same samples the first two are
byte-identical from one episode to the next, so only the notes are paid for at full price.
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
from ghost.jobs.runner import Document
from ghost.map.stage import EpisodeNotes, build_map_requests, plan_notes, take_notes
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Message, Part, Request
from ghost.plan import Plan, StagePlan
from ghost.reduce.collapse import join_notes
from ghost.reduce.final import cite, final_reply
from ghost.screen.guard import guarded_screen_plan
from ghost.session import Session
from ghost.sources import Source
from ghost.style.pack import SamplePack, choose_samples
from ghost.tokens import counter_for

log = logging.getLogger(__name__)

TEMPLATE = "essay-write"
SOURCES_MARK = "=== SOURCES ==="
NOTES_SHARE = 0.25      # of the strong model's context the episode notes may take
DEFAULT_SAMPLES_BUDGET = 250_000  # tokens of past essays in front of the strong model
PACK_ORDER = "oldest first"
_PARAGRAPH_SOURCE = re.compile(r"^\s*P(\d+)\s*:\s*(.*)$")


@dataclass
class EssayResult:
    plan: Plan
    text: str = ""
    notes: EpisodeNotes = field(default_factory=EpisodeNotes)
    pack: SamplePack | None = None
    paragraph_sources: dict[int, str] = field(default_factory=dict)
    citations: CitationReport = field(default_factory=CitationReport)
    style: Any = None  # ghost.style StyleReport
    screen: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "plan": self.plan.to_dict(), "chunks_mapped": self.notes.mapped,
            "chunks_dropped": self.notes.dropped, "collapse_rounds": self.notes.collapse_rounds,
            "map_citations": self.notes.citations.to_dict(), "citations": self.citations.to_dict(),
            "paragraph_sources": self.paragraph_sources,
        }
        if self.pack is not None:
            data["samples_used"] = self.pack.describe()
            data["samples_available"] = self.pack.available
            data["samples_tokens"] = self.pack.tokens
        if self.style is not None:
            data["style"] = self.style.to_dict()
        if self.screen is not None:
            data["screen"] = self.screen
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


def sample_pack(session: Session, samples: Sequence[Sample], source: Source, *,
                samples_budget: int | None, notes_budget: int) -> SamplePack:
    """The samples that go in front of the strong model: at most `samples_budget` tokens
    (DEFAULT_SAMPLES_BUDGET when None), within what the context leaves beside the most the
    notes may take, chosen by recency and by similarity to this episode's transcript. It
    depends on nothing a run learns on the way, so a dry run shows the very pack sent."""
    info = session.info("reduce")
    count = counter_for(info.tokenizer, info.token_margin)
    system = session.templates.file(TEMPLATE, "system", {"target_words": 0})
    room = info.context - session.max_tokens("reduce") - count(system) - notes_budget - 1500
    budget = min(room, samples_budget or DEFAULT_SAMPLES_BUDGET)
    return choose_samples(samples, budget=max(0, budget), count_tokens=count, topic=source.text)


def essay_parts(session: Session, pack: SamplePack, notes_text: str, source: Source, *,
                words: int) -> tuple[str, str, str]:
    """(system, samples part, episode part) of the essay request."""
    system = session.templates.file(TEMPLATE, "system", {"target_words": words})
    episode = session.templates.file(TEMPLATE, "episode", {
        "title": source.title, "speakers": source.meta.get("speakers") or [],
        "notes": notes_text, "target_words": words})
    part = session.templates.file(TEMPLATE, "samples", {"samples": pack.samples,
                                                        "order": PACK_ORDER})
    return system, part, episode


def cache_write_tokens(info: ModelInfo, prefix_tokens: int) -> int:
    """Tokens of the essay call billed at the cache-write price on a cold cache: the cached
    prefix when the provider will cache it, else none."""
    if info.prices is None or prefix_tokens < info.cache_min_tokens:
        return 0
    return prefix_tokens


def prefix_cache_note(info: ModelInfo, prefix_tokens: int, stage: StagePlan) -> str:
    """What provider prompt caching does to the essay call's price, for the plan."""
    if info.prices is None or not cache_write_tokens(info, prefix_tokens):
        return (f"the instructions and samples ({prefix_tokens:,} tokens) are below "
                f"{info.spec}'s {info.cache_min_tokens:,}-token caching minimum")
    rest = max(0, stage.input_tokens - prefix_tokens)
    out = (stage.output_tokens + stage.calls * info.expected_thinking) * info.prices.output
    first = (prefix_tokens * info.prices.cache_write + rest * info.prices.input + out) / 1e6
    later = (prefix_tokens * info.prices.cache_read + rest * info.prices.input + out) / 1e6
    return (f"prompt caching: the {prefix_tokens:,}-token sample pack is a cached prefix; the "
            f"essay call costs about ${first:.4f} when it is written (first episode, or after "
            f"5 idle minutes) and ${later:.4f} when it is read (the next episode soon after); "
            "the estimate and --budget assume it is written")


def essay_request(system: str, samples_part: str, episode_part: str, max_tokens: int, *,
                  draft: int = 1) -> Request:
    """The essay call; draft 2, 3, … ask the same and are cached apart (a new draft pays for
    this call only: the episode's notes come from the cache)."""
    return Request(system, (Message.user(Part(samples_part, cache=True),
                                         Part("\n\n" + episode_part)),),
                   max_tokens=max_tokens, temperature=0.7, stage="essay",
                   variant=f"draft {draft}" if draft > 1 else "")


def write_essay(session: Session, source: Source, samples: Sequence[Sample], *, words: int = 700,
                samples_budget: int | None = None, draft: int = 1) -> EssayResult:
    opts = session.options
    info = session.info("reduce")
    notes_budget = int(info.context * NOTES_SHARE)
    requests = build_map_requests(session, source)
    stage_plans, notes_tokens = plan_notes(session, source, requests, notes_budget)
    plan = Plan(source.describe(), stage_plans)
    pack = sample_pack(session, samples, source, samples_budget=samples_budget,
                       notes_budget=notes_budget)
    system, _, _ = essay_parts(session, pack, "", source, words=words)
    count = counter_for(info.tokenizer, info.token_margin)
    plan.source["samples"] = f"{len(pack.samples)} of {pack.available} ({pack.tokens:,} tokens)"
    if not pack.complete:
        plan.notes.append(
            f"samples: {pack.available - len(pack.samples)} of {pack.available} left out to "
            f"stay within {samples_budget or DEFAULT_SAMPLES_BUDGET:,} tokens "
            "(--samples-budget); the most recent and the most similar to this episode are in")
    prefix_tokens = count(system) + pack.tokens
    screen_plan = guarded_screen_plan(session, notes_tokens)
    if screen_plan is not None:
        plan.stages.append(screen_plan)
    # The budget is checked against the worst case: a cold prompt cache, the prefix written.
    essay_plan = StagePlan("essay", info, 1, prefix_tokens + notes_tokens,
                           int(words * 1.6), note="" if pack.complete else
                           "not every sample fits; recent and similar ones are chosen",
                           cache_write_tokens=cache_write_tokens(info, prefix_tokens),
                           max_tokens=session.max_tokens("reduce"))
    plan.stages.append(essay_plan)
    plan.notes.append(prefix_cache_note(info, prefix_tokens, essay_plan))
    plan.check_budget(opts.budget)
    result = EssayResult(plan, pack=pack)
    if opts.dry_run:
        return result
    result.notes = take_notes(session, source, requests, notes_budget=notes_budget)
    notes_text = join_notes(result.notes.notes)
    system, samples_part, episode = essay_parts(session, pack, notes_text, source, words=words)
    request = essay_request(system, samples_part, episode, session.max_tokens("reduce"),
                            draft=draft)
    reply, result.screen = final_reply(session, request, screen_text=notes_text,
                                       expected_output=int(words * 1.6))
    essay, sources = split_sources(reply.text)
    result.text, report = cite(session, essay, source.citations)
    for number, cites in sources.items():
        result.paragraph_sources[number], extra = cite(session, cites, source.citations)
        report.found += extra.found
        report.unknown += extra.unknown
    result.citations = report
    result.style = style_check(result.text, samples)
    return result


def style_check(draft: str, samples: Sequence[Sample]) -> Any:
    """The stylometric report, or None when it cannot be computed (a tiny corpus, an empty
    draft): the essay has been paid for by then, so this must never fail the run."""
    from ghost.errors import InputError
    from ghost.style.stylometry import score_draft

    try:
        return score_draft(draft, [s.text for s in samples])
    except InputError as exc:
        log.warning("no style check: %s", exc)
        return None


def notes_document(result: EssayResult, source: Source) -> str:
    """The notes file written beside the essay: what each paragraph draws on, and all notes."""
    lines = [f"# Notes for {source.title}", ""]
    if result.paragraph_sources:
        lines += ["## Sources per paragraph", ""]
        lines += [f"- P{n}: {cites}" for n, cites in sorted(result.paragraph_sources.items())]
        lines.append("")
    if result.pack is not None:
        lines += ["## Samples used", ""]
        lines += [f"- {s['title']} ({s['date'] or 'undated'})" for s in result.pack.describe()]
        lines.append("")
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
    words: int = 700
    samples_budget: int | None = None
    fmt: str | None = None
    keep_filler: bool = False
    draft: int = 1
    command: str = "essay"
    source: Source | None = None  # the episode as read, once the job has run

    def run(self, session: Session) -> EssayResult:
        from ghost.jobs.summarize import read_sources

        self.source, = read_sources(session, [self.transcript], kind="transcript",
                                    fmt=self.fmt, keep_filler=self.keep_filler)
        for sample in self.samples:
            session.add_input(sample.path, sample.text, kind="sample")
        return write_essay(session, self.source, self.samples, words=self.words,
                           samples_budget=self.samples_budget, draft=self.draft)

    def documents(self, result: EssayResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        assert self.source is not None
        meta = {**front, "samples_used": samples_used(result),
                "samples_available": len(self.samples)}
        if result.style is not None:
            meta["style_verdict"] = result.style.verdict
        return essay_documents(result, self.source, target, meta)
