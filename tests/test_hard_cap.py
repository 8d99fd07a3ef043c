"""--budget and [budget] are a hard cap: against a stand-in that bills every call its whole
max_tokens (the worst case), no run spends more than its budget, a run that cannot finish
stops with exit 1, and a re-run with a larger budget pays only for what was left."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, run_cli

from ghost.workspace.state import WorkspaceState, this_month
from standin import StandIn
from test_essay_e2e import CORPUS_SAMPLES, episode
from test_profile_e2e import OWNER, mailbox
from test_run_workspace import ghost_run, workspace
from test_summarize_e2e import planted_text

MESSAGES = "/v1/messages"


@pytest.fixture
def worst_case(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Like the `standin` fixture, but every reply bills its request's whole max_tokens."""
    with StandIn(bill="max_tokens") as server:
        for name, value in server.env(TEST_KEY).items():
            monkeypatch.setenv(name, value)
        yield server


def plan_of(*command: Any) -> dict[str, Any]:
    dry = run_cli(*command, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    plan: dict[str, Any] = json.loads(dry.stdout)["plan"]
    return plan


def ledger_of(result: Any, cache: Path) -> dict[str, Any]:
    """The run's ledger: from the --json report, or (a stopped run prints none) its manifest."""
    if result.exit_code == 0:
        ledger: dict[str, Any] = json.loads(result.stdout)["ledger"]
        return ledger
    runs = sorted((cache / "runs").glob("*.json"), key=os.path.getmtime)
    ledger = json.loads(runs[-1].read_text())["ledger"]
    return ledger


def within(ledger: dict[str, Any], budget: float) -> float:
    spent = float(ledger["total_cost_usd"])
    assert ledger["budget_usd"] == pytest.approx(budget, abs=1e-6)
    assert spent <= budget + 1e-6, f"spent ${spent:.6f} of a ${budget:.6f} budget"
    return spent


def sent_max_tokens(server: StandIn, start: int = 0) -> list[int]:
    return [int(r.body["max_tokens"]) for r in server.requests[start:]
            if r.path == MESSAGES and r.status == 200]


def twice_then_more(server: StandIn, command: tuple[Any, ...], cache: Path, *,
                    more: float) -> tuple[dict[str, Any], Any, int]:
    """Run `command` with --budget at twice the dry-run estimate (it must stop: the worst case
    of its last call does not fit), then at `more` times it; the second run must finish and
    pay only for the calls the first did not make. Returns the plan, the second run's result
    and its new calls."""
    plan = plan_of(*command)
    estimate = plan["estimated_cost_usd"]
    assert plan["worst_case_cost_usd"] > 2 * estimate  # the old reservations would overspend
    first = run_cli(*command, "--budget", f"{2 * estimate:.6f}", "--json")
    assert first.exit_code == 1, first.output
    assert "budget $" in first.stderr and "Traceback" not in first.output
    within(ledger_of(first, cache), round(2 * estimate, 6))
    made = server.calls(path=MESSAGES)
    second = run_cli(*command, "--budget", f"{more * estimate:.6f}", "--json")
    assert second.exit_code == 0, second.output
    ledger = ledger_of(second, cache)
    within(ledger, round(more * estimate, 6))
    new = server.calls(path=MESSAGES) - made
    assert new == sum(s["calls"] for s in ledger["stages"].values())  # only those were paid
    return plan, second, new


def test_summarize_stops_within_its_budget_and_a_rerun_pays_only_the_reduce(
        worst_case: StandIn, tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text(planted_text())
    cache = tmp_path / "cache"
    command = ("summarize", source, "--cache-dir", cache, "--chunk-tokens", "600")
    plan, second, new = twice_then_more(worst_case, command, cache, more=5)
    maps = next(s for s in plan["stages"] if s["stage"] == "map")["calls"]
    ledger = json.loads(second.stdout)["ledger"]["stages"]
    assert new == 1 and ledger["map"]["cached"] == maps  # every map call was kept
    assert "FACT-P20" in json.loads(second.stdout)["text"]


def test_summarize_shortens_the_call_that_would_pass_the_budget(worst_case: StandIn,
                                                                tmp_path: Path) -> None:
    source = tmp_path / "minutes.txt"
    source.write_text(planted_text())
    cache = tmp_path / "cache"
    command = ("summarize", source, "--cache-dir", cache, "--chunk-tokens", "600",
               "--reduce-model", "claude-sonnet-4-6")  # no thinking: a map call gets clamped
    estimate = plan_of(*command)["estimated_cost_usd"]
    first = run_cli(*command, "--budget", f"{2 * estimate:.6f}")
    assert first.exit_code == 1, first.output
    spent = within(ledger_of(first, cache), round(2 * estimate, 6))
    assert spent > 1.9 * estimate  # it used the budget up to the last call it could pay for
    asked = sent_max_tokens(worst_case)
    full = asked.count(1024)
    assert all(256 <= m < 1024 for m in asked if m != 1024)
    assert "max_tokens lowered from 1024" in first.stderr or full == len(asked)
    calls = worst_case.calls(path=MESSAGES)
    second = run_cli(*command, "--budget", f"{5 * estimate:.6f}", "--json")
    assert second.exit_code == 0, second.output
    within(ledger_of(second, cache), round(5 * estimate, 6))
    chunks = json.loads(second.stdout)["plan"]["stages"][0]["calls"]
    # the map calls not made at full size (a shortened answer is cached under its own key)
    assert worst_case.calls(path=MESSAGES) - calls == (chunks - full) + 1
    assert sent_max_tokens(worst_case, -(chunks - full) - 1).count(1024) == chunks - full


def test_essay_stops_within_its_budget_and_a_rerun_pays_only_the_essay(
        worst_case: StandIn, tmp_path: Path) -> None:
    transcript = episode(tmp_path / "ep.txt", "coffee", "FACT-BREW")
    cache = tmp_path / "cache"
    command = ("essay", "--samples", CORPUS_SAMPLES, "--transcript", transcript,
               "--cache-dir", cache, "--chunk-tokens", "700")
    _, second, new = twice_then_more(worst_case, command, cache, more=4)
    assert new == 1 and "FACT-BREW" in json.loads(second.stdout)["text"]
    essay = worst_case.requests[-1].body
    # the cached sample pack was billed as a cache write, and the reservation covered it
    assert essay["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert json.loads(second.stdout)["ledger"]["stages"]["essay"]["cache_write_tokens"] > 0


def test_profile_stops_within_its_budget_and_a_rerun_pays_only_the_reduce(
        worst_case: StandIn, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    command = ("profile", "--mbox", mailbox(tmp_path / "inbox.mbox"), "--owner", OWNER,
               "--cache-dir", cache)
    _, second, new = twice_then_more(worst_case, command, cache, more=4)
    stages = json.loads(second.stdout)["ledger"]["stages"]
    assert new == 1 and stages["reduce"]["calls"] == 1 and stages["triage"]["calls"] == 0


def summary_estimate(tmp_path: Path, *, essay: bool = False) -> float:
    """What the dry runs of one episode's jobs estimate (ghost run has no dry run)."""
    transcript = tmp_path / "episodes" / "ep1.txt"
    total = plan_of("summarize", "--transcript", transcript, "--chunk-tokens", "200",
                    "--cache-dir", tmp_path / "plan-cache")["estimated_cost_usd"]
    if essay:
        total += plan_of("essay", "--samples", CORPUS_SAMPLES, "--transcript", transcript,
                         "--chunk-tokens", "200",
                         "--cache-dir", tmp_path / "plan-cache")["estimated_cost_usd"]
    return float(total)


def test_run_per_run_budget_is_a_hard_cap(worst_case: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]')
    estimate = summary_estimate(tmp_path)
    text = config.read_text()
    config.write_text(text + f"[budget]\nper_run = {2 * estimate:.6f}\n")
    first = ghost_run(config, "--json")
    report = json.loads(first.stdout)
    assert first.exit_code == 1 and report["processed"] == {"ep1.txt": "over-budget"}
    assert report["spent_usd"] <= 2 * estimate
    within(report["ledgers"]["ep1.txt"], round(2 * estimate, 6))
    made = worst_case.calls(path=MESSAGES)
    config.write_text(text + f"[budget]\nper_run = {4 * estimate:.6f}\n")
    second = ghost_run(config, "--json")
    report = json.loads(second.stdout)
    assert second.exit_code == 0 and report["processed"] == {"ep1.txt": "done"}, second.output
    assert report["spent_usd"] <= 4 * estimate
    assert worst_case.calls(path=MESSAGES) - made == 1  # the reduce call alone
    # Its worst case did not fit what was left, so it was asked for less, and billed that.
    reduce_asked = sent_max_tokens(worst_case)[-1]
    assert 2048 + 16_000 <= reduce_asked < 8192 + 16_000
    assert "max_tokens lowered from 8192" in second.stderr


def test_run_per_month_budget_is_a_hard_cap(worst_case: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["essay", "summary"]')
    estimate = summary_estimate(tmp_path, essay=True)
    before = 0.25  # already spent this month
    state = WorkspaceState.load(tmp_path / ".ghost")
    state.spend[this_month()] = before
    state.save()
    text = config.read_text()
    month = before + 2 * estimate
    config.write_text(text + f"[budget]\nper_month = {month:.6f}\n")
    first = ghost_run(config, "--json")
    report = json.loads(first.stdout)
    assert first.exit_code == 1 and report["processed"] == {"ep1.txt": "over-budget"}
    assert WorkspaceState.load(tmp_path / ".ghost").month_spend() <= month + 1e-6
    within(report["ledgers"]["ep1.txt"], round(month - before, 6))
    made = worst_case.calls(path=MESSAGES)
    paid = sum(s["calls"] for s in report["ledgers"]["ep1.txt"]["stages"].values())
    month = before + 4 * estimate
    config.write_text(text + f"[budget]\nper_month = {month:.6f}\n")
    second = ghost_run(config, "--json")
    report = json.loads(second.stdout)
    assert second.exit_code == 0 and report["processed"] == {"ep1.txt": "done"}, second.output
    assert WorkspaceState.load(tmp_path / ".ghost").month_spend() <= month + 1e-6
    ledger = report["ledgers"]["ep1.txt"]
    new = worst_case.calls(path=MESSAGES) - made
    assert new == sum(s["calls"] for s in ledger["stages"].values()) and new >= 1
    from ghost.models.catalog import load_catalog
    from ghost.sources import load_transcript_source
    from ghost.tokens import counter_for

    info = load_catalog().resolve(load_catalog().defaults["map"])
    chunks = len(load_transcript_source(tmp_path / "episodes" / "ep1.txt", chunk_tokens=200,
                                        count_tokens=counter_for(info.tokenizer,
                                                                 info.token_margin)).chunks)
    assert paid + new <= chunks + 1 + 1  # each map chunk, the reduce and the essay paid once


def test_the_stand_in_bills_whole_max_tokens_on_every_path(worst_case: StandIn) -> None:
    import anthropic
    import openai

    claude = anthropic.Anthropic(api_key="k", base_url=worst_case.anthropic_base_url,
                                 max_retries=0)
    user = [{"role": "user", "content": "FACT-1 hello"}]
    reply = claude.messages.create(model="claude-opus-5-5", max_tokens=700, messages=user)  # type: ignore[arg-type]
    assert reply.usage.output_tokens == 700 and reply.usage.input_tokens > 0
    with claude.messages.stream(model="claude-haiku-4-5", max_tokens=300,
                                messages=user) as stream:  # type: ignore[arg-type]
        assert stream.get_final_message().usage.output_tokens == 300
    gpt = openai.OpenAI(api_key="k", base_url=worst_case.openai_base_url, max_retries=0)
    chat = gpt.chat.completions.create(model="gpt-4o", max_completion_tokens=200,
                                       messages=user)  # type: ignore[arg-type]
    assert chat.usage is not None and chat.usage.completion_tokens == 200
    with pytest.raises(ValueError, match="bill must be"):
        StandIn(bill="everything")


def test_a_batch_holds_its_worst_case_and_is_billed_no_more(worst_case: StandIn,
                                                            tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]')
    plan = plan_of("summarize", "--transcript", tmp_path / "episodes" / "ep1.txt",
                   "--chunk-tokens", "200", "--cache-dir", tmp_path / "plan-cache")
    maps = next(s for s in plan["stages"] if s["stage"] == "map")
    sent = json.loads(ghost_run(config, "--batch", "--json").stdout)
    assert sent["processed"] == {"ep1.txt": "waiting"}
    record = json.loads(next((tmp_path / "cache" / "batches").glob("*.json")).read_text())
    # the map calls' worst case at the batch discount (the plan's is at the full price)
    assert record["estimate_usd"] == pytest.approx(maps["worst_cost_usd"] / 2, rel=0.02)
    collected = ghost_run(config, "--batch", "--json")
    report = json.loads(collected.stdout)
    assert collected.exit_code == 0 and report["processed"] == {"ep1.txt": "done"}
    billed = report["ledgers"]["ep1.txt"]["stages"]["map"]
    assert billed["calls"] == maps["calls"] and billed["output_tokens"] == maps["calls"] * 1024
    assert billed["cost_usd"] <= record["estimate_usd"]
