"""Plans and budgets: every paid call is in the plan, and --budget refuses (exit 2) before the
first call, at the stand-in, when the plan's worst case exceeds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from ghost.models.catalog import load_catalog
from ghost.plan import Plan, StagePlan
from standin import StandIn

OWNER = "Dana Reyes <dana@acme.example>"
SAMPLES = REPO / "corpora" / "my_essays"
EPISODE = REPO / "corpora" / "episode-042.txt"


def message(mid: str, sender: str, subject: str, body: str, date: str) -> str:
    address = sender.split("<")[-1].rstrip(">")
    return "\n".join([f"From {address} {date}", f"Message-ID: <{mid}>", f"From: {sender}",
                      f"To: {OWNER}", f"Subject: {subject}", f"Date: {date}"]) \
        + "\n\n" + body + "\n\n"


def mailbox(path: Path) -> Path:
    path.write_text("".join(
        message(f"m{i}@acme.example", "Sam Ortiz <sam@acme.example>", f"Topic {i}",
                f"Dana, FACT-{i} the offsite plan, part {i}. " * (5 + 10 * i),
                f"Mon, {3 + i:02d} Feb 2025 09:00:00 +0000")
        for i in range(6)))
    return path


def profile(tmp_path: Path, *args: str):
    return run_cli("profile", "--mbox", mailbox(tmp_path / "inbox.mbox"),
                   "--cache-dir", tmp_path / "cache", *args)


def stages(report: dict) -> dict[str, dict]:
    return {s["stage"]: s for s in report["plan"]["stages"]}


def default_spec(role: str) -> str:
    catalog = load_catalog()
    spec = catalog.defaults.get(role) or catalog.defaults["map"]  # screen: else the map model
    return catalog.resolve(spec).spec


# ------------------------------------------------------------------ profile --auto-queries


def test_auto_queries_dry_run_plans_the_queries_call(standin: StandIn, tmp_path: Path) -> None:
    # No --owner and no --query: the threads are up to the queries not written yet.
    result = profile(tmp_path, "--auto-queries", "--brief", "travel", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = stages(json.loads(result.stdout))
    assert list(plan)[:1] == ["queries"] and {"triage", "map", "reduce"} <= set(plan)
    queries = plan["queries"]
    assert queries["model"] == default_spec("reduce") and queries["calls"] == 1
    assert queries["input_tokens"] > 0 and queries["cost_usd"] > 0
    assert plan["triage"]["calls"] == 6  # the largest threads the queries could pick
    assert standin.calls(status=None) == 0
    text = profile(tmp_path, "--auto-queries", "--dry-run")
    assert text.exit_code == 0, text.output
    assert "queries" in text.stdout and "largest" in text.stdout


def test_auto_queries_over_budget_refuses_before_the_queries_call(standin: StandIn,
                                                                  tmp_path: Path) -> None:
    result = profile(tmp_path, "--owner", OWNER, "--auto-queries", "--budget", "0.0001")
    assert result.exit_code == 2, result.output
    assert "exceeds --budget" in result.stderr and "Traceback" not in result.output
    assert standin.calls(status=None) == 0
    # Enough for the queries call, not for the whole run: still nothing is spent.
    dry = json.loads(profile(tmp_path, "--owner", OWNER, "--auto-queries", "--dry-run",
                             "--json").stdout)["plan"]
    queries = stages({"plan": dry})["queries"]["cost_usd"]
    between = (queries + dry["estimated_cost_usd"]) / 2
    assert queries < between < dry["estimated_cost_usd"]
    result = profile(tmp_path, "--owner", OWNER, "--auto-queries", "--budget", f"{between:.6f}")
    assert result.exit_code == 2, result.output
    assert standin.calls(status=None) == 0


def test_auto_queries_within_budget_runs_with_the_queries_in_the_plan(standin: StandIn,
                                                                      tmp_path: Path) -> None:
    standin.enqueue("subject:topic", provider="anthropic")
    result = profile(tmp_path, "--owner", OWNER, "--auto-queries", "--budget", "50", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queries"] == ["subject:topic"]
    assert "queries" in stages(report) and report["ledger"]["stages"]["queries"]["calls"] == 1


# ------------------------------------------------------------------ ghost screen --budget


def test_screen_over_budget_exits_2_without_a_call(standin: StandIn, tmp_path: Path) -> None:
    text = tmp_path / "episode.txt"
    text.write_text("The hosts talk about baking bread at home. " * 50)
    result = run_cli("screen", text, "--cache-dir", tmp_path / "c", "--budget", "0.0000001")
    assert result.exit_code == 2, result.output
    assert "exceeds --budget" in result.stderr and "Traceback" not in result.output
    assert standin.calls(status=None) == 0
    ok = run_cli("screen", text, "--cache-dir", tmp_path / "c", "--budget", "1", "--json")
    assert ok.exit_code == 0, ok.output
    plan = json.loads(ok.stdout)["plan"]
    assert plan["stages"][0]["stage"] == "screen" and plan["stages"][0]["calls"] == 1
    assert standin.calls(status=None) == 1


# ------------------------------------------------------------------ --screen in job plans


def test_essay_screen_dry_run_plans_the_screen(standin: StandIn, tmp_path: Path) -> None:
    base = ["essay", "--samples", SAMPLES, "--transcript", EPISODE,
            "--cache-dir", tmp_path / "cache", "--dry-run"]
    plain = run_cli(*base, "--json")
    screened = run_cli(*base, "--screen", "--json")
    assert plain.exit_code == 0 and screened.exit_code == 0, screened.output
    assert "screen" not in stages(json.loads(plain.stdout))
    plan = stages(json.loads(screened.stdout))
    assert plan["screen"]["calls"] >= 1 and plan["screen"]["model"] == default_spec("screen")
    assert plan["screen"]["input_tokens"] > 0 and plan["screen"]["cost_usd"] > 0
    total = json.loads(screened.stdout)["plan"]["estimated_cost_usd"]
    assert total > json.loads(plain.stdout)["plan"]["estimated_cost_usd"]
    text = run_cli(*base, "--screen")
    assert text.exit_code == 0 and "screen" in text.stdout
    assert standin.calls(status=None) == 0


def test_profile_screen_dry_run_plans_the_screen(standin: StandIn, tmp_path: Path) -> None:
    result = profile(tmp_path, "--owner", OWNER, "--screen", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert stages(json.loads(result.stdout))["screen"]["calls"] >= 1
    assert standin.calls(status=None) == 0


def test_screen_examples_are_planned_at_their_longest(standin: StandIn, tmp_path: Path) -> None:
    examples = tmp_path / "examples.jsonl"
    examples.write_text("\n".join(json.dumps({"text": f"example {i} " + "word " * 200 * i,
                                              "label": "A"}) for i in range(1, 4)))
    base = ["essay", "--samples", SAMPLES, "--transcript", EPISODE, "--screen",
            "--cache-dir", tmp_path / "cache", "--dry-run", "--json"]
    bare = stages(json.loads(run_cli(*base).stdout))["screen"]
    calibrated = stages(json.loads(run_cli(*base, "--screen-examples", examples).stdout))["screen"]
    assert calibrated["input_tokens"] > bare["input_tokens"] + 400 * bare["calls"]


# ------------------------------------------------------------------ essay prompt-cache write


def test_stage_cost_bills_cache_writes_at_the_write_price() -> None:
    info = load_catalog().resolve(default_spec("reduce"))
    assert info.prices is not None and info.prices.cache_write > info.prices.input
    cold = StagePlan("essay", info, 1, 30_000, 1_000, cache_write_tokens=20_000)
    warm = StagePlan("essay", info, 1, 30_000, 1_000)
    expected = (20_000 * info.prices.cache_write + 10_000 * info.prices.input
                + (1_000 + info.expected_thinking) * info.prices.output) / 1e6
    assert cold.cost == pytest.approx(expected)
    assert cold.cost is not None and warm.cost is not None and cold.cost > warm.cost
    assert Plan({}, [cold]).cost == pytest.approx(expected)


def test_essay_budget_check_assumes_a_cache_write(standin: StandIn, tmp_path: Path) -> None:
    base = ["essay", "--samples", SAMPLES, "--transcript", EPISODE,
            "--cache-dir", tmp_path / "cache", "--read", "full"]  # auto may turn to notes
    dry = run_cli(*base, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)["plan"]
    essay = stages({"plan": plan})["essay"]
    info = load_catalog().resolve(essay["model"])
    assert info.prices is not None
    written = essay["cache_write_tokens"]
    assert written >= info.cache_min_tokens
    expected = (written * info.prices.cache_write
                + (essay["input_tokens"] - written) * info.prices.input
                + (essay["output_tokens"] + essay["thinking_tokens"]) * info.prices.output) / 1e6
    assert essay["cost_usd"] == pytest.approx(expected, rel=1e-4)
    premium = written * (info.prices.cache_write - info.prices.input) / 1e6
    assert premium > 0
    note = next(n for n in plan["notes"] if "when it is written" in n)  # both prices shown
    assert f"${essay['cost_usd']:.4f} when it is written" in note  # and they agree with the table
    # A budget that covers the run at the plain input price but not with the cache write.
    between = plan["estimated_cost_usd"] - premium / 2
    refused = run_cli(*base, "--budget", f"{between:.6f}")
    assert refused.exit_code == 2, refused.output
    assert "exceeds --budget" in refused.stderr
    assert standin.calls(status=None) == 0
