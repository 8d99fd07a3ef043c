"""Run one job: open its session, run it, write its outputs, record ledger and manifest, close.

Every command and `ghost run` go through `JobRun`; it is the only place a `Session` is made::

    run = JobRun(SummarizeJob([Path("corpora/notes.txt")]), RunOptions(dry_run=True))
    result = run.execute()          # a SummaryResult: its plan, and text unless a dry run
    run.status, run.ledger.spent    # ("ok", 0.0)

`execute(target)` writes the job's documents (for summarize, one file at `target`; for an
essay, the essay and its notes beside it), each whole or not at all, after the job has
succeeded and never on a dry run; a job that finishes in parts (`ghost run`'s summary, then
essay) may keep the documents of the parts done before a failure (`KeepsFinished`). The run
keeps its ledger, status and manifest path even when the job raises, so a caller can still
report what a failed run spent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ghost.errors import BatchPending
from ghost.ledger import Ledger
from ghost.options import RunOptions
from ghost.plan import Plan
from ghost.session import Session

log = logging.getLogger(__name__)


class JobResult(Protocol):
    plan: Plan

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=JobResult)


@dataclass(frozen=True)
class Document:
    """One output file: Markdown with front matter when `front` is given, else plain text.

    `private`: mail-derived, so written 0600 whatever the umask; other outputs get the umask's
    mode, as `open()` would give them. None (the default) decides from the front matter: a
    document whose `source` is mail (an mbox, a .eml, a mail folder) is private, so a profile
    and a summary of a mailbox are. A Markdown document without front matter (an essay's
    notes file) gets `generator: "ghost"` as its front matter, so ghost knows it as its own.
    """

    path: Path
    text: str
    front: dict[str, Any] | None = None
    private: bool | None = None

    def write(self) -> Path:
        from ghost.write.atomic import PRIVATE_MODE, write_text_atomic
        from ghost.write.markdown import GENERATOR, write_document

        mode = PRIVATE_MODE if self.is_private() else None
        front = self.front
        if front is None and self.path.suffix.lower() == ".md" and self.text.startswith("# "):
            front = {"generator": GENERATOR}
        if front is None:
            return write_text_atomic(self.path, self.text, mode=mode)
        return write_document(self.path, self.text, front, mode=mode)

    def is_private(self) -> bool:
        if self.private is not None:
            return self.private
        source = (self.front or {}).get("source")
        sources = source if isinstance(source, list) else [source] if source else []
        return any(self._is_mail(Path(str(s))) for s in sources)

    @staticmethod
    def _is_mail(path: Path) -> bool:
        """Whether ghost would read `path` as mail: any folder (ghost reads folders only as
        mailboxes), an mbox, an .eml; a path that is gone counts as mail (err private)."""
        from ghost.sources.mail import MailKind

        try:
            return path.is_dir() or not path.exists() or MailKind().detects(path)
        except OSError:
            return True


class KeepsFinished(Protocol):
    """A job whose finished parts are worth writing even when a later part fails."""

    def finished_documents(self, target: Path, front: dict[str, Any]) -> list[Document]: ...


class Job(Protocol[R]):
    """A job: what it is called (for the manifest and error hints), how it runs in a session,
    and which documents its result makes at an output target."""

    command: str

    def run(self, session: Session) -> R: ...

    def documents(self, result: R, target: Path, front: dict[str, Any]) -> list[Document]: ...


@dataclass
class Hooks:
    """What a caller may want to hear while a job runs."""

    progress: Callable[[str, int, int], None] | None = None  # (stage, done, total)
    say: Callable[[str], None] | None = None                 # a line about the run
    spent: Callable[[float], None] | None = None             # each paid call's dollars, at once
    batch_owner: str = ""                                    # whose batches these are


@dataclass
class JobRun(Generic[R]):
    job: Job[R]
    options: RunOptions
    hooks: Hooks = field(default_factory=Hooks)
    status: str = "not started"
    result: R | None = None
    ledger: Ledger = field(default_factory=Ledger)
    manifest: Path | None = None
    written: list[Path] = field(default_factory=list)

    def execute(self, target: Path | None = None) -> R:
        session = Session(self.job.command, self.options, progress=self.hooks.progress,
                          say=self.hooks.say)
        session.ledger.on_spend = self.hooks.spent
        if session.batch is not None:
            session.batch.owner = self.hooks.batch_owner
        self.ledger = session.ledger
        status = "failed"
        try:
            result = self.result = self.job.run(session)
            if target is not None and not self.options.dry_run:
                front = front_matter(session, result.plan)
                for document in self.job.documents(result, target, front):
                    self.written.append(document.write())
            status = "ok"
            return result
        except BaseException as exc:
            status = ("interrupted" if isinstance(exc, KeyboardInterrupt) else
                      "waiting" if isinstance(exc, BatchPending) else "failed")
            if target is not None and not self.options.dry_run:
                self._keep_finished(session, target)
            raise
        finally:
            self.status = status
            self.manifest = session.close(status)

    def _keep_finished(self, session: Session, target: Path) -> None:
        keeps = getattr(self.job, "finished_documents", None)
        if keeps is None:
            return
        try:
            for document in keeps(target, front_matter(session, None)):
                self.written.append(document.write())
        except Exception:  # the job's own failure is the one to report
            log.warning("could not keep the finished parts", exc_info=True)


def front_matter(session: Session, plan: Plan | None) -> dict[str, Any]:
    """The run facts every document starts with (the models its stages really used); jobs
    add their own or keep fewer."""
    ledger = session.ledger
    source = plan.source if plan is not None else {}
    used = {f"{role}_model": spec for role in ("map", "reduce")
            if (spec := session.spec_used(role)) is not None}
    return {
        "generator": "ghost",
        "source": source.get("source") or source.get("mailbox"),
        **used,
        "calls": ledger.calls,
        "input_tokens": sum(s.usage.prompt_tokens for s in ledger.stages.values()),
        "output_tokens": sum(s.usage.output_tokens for s in ledger.stages.values()),
        # ghost's own count where a server sent no usage (llama.cpp's streams)
        **({"tokens_estimated": True} if ledger.estimated else {}),
        "cost_usd": round(ledger.spent, 4),
    }
