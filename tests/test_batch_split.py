"""A batch bigger than a provider takes (Anthropic: 100,000 requests or 256 MB; OpenAI: 50,000
or 200 MB) is sent as several, each recorded and collected like one."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TEST_KEY

from ghost.cache import ResponseCache
from ghost.errors import BatchPending
from ghost.ledger import Ledger
from ghost.models.batch import BatchStore, batch_groups, run_batched
from ghost.models.catalog import load_catalog
from ghost.models.protocol import Message, Request
from ghost.models.runner import Runner, Stage
from ghost.providers import build_model
from standin import StandIn

CREATE = {"anthropic": "/v1/messages/batches", "openai": "/v1/batches"}


@pytest.mark.parametrize("spec", ["anthropic:claude-haiku-4-5", "openai:gpt-4o-mini"])
def test_calls_past_a_batch_limit_go_in_several_batches(spec: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    provider = spec.split(":")[0]
    with StandIn() as server:
        for name, value in server.env(TEST_KEY).items():
            monkeypatch.setenv(name, value)
        info = load_catalog().resolve(spec)
        model = build_model(info)
        model.batch_limits = (3, 10**9)  # type: ignore[attr-defined]  # a small provider
        stage = Stage("map", model, info, server.url)
        runner = Runner(Ledger(), ResponseCache(tmp_path / "cache"), None)
        store = BatchStore(tmp_path / "cache")
        requests = [Request("Take notes.", (Message.user(f"Chunk {i}: FACT-{i}."),),
                            max_tokens=64, stage="map") for i in range(7)]
        with pytest.raises(BatchPending) as pending:
            run_batched(runner, stage, requests, store)
        creates = [r for r in server.requests if r.method == "POST" and r.path == CREATE[provider]]
        assert len(creates) == 3 and len(pending.value.batch_ids) == 3
        assert sorted(len(r.custom_ids) for r in store.pending()) == [1, 3, 3]
        done = run_batched(runner, stage, requests, store)  # the stand-in finished them
        assert [f"FACT-{i}" in c.text for i, c in enumerate(done)] == [True] * 7
        assert not store.pending()


def test_groups_hold_to_the_byte_limit() -> None:
    big = Request("Note.", (Message.user("x" * 10_000),))
    groups = batch_groups([(str(i), big) for i in range(10)], 100_000, 40_000)
    assert [len(g) for g in groups] == [3, 3, 3, 1]  # 90% of 40 kB: three 10 kB requests each
    assert [cid for g in groups for cid, _ in g] == [str(i) for i in range(10)]
