"""Collect provider batches nobody is waiting for any more (their episode left the inbox): the
answers go to the cache and their cost to the ledger, since they were paid for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.jobs.runner import Document
from ghost.models.batch import BatchRecord, collect_batches
from ghost.plan import Plan
from ghost.session import Session


@dataclass
class CollectResult:
    plan: Plan = field(default_factory=lambda: Plan({}))
    looked_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"batches_looked_at": self.looked_at}


@dataclass
class CollectBatchesJob:
    records: Sequence[BatchRecord]
    command: str = "run"

    def run(self, session: Session) -> CollectResult:
        store = session.batch
        assert store is not None, "collect batches in a session opened with batch=True"
        for record in self.records:
            stage = session.stage_for(f"batch {record.model}", record.model)
            collect_batches(session.runner, stage, store, [record])
        return CollectResult(looked_at=len(self.records))

    def documents(self, result: CollectResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        return []
