"""The model-API stand-in's batch APIs (Anthropic Message Batches, OpenAI Files + Batch),
driven through the real SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from standin import StandIn
from standin_helpers import claude, gpt, text_of, user

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A stand-in of this module's own: no provider environment points at it."""
    with StandIn() as s:
        yield s


# ------------------------------------------------------------------ batches


def batch_params(text: str) -> dict[str, Any]:
    return {"model": "claude-test", "max_tokens": 100, "messages": user(text)}


def test_anthropic_message_batch_round_trip(standin: StandIn) -> None:
    client = claude(standin)
    standin.enqueue("scripted in batch", provider="anthropic")
    batch = client.messages.batches.create(
        requests=[
            {"custom_id": "first", "params": batch_params("FACT-b1 one")},  # type: ignore[typeddict-item]
            {"custom_id": "second", "params": batch_params("FACT-b2 two")},  # type: ignore[typeddict-item]
            {"custom_id": "broken", "params": {"model": "m", "messages": user("x")}},  # type: ignore[typeddict-item]
        ]
    )
    assert batch.processing_status == "in_progress" and batch.id.startswith("msgbatch_")
    assert batch.request_counts.processing == 3 and batch.results_url is None
    done = client.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended" and done.ended_at is not None
    assert done.request_counts.succeeded == 2 and done.request_counts.errored == 1
    assert done.results_url is not None and done.results_url.endswith(f"{batch.id}/results")
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    first, second, broken = results["first"], results["second"], results["broken"]
    assert first.type == "succeeded" and second.type == "succeeded"
    assert text_of(first.message) == "scripted in batch"
    assert text_of(second.message).endswith("- FACT-b2 two")
    assert second.message.usage.service_tier == "batch"
    assert broken.type == "errored"
    assert broken.error.error.type == "invalid_request_error"


def test_anthropic_batch_finishes_on_demand() -> None:
    with StandIn(batch_auto_finish=False) as s:
        client = claude(s)
        batch = client.messages.batches.create(
            requests=[{"custom_id": "a", "params": batch_params("FACT-late")}]  # type: ignore[typeddict-item]
        )
        assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
        with pytest.raises(anthropic.AnthropicError, match="results_url"):
            list(client.messages.batches.results(batch.id))
        assert s.finish_batches() == 1
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
        (line,) = list(client.messages.batches.results(batch.id))
        assert line.result.type == "succeeded"
        with pytest.raises(anthropic.NotFoundError):
            client.messages.batches.retrieve("msgbatch_nope")


def test_anthropic_batch_ready_after() -> None:
    with StandIn(batch_ready_after=0.3) as s:
        client = claude(s)
        batch = client.messages.batches.create(
            requests=[{"custom_id": "a", "params": batch_params("x")}]  # type: ignore[typeddict-item]
        )
        assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
        time.sleep(0.35)
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"


def openai_batch_file(*texts: str) -> bytes:
    lines = [
        {
            "custom_id": f"req-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-test", "messages": user(text), "max_tokens": 100},
        }
        for i, text in enumerate(texts)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def test_openai_batch_round_trip(standin: StandIn) -> None:
    client = gpt(standin)
    uploaded = client.files.create(
        file=("requests.jsonl", openai_batch_file("FACT-o1 one", "FACT-o2 two")), purpose="batch"
    )
    assert uploaded.purpose == "batch" and uploaded.id.startswith("file-")
    assert standin.requests[-1].body["file"]["filename"] == "requests.jsonl"
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating" and batch.request_counts is not None
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.output_file_id is not None
    assert done.request_counts is not None and done.request_counts.completed == 2
    assert done.error_file_id is None
    assert done.usage is not None and done.usage.output_tokens > 0
    content = client.files.content(done.output_file_id)
    lines = [json.loads(line) for line in content.text.splitlines()]
    by_id = {line["custom_id"]: line for line in lines}
    assert set(by_id) == {"req-0", "req-1"}
    reply = by_id["req-1"]["response"]
    assert reply["status_code"] == 200
    assert reply["body"]["object"] == "chat.completion"
    assert reply["body"]["choices"][0]["message"]["content"].endswith("- FACT-o2 two")
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert input_text(client, uploaded.id).count("\n") == 2


def input_text(client: openai.OpenAI, file_id: str) -> str:
    return client.files.content(file_id).text


def test_openai_batch_manual_finish_and_errors() -> None:
    with StandIn(batch_auto_finish=False) as s:
        client = gpt(s)
        data = openai_batch_file("ok") + (
            json.dumps(
                {
                    "custom_id": "bad",
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": {"model": "g", "messages": []},
                }
            ).encode()
            + b"\n"
        )
        uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert client.batches.retrieve(batch.id).status == "in_progress"
        assert s.finish_batches() == 1
        done = client.batches.retrieve(batch.id)
        assert done.status == "completed"
        assert done.request_counts is not None
        assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
        assert done.error_file_id is not None
        (err,) = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
        assert err["custom_id"] == "bad" and err["response"]["status_code"] == 400
        with pytest.raises(openai.BadRequestError):
            client.batches.create(
                input_file_id="file-missing",
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )


def test_batch_cancel_and_invalid_input() -> None:
    with StandIn(batch_auto_finish=False) as s:
        client = claude(s)
        batch = client.messages.batches.create(
            requests=[{"custom_id": "a", "params": batch_params("x")}]  # type: ignore[typeddict-item]
        )
        assert client.messages.batches.cancel(batch.id).processing_status == "canceling"
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended" and ended.request_counts.canceled == 1
        (line,) = list(client.messages.batches.results(batch.id))
        assert line.result.type == "canceled"
        oa = gpt(s)
        uploaded = oa.files.create(file=("bad.jsonl", b"{not json\n"), purpose="batch")
        failed = oa.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        failed = oa.batches.retrieve(failed.id)
        assert failed.status == "failed"
        assert failed.errors is not None and failed.errors.data is not None
        assert failed.errors.data[0].code == "invalid_json_line"
        assert failed.errors.data[0].line == 1
