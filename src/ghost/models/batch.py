"""Send a stage's calls through the provider's batch API (50% off) and collect them later.

The first run submits every call not already cached as one batch and saves its id; it then
stops with BatchPending. A later run polls the saved batches: finished results go into the
response cache (so from then on they are ordinary cache hits) and only calls still missing are
submitted again. A custom_id is the call's cache key, which is what ties a result to its call.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from ghost.cache import ResponseCache, ensure_private_dir
from ghost.errors import BatchPending, ConfigError, ModelCallError
from ghost.models.protocol import Completion, Request, RetryableError
from ghost.models.runner import Runner, Stage, call_key, worst_cost
from ghost.write.atomic import write_text_atomic

log = logging.getLogger(__name__)


class BatchModel(Protocol):
    def submit_batch(self, items: Sequence[tuple[str, Request]]) -> str: ...
    def batch_status(self, batch_id: str) -> str: ...  # "pending" | "ended" | "failed"
    def batch_results(self, batch_id: str) -> dict[str, Completion | str]: ...


@dataclass
class BatchRecord:
    batch_id: str
    model: str
    stage: str
    custom_ids: list[str]
    submitted: str
    # What each call was, for the manifest when it is collected: size and hash, never content.
    request_sha256: dict[str, str]
    owner: str = ""             # what the batch was submitted for (a workspace episode)
    estimate_usd: float = 0.0   # committed but not yet billed: budgets count it until collected


class BatchStore:
    """Pending batch ids, one JSON file each, under `<cache_dir>/batches`."""

    def __init__(self, cache_dir: Path, owner: str = ""):
        self.folder = ensure_private_dir(cache_dir / "batches")
        self.owner = owner

    def pending(self, model: str | None = None) -> list[BatchRecord]:
        records = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                record = BatchRecord(**json.loads(path.read_text()))
            except (ValueError, TypeError):
                log.warning("ignored unreadable batch record %s", path.name)
                continue
            if model is None or record.model == model:
                records.append(record)
        return records

    def committed(self, *, except_owner: str | None = None) -> float:
        """Dollars submitted in batches not yet collected (and so not yet in any ledger)."""
        return sum(r.estimate_usd for r in self.pending() if r.owner != except_owner)

    def add(self, record: BatchRecord) -> None:
        write_text_atomic(self.folder / f"{record.batch_id}.json", json.dumps(asdict(record)),
                          mode=0o600)

    def remove(self, record: BatchRecord) -> None:
        (self.folder / f"{record.batch_id}.json").unlink(missing_ok=True)


def run_batched(runner: Runner, stage: Stage, requests: Sequence[Request],
                store: BatchStore) -> list[Completion]:
    """Every request's completion, from the cache or a finished batch; else raise BatchPending."""
    model = stage.model
    if not hasattr(model, "submit_batch"):
        raise ConfigError(f"{stage.info.spec} has no batch API; run without --batch")
    batch_model: BatchModel = model  # type: ignore[assignment]
    if runner.cache is None:
        raise ConfigError("--batch needs the response cache; drop --no-cache")
    cache: ResponseCache = runner.cache
    keys = [call_key(stage.info, r.digest()) for r in requests]
    # Only this job's batches are collected here, so their cost lands in this job's ledger:
    # those holding its calls, and those sent for an earlier version of the same episode.
    ours = _ours(store, stage, keys)
    empty = collect_batches(runner, stage, store, ours)
    if empty:
        raise ModelCallError(
            f"{len(empty)} batched {stage.name} calls were billed but came back with no text: "
            f"{', '.join(empty[:3])}; a thinking model needs a larger thinking_allowance in the "
            "models table; the next run sends them again")
    missing = [i for i, k in enumerate(keys) if cache.get(k) is None]
    if not missing:
        return [runner.call(stage, r) for r in requests]  # all cache hits now: free, ledgered
    ours = _ours(store, stage, keys)
    waiting = {cid for record in ours for cid in record.custom_ids}
    to_submit = [i for i in missing if keys[i] not in waiting]
    ids = [r.batch_id for r in ours]
    if to_submit:
        items = [(keys[i], requests[i]) for i in to_submit]
        # Each call's worst case at the batch discount (a batch cannot be shortened to fit:
        # its results are matched to their calls by the request's cache key).
        estimate = sum(worst_cost(stage.info, r, stage.info.batch_discount) for _, r in items)
        runner.ledger.hold(estimate)  # refuse to submit past the budget; held until the end
        batch_id = batch_model.submit_batch(items)
        store.add(BatchRecord(batch_id, stage.info.spec, requests[0].stage,
                              [cid for cid, _ in items], time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              {cid: r.digest() for cid, r in items}, owner=store.owner,
                              estimate_usd=round(estimate, 6)))
        ids.append(batch_id)
        log.info("submitted batch %s with %d %s calls", batch_id, len(items), stage.name)
    raise BatchPending(f"{len(missing)} {stage.name} calls are in provider batches "
                       f"({', '.join(ids)}); run again later to collect them", ids)


def _ours(store: BatchStore, stage: Stage, keys: Sequence[str]) -> list[BatchRecord]:
    wanted = set(keys)
    return [r for r in store.pending(stage.info.spec)
            if wanted & set(r.custom_ids) or (store.owner and r.owner == store.owner)]


def collect_batches(runner: Runner, stage: Stage, store: BatchStore,
                    records: Sequence[BatchRecord]) -> list[str]:
    """Poll `records`: cache and bill the results of every finished one and forget it.

    Returns the calls that came back billed but with no text (a thinking model that used up
    its tokens): they are not cached, so they are sent again, but the caller should say so."""
    model: BatchModel = stage.model  # type: ignore[assignment]
    empty: list[str] = []
    for record in records:
        try:
            status = model.batch_status(record.batch_id)
        except RetryableError as exc:  # polling is cheap and the next run polls again
            log.warning("batch %s: no status now (%s); the next run asks again",
                        record.batch_id, exc)
            continue
        if status == "pending":
            continue
        if status == "ended":
            for cid, result in model.batch_results(record.batch_id).items():
                if runner.cache is not None and runner.cache.get(cid) is not None:
                    continue  # billed and cached by a collection that was cut short
                if not isinstance(result, Completion):
                    log.warning("batch %s: call %s %s; it will be sent again",
                                record.batch_id, cid[:12], result)
                    continue
                runner.record_batch_result(stage, record.stage, cid, result,
                                           record.request_sha256.get(cid, ""))
                if result.text.strip() and runner.cache is not None:
                    runner.cache.set(cid, result.to_json())
                else:
                    empty.append(f"{cid[:12]} (stop reason {result.stop_reason or 'unknown'})")
        else:
            log.warning("batch %s %s; its calls will be sent again", record.batch_id, status)
        store.remove(record)
    return empty
