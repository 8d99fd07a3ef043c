"""The model-API stand-in, driven through the real Anthropic and OpenAI SDKs."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from ghost.testing.standin import StandIn, count_tokens

pytestmark = pytest.mark.timeout(60)

KEY = "test-key"
LONG = "The quick brown fox jumps over the lazy dog. " * 120  # 5400 chars = 1350 tokens


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as s:
        yield s


def claude(s: StandIn) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=s.anthropic_base_url, max_retries=0)


def gpt(s: StandIn) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=s.openai_base_url, max_retries=0)


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def text_of(msg: Any) -> str:
    """The text of a reply with one text block (Message, or a batch result's message)."""
    block = msg.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    return block.text


def digest(*texts: str) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:8]


def peak_overlap(records: list[Any]) -> int:
    """The most requests that were in flight at the same moment."""
    edges = sorted(
        [(r.started, 1) for r in records] + [(r.finished, -1) for r in records],
        key=lambda e: (e[0], e[1]),
    )
    peak = live = 0
    for _, step in edges:
        live += step
        peak = max(peak, live)
    return peak


def post_raw(s: StandIn, path: str, body: dict[str, Any], **headers: str) -> tuple[int, Any, bytes]:
    """Plain http.client POST; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    try:
        conn.request(
            "POST",
            path,
            json.dumps(body),
            {"content-type": "application/json", "authorization": f"Bearer {KEY}", **headers},
        )
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


# ------------------------------------------------------------------ basics


def test_urls_and_health(standin: StandIn) -> None:
    assert standin.url == f"http://127.0.0.1:{standin.port}"
    assert standin.anthropic_base_url == standin.url
    assert standin.openai_base_url == standin.url + "/v1"
    with urllib.request.urlopen(standin.url + "/health", timeout=5) as resp:
        assert json.load(resp)["standin"] == "ghost"
    env = standin.env()
    assert env["OPENAI_BASE_URL"] == standin.openai_base_url
    assert standin.requests == []


def test_anthropic_reply_carries_marker_lines(standin: StandIn) -> None:
    prompt = (
        "Summarize this.\nFACT-alpha the bridge opened in 1932  \nplain line\n  see FACT-b_2 too"
    )
    raw = claude(standin).messages.with_raw_response.create(
        model="claude-test", max_tokens=200, system="Be brief.", messages=user(prompt)
    )
    msg = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert msg.type == "message" and msg.role == "assistant" and msg.id.startswith("msg_")
    assert msg.model == "claude-test"
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    text = text_of(msg)
    assert text.splitlines() == [
        f"STANDIN {digest('Be brief.', prompt)}",
        "- FACT-alpha the bridge opened in 1932",
        "- see FACT-b_2 too",
    ]
    assert msg.usage.input_tokens == count_tokens("Be brief.") + count_tokens(prompt)
    assert msg.usage.output_tokens == count_tokens(text)
    assert msg.usage.cache_creation_input_tokens == 0
    assert msg.usage.cache_read_input_tokens == 0
    # same request, same reply
    again = claude(standin).messages.create(
        model="claude-test", max_tokens=200, system="Be brief.", messages=user(prompt)
    )
    assert text_of(again) == text
    rec = standin.requests[0]
    assert (rec.provider, rec.method, rec.path, rec.status) == (
        "anthropic",
        "POST",
        "/v1/messages",
        200,
    )
    assert rec.body["messages"] == user(prompt)
    assert rec.reply == text
    assert all(KEY not in value for value in rec.headers.values())
    assert rec.headers["authorization"] == "Bearer REDACTED"


def test_only_last_user_message_lines_are_carried(standin: StandIn) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "FACT-old from the first turn"},
        {"role": "assistant", "content": "ok FACT-assistant"},
        {"role": "user", "content": [{"type": "text", "text": "intro\nFACT-new here"}]},
    ]
    msg = claude(standin).messages.create(model="m", max_tokens=100, messages=messages)
    assert text_of(msg).splitlines()[1:] == ["- FACT-new here"]


def test_custom_marker() -> None:
    with StandIn(marker=r"\bKEEP\b") as s:
        out = gpt(s).chat.completions.create(model="g", messages=user("a KEEP b\nFACT-x\nc"))
    assert out.choices[0].message.content is not None
    assert out.choices[0].message.content.splitlines()[1:] == ["- a KEEP b"]


def test_openai_reply_and_usage(standin: StandIn) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "FACT-7 seven"}]},
    ]
    raw = gpt(standin).chat.completions.with_raw_response.create(
        model="gpt-test", messages=messages, max_completion_tokens=100
    )
    out = raw.parse()
    assert raw.headers["x-request-id"].startswith("req_")
    assert out.object == "chat.completion" and out.model == "gpt-test"
    choice = out.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content == f"STANDIN {digest('sys', 'FACT-7 seven')}\n- FACT-7 seven"
    usage = out.usage
    assert usage is not None
    assert usage.prompt_tokens == count_tokens("sys") + count_tokens("FACT-7 seven")
    assert usage.completion_tokens == count_tokens(choice.message.content)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0
    # the same text gives the same reply through both providers
    same = claude(standin).messages.create(
        model="m", max_tokens=100, system="sys", messages=user("FACT-7 seven")
    )
    assert text_of(same) == choice.message.content


def test_max_tokens_truncates(standin: StandIn) -> None:
    long_facts = "\n".join(f"FACT-{i} " + "word " * 10 for i in range(5))
    msg = claude(standin).messages.create(model="m", max_tokens=5, messages=user(long_facts))
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 5
    assert len(text_of(msg)) == 20
    out = gpt(standin).chat.completions.create(model="g", messages=user(long_facts), max_tokens=5)
    assert out.choices[0].finish_reason == "length"
    assert out.usage is not None and out.usage.completion_tokens == 5


def test_stop_sequences(standin: StandIn) -> None:
    standin.enqueue("one two END three")
    standin.enqueue("alpha STOP beta")
    msg = claude(standin).messages.create(
        model="m", max_tokens=50, messages=user("x"), stop_sequences=["END"]
    )
    assert (text_of(msg), msg.stop_reason, msg.stop_sequence) == (
        "one two ",
        "stop_sequence",
        "END",
    )
    out = gpt(standin).chat.completions.create(model="g", messages=user("x"), stop="STOP")
    assert (out.choices[0].message.content, out.choices[0].finish_reason) == ("alpha ", "stop")


def test_count_tokens_endpoint(standin: StandIn) -> None:
    result = claude(standin).messages.count_tokens(model="m", messages=user("12345678"))
    assert result.input_tokens == 2


# ------------------------------------------------------------------ streaming


def test_anthropic_stream_helper(standin: StandIn) -> None:
    client = claude(standin)
    prompt = "stream me\nFACT-s1 one\nFACT-s2 two"
    plain = client.messages.create(model="m", max_tokens=300, messages=user(prompt))
    with client.messages.stream(model="m", max_tokens=300, messages=user(prompt)) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 2
    assert "".join(pieces) == text_of(final) == text_of(plain)
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.cache_read_input_tokens == 0
    assert standin.requests[-1].stream is True


def test_anthropic_raw_sse_events(standin: StandIn) -> None:
    body = {"model": "m", "max_tokens": 100, "stream": True, "messages": user("FACT-1 a\nb")}
    status, headers, data = post_raw(standin, "/v1/messages", body)
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    events = [block for block in data.decode().split("\n\n") if block]
    names = [block.splitlines()[0].removeprefix("event: ") for block in events]
    datas = [json.loads(block.splitlines()[1].removeprefix("data: ")) for block in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"} and len(names[3:-3]) >= 2
    assert all(name == d["type"] for name, d in zip(names, datas, strict=True))
    start = datas[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert set(start["usage"]) >= {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }
    text = "".join(d["delta"]["text"] for d in datas[3:-3])
    assert text.endswith("- FACT-1 a")
    delta = datas[-2]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == count_tokens(text)


def test_openai_stream_with_usage(standin: StandIn) -> None:
    client = gpt(standin)
    plain = client.chat.completions.create(model="g", messages=user("FACT-o stream"))
    stream = client.chat.completions.create(
        model="g",
        messages=user("FACT-o stream"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.model_dump() == plain.usage.model_dump() if plain.usage else False
    assert all(c.usage is None for c in chunks[:-1])
    # without include_usage there is no usage chunk
    chunks = list(client.chat.completions.create(model="g", messages=user("x"), stream=True))
    assert all(c.usage is None and c.choices for c in chunks)


def test_openai_raw_sse_done(standin: StandIn) -> None:
    body = {"model": "g", "stream": True, "messages": user("hi")}
    status, headers, data = post_raw(standin, "/v1/chat/completions", body)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    lines = [line for line in data.decode().split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


def test_keep_alive_after_stream() -> None:
    """Chunked SSE framing keeps an HTTP/1.1 connection usable for the next request."""
    with StandIn() as s:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        headers = {"content-type": "application/json", "x-api-key": KEY}
        body = {"model": "m", "max_tokens": 50, "messages": user("hi")}
        conn.request("POST", "/v1/messages", json.dumps({**body, "stream": True}), headers)
        first = conn.getresponse()
        assert first.getheader("transfer-encoding") == "chunked"
        assert b"message_stop" in first.read()
        conn.request("POST", "/v1/messages", json.dumps(body), headers)
        second = conn.getresponse()
        assert second.status == 200 and json.loads(second.read())["type"] == "message"
        conn.close()
        assert s.requests[-1].headers["x-api-key"] == "REDACTED"


def test_client_disconnect_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ghost.testing.standin")
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


# ------------------------------------------------------------------ prompt caching


def cached_request(system: str, question: str, model: str = "claude-test") -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 100,
        "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
        "messages": user(question),
    }


def test_anthropic_cache_write_then_read(standin: StandIn) -> None:
    client = claude(standin)
    prefix = count_tokens(LONG)
    first = client.messages.create(**cached_request(LONG, "first question"))
    assert first.usage.cache_creation_input_tokens == prefix
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.input_tokens == count_tokens("first question")
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == prefix
    second = client.messages.create(**cached_request(LONG, "second, other question"))
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == prefix
    assert second.usage.input_tokens == count_tokens("second, other question")
    # streamed replies report the same usage
    with client.messages.stream(**cached_request(LONG, "third")) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_read_input_tokens == prefix
    # the cache is per model
    other = client.messages.create(**cached_request(LONG, "q", model="claude-other"))
    assert other.usage.cache_creation_input_tokens == prefix


def test_anthropic_cache_breakpoint_in_messages_and_minimum() -> None:
    with StandIn(cache_min_tokens=100) as s:
        client = claude(s)
        doc = "x" * 800  # 200 tokens
        content: Any = [
            {"type": "text", "text": doc, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "text", "text": "question one"},
        ]
        first = client.messages.create(
            model="m", max_tokens=50, system="sys!", messages=[{"role": "user", "content": content}]
        )
        assert first.usage.cache_creation_input_tokens == 1 + 200
        assert first.usage.cache_creation is not None
        assert first.usage.cache_creation.ephemeral_1h_input_tokens == 201
        assert first.usage.input_tokens == count_tokens("question one")
        content[1] = {"type": "text", "text": "question two"}
        second = client.messages.create(
            model="m", max_tokens=50, system="sys!", messages=[{"role": "user", "content": content}]
        )
        assert second.usage.cache_read_input_tokens == 201
        small = cached_request("too small to cache", "q")
        below = client.messages.create(**small)
        assert below.usage.cache_creation_input_tokens == 0
        assert below.usage.input_tokens == count_tokens("too small to cache") + 1


def test_openai_automatic_cache(standin: StandIn) -> None:
    client = gpt(standin)

    def ask(question: str) -> Any:
        messages = [{"role": "system", "content": LONG}, {"role": "user", "content": question}]
        out = client.chat.completions.create(model="gpt-test", messages=messages)  # type: ignore[arg-type]
        assert out.usage is not None and out.usage.prompt_tokens_details is not None
        return out.usage

    first = ask("first question")
    assert first.prompt_tokens_details.cached_tokens == 0
    second = ask("second question")
    expected = count_tokens(LONG) // 128 * 128
    assert second.prompt_tokens_details.cached_tokens == expected == 1280
    assert second.prompt_tokens == count_tokens(LONG) + count_tokens("second question")
    # a prompt sharing only a short prefix gets nothing cached
    short = client.chat.completions.create(model="gpt-test", messages=user("first"))
    assert short.usage is not None and short.usage.prompt_tokens_details is not None
    assert short.usage.prompt_tokens_details.cached_tokens == 0


def test_openai_cache_partial_prefix_inside_one_message(standin: StandIn) -> None:
    client = gpt(standin)
    client.chat.completions.create(model="g", messages=user(LONG + "tail one"))
    out = client.chat.completions.create(model="g", messages=user(LONG + "another tail"))
    assert out.usage is not None and out.usage.prompt_tokens_details is not None
    assert out.usage.prompt_tokens_details.cached_tokens == len(LONG) // 4 // 128 * 128


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


# ------------------------------------------------------------------ command line


def test_module_runs_as_a_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ghost.testing.standin", "--port", str(port)],
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
