"""Batches are sent once and belong to a workspace: a lost create reply, a run killed while
submitting, and two workspaces sharing one cache folder — counted at the stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from ghost.workspace.state import WorkspaceState
from standin import StandIn
from test_run_workspace import workspace, write_episode

OPENAI_MODELS = '[models]\nmap = "openai:gpt-4o-mini"\nreduce = "openai:gpt-4o"\n'
CREATE = {"anthropic": "/v1/messages/batches", "openai": "/v1/batches"}
PROVIDERS = pytest.mark.parametrize("provider", ["anthropic", "openai"])


def _config(tmp_path: Path, provider: str, extra: str = "") -> Path:
    models = OPENAI_MODELS if provider == "openai" else ""
    return workspace(tmp_path, make='["summary"]', extra=extra + "\n" + models)


def _run(config: Path) -> dict:
    result = run_cli("run", "-c", config, "--batch", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _creates(server: StandIn, provider: str) -> int:
    return sum(1 for r in server.requests if r.method == "POST" and r.path == CREATE[provider])


def _records(cache: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((cache / "batches").glob("*.json"))]


def _status(config: Path) -> dict:
    result = run_cli("status", "-c", config, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _map_ledger(report: dict, episode: str = "ep1.txt") -> dict:
    return report["ledgers"][episode]["stages"]["map"]


@PROVIDERS
def test_a_lost_create_reply_is_found_not_sent_again(tmp_path: Path, slow_batches: StandIn,
                                                     provider: str) -> None:
    server = slow_batches
    config = _config(tmp_path, provider)
    server.lose_next_batch_create()
    first = _run(config)
    assert first["processed"] == {"ep1.txt": "waiting"}
    assert _creates(server, provider) == 1
    (record,) = _records(tmp_path / "cache")
    assert record["estimate_usd"] > 0  # the budgets count it from the moment it was sent
    if provider == "openai":  # tagged, so found at once
        assert record["state"] == "submitted" and record["batch_id"].startswith("batch_")
    else:  # a running batch of the right size may be it: looked at again once it ends
        assert record["state"] == "submitting" and not record["batch_id"]
    assert _status(config)["batch_committed_usd"] == record["estimate_usd"]

    again = _run(config)  # still running: neither sent again nor given up
    assert again["processed"] == {"ep1.txt": "waiting"}
    assert _creates(server, provider) == 1

    server.finish_batches()
    done = _run(config)
    assert done["processed"] == {"ep1.txt": "done"}
    assert _creates(server, provider) == 1
    ledger = _map_ledger(done)
    assert ledger["calls"] >= 2 and ledger["cost_usd"] > 0
    assert not _records(tmp_path / "cache")
    # billed once: the month holds this run's map calls and the reduce call, nothing twice
    state = WorkspaceState.load(tmp_path / ".ghost")
    assert state.month_spend() == pytest.approx(done["spent_usd"], abs=1e-5)
    assert _status(config)["batch_committed_usd"] == 0


@PROVIDERS
def test_a_record_left_submitting_by_a_killed_run_is_adopted(tmp_path: Path,
                                                             slow_batches: StandIn,
                                                             provider: str) -> None:
    server = slow_batches
    config = _config(tmp_path, provider)
    assert _run(config)["processed"] == {"ep1.txt": "waiting"}
    # As a run killed after sending, before the reply's id was saved, leaves it:
    (path,) = (tmp_path / "cache" / "batches").glob("*.json")
    record = json.loads(path.read_text())
    batch_id = record["batch_id"]
    record.update(state="submitting", batch_id="")
    path.write_text(json.dumps(record))
    server.finish_batches()

    done = _run(config)
    assert done["processed"] == {"ep1.txt": "done"}
    assert _creates(server, provider) == 1  # adopted, not sent again
    assert server.calls(path=f"{CREATE[provider]}/{batch_id}") >= 1
    assert _map_ledger(done)["cost_usd"] > 0
    assert not _records(tmp_path / "cache")


def test_a_record_left_submitting_that_never_got_there_is_sent(tmp_path: Path,
                                                               slow_batches: StandIn) -> None:
    server = slow_batches
    config = _config(tmp_path, "openai")
    assert _run(config)["processed"] == {"ep1.txt": "waiting"}
    (path,) = (tmp_path / "cache" / "batches").glob("*.json")
    record = json.loads(path.read_text())
    record.update(state="submitting", batch_id="", local_id="never-sent")  # killed before
    path.unlink()
    (path.parent / "never-sent.json").write_text(json.dumps(record))
    server.reset()  # the provider has no batch of it

    assert _run(config)["processed"] == {"ep1.txt": "waiting"}
    assert _creates(server, "openai") == 1  # sent now, once
    (fresh,) = _records(tmp_path / "cache")
    assert fresh["state"] == "submitted" and fresh["local_id"] != "never-sent"


@PROVIDERS
def test_two_workspaces_on_one_cache_folder_keep_their_own_batches(
        tmp_path: Path, slow_batches: StandIn, provider: str) -> None:
    server = slow_batches
    shared = tmp_path / "shared-cache"
    configs = {}
    for name in ("a", "b"):
        root = tmp_path / name
        root.mkdir()
        configs[name] = _config(root, provider, extra=f'cache_dir = "{shared}"')
    write_episode(tmp_path / "b" / "episodes" / "ep2.txt", "FACT-B2")  # b has more to do

    first_a = _run(configs["a"])
    assert first_a["processed"] == {"ep1.txt": "waiting"}
    committed_a = _status(configs["a"])["batch_committed_usd"]
    assert committed_a > 0 and _status(configs["b"])["batch_committed_usd"] == 0

    # b has the very same ep1.txt: its calls are a's calls, but a's batch is a's to collect
    first_b = _run(configs["b"])
    assert first_b["processed"] == {"ep1.txt": "waiting", "ep2.txt": "waiting"}
    assert _creates(server, provider) == 3
    committed_b = _status(configs["b"])["batch_committed_usd"]
    assert committed_b > 0 and _status(configs["a"])["batch_committed_usd"] == committed_a

    server.finish_batches()
    done_b = _run(configs["b"])  # b collects first and must not take a's batch
    assert done_b["processed"] == {"ep1.txt": "done", "ep2.txt": "done"}
    assert _status(configs["b"])["batch_committed_usd"] == 0
    assert _status(configs["a"])["batch_committed_usd"] == committed_a
    records = _records(shared)
    assert len(records) == 1 and records[0]["workspace"] == str((tmp_path / "a").resolve())

    done_a = _run(configs["a"])
    assert done_a["processed"] == {"ep1.txt": "done"}
    assert _map_ledger(done_a)["cost_usd"] > 0  # a's batch billed to a, at last
    assert not _records(shared)
    for name in ("a", "b"):
        status = _status(configs[name])
        assert status["batch_committed_usd"] == 0
        spent = WorkspaceState.load(tmp_path / name / ".ghost").month_spend()
        assert status["month_spend"] == pytest.approx(spent)
    # each month holds exactly what its own runs spent
    month_a = WorkspaceState.load(tmp_path / "a" / ".ghost").month_spend()
    month_b = WorkspaceState.load(tmp_path / "b" / ".ghost").month_spend()
    assert month_a == pytest.approx(first_a["spent_usd"] + done_a["spent_usd"], abs=1e-5)
    assert month_b == pytest.approx(first_b["spent_usd"] + done_b["spent_usd"], abs=1e-5)
    assert _map_ledger(done_b)["cost_usd"] > 0 and _map_ledger(done_b, "ep2.txt")["cost_usd"] > 0


def test_the_stand_in_checks_openai_batch_metadata(slow_batches: StandIn) -> None:
    import openai

    client = openai.OpenAI(api_key="k", base_url=slow_batches.openai_base_url, max_retries=0)
    line = {"custom_id": "c1", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}
    upload = client.files.create(file=("in.jsonl", json.dumps(line).encode()), purpose="batch")
    with pytest.raises(openai.BadRequestError):
        client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                              completion_window="24h",
                              metadata={f"k{i}": "v" for i in range(17)})
    slow_batches.lose_next_batch_create("openai")
    with pytest.raises(openai.APIConnectionError):
        client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                              completion_window="24h", metadata={"ghost_local_id": "x1"})
    (made,) = client.batches.list(limit=10)
    assert made.metadata == {"ghost_local_id": "x1"}
