"""What real servers send back that the APIs they copy do not (issue 17, measured on
llama-cpp-python's server and a LiteLLM proxy), replayed by the stand-in: streams that end
unfinished or empty, streams without usage, replies stopped on `length` (sooner than asked),
a 500 that repeats word for word, and an endpoint that refuses connections."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, run_cli

from standin import StandIn
from standin.quirks import Quirks
from test_stream_faults import clean_run, planted_text, summarize

PROVIDERS = ("anthropic", "openai")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text(planted_text())
    return path


@pytest.fixture
def quirky(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A stand-in with the `Quirks` the test is parametrized with, the environment on it."""
    with StandIn(quirks=request.param) as server:
        for name, value in server.env(TEST_KEY).items():
            monkeypatch.setenv(name, value)
        yield server


def error_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("ghost: error:")]


def assert_failed_cleanly(result: Any, out: Path) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr and TEST_KEY not in result.stderr
    assert not out.exists()
    (line,) = error_lines(result)
    return line


def manifest_of(cache: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(next((cache / "runs").glob("*.json")).read_text())
    return data


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_cut_short_without_a_finish_reason_is_asked_again(
        standin: StandIn, source: Path, tmp_path: Path, provider: str) -> None:
    clean, calls = clean_run(standin, source, tmp_path, provider)
    standin.inject("unfinished_stream", provider=provider, after_events=5)
    out = tmp_path / "again.md"
    result = summarize(source, tmp_path / "cache", out, provider)
    assert result.exit_code == 0, result.output
    assert "no finish reason" in result.stderr  # the retry says why
    assert out.read_bytes() == clean.read_bytes()  # the cut-off text was never used
    assert len(standin.requests) == calls + 1


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["unfinished_stream", "empty_stream"])
def test_a_stream_that_stays_unfinished_fails_and_nothing_is_kept(
        standin: StandIn, source: Path, tmp_path: Path, provider: str, fault: str) -> None:
    standin.inject(fault, count=2, provider=provider, after_events=5)
    cache, out = tmp_path / "cache", tmp_path / "s.md"
    line = assert_failed_cleanly(summarize(source, cache, out, provider), out)
    assert "no finish reason" in line and line.endswith("2 times; nothing was kept")
    if fault == "empty_stream":
        assert "context window" in line
    assert sum(1 for r in standin.requests if r.stream) == 2  # asked once more, then stopped
    # Nothing was cached either: the next run asks for the reduce again, and writes it.
    standin.reset()
    result = summarize(source, cache, out, provider)
    assert result.exit_code == 0, result.output
    assert [r.stream for r in standin.requests] == [True]  # the map notes were kept


def long_map_notes(provider: str, body: dict[str, Any]) -> str | None:
    """Map replies of 600 tokens (the stand-in counts 4 characters a token)."""
    return None if body.get("stream") else "- " + "The board met and noted much. " * 80


@pytest.mark.parametrize("quirky", [Quirks(context=1700)], indirect=True)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_context_overflow_in_a_stream_fails_with_what_happened(
        quirky: StandIn, source: Path, tmp_path: Path, provider: str) -> None:
    # The map prompts fit the server's 1,700 tokens; the notes they make for the reduce do
    # not. llama.cpp then sends an empty 200 stream, LiteLLM a reply that stopped on
    # `end_turn` with no text: neither is an empty summary.
    quirky.responder = long_map_notes
    out = tmp_path / "s.md"
    line = assert_failed_cleanly(summarize(source, tmp_path / "cache", out, provider), out)
    assert "context window" in line
    assert "--max-tokens" not in line and "thinking_allowance" not in line
    if provider == "anthropic":
        assert "empty reply to a reduce call (stop reason 'end_turn')" in line


