"""`ghost run`: process every episode in the workspace inbox that is not done yet.

Safe to run again and again (from cron or a systemd timer): finished episodes are never paid
for twice (state by content hash, and every call cached), a changed transcript is redone, a
crash resumes from the cache, outputs are written whole or not at all, and only one run at a
time holds the workspace.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.errors import (
    BatchPending,
    BudgetError,
    BudgetExceeded,
    CredentialsError,
    GhostError,
)
from ghost.ingest.samples import WRITTEN_BY_GHOST, Sample, load_impostors, load_samples
from ghost.jobs.collect import CollectBatchesJob
from ghost.jobs.episode import EpisodeJob
from ghost.jobs.runner import Hooks, JobRun
from ghost.logs import redact
from ghost.models.batch import BatchStore, episode_owner, workspace_id
from ghost.models.catalog import load_catalog
from ghost.models.keys import key_alternative
from ghost.options import RunOptions
from ghost.progress import Milestones
from ghost.providers import endpoint_for
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
    names = set()
    for path in config.episodes():
        name = config.episode_key(path)
        names.add(name)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if state.is_done(name, digest):
            report.skipped.append(name)
        else:
            todo.append((path, name, digest))
    spend_lock = threading.Lock()

    def spent(dollars: float) -> None:  # saved as each call is paid for: kill -9 loses none
        with spend_lock:
            state.add_spend(dollars)
            state.save()

    # This workspace's batches only: another workspace may keep its own in the same folder.
    batches = BatchStore(config.cache_dir or config.root / "cache",
                         workspace=workspace_id(config.root))
    _collect_orphans(config, batches, names, spent, report, say)
    if not todo:
        return report
    _check_keys(config)  # a missing key is the config's fault, not each episode's
    samples = _samples(config) if "essay" in config.make else []
    impostors = (load_impostors(config.impostors, called="ghost.toml [samples] impostors",
                                samples=samples)
                 if config.impostors and "essay" in config.make else ())
    config.outputs.mkdir(parents=True, exist_ok=True)

    for path, name, digest in todo:
        budget = _remaining_budget(config, state, report.spent,
                                   batches.committed(except_owner=name))
        if budget is not None and budget <= 0:
            _mark(state, name, EpisodeState(digest, OVER_BUDGET, updated=now(),
                                            error="budget used up"), report, say)
            continue
        # An episode with a batch already sent finishes through it, even without --batch:
        # sending its calls again one by one would pay for them twice.
        owned = any(r.owner == name for r in batches.pending())
        job = Job(path, name, digest, samples, budget, batch or owned, impostors)
        try:
            entry = _process(config, job, report, say, spent)
        except StopRun as halt:
            with spend_lock:
                _mark(state, name, halt.entry, report, say)
            raise halt.error from None
        with spend_lock:
            _mark(state, name, entry, report, say)
    return report


@dataclass
class Job:
    path: Path
    name: str
    digest: str
    samples: list[Sample]
    budget: float | None
    batch: bool
    impostors: tuple[str, ...] = ()  # other writers' texts for the style check


def _collect_orphans(config: WorkspaceConfig, batches: BatchStore, names: set[str],
                     spent: Callable[[float], None], report: RunReport,
                     say: Callable[[str], None]) -> None:
    """Collect batches sent for episodes no longer in the inbox, so their cost is counted
    (they were paid for) and they stop holding budget; their answers go to the cache."""
    orphans = [r for r in batches.pending() if r.owner and r.owner not in names]
    if not orphans:
        return
    run = JobRun(CollectBatchesJob(orphans), _options(config, None, True),
                 Hooks(spent=spent, batch_owner=episode_owner(config.root, "")))
    try:
        run.execute()
    except Exception as exc:  # a provider hiccup must not stop the episodes; next run retries
        log.warning("batches of removed episodes not collected yet: %s", exc)
    report.spent += run.ledger.spent
    say(f"batches of removed episodes: {len(orphans)} looked at, "
        f"${run.ledger.spent:.4f} billed")


def _check_keys(config: WorkspaceConfig) -> None:
    """Raise MissingKeyError (exit 2) before any episode is touched when a key is missing."""
    catalog = load_catalog()
    for role, spec in (("map", config.map_model), ("reduce", config.reduce_model)):
        info = catalog.resolve(spec or catalog.defaults[role])
        endpoint_for(info, config.base_url, alternative=key_alternative("run"))


def _mark(state: WorkspaceState, name: str, entry: EpisodeState, report: RunReport,
          say: Callable[[str], None]) -> None:
    state.episodes[name] = entry
    state.save()
    report.processed[name] = entry.status
    if entry.error:
        report.errors[name] = entry.error
    say(f"{name} {entry.status} ${entry.cost_usd:.4f}" + (f" ({entry.error})" if entry.error
                                                         else ""))


def _remaining_budget(config: WorkspaceConfig, state: WorkspaceState, spent_this_run: float,
                      committed: float) -> float | None:
    """What the next episode may spend: the tighter of the run and month limits, less what
    other episodes' batches have been sent for and will cost when collected."""
    limits = []
    if config.budget_per_run is not None:
        limits.append(config.budget_per_run - spent_this_run - committed)
    if config.budget_per_month is not None:
        limits.append(config.budget_per_month - state.month_spend() - committed)
    return min(limits) if limits else None


