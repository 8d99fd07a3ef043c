"""Send a stage's calls through the provider's batch API (50% off) and collect them later.

The first run submits every call not already cached as one batch and saves its id; it then
stops with BatchPending. A later run polls the saved batches: finished results go into the
response cache (so from then on they are ordinary cache hits) and only calls still missing are
submitted again. A custom_id is the call's cache key, which is what ties a result to its call.

A batch is recorded (state "submitting", with a local id) before it is sent, and the
submission is tagged with that id where the API allows (OpenAI batch metadata). When the
create's reply is lost, or a run was killed while sending, the provider's recent batches are
listed and the match is adopted: a batch is never sent twice. Records belong to a workspace
(`ghost run`), so workspaces that share a cache folder never collect or bill each other's.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from ghost.cache import ResponseCache, ensure_private_dir
from ghost.errors import BatchPending, ConfigError, GhostError, ModelCallError
from ghost.models.protocol import Completion, Request, RetryableError
from ghost.models.runner import Runner, Stage, call_key, worst_cost
from ghost.write.atomic import write_text_atomic

log = logging.getLogger(__name__)


SUBMITTING, SUBMITTED = "submitting", "submitted"


class BatchModel(Protocol):
    # The most requests, and bytes of requests, one batch of this provider takes.
    batch_limits: tuple[int, int]

    def submit_batch(self, items: Sequence[tuple[str, Request]], tag: str = "") -> str: ...
    def batch_status(self, batch_id: str) -> str: ...  # "pending" | "ended" | "failed"
    def batch_results(self, batch_id: str) -> dict[str, Completion | str]: ...

    def find_batch(self, tag: str, custom_ids: Sequence[str], since: float,
                   exclude: Collection[str] = ()) -> str | None:
        """The id of the batch submitted with `tag` (or holding exactly `custom_ids`), created
        after `since` (epoch seconds, less some clock skew) and not in `exclude` (batches
        already known to be someone's); None when there is none; "" when a batch that may be
        it cannot be told apart yet (ask again later)."""
        ...


def workspace_id(root: Path) -> str:
    """What ties a batch record to the workspace it was sent for."""
    return str(root.resolve())


def episode_owner(root: Path, episode: str) -> str:
    """What `ghost run` gives a session's BatchStore as its owner: the episode's name and
    its workspace, which the store keeps apart (a record's `owner` and `workspace`)."""
    return json.dumps([workspace_id(root), episode])


def _split_owner(owner: str) -> tuple[str, str]:
    try:
        value = json.loads(owner)
    except ValueError:
        return "", owner
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]), str(value[1])
    return "", owner


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
    local_id: str = ""          # ghost's own id, given before the provider's is known
    state: str = SUBMITTED      # "submitting" until the provider's id is saved
    submitted_at: float = 0.0   # epoch seconds, to find the batch again in the provider's list
    workspace: str = ""         # the workspace it belongs to ("" for the CLI commands)
    billed: list[str] = field(default_factory=list)  # calls already billed (a cut collection)

    @property
    def file_name(self) -> str:
        return f"{self.local_id or self.batch_id}.json"

    @property
    def label(self) -> str:  # the provider's id, else ghost's while the batch is looked for
        return self.batch_id or self.local_id


class BatchStore:
    """Pending batches, one JSON file each, under `<cache_dir>/batches`.

    A store sees only the records of its workspace (given, or set by an episode_owner()):
    ghost run's records carry their workspace, the CLI commands' carry none."""

    def __init__(self, cache_dir: Path, owner: str = "", workspace: str = ""):
        self.folder = ensure_private_dir(cache_dir / "batches")
        self.workspace = workspace
        self.owner = owner

    @property
    def owner(self) -> str:
        """Whose batches are sent: an episode's name (its workspace is kept apart)."""
        return self._owner

    @owner.setter
    def owner(self, value: str) -> None:  # an episode_owner() sets the workspace too
        workspace, self._owner = _split_owner(value)
        self.workspace = workspace or self.workspace

    def _visible(self, record: BatchRecord) -> bool:
        if record.workspace == self.workspace:
            return True
        # A record from before batches had a workspace: any workspace may finish it.
        return bool(self.workspace) and not record.workspace and bool(record.owner)

    def pending(self, model: str | None = None) -> list[BatchRecord]:
        records = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                record = BatchRecord(**json.loads(path.read_text()))
            except (ValueError, TypeError):
                log.warning("ignored unreadable batch record %s", path.name)
                continue
            if self._visible(record) and (model is None or record.model == model):
                records.append(record)
        return records

    def known_ids(self) -> set[str]:
        """The provider ids of every batch recorded in the folder, whatever its workspace."""
        ids = set()
        for path in self.folder.glob("*.json"):
            try:
                ids.add(str(json.loads(path.read_text()).get("batch_id") or ""))
            except (ValueError, AttributeError):
                continue
        return ids - {""}

    def committed(self, *, except_owner: str | None = None) -> float:
        """Dollars submitted in batches not yet collected (and so not yet in any ledger)."""
        return sum(r.estimate_usd for r in self.pending() if r.owner != except_owner)

    def add(self, record: BatchRecord) -> None:
        write_text_atomic(self.folder / record.file_name, json.dumps(asdict(record)),
                          mode=0o600)

    def remove(self, record: BatchRecord) -> None:
        (self.folder / record.file_name).unlink(missing_ok=True)


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
    ids = [r.label for r in ours]
    for items in batch_groups([(keys[i], requests[i]) for i in to_submit],
                              *getattr(batch_model, "batch_limits", DEFAULT_BATCH_LIMITS)):
        # Each call's worst case at the batch discount (a batch cannot be shortened to fit:
        # its results are matched to their calls by the request's cache key).
        estimate = sum(worst_cost(stage.info, r, stage.info.batch_discount) for _, r in items)
        runner.ledger.hold(estimate)  # refuse to submit past the budget; held until the end
        record = BatchRecord("", stage.info.spec, requests[0].stage, [cid for cid, _ in items],
                             time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                             {cid: r.digest() for cid, r in items}, owner=store.owner,
                             estimate_usd=round(estimate, 6), local_id=uuid.uuid4().hex,
                             state=SUBMITTING, submitted_at=time.time(),
                             workspace=store.workspace)
        store.add(record)  # before sending: a lost reply or a kill leaves it to be found again
        _submit(batch_model, store, record, items)
        ids.append(record.label)
    raise BatchPending(f"{len(missing)} {stage.name} calls are in provider batches "
                       f"({', '.join(ids)}); run again later to collect them", ids)