@pytest.mark.parametrize("quirky", [Quirks(stream_usage=False)], indirect=True)
def test_a_stream_without_usage_is_counted_and_marked_estimated(
        quirky: StandIn, source: Path, tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "s.md"
    result = summarize(source, cache, out, "openai", "--json")
    assert result.exit_code == 0, result.output
    manifest = manifest_of(cache)
    reduce = manifest["ledger"]["stages"]["reduce"]
    assert reduce["estimated_calls"] == 1 and reduce["estimated"] is True
    assert reduce["input_tokens"] > 100 and reduce["output_tokens"] > 10
    assert manifest["ledger"]["stages"]["map"]["estimated_calls"] == 0  # JSON replies count
    assert manifest["ledger"]["tokens_estimated"] is True
    (call,) = [c for c in manifest["calls"] if c["stage"] == "reduce"]
    assert call["usage"]["estimated"] is True
    assert "~ counted by ghost: the server sent no usage for 1 calls" in result.stderr
    assert json.loads(result.stdout)["ledger"]["tokens_estimated"] is True
    assert "\ntokens_estimated: true\n" in out.read_text()  # the front matter says so too


def test_an_estimate_is_billed_with_a_margin() -> None:
    from ghost.ledger import ESTIMATE_MARGIN, usage_cost
    from ghost.models.catalog import load_catalog
    from ghost.models.protocol import Usage

    info = load_catalog().resolve("openai:gpt-4o")
    told = usage_cost(info, Usage(1000, 500))
    counted = usage_cost(info, Usage(1000, 500, estimated=True))
    assert told and counted == pytest.approx(told * (1 + ESTIMATE_MARGIN))


def test_a_reply_cut_off_at_its_limit_is_a_warning_of_its_stage(
        standin: StandIn, source: Path, tmp_path: Path) -> None:
    # Map replies of 1,250 tokens stop at the 1,024 asked; asked again with room, they fit.
    standin.responder = lambda provider, body: (
        None if body.get("stream") else "- " + "The board met and noted much. " * 166)
    cache, out = tmp_path / "cache", tmp_path / "s.md"
    result = summarize(source, cache, out, "openai")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "cut off at its" in line]
    assert warnings == ["ghost: map: a reply was cut off at its 1,024-token limit (finish "
                        "reason 'length')"]  # one line for the stage, not one per call
    manifest = manifest_of(cache)
    assert manifest["ledger"]["stages"]["map"]["cut_off_calls"] == 10
    assert [w["stage"] for w in manifest["warnings"]] == ["map"]
    assert {c["stop_reason"] for c in manifest["calls"] if c["stage"] == "map"} == \
        {"length", "stop"}


