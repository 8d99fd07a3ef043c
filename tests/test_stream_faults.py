"""Faults below the HTTP status (a stream reset, cut or stalled part-way, an error event after
a 200, a truncated or empty body, a hung connection) are retried: `ghost summarize` through
the CLI, the real SDKs and the stand-in ends as a fault-free run does."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, run_cli

from ghost.errors import ModelCallError
from ghost.models.errors_map import translate
from ghost.models.protocol import RetryableError
from standin import StandIn

OPENAI_MODELS = ("--map-model", "openai:gpt-4o-mini", "--reduce-model", "openai:gpt-4o")
STREAM_FAULTS = ("reset_mid_stream", "cut_mid_stream", "stall_mid_stream", "stream_error")
BODY_FAULTS = ("truncated_json", "empty_200", "hang")


def planted_text(paragraphs: int = 24) -> str:
    parts = []
    for i in range(paragraphs):
        body = " ".join(f"Sentence {j} of paragraph {i} is about ordinary things."
                        for j in range(12))
        if i in (0, paragraphs // 2, paragraphs - 1):
            body += f" The board noted FACT-S{i} on the day."
        parts.append(body)
    return "\n\n".join(parts) + "\n"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text(planted_text())
    return path


def summarize(source: Path, cache: Path, out: Path, provider: str, *extra: str) -> Any:
    models = OPENAI_MODELS if provider == "openai" else ()
    return run_cli("summarize", source, "--cache-dir", cache, "--chunk-tokens", "600",
                   "-o", out, *models, *extra)


def clean_run(standin: StandIn, source: Path, tmp_path: Path, provider: str,
              *extra: str) -> tuple[Path, int]:
    out = tmp_path / "clean.md"
    result = summarize(source, tmp_path / "clean-cache", out, provider, *extra)
    assert result.exit_code == 0, result.output
    calls = len(standin.requests)
    assert calls >= 4  # several map calls and a reduce
    assert standin.requests[-1].stream  # the reduce call streams
    standin.reset()
    return out, calls


def assert_recovered(result: Any, standin: StandIn, clean: Path, out: Path,
                     clean_calls: int) -> None:
    assert result.exit_code == 0, result.output
    assert len(standin.requests) <= clean_calls + 1
    assert out.read_bytes() == clean.read_bytes()  # front matter (calls, tokens, cost) too
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text
        assert TEST_KEY not in text


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
@pytest.mark.parametrize("fault", STREAM_FAULTS)
def test_stream_fault_on_the_reduce_call_is_retried(standin: StandIn, source: Path,
                                                    tmp_path: Path, provider: str,
                                                    fault: str) -> None:
    clean, calls = clean_run(standin, source, tmp_path, provider)
    standin.inject(fault, provider=provider, hang_seconds=20)
    out = tmp_path / "faulty.md"
    started = time.monotonic()
    result = summarize(source, tmp_path / "cache", out, provider, "--timeout", "1.5")
    assert time.monotonic() - started < 15
    assert_recovered(result, standin, clean, out, calls)
    assert sum(1 for r in standin.requests if r.stream) == 2  # the reduce, and its retry


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
@pytest.mark.parametrize("fault", BODY_FAULTS)
def test_body_fault_on_a_map_call_is_retried(standin: StandIn, source: Path, tmp_path: Path,
                                             provider: str, fault: str) -> None:
    clean, calls = clean_run(standin, source, tmp_path, provider)
    standin.inject(fault, provider=provider, hang_seconds=20)
    out = tmp_path / "faulty.md"
    started = time.monotonic()
    result = summarize(source, tmp_path / "cache", out, provider, "--timeout", "1.5")
    assert time.monotonic() - started < 15  # the hang is cut short by --timeout, not 600 s
    assert_recovered(result, standin, clean, out, calls)
    assert sum(1 for r in standin.requests if not r.stream) == calls  # one map call twice


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_invalid_request_error_in_a_stream_is_not_retried(standin: StandIn, source: Path,
                                                          tmp_path: Path, provider: str) -> None:
    standin.inject("stream_error", provider=provider, error_type="invalid_request_error")
    result = summarize(source, tmp_path / "cache", tmp_path / "s.md", provider)
    assert result.exit_code == 1
    assert "invalid_request_error" in result.stderr and "Traceback" not in result.stderr
    assert sum(1 for r in standin.requests if r.stream) == 1
    assert not (tmp_path / "s.md").exists()


def test_timeout_option_is_checked() -> None:
    result = run_cli("summarize", "x.txt", "--timeout", "0")
    assert result.exit_code == 2 and "--timeout" in result.stderr


class _Status(Exception):
    def __init__(self, status: int | None, body: Any) -> None:
        super().__init__("boom")
        self.status_code, self.body = status, body


class APIError(Exception):  # the shape of openai.APIError from an error chunk
    def __init__(self, body: Any) -> None:
        super().__init__("boom")
        self.body = body


@pytest.mark.parametrize(("exc", "retried"), [
    (_Status(200, {"type": "error", "error": {"type": "overloaded_error"}}), True),
    (_Status(200, {"type": "error", "error": {"type": "api_error"}}), True),
    (_Status(200, {"type": "error", "error": {"type": "rate_limit_error"}}), True),
    (_Status(200, {"type": "error", "error": {"type": "invalid_request_error"}}), False),
    (APIError({"type": "server_error", "message": "x"}), True),
    (APIError({"type": "invalid_request_error", "message": "x"}), False),
    (ValueError("not json"), None),  # not a JSON decode error: left alone
])
def test_errors_after_a_200_by_their_type(exc: Exception, retried: bool | None) -> None:
    got = translate(exc, "anthropic", "m")
    if retried is None:
        assert got is exc
    else:
        assert isinstance(got, RetryableError if retried else ModelCallError)


def test_transport_and_json_errors_are_retryable() -> None:
    import json

    import httpx

    for exc in (httpx.ReadError("reset"), httpx.RemoteProtocolError("incomplete chunked read"),
                httpx.ReadTimeout("idle"), json.JSONDecodeError("Expecting value", "", 0)):
        assert isinstance(translate(exc, "openai", "m"), RetryableError)
