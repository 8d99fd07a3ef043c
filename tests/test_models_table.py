"""The model table: new rows and prices, retirement dates, and thinking models end to end.

Thinking replies go through the real `anthropic` SDK against the loopback stand-in, which
answers claude-opus-5* models with a thinking block before the text (JSON and SSE).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import TEST_KEY, run_cli

from ghost.errors import ConfigError, ModelCallError
from ghost.models import catalog
from ghost.models.catalog import load_catalog
from ghost.models.keys import Endpoint
from ghost.models.protocol import Message, Request
from ghost.providers.anthropic import (
    STREAM_FROM_MAX_TOKENS,
    AnthropicModel,
    max_tokens,
    parse_message,
)
from standin import THINKING_TOKENS, StandIn, count_tokens

TODAY = dt.date(2026, 11, 30)
THINKING_MARK = "Stand-in thinking"


@pytest.fixture
def on_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge retirement dates as of 2026-11-30, with no warning already given this process."""
    monkeypatch.setattr(catalog, "today", lambda: TODAY)
    monkeypatch.setattr(catalog, "_warned", set())


def adapter(standin: StandIn, spec: str = "anthropic:claude-opus-5-5",
            **changes: object) -> AnthropicModel:
    info = replace(load_catalog().resolve(spec), **changes)
    return AnthropicModel(info, Endpoint("anthropic", TEST_KEY, standin.anthropic_base_url))


def ask(max_tokens: int, fact: str = "FACT-T1") -> Request:
    return Request(system="Be brief.",
                   messages=(Message.user(f"Notes:\nthe minutes record {fact} today\n"),),
                   max_tokens=max_tokens)


# ------------------------------------------------------------------ the table


@pytest.mark.parametrize(("spec", "context", "max_output", "prices"), [
    ("anthropic:claude-opus-5-5", 1_000_000, 128_000, (4.00, 20.00, 5.00, 0.20)),
    ("anthropic:claude-opus-5", 1_000_000, 128_000, (5.00, 25.00, 6.25, 0.50)),
    ("anthropic:claude-opus-4-6", 1_000_000, 128_000, (5.00, 25.00, 6.25, 0.50)),
    ("anthropic:claude-sonnet-5-5", 1_000_000, 128_000, (2.00, 10.00, 2.50, 0.20)),
    ("anthropic:claude-sonnet-5", 1_000_000, 128_000, (2.00, 10.00, 2.50, 0.20)),
    ("anthropic:claude-sonnet-4-6", 1_000_000, 128_000, (3.00, 15.00, 3.75, 0.30)),
])
def test_new_rows_parse_with_their_documented_prices(on_today: None, spec: str, context: int,
                                                     max_output: int,
                                                     prices: tuple[float, ...]) -> None:
    info = load_catalog().resolve(spec)
    assert info.known and info.retires is None and not info.retired
    assert (info.context, info.max_output) == (context, max_output)
    assert info.prices is not None
    p = info.prices
    assert (p.input, p.output, p.cache_write, p.cache_read) == prices
    # a million of each kind of token costs the four prices added up
    assert info.prices.cost(10**6, 10**6, 10**6, 10**6) == pytest.approx(sum(prices))


def test_defaults_are_current_models(on_today: None) -> None:
    table = load_catalog()
    assert table.defaults == {"map": "anthropic:claude-haiku-4-5",
                              "reduce": "anthropic:claude-opus-5-5"}
    for spec in table.defaults.values():
        info = table.resolve(spec)  # neither retired nor retiring within the warning window
        assert info.retires is None and not info.retired and info.prices is not None


def test_thinking_models_get_room_to_think() -> None:
    info = load_catalog().resolve("anthropic:claude-opus-5-5")
    assert info.thinking_allowance > 0
    assert max_tokens(info, ask(1024)) == 1024 + info.thinking_allowance
    assert max_tokens(info, ask(info.max_output)) == info.max_output  # never past the model's
    haiku = load_catalog().resolve("anthropic:claude-haiku-4-5")
    assert haiku.thinking_allowance == 0 and max_tokens(haiku, ask(1024)) == 1024


def _sdk_date(text: str) -> dt.date:
    """"January 22nd, 2027" (the SDK's format) → date."""
    clean = re.sub(r"(\d+)(st|nd|rd|th)", r"\1", text)
    return dt.datetime.strptime(clean, "%B %d, %Y").date()