BATCH_BYTES_SHARE = 0.9  # of a provider's byte limit a batch fills: the wire adds its framing
DEFAULT_BATCH_LIMITS = (50_000, 200 * 1024 * 1024)  # a provider that names none: OpenAI's


def batch_groups(items: Sequence[tuple[str, Request]], most_requests: int,
                 most_bytes: int) -> list[list[tuple[str, Request]]]:
    """`items` in order, cut into batches a provider takes: at most `most_requests` each, and
    about BATCH_BYTES_SHARE of `most_bytes` of requests (100,000 and 256 MB on Anthropic,
    50,000 and 200 MB on OpenAI).

    >>> from ghost.models.protocol import Message
    >>> ask = Request("Note.", (Message.user("x" * 100),))
    >>> [len(g) for g in batch_groups([(str(i), ask) for i in range(7)], 3, 10**9)]
    [3, 3, 1]
    """
    groups: list[list[tuple[str, Request]]] = []
    size = 0
    for item in items:
        weight = len(json.dumps(item[1].payload(), ensure_ascii=False).encode("utf-8")) + 256
        if not groups or len(groups[-1]) >= most_requests or \
                size + weight > BATCH_BYTES_SHARE * most_bytes:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += weight
    return groups


def _submit(model: BatchModel, store: BatchStore, record: BatchRecord,
            items: Sequence[tuple[str, Request]]) -> None:
    """Send `record`'s batch and save its id; after an uncertain failure (the request may
    have reached the provider), adopt the batch the provider has instead of sending again."""
    try:
        batch_id = model.submit_batch(items, tag=record.local_id)
    except RetryableError as exc:
        log.warning("batch %s: no reply to its submission (%s); looking for it at the "
                    "provider", record.local_id, exc)
        try:
            found = _find(model, store, record)
        except RetryableError as again:  # the next run looks again; nothing is sent twice
            log.warning("batch %s: cannot look for it now (%s)", record.local_id, again)
            return
        if found is None:  # it never got there: forget it, the next run sends the calls
            store.remove(record)
            raise
        if not found:
            log.info("batch %s: a batch that may be it is still running", record.local_id)
            return
        batch_id = found
    except GhostError:
        store.remove(record)  # refused: there is nothing to find
        raise
    # Anything else (an interrupt, an unexpected error) leaves the record "submitting": the
    # request may have got there, and the next run looks for it before sending anything.
    _adopt(store, record, batch_id)
    log.info("submitted batch %s with %d calls", batch_id, len(items))


def _find(model: BatchModel, store: BatchStore, record: BatchRecord) -> str | None:
    return model.find_batch(record.local_id, record.custom_ids, record.submitted_at,
                            exclude=store.known_ids())


def _adopt(store: BatchStore, record: BatchRecord, batch_id: str) -> None:
    record.batch_id, record.state = batch_id, SUBMITTED
    store.add(record)


def _resolve(model: BatchModel, store: BatchStore, record: BatchRecord) -> bool:
    """Find the provider's batch of a record left "submitting"; True once it is known."""
    try:
        found = _find(model, store, record)
    except RetryableError as exc:
        log.warning("batch %s: cannot look for it now (%s)", record.local_id, exc)
        return False
    if found is None:
        log.info("batch %s never reached the provider; its calls will be sent", record.local_id)
        store.remove(record)
        return False
    if found:
        log.info("batch %s found at the provider as %s", record.local_id, found)
        _adopt(store, record, found)
    return bool(found)


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
        if record.state == SUBMITTING and not _resolve(model, store, record):
            continue
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
                if cid in record.billed:
                    continue  # billed by a collection of this batch that was cut short
                if not isinstance(result, Completion):
                    log.warning("batch %s: call %s %s; it will be sent again",
                                record.batch_id, cid[:12], result)
                    continue
                # Kept, noted as billed, then billed (the ledger saves the workspace's spend):
                # a kill between the last two loses one ledger line, never bills it twice.
                runner.record_batch_result(stage, record.stage, cid, result,
                                           record.request_sha256.get(cid, ""),
                                           before_bill=_noting_billed(store, record, cid))
                if not result.text.strip():
                    empty.append(f"{cid[:12]} (stop reason {result.stop_reason or 'unknown'})")
                elif runner.cache is not None and runner.cache.get(cid) is None:
                    runner.cache.set(cid, result.to_json())
        else:
            log.warning("batch %s %s; its calls will be sent again", record.batch_id, status)
        store.remove(record)
    return empty


def _noting_billed(store: BatchStore, record: BatchRecord, cid: str) -> Callable[[], None]:
    """Note `cid` as billed in `record`, saved, before the ledger bills it."""
    def note() -> None:
        record.billed.append(cid)
        store.add(record)
    return note
