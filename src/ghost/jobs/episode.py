"""`ghost run`'s work for one episode: its summary and/or its essay, from one reading of it, in
one session (the essay reuses the summary's cached map calls).

    job = EpisodeJob(Path("inbox/ep1.txt"), make=("summary", "essay"), samples=samples)
    JobRun(job, options).execute(Path("out/ep1"))  # out/ep1.summary.md, out/ep1.essay.md,
                                                   # out/ep1.essay.notes.md
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.ingest.samples import Sample
from ghost.jobs.essay import (
    EssayResult,
    EssaySettings,
    essay_documents,
    samples_used,
    write_essay,
)
from ghost.jobs.runner import Document
from ghost.jobs.summarize import SummaryResult, read_sources, summarize
from ghost.plan import Plan
from ghost.session import Session
from ghost.sources import Source


@dataclass
class EpisodeResult:
    plan: Plan
    source: Source
    summary: SummaryResult | None = None
    essay: EssayResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.to_dict(),
                "summary": self.summary.to_dict() if self.summary else None,
                "essay": self.essay.to_dict() if self.essay else None}


@dataclass
class EpisodeJob:
    path: Path
    name: str = ""                 # the episode's name in the workspace, for the log
    make: Sequence[str] = ("essay",)
    samples: Sequence[Sample] = field(default_factory=list)
    summary_words: int = 600
    essay: EssaySettings = field(default_factory=EssaySettings)  # ghost.toml [essay], words
    command: str = "run"
    done: EpisodeResult | None = None  # the parts finished so far

    def run(self, session: Session) -> EpisodeResult:
        source, = read_sources(session, [self.path], kind="transcript")
        result = self.done = EpisodeResult(Plan(source.describe()), source)
        if "summary" in self.make:
            result.summary = summarize(session, source, words=self.summary_words)
            result.plan.stages += result.summary.plan.stages
        if "essay" in self.make:
            result.essay = write_essay(session, source, self.samples, self.essay)
            result.plan.stages += result.essay.plan.stages
            style = result.essay.style.verdict if result.essay.style is not None else None
            session.say(f"{self.name or source.title} style: {style}")
        return result

    def documents(self, result: EpisodeResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        """`target` is the outputs' stem: `out/season2/ep1` → `out/season2/ep1.summary.md`.

        The front matter holds what does not change from run to run (no cost, no call
        counts), so re-writing an episode's outputs leaves them as they were."""
        target.parent.mkdir(parents=True, exist_ok=True)
        meta = {"generator": "ghost", "source": str(result.source.path)}
        documents = []
        if result.summary is not None:
            documents.append(Document(target.with_name(target.name + ".summary.md"),
                                      result.summary.text, meta))
        if result.essay is not None:
            style = result.essay.style.verdict if result.essay.style is not None else None
            documents += essay_documents(
                result.essay, result.source, target.with_name(target.name + ".essay.md"),
                {**meta, "samples_used": samples_used(result.essay), "style_verdict": style})
        return documents

    def finished_documents(self, target: Path, front: dict[str, Any]) -> list[Document]:
        """The summary when the essay after it failed: it was paid for."""
        if self.done is None or self.done.summary is None:
            return []
        return self.documents(EpisodeResult(self.done.plan, self.done.source,
                                            self.done.summary), target, front)