@pytest.mark.parametrize("quirky", [Quirks(context=1300)], indirect=True)
def test_a_limit_the_server_lowered_is_named(quirky: StandIn, source: Path,
                                             tmp_path: Path) -> None:
    quirky.responder = lambda provider, body: (
        "- " + "The board met and noted much. " * 166 if not body.get("stream") else "Done.")
    cache = tmp_path / "cache"
    summarize(source, cache, tmp_path / "s.md", "openai")  # its reduce may overflow: no matter
    (warning,) = manifest_of(cache)["warnings"]
    assert warning["stage"] == "map"
    assert "the server stopped a reply at" in warning["warning"]
    assert "of the 1,024 asked (finish reason 'length'): it lowered max_tokens" in \
        warning["warning"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_500_that_repeats_word_for_word_stops_after_three_tries(
        standin: StandIn, source: Path, tmp_path: Path, provider: str) -> None:
    said = f"litellm.BadRequestError: system must be a string (key {TEST_KEY})"
    standin.fail_next(500, count=1000, provider=provider, message=said)
    out = tmp_path / "s.md"
    line = assert_failed_cleanly(summarize(source, tmp_path / "cache", out, provider,
                                           "--concurrency", "1", "--patience", "60"), out)
    assert "HTTP 500, 3 times with the same reply, so no passing fault" in line
    assert "litellm.BadRequestError: system must be a string" in line  # the server's words
    assert standin.calls(status=500) == 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_litellm_no_db_reply_to_a_wrong_key_names_the_key_to_check(
        standin: StandIn, source: Path, tmp_path: Path, provider: str) -> None:
    standin.fail_next(400, count=10, provider=provider, message="No connected db.")
    out = tmp_path / "s.md"
    result = summarize(source, tmp_path / "cache", out, provider, "--concurrency", "1")
    assert result.exit_code == 2 and not out.exists()  # a configuration error, as for a 401
    (line,) = result.output.strip().splitlines()
    key = "ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY"
    assert "rejected the credentials (HTTP 400 'No connected db.'" in line and key in line
    assert TEST_KEY not in line
    assert standin.calls(status=400) == 1  # a key problem is not retried


def test_a_500_whose_body_changes_is_still_retried(standin: StandIn, source: Path,
                                                   tmp_path: Path) -> None:
    for n in range(4):  # a passing fault: each reply names its own request
        standin.fail_next(500, message=f"internal error, request req_{n}")
    result = summarize(source, tmp_path / "cache", tmp_path / "s.md", "anthropic",
                       "--concurrency", "1")
    assert result.exit_code == 0, result.output
    assert standin.calls(status=500) == 4


def dead_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_refused_connection_is_a_configuration_error_naming_the_host(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = dead_port()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://user:pw@127.0.0.1:{port}/proxy?k=1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    out = tmp_path / "s.md"
    result = run_cli("summarize", source, "--cache-dir", tmp_path / "cache", "-o", out)
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result)
    assert f"http://127.0.0.1:{port} refused the connection (3 tries)" in line
    assert "ANTHROPIC_BASE_URL" in line
    for secret in (TEST_KEY, "pw", "/proxy", "k=1"):
        assert secret not in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_refused_connection_stops_ghost_run_once(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from test_run_workspace import ghost_run, workspace, write_episode

    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{dead_port()}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    config = workspace(tmp_path, make='["summary"]')
    write_episode(tmp_path / "episodes" / "ep2.txt", "FACT-EP2")
    result = ghost_run(config)
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result)
    assert "refused the connection" in line
    state = json.loads((tmp_path / ".ghost" / "state.json").read_text())
    assert list(state["episodes"]) == ["ep1.txt"]  # ep2 was never started


def test_anthropic_system_is_a_plain_string_unless_it_is_marked_for_the_cache() -> None:
    from ghost.models.catalog import load_catalog
    from ghost.models.protocol import Message, Request
    from ghost.providers.anthropic import build_params

    info = load_catalog().resolve("anthropic:claude-sonnet-5-5")
    ask = Request("Be brief.", (Message.user("Hello."),))
    assert build_params(info, ask)["system"] == "Be brief."
    marked = build_params(info, Request("Be brief.", ask.messages, cache_system=True))
    assert marked["system"] == [{"type": "text", "text": "Be brief.",
                                 "cache_control": {"type": "ephemeral"}}]


def test_the_notes_budget_leaves_room_for_the_output_really_sent(
        standin: StandIn, tmp_path: Path) -> None:
    # An 8K model that writes at most 1,024 tokens: --reduce-max-tokens (8,192 by default)
    # is sent as 1,024, so the notes may take 8,192 - 1,024 - 4,000 = 3,168 tokens; about
    # 2,400 expected notes fit without a collapse round.
    models = tmp_path / "models.toml"
    models.write_text('[models."openai:gemma-8k"]\ncontext = 8192\nmax_output = 1024\n'
                      'input = 0.1\noutput = 0.2\n')
    source = tmp_path / "long.txt"
    source.write_text("\n\n".join(f"Paragraph {i}. " + "The board met and talked. " * 60
                                  for i in range(30)))
    result = run_cli("summarize", source, "--map-model", "openai:gemma-8k", "--reduce-model",
                     "openai:gemma-8k", "--models-file", models, "--chunk-tokens", "1500",
                     "--dry-run", "--json", "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    stages = {s["stage"]: s for s in plan["stages"]}
    assert 1000 < stages["map"]["output_tokens"] < 3168  # the expected notes
    assert "collapse" not in stages
    assert stages["reduce"]["max_tokens"] == 1024


@pytest.mark.parametrize("quirky", [Quirks(serial=True)], indirect=True)
def test_a_server_that_computes_one_call_at_a_time_gets_no_call_twice(
        quirky: StandIn, source: Path, tmp_path: Path) -> None:
    # Each call takes 0.4 s and waits for those before it: eight at once would keep the last
    # ones waiting 2.8 s and more, past their 2 s timeout, and send them again.
    quirky.latency = 0.4
    out = tmp_path / "s.md"
    result = summarize(source, tmp_path / "cache", out, "openai", "--concurrency", "8",
                       "--timeout", "2")
    assert result.exit_code == 0, result.output
    assert "retry" not in result.stderr  # no call timed out
    bodies = [json.dumps(r.body, sort_keys=True) for r in quirky.requests]
    assert len(bodies) == len(set(bodies)) == 11  # ten map calls and the reduce, each once


def test_capacity_learns_a_serial_server_and_keeps_a_parallel_one_wide() -> None:
    from ghost.models.capacity import Capacity

    serial, parallel = Capacity(8, local=True), Capacity(8, local=True)
    for _ in range(20):  # a call takes 1 s, plus 1 s for each one ahead of it (serial)
        for behind in range(serial.limit):
            serial.learn(behind, 1.0 + behind)
        for behind in range(parallel.limit):
            parallel.learn(behind, 1.0)
        assert serial.limit <= 3
    assert parallel.limit == 8
    cloud = Capacity(8, local=False)
    cloud.learn(7, 60.0)
    assert cloud.limit == 8  # a cloud API keeps the --concurrency it was given


def test_a_streak_of_the_same_reply_ends_the_retries_and_a_new_reply_resets_it() -> None:
    from ghost.models.protocol import RetryableError
    from ghost.models.retry import Streak

    def boom(words: str) -> RetryableError:
        return RetryableError("HTTP 500", status=500, detail=words, same_as=words)

    streak = Streak("openai:gemma")
    assert streak.verdict(boom("a"), 1) is None and streak.verdict(boom("a"), 2) is None
    assert streak.verdict(boom("b"), 3) is None  # another reply: a new streak
    assert streak.verdict(boom("b"), 4) is None
    assert "3 times with the same reply" in str(streak.verdict(boom("b"), 5))
    busy = RetryableError("HTTP 529", status=529)  # overloaded: alike by nature, retried
    patient = Streak("anthropic:claude")
    assert all(patient.verdict(busy, n) is None for n in range(1, 10))
