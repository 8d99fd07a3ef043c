"""`ghost run`: process every episode in the workspace inbox that is not done yet.

Safe to run again and again (from cron or a systemd timer): finished episodes are never paid
for twice (state by content hash, and every call cached), a changed transcript is redone, a
crash resumes from the cache, outputs are written whole or not at all, and only one run at a
time holds the workspace.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.errors import BatchPending, BudgetError, BudgetExceeded, GhostError
from ghost.ingest.samples import Sample, load_samples
from ghost.pipeline.options import RunOptions
from ghost.pipeline.session import Session
from ghost.pipeline.source import Source, load_transcript_source
from ghost.tokens import counter_for
from ghost.workspace.config import WorkspaceConfig
from ghost.workspace.lock import workspace_lock
from ghost.workspace.state import (
    DONE,
    FAILED,
    OVER_BUDGET,
    WAITING,
    EpisodeState,
    WorkspaceState,
    now,
)

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    processed: dict[str, str] = field(default_factory=dict)  # episode → status
    skipped: list[str] = field(default_factory=list)          # already done
    spent: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)
    ledgers: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if any(s in (FAILED, OVER_BUDGET) for s in self.processed.values()) else 0

    def to_dict(self) -> dict[str, Any]:
        return {"processed": self.processed, "skipped": self.skipped,
                "spent_usd": round(self.spent, 6), "errors": self.errors,
                "ledgers": self.ledgers, "exit_code": self.exit_code}


def run_workspace(config: WorkspaceConfig, *, batch: bool | None = None,
                  episode_log: Callable[[str], None] | None = None) -> RunReport:
    with workspace_lock(config.state_dir):
        state = WorkspaceState.load(config.state_dir)
        return _run_locked(config, state, batch=config.batch if batch is None else batch,
                           say=episode_log or (lambda line: None))


def _run_locked(config: WorkspaceConfig, state: WorkspaceState, *, batch: bool,
                say: Callable[[str], None]) -> RunReport:
    report = RunReport()
    todo = []
    for path in config.episodes():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if state.is_done(path.name, digest):
            report.skipped.append(path.name)
        else:
            todo.append((path, digest))
    if not todo:
        return report
    samples = _samples(config) if "essay" in config.make else []
    config.outputs.mkdir(parents=True, exist_ok=True)
    for path, digest in todo:
        budget = _remaining_budget(config, state, report.spent)
        if budget is not None and budget <= 0:
            _mark(state, path.name, EpisodeState(digest, OVER_BUDGET, updated=now(),
                                                 error="budget used up"), report, say)
            continue
        entry = _process(config, path, digest, samples, budget, batch, report, say)
        _mark(state, path.name, entry, report, say)
        state.add_spend(report.ledgers.get(path.name, {}).get("total_cost_usd", 0.0))
        state.save()
    return report


def _mark(state: WorkspaceState, name: str, entry: EpisodeState, report: RunReport,
          say: Callable[[str], None]) -> None:
    state.episodes[name] = entry
    state.save()
    report.processed[name] = entry.status
    if entry.error:
        report.errors[name] = entry.error
    say(f"{name} {entry.status} ${entry.cost_usd:.4f}" + (f" ({entry.error})" if entry.error
                                                         else ""))


def _remaining_budget(config: WorkspaceConfig, state: WorkspaceState,
                      spent_this_run: float) -> float | None:
    limits = []
    if config.budget_per_run is not None:
        limits.append(config.budget_per_run - spent_this_run)
    if config.budget_per_month is not None:
        limits.append(config.budget_per_month - state.month_spend())
    return min(limits) if limits else None


def _samples(config: WorkspaceConfig) -> list[Sample]:
    samples, skipped = load_samples(config.samples)
    for path, reason in skipped:
        log.warning("skipped sample %s: %s", path, reason)
    return samples


def _options(config: WorkspaceConfig, budget: float | None, batch: bool) -> RunOptions:
    return RunOptions(map_model=config.map_model, reduce_model=config.reduce_model,
                      base_url=config.base_url, cache_dir=config.cache_dir, budget=budget,
                      concurrency=config.concurrency, chunk_tokens=config.chunk_tokens,
                      batch=batch)


def _process(config: WorkspaceConfig, path: Path, digest: str, samples: list[Sample],
             budget: float | None, batch: bool, report: RunReport,
             say: Callable[[str], None]) -> EpisodeState:
    session = Session("run", _options(config, budget, batch))
    entry = EpisodeState(digest, FAILED, updated=now())
    status = "failed"
    try:
        info = session.info("map")
        source = load_transcript_source(path, chunk_tokens=session.options.chunk_tokens,
                                        count_tokens=counter_for(info.tokenizer,
                                                                 info.token_margin))
        session.add_input(path, source.text, kind="transcript")
        entry.outputs = _make_outputs(config, session, source, samples, say)
        entry.status, status = DONE, "ok"
    except BatchPending as exc:
        entry.status, entry.batch_ids, status = WAITING, exc.batch_ids, "waiting"
        entry.error = str(exc)
    except (BudgetError, BudgetExceeded) as exc:
        entry.status, entry.error = OVER_BUDGET, str(exc)
    except GhostError as exc:
        entry.error = str(exc)
    finally:
        session.close(status)
        ledger = session.ledger.to_dict()
        report.ledgers[path.name] = ledger
        report.spent += session.ledger.spent
        entry.cost_usd = round(session.ledger.spent, 6)
        for stage, totals in ledger["stages"].items():
            say(f"{path.name} {stage} {totals['calls']} calls, {totals['cached']} cached, "
                f"${totals['cost_usd'] or 0:.4f}")
    return entry


def _make_outputs(config: WorkspaceConfig, session: Session, source: Source,
                  samples: list[Sample], say: Callable[[str], None]) -> list[str]:
    from ghost.pipeline.essay import notes_document, write_essay
    from ghost.pipeline.summarize import summarize
    from ghost.write.atomic import write_text_atomic
    from ghost.write.markdown import write_document

    written: list[str] = []
    stem = source.path.stem
    meta = {"generator": "ghost", "source": str(source.path)}
    if "summary" in config.make:
        summary = summarize(session, source, words=config.summary_words)
        target = config.outputs / f"{stem}.summary.md"
        write_document(target, summary.text, meta)
        written.append(str(target))
    if "essay" in config.make:
        essay = write_essay(session, source, samples, words=config.essay_words)
        target = config.outputs / f"{stem}.essay.md"
        notes = config.outputs / f"{stem}.essay.notes.md"
        style = essay.style.verdict if essay.style is not None else None
        write_document(target, essay.text, {**meta, "samples_used": len(essay.pack.samples)
                                            if essay.pack else 0, "style_verdict": style})
        write_text_atomic(notes, notes_document(essay, source))
        written += [str(target), str(notes)]
        say(f"{source.path.name} style: {style}")
    return written
