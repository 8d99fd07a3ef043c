"""Controlling and observing the model-API stand-in: errors and injected faults, scripted
replies, recorded requests, latency and concurrency, disconnects, and `python -m standin`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from standin import StandIn
from standin_helpers import KEY, claude, gpt, peak_overlap, text_of, user

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A stand-in of this module's own: no provider environment points at it."""
    with StandIn() as s:
        yield s


# ------------------------------------------------------------------ errors and faults


def test_validation_errors(standin: StandIn) -> None:
    with pytest.raises(anthropic.BadRequestError) as a_err:
        claude(standin).messages.create(model="m", max_tokens=0, messages=user("x"))
    assert a_err.value.type == "invalid_request_error"
    assert "max_tokens" in (a_err.value.api_message or "")
    five: list[Any] = [
        {"type": "text", "text": f"t{i}", "cache_control": {"type": "ephemeral"}} for i in range(5)
    ]
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4 blocks"):
        claude(standin).messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": five}]
        )
    with pytest.raises(openai.BadRequestError) as o_err:
        gpt(standin).chat.completions.create(model="g", messages=[])
    assert o_err.value.code is None and o_err.value.type == "invalid_request_error"
    assert standin.calls(status=400) == 3 and standin.calls(status=200) == 0
    # the 2.x SDK also types {"role": "system"} turns inside messages: accepted
    turns: list[Any] = [{"role": "system", "content": "be terse"}, *user("FACT-z")]
    ok = claude(standin).messages.create(model="m", max_tokens=50, messages=turns)
    assert text_of(ok).endswith("- FACT-z")


def test_missing_key_is_401(standin: StandIn) -> None:
    no_auth = {"Authorization": anthropic.Omit()}
    with pytest.raises(anthropic.AuthenticationError) as a_err:
        claude(standin).messages.create(
            model="m", max_tokens=5, messages=user("x"), extra_headers=no_auth
        )
    assert a_err.value.type == "authentication_error"
    with pytest.raises(openai.AuthenticationError):
        gpt(standin).chat.completions.create(
            model="g", messages=user("x"), extra_headers={"Authorization": openai.Omit()}
        )
    assert [r.status for r in standin.requests] == [401, 401]
    assert "authorization" not in standin.requests[0].headers


def test_rate_limit_429(standin: StandIn) -> None:
    standin.fail_next(429, retry_after=0.01)
    client = claude(standin)
    with pytest.raises(anthropic.RateLimitError) as err:
        client.messages.create(model="m", max_tokens=5, messages=user("x"))
    assert err.value.status_code == 429
    assert err.value.response.headers["retry-after"] == "0.01"
    assert err.value.response.headers["retry-after-ms"] == "10"
    assert err.value.type == "rate_limit_error"
    assert err.value.request_id is not None and err.value.request_id.startswith("req_")
    assert client.messages.create(model="m", max_tokens=5, messages=user("x")).content
    standin.fail_next(429, retry_after=2, provider="openai")
    client.messages.create(model="m", max_tokens=5, messages=user("x"))  # not for anthropic
    with pytest.raises(openai.RateLimitError) as o_err:
        gpt(standin).chat.completions.create(model="g", messages=user("x"))
    assert o_err.value.response.headers["retry-after"] == "2"
    assert o_err.value.code == "rate_limit_exceeded"


def test_overloaded_529_and_500(standin: StandIn) -> None:
    standin.fail_next(529, count=2)
    with pytest.raises(anthropic.OverloadedError) as err:
        claude(standin).messages.create(model="m", max_tokens=5, messages=user("x"))
    assert isinstance(err.value, anthropic.InternalServerError)
    assert err.value.status_code == 529 and err.value.type == "overloaded_error"
    assert "retry-after" not in err.value.response.headers
    with pytest.raises(openai.InternalServerError) as o_err:  # OpenAI has no 529: 503
        gpt(standin).chat.completions.create(model="g", messages=user("x"))
    assert o_err.value.status_code == 503
    standin.fail_next(500)
    client = claude(standin)
    with (
        pytest.raises(anthropic.InternalServerError) as e500,
        client.messages.stream(model="m", max_tokens=5, messages=user("x")) as stream,
    ):
        stream.get_final_message()
    assert e500.value.status_code == 500 and e500.value.type == "api_error"


def test_fail_every_cycles_statuses(standin: StandIn) -> None:
    standin.fail_every(3, statuses=(429, 529), retry_after=0.01)
    client = claude(standin)
    outcomes: list[int] = []
    for _ in range(7):
        try:
            client.messages.create(model="m", max_tokens=5, messages=user("x"))
            outcomes.append(200)
        except anthropic.APIStatusError as exc:
            outcomes.append(exc.status_code)
            assert exc.response.headers["retry-after"] == "0.01"
    assert outcomes == [200, 200, 429, 200, 200, 529, 200]
    assert standin.calls() == 5 and standin.calls(status=None) == 7
    standin.fail_every(0)
    assert client.messages.create(model="m", max_tokens=5, messages=user("x")).content


# ------------------------------------------------------------------ scripting


