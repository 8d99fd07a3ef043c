"""The model-API stand-in's wire formats, driven through the real Anthropic and OpenAI SDKs:
replies and usage, stop sequences and max_tokens, streaming (SSE), prompt caching."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from standin import StandIn, count_tokens
from standin_helpers import KEY, LONG, claude, digest, gpt, post_raw, text_of, user

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A stand-in of this module's own: no provider environment points at it."""
    with StandIn() as s:
        yield s


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
