"""The one-hour prompt cache: asked per message part, sent as Anthropic's cache_control ttl, in
the request digest only when set, and priced at the table's one-hour write price (2x input)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import pytest

from ghost.ledger import usage_cost
from ghost.models.catalog import load_catalog
from ghost.models.protocol import Message, Part, Request, Usage
from ghost.models.worst_case import worst_cost
from ghost.plan import StagePlan
from ghost.providers.anthropic import build_params

OPUS = "anthropic:claude-opus-5-5"


def essay_like(ttl: str = "") -> Request:
    prefix = "past essays " * 3000  # over the caching minimum
    return Request("instructions", (Message.user(Part(prefix, cache=True, cache_ttl=ttl),
                                                 Part("this week")),), max_tokens=1000)


def test_a_part_without_ttl_keeps_the_digest_it_had() -> None:
    request = essay_like()
    old = asdict(request)  # the payload as it was before parts had a ttl
    old.pop("stage"), old.pop("variant")
    for message in old["messages"]:
        for part in message["parts"]:
            del part["cache_ttl"]
    blob = json.dumps(old, sort_keys=True, ensure_ascii=False).encode()
    assert request.digest() == hashlib.sha256(blob).hexdigest()
    assert essay_like("1h").digest() != request.digest()
    assert (request.cache_ttl, essay_like("1h").cache_ttl) == ("", "1h")


def test_the_anthropic_body_marks_the_ttl_only_when_asked() -> None:
    info = load_catalog().resolve(OPUS)
    long = build_params(info, essay_like("1h"))["messages"][0]["content"]
    short = build_params(info, essay_like())["messages"][0]["content"]
    assert long[0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert short[0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in long[1] and "cache_control" not in short[1]


def test_one_hour_writes_cost_twice_the_input_price() -> None:
    catalog = load_catalog()
    prices = catalog.resolve(OPUS).prices
    assert prices is not None
    assert prices.write_price("1h") == 2 * prices.input
    assert prices.write_price("") == prices.cache_write == 1.25 * prices.input
    usage = Usage(input_tokens=100, output_tokens=10, cache_write_tokens=1_000_000,
                  cache_write_1h_tokens=600_000)
    expected = (100 * prices.input + 10 * prices.output + 400_000 * prices.cache_write
                + 600_000 * 2 * prices.input) / 1e6
    assert usage_cost(catalog.resolve(OPUS), usage) == pytest.approx(expected)
    openai = catalog.resolve("openai:gpt-4o").prices  # writes cost input: no dearer hour
    assert openai is not None and openai.write_price("1h") == openai.input


def test_the_budget_reserves_and_the_plan_estimates_the_one_hour_write() -> None:
    info = load_catalog().resolve(OPUS)
    assert info.prices is not None
    assert worst_cost(info, essay_like("1h")) > worst_cost(info, essay_like())
    plans = [StagePlan("essay", info, 3, 30_000, 3_000, cache_write_tokens=9_000,
                       max_tokens=4_000, cache_ttl=ttl) for ttl in ("", "1h")]
    five, hour = plans
    assert five.cost is not None and hour.cost is not None
    assert hour.cost - five.cost == pytest.approx(
        9_000 * (2 * info.prices.input - info.prices.cache_write) / 1e6)
    assert (hour.worst_cost or 0) > (five.worst_cost or 0)


def test_usage_adds_its_one_hour_writes() -> None:
    total = Usage(1, 2, 3, 4, 3) + Usage(1, 1, 5, 0, 0)
    assert (total.cache_write_tokens, total.cache_write_1h_tokens) == (8, 3)