def test_enqueue_and_responder() -> None:
    seen: list[str] = []

    def responder(provider: str, body: dict[str, Any]) -> str | None:
        seen.append(provider)
        return "from responder" if provider == "openai" else None

    with StandIn(responder=responder) as s:
        s.enqueue("scripted for openai", provider="openai")
        s.enqueue("scripted for anyone")
        a = claude(s).messages.create(model="m", max_tokens=50, messages=user("x"))
        assert text_of(a) == "scripted for anyone"
        o = gpt(s).chat.completions.create(model="g", messages=user("x"))
        assert o.choices[0].message.content == "scripted for openai"
        o = gpt(s).chat.completions.create(model="g", messages=user("x"))
        assert o.choices[0].message.content == "from responder"
        a = claude(s).messages.create(model="m", max_tokens=50, messages=user("x"))
        assert text_of(a).startswith("STANDIN ")
        assert seen == ["openai", "anthropic"]
        # a failed request does not consume a scripted reply
        s.enqueue("kept")
        s.fail_next(429)
        with pytest.raises(anthropic.RateLimitError):
            claude(s).messages.create(model="m", max_tokens=50, messages=user("x"))
        kept = claude(s).messages.create(model="m", max_tokens=50, messages=user("x"))
        assert text_of(kept) == "kept"


def test_recording_calls_and_reset(standin: StandIn) -> None:
    claude(standin).messages.create(model="m", max_tokens=5, messages=user("x"))
    gpt(standin).chat.completions.create(model="g", messages=user("x"))
    standin.fail_next(500)
    with pytest.raises(openai.InternalServerError):
        gpt(standin).chat.completions.create(model="g", messages=user("x"))
    assert standin.calls() == 2
    assert standin.calls("openai") == 1
    assert standin.calls("openai", status=500) == 1
    assert standin.calls(path="/v1/messages") == 1
    for rec in standin.requests:
        assert rec.finished is not None and rec.finished >= rec.started
        assert rec.time > 0
        assert all(KEY not in v for v in rec.headers.values())
    standin.enqueue("dropped by reset")
    standin.reset()
    assert standin.requests == [] and standin.calls(status=None) == 0
    out = claude(standin).messages.create(model="m", max_tokens=50, messages=user("x"))
    assert text_of(out).startswith("STANDIN")


def test_latency_runs_requests_concurrently() -> None:
    with StandIn(latency=0.2) as s:
        client = claude(s)
        client.messages.create(model="m", max_tokens=5, messages=user("warm up"))
        s.reset()
        errors: list[BaseException] = []

        def call(i: int) -> None:
            try:
                client.messages.create(model="m", max_tokens=5, messages=user(f"q{i}"))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        elapsed = time.monotonic() - t0
        assert not errors
        records = s.requests
        assert len(records) == 8 and all(r.status == 200 for r in records)
        # they overlapped (a sequential server would never have two in flight)
        assert peak_overlap(records) >= 4
        assert all((r.finished or 0) - r.started >= 0.19 for r in records)
        assert elapsed < 1.5  # a one-at-a-time server would need >= 1.6 s


def test_client_disconnect_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="standin")
    with StandIn(latency=0.1) as s:
        payload = json.dumps(
            {"model": "m", "max_tokens": 500, "stream": True, "messages": user("x " * 2000)}
        ).encode()
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
                b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )
            sock.close()
        time.sleep(0.4)
        ok = claude(s).messages.create(model="m", max_tokens=10, messages=user("still there?"))
        assert text_of(ok).startswith("STANDIN")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ------------------------------------------------------------------ async clients


def test_async_clients_concurrently() -> None:
    async def run(s: StandIn) -> None:
        a = anthropic.AsyncAnthropic(api_key=KEY, base_url=s.anthropic_base_url, max_retries=0)
        o = openai.AsyncOpenAI(api_key=KEY, base_url=s.openai_base_url, max_retries=0)
        # warm up: the first async call of each client pays for lazy imports
        await a.messages.create(model="m", max_tokens=5, messages=user("warm"))
        await o.chat.completions.create(model="g", messages=user("warm"))
        s.reset()
        replies = await asyncio.gather(
            *[
                a.messages.create(model="m", max_tokens=50, messages=user(f"FACT-a{i}"))
                for i in range(4)
            ],
            *[o.chat.completions.create(model="g", messages=user(f"FACT-o{i}")) for i in range(4)],
        )
        assert text_of(replies[0]).endswith("- FACT-a0")
        async with a.messages.stream(model="m", max_tokens=50, messages=user("FACT-s")) as st:
            final = await st.get_final_message()
        assert text_of(final).endswith("- FACT-s")
        stream = await o.chat.completions.create(
            model="g",
            messages=user("FACT-t"),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        assert chunks[-1].usage is not None
        await a.close()
        await o.close()

    with StandIn(latency=0.1) as s:
        asyncio.run(run(s))
        assert s.calls() == 10
        assert peak_overlap(s.requests[:8]) >= 4


# ------------------------------------------------------------------ command line


def test_module_runs_as_a_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tests = str(Path(__file__).resolve().parent)  # the folder that holds the standin package
    env = {**os.environ, "PYTHONPATH": tests + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "standin", "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"127.0.0.1:{port}" in line
        client = anthropic.Anthropic(
            api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0
        )
        msg = client.messages.create(model="m", max_tokens=50, messages=user("FACT-cli"))
        assert text_of(msg).endswith("- FACT-cli")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert "anthropic POST /v1/messages -> 200" in err
        assert "Traceback" not in err
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