def test_retirement_dates_agree_with_the_installed_sdk() -> None:
    """A table row with a retirement date has the SDK's date and a replacement.

    A model the SDK newly deprecates that the table has no date for yet is reported as a
    warning, not a failure: an SDK release must not turn a clean checkout red overnight."""
    import warnings

    from anthropic._data import DEPRECATED_MODELS

    table = load_catalog()
    for name, when in DEPRECATED_MODELS.items():
        entry = table.entry("anthropic", name)
        if entry is None:
            continue
        if not entry.get("retires"):
            warnings.warn(f"the anthropic SDK says {name} retires on {when}; add retires and "
                          "replacement to its row in models.toml", stacklevel=1)
            continue
        assert entry.get("retires") == _sdk_date(when), name
        assert entry.get("replacement"), name


# ------------------------------------------------------------------ retirement


def test_retirement_starts_at_the_start_of_the_day(on_today: None) -> None:
    info = load_catalog().entry("anthropic", "claude-sonnet-4-5")
    assert info is not None and info["retires"] == TODAY
    with pytest.raises(ConfigError) as err:
        load_catalog().resolve("anthropic:claude-sonnet-4-5")
    message = str(err.value)
    assert "\n" not in message and err.value.exit_code == 2
    assert "retired" in message and "2026-11-30" in message
    assert "anthropic:claude-sonnet-5-5" in message  # names the replacement
    # the dated snapshot id is the same model
    with pytest.raises(ConfigError, match="retired"):
        load_catalog().resolve("anthropic:claude-sonnet-4-5-20250929")
    # the day before it still works, with a warning
    ok = replace(load_catalog().resolve("anthropic:claude-haiku-4-5"),
                 retires=TODAY, replacement="anthropic:claude-haiku-4-5")
    catalog.check_retirement(ok, on=TODAY - dt.timedelta(days=1))


def test_already_retired_model_without_a_date(on_today: None) -> None:
    with pytest.raises(ConfigError, match=r"claude-opus-4-1 was retired .*claude-opus-5-5"):
        load_catalog().resolve("anthropic:claude-opus-4-1")


def test_retired_model_exits_2_with_one_line_and_no_calls(on_today: None, standin: StandIn,
                                                          tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text("The committee recorded FACT-R1 in the minutes.\n")
    result = run_cli("summarize", str(source), "--cache-dir", str(tmp_path / "cache"),
                     "--reduce-model", "anthropic:claude-sonnet-4-5")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "claude-sonnet-4-5" in lines[0] and "retired" in lines[0]
    assert "anthropic:claude-sonnet-5-5" in lines[0]
    assert standin.calls(status=None) == 0


def test_retiring_soon_logs_one_warning(on_today: None, standin: StandIn,
                                        tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text("The committee recorded FACT-R2 in the minutes.\n")
    result = run_cli("summarize", str(source), "--cache-dir", str(tmp_path / "cache"),
                     "--reduce-model", "anthropic:claude-opus-4-5", "-o", str(tmp_path / "s.md"))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "retires on" in line]
    assert warnings == ["ghost: model anthropic:claude-opus-4-5 retires on 2027-01-22 "
                        "(in 53 days); switch to anthropic:claude-opus-5-5 before then"]
    assert "FACT-R2" in (tmp_path / "s.md").read_text()


def test_warning_window_is_sixty_days(caplog: pytest.LogCaptureFixture,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_warned", set())
    info = replace(load_catalog().resolve("anthropic:claude-haiku-4-5"),
                   retires=TODAY + dt.timedelta(days=60))
    with caplog.at_level(logging.WARNING, logger="ghost.models.catalog"):
        catalog.check_retirement(info, on=TODAY - dt.timedelta(days=1))  # 61 days: quiet
        assert not caplog.records
        catalog.check_retirement(info, on=TODAY)
        catalog.check_retirement(info, on=TODAY)  # once per model and date
    assert [r.getMessage() for r in caplog.records] == [
        "model anthropic:claude-haiku-4-5 retires on 2027-01-29 (in 60 days)"]


def test_models_file_can_clear_or_break_a_retirement(on_today: None, tmp_path: Path) -> None:
    cleared = tmp_path / "gateway.toml"
    cleared.write_text('[models."anthropic:claude-sonnet-4-5"]\nretires = ""\n')
    assert load_catalog(cleared).resolve("anthropic:claude-sonnet-4-5").retires is None
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."anthropic:claude-sonnet-4-5"]\nretires = "soon"\n')
    with pytest.raises(ConfigError, match="not a date"):
        load_catalog(bad).resolve("anthropic:claude-sonnet-4-5")


# ------------------------------------------------------------------ thinking replies


def test_thinking_block_is_dropped_from_json_reply(standin: StandIn) -> None:
    # With the table's allowance every Opus 5.5 call streams; a small one keeps it JSON.
    model = adapter(standin, thinking_allowance=1000)
    completion = model.complete(ask(1024))
    [req] = standin.requests
    assert not req.stream
    assert req.body["model"] == "claude-opus-5-5"
    assert req.body["max_tokens"] == 1024 + 1000
    assert "thinking" not in req.body  # Opus 5.5 rejects disabling it; ghost never sends it
    assert completion.text == req.reply
    assert completion.text.startswith("STANDIN ") and "- the minutes record FACT-T1" in \
        completion.text
    assert THINKING_MARK not in completion.text
    text_tokens = count_tokens(completion.text)
    assert completion.usage.output_tokens == THINKING_TOKENS + text_tokens
    assert completion.stop_reason == "end_turn"


def test_thinking_block_is_dropped_from_batch_results(standin: StandIn) -> None:
    model = adapter(standin)
    batch_id = model.submit_batch([("one", ask(1024, "FACT-B1")), ("two", ask(1024, "FACT-B2"))])
    assert model.batch_status(batch_id) == "ended"
    results = model.batch_results(batch_id)
    for cid, fact in (("one", "FACT-B1"), ("two", "FACT-B2")):
        completion = results[cid]
        assert not isinstance(completion, str)
        assert fact in completion.text and THINKING_MARK not in completion.text
        assert completion.usage.output_tokens > THINKING_TOKENS


def test_thinking_block_is_dropped_from_streamed_reply(standin: StandIn) -> None:
    model = adapter(standin)
    completion = model.complete(ask(1024))
    [req] = standin.requests
    assert req.stream  # 1024 + the allowance is past STREAM_FROM_MAX_TOKENS
    assert req.body["max_tokens"] == 1024 + model.info.thinking_allowance >= \
        STREAM_FROM_MAX_TOKENS
    assert completion.text == req.reply and THINKING_MARK not in completion.text
    assert "FACT-T1" in completion.text
    text_tokens = count_tokens(completion.text)
    assert completion.usage.output_tokens == THINKING_TOKENS + text_tokens


def test_streamed_events_carry_thinking_first(standin: StandIn) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key=TEST_KEY, base_url=standin.anthropic_base_url,
                                 max_retries=0)
    kinds: list[str] = []
    with client.messages.stream(model="claude-opus-5-5", max_tokens=400,
                                messages=[{"role": "user", "content": "FACT-S1 here"}]) as s:
        for event in s:
            if event.type == "content_block_start":
                kinds.append(event.content_block.type)
            elif event.type == "content_block_delta":
                kinds.append(event.delta.type)
        final = s.get_final_message()
    assert kinds[0] == "thinking" and kinds.index("signature_delta") < kinds.index("text")
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature  # type: ignore[union-attr]
    assert parse_message(final).text == final.content[1].text  # type: ignore[union-attr]