def _samples(config: WorkspaceConfig) -> list[Sample]:
    outside = [config.outputs, *([config.impostors] if config.impostors else [])]
    samples, skipped = load_samples(config.samples, exclude=outside)
    for path, reason in skipped:  # ghost's own essays among the samples: expected, quietly
        quiet = reason.startswith(WRITTEN_BY_GHOST)
        (log.debug if quiet else log.warning)("skipped sample %s: %s", path, reason)
    return samples


def _options(config: WorkspaceConfig, budget: float | None, batch: bool) -> RunOptions:
    return RunOptions(map_model=config.map_model, reduce_model=config.reduce_model,
                      collapse_model=config.collapse_model, queries_model=config.queries_model,
                      base_url=config.base_url, cache_dir=config.cache_dir, budget=budget,
                      concurrency=config.concurrency, chunk_tokens=config.chunk_tokens,
                      timeout=config.timeout, batch=batch)


class StopRun(Exception):
    """An episode's failure that ends the whole run (after its state is saved)."""

    def __init__(self, entry: EpisodeState, error: GhostError):
        super().__init__(str(error))
        self.entry, self.error = entry, error


def _process(config: WorkspaceConfig, job: Job, report: RunReport,
             say: Callable[[str], None], spent: Callable[[float], None]) -> EpisodeState:
    run = JobRun(EpisodeJob(job.path, job.name, config.make, job.samples,
                            summary_words=config.summary_words,
                            essay=config.essay_settings(job.impostors)),
                 _options(config, job.budget, job.batch),
                 Hooks(spent=spent, say=say,
                       progress=Milestones(lambda line: say(f"{job.name} {line}")),
                       batch_owner=episode_owner(config.root, job.name)))
    entry = EpisodeState(job.digest, FAILED, updated=now())
    stop: CredentialsError | None = None
    try:
        run.execute(config.outputs / _stem(job))
        entry.outputs = [str(p) for p in run.written]
        entry.status = DONE
    except BatchPending as exc:
        entry.status, entry.batch_ids = WAITING, exc.batch_ids
        entry.error = str(exc)
    except (BudgetError, BudgetExceeded) as exc:
        entry.status, entry.error = OVER_BUDGET, str(exc)
    except CredentialsError as exc:  # every episode would fail alike: stop the run once
        entry.error, stop = redact(str(exc)), exc
    except GhostError as exc:
        entry.error = redact(str(exc))
    except Exception as exc:  # one bad episode must not stop the others or lose their spend
        log.debug("%s: unexpected error", job.name, exc_info=True)  # the traceback with -v
        entry.error = (f"unexpected error: {type(exc).__name__}: {redact(str(exc))} (run with "
                       "-v for details)")
    finally:
        ledger = run.ledger.to_dict()
        report.ledgers[job.name] = ledger
        report.spent += run.ledger.spent
        entry.cost_usd = round(run.ledger.spent, 6)
        for stage, totals in ledger["stages"].items():
            say(f"{job.name} {stage} {totals['calls']} calls, {totals['cached']} cached, "
                f"${totals['cost_usd'] or 0:.4f}")
    if stop is not None:
        raise StopRun(entry, stop)
    return entry


def _stem(job: Job) -> Path:
    """Where an episode's outputs go under the outputs folder: its path under the inbox
    (`season2/ep1.txt` → `season2/ep1`), or its file name for an inbox given as a path."""
    name = Path(job.name)
    return name.with_suffix("") if not name.is_absolute() else Path(job.path.stem)