def test_redacted_and_unknown_blocks_never_reach_the_text() -> None:
    from anthropic.types import Message as SDKMessage

    message = SDKMessage.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-5-5",
        "content": [
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
            {"type": "thinking", "thinking": "", "signature": "c2ln"},
            {"type": "text", "text": "first "},
            {"type": "text", "text": "second"},
        ],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 99},
    })
    completion = parse_message(message)
    assert completion.text == "first second" and completion.usage.output_tokens == 99


def test_thinking_that_fills_max_tokens_fails_clearly(standin: StandIn) -> None:
    model = adapter(standin, thinking_allowance=0)  # no room: thinking eats the whole budget
    with pytest.raises(ModelCallError, match="spent all 10 output tokens thinking"):
        model.complete(ask(10))
    # with the table's allowance the same request is answered in full
    assert "FACT-T1" in adapter(standin).complete(ask(10)).text


def test_summarize_with_the_default_reduce_model(on_today: None, standin: StandIn,
                                                 tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text("\n\n".join(
        f"Paragraph {i} is about ordinary matters. The clerk noted FACT-D{i} for the record."
        for i in range(30)) + "\n")
    result = run_cli("summarize", str(source), "--cache-dir", str(tmp_path / "cache"),
                     "--chunk-tokens", "300", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ledger"]["stages"]["reduce"]["model"] == "anthropic:claude-opus-5-5"
    reduce_req = standin.requests[-1]
    assert reduce_req.body["model"] == "claude-opus-5-5" and reduce_req.stream
    assert THINKING_MARK not in report["text"] and "FACT-D29" in report["text"]
    assert report["ledger"]["stages"]["reduce"]["output_tokens"] > \
        count_tokens(reduce_req.reply or "")  # thinking billed as output


def test_a_model_not_in_the_table_is_counted_with_a_margin() -> None:
    # cl100k counted a Gemma served by llama.cpp ~7 % low: an unknown tokenizer gets 10 % more.
    from ghost.models.catalog import UNKNOWN_TOKEN_MARGIN, load_catalog

    catalog = load_catalog()
    assert catalog.resolve("openai:gemma-3-270m").token_margin == UNKNOWN_TOKEN_MARGIN
    assert catalog.resolve("openai:gpt-4o-mini").token_margin == 0.0  # its own encoding
