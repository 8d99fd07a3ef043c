"""ghost run when things go wrong: missing keys, odd inbox layouts, crashes, batch budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from ghost.workspace.state import WorkspaceState
from standin import StandIn
from test_run_workspace import ghost_run, workspace, write_episode


def test_no_api_key_is_a_config_error_before_any_episode(tmp_path: Path, monkeypatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    config = workspace(tmp_path, make='["summary"]')
    result = ghost_run(config)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert "ANTHROPIC_API_KEY" in line and "ghost.toml" in line and "--base-url" not in line
    assert WorkspaceState.load(tmp_path / ".ghost").episodes == {}  # nothing marked failed


def test_same_file_name_in_two_folders_of_a_recursive_glob(standin: StandIn,
                                                           tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]')
    text = config.read_text().replace('inbox = "episodes"', 'inbox = "episodes/**/*.txt"')
    config.write_text(text)
    for season, fact in (("s1", "FACT-S1"), ("s2", "FACT-S2")):
        (tmp_path / "episodes" / season).mkdir()
        write_episode(tmp_path / "episodes" / season / "ep.txt", fact)
    result = ghost_run(config, "--json")
    assert result.exit_code == 0, result.output
    processed = json.loads(result.stdout)["processed"]
    assert processed == {"ep1.txt": "done", "s1/ep.txt": "done", "s2/ep.txt": "done"}
    assert "FACT-S1" in (tmp_path / "out" / "s1" / "ep.summary.md").read_text()
    assert "FACT-S2" in (tmp_path / "out" / "s2" / "ep.summary.md").read_text()
    again = ghost_run(config, "--json")
    assert json.loads(again.stdout)["processed"] == {}


def test_an_unexpected_error_fails_one_episode_and_keeps_its_spend(
        standin: StandIn, tmp_path: Path, monkeypatch) -> None:
    import ghost.jobs.episode as summarize_module  # where ghost run calls summarize

    real = summarize_module.summarize

    def flaky(session, source, **kwargs):
        result = real(session, source, **kwargs)  # pays for the calls, then breaks
        if source.path.name == "ep1.txt":
            raise RuntimeError("disk on fire")
        return result

    monkeypatch.setattr(summarize_module, "summarize", flaky)
    config = workspace(tmp_path, make='["summary"]')
    write_episode(tmp_path / "episodes" / "ep2.txt", "FACT-EP2")
    result = ghost_run(config, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["processed"] == {"ep1.txt": "failed", "ep2.txt": "done"}
    assert "RuntimeError: disk on fire" in report["errors"]["ep1.txt"]
    assert "Traceback" not in result.stderr
    state = WorkspaceState.load(tmp_path / ".ghost")
    assert state.episodes["ep1.txt"].cost_usd > 0
    assert state.month_spend() == pytest.approx(report["spent_usd"], abs=1e-5)


def test_batches_waiting_for_collection_count_against_the_run_budget(
        tmp_path: Path, slow_batches: StandIn) -> None:
    config = workspace(tmp_path, make='["summary"]')
    server = slow_batches
    assert json.loads(ghost_run(config, "--batch", "--json").stdout)["processed"] == \
        {"ep1.txt": "waiting"}
    record = json.loads(next((tmp_path / "cache" / "batches").glob("*.json")).read_text())
    assert record["owner"] == "ep1.txt" and record["estimate_usd"] > 0
    assert "in batches not yet collected" in run_cli("status", "-c", config).stdout
    # Room for one episode's whole job plus half a batch: ep1's batch is not billed yet,
    # but its money is committed, so ep2 cannot start.
    write_episode(tmp_path / "episodes" / "ep2.txt", "FACT-EP2")
    plan = json.loads(run_cli("summarize", "--transcript", tmp_path / "episodes" / "ep1.txt",
                              "--dry-run", "--json", "--chunk-tokens", "200").stdout)
    budget = plan["plan"]["estimated_cost_usd"] + record["estimate_usd"] * 0.5
    config.write_text(config.read_text() + f"[budget]\nper_run = {budget:.6f}\n")
    result = ghost_run(config, "--batch", "--json")
    processed = json.loads(result.stdout)["processed"]
    assert processed == {"ep1.txt": "waiting", "ep2.txt": "over-budget"}, result.output
    batch_posts = [r for r in server.requests if r.method == "POST"
                   and r.path.rstrip("/").endswith("batches")]
    assert len(batch_posts) == 1


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_an_expired_batch_keeps_what_finished_and_resends_the_rest(
        tmp_path: Path, slow_batches: StandIn, provider: str) -> None:
    models = ('[models]\nmap = "openai:gpt-4o-mini"\nreduce = "openai:gpt-4o"\n'
              if provider == "openai" else "")
    config = workspace(tmp_path, make='["summary"]', extra=models)
    server = slow_batches
    assert json.loads(ghost_run(config, "--batch", "--json").stdout)["processed"] == \
        {"ep1.txt": "waiting"}
    server.finish_batches(keep=1)  # one answer, then the 24 h window closes
    second = json.loads(ghost_run(config, "--batch", "--json").stdout)
    assert second["processed"] == {"ep1.txt": "waiting"}
    assert second["ledgers"]["ep1.txt"]["stages"]["map"]["calls"] == 1  # the kept answer
    resent = [r for r in server.requests if r.method == "POST"
              and r.path.rstrip("/").endswith("batches")]
    assert len(resent) == 2
    server.finish_batches()
    third = json.loads(ghost_run(config, "--batch", "--json").stdout)
    assert third["processed"] == {"ep1.txt": "done"}
    assert "FACT-EP1" in (tmp_path / "out" / "ep1.summary.md").read_text()


@pytest.mark.parametrize("setting", ["[run]\nchunk_tokens = 5", "[run]\nconcurrency = 0",
                                     "[outputs]\nsummary_words = -1"])
def test_out_of_range_settings_name_the_config_key(tmp_path: Path, setting: str) -> None:
    config = tmp_path / "ghost.toml"
    (tmp_path / "episodes").mkdir()
    config.write_text(f'[episodes]\ninbox = "episodes"\n[samples]\nfolder = "."\n{setting}\n')
    result = ghost_run(config)
    assert result.exit_code == 2
    section, key = setting.split("\n")[0], setting.split("\n")[1].split(" =")[0]
    assert f"{section} {key} must be at least" in result.stderr


def test_batches_of_changed_or_removed_episodes_are_collected_and_billed(
        tmp_path: Path, slow_batches: StandIn) -> None:
    config = workspace(tmp_path, make='["summary"]')
    write_episode(tmp_path / "episodes" / "ep2.txt", "FACT-EP2")
    server = slow_batches
    first = json.loads(ghost_run(config, "--batch", "--json").stdout)
    assert first["processed"] == {"ep1.txt": "waiting", "ep2.txt": "waiting"}
    write_episode(tmp_path / "episodes" / "ep1.txt", "FACT-EP1-EDITED")  # changed
    (tmp_path / "episodes" / "ep2.txt").unlink()                         # removed
    server.finish_batches()
    second = ghost_run(config, "--batch", "--json")
    report = json.loads(second.stdout)
    # ep1's old batch is billed to ep1; its new calls go out in a new batch.
    assert report["processed"] == {"ep1.txt": "waiting"}, second.output
    assert report["ledgers"]["ep1.txt"]["stages"]["map"]["calls"] >= 2
    # ep2's batch is billed to the month although ep2 is gone.
    assert "batches of removed episodes: 1 looked at" in second.stderr
    assert report["spent_usd"] > report["ledgers"]["ep1.txt"]["total_cost_usd"]
    left = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "batches").glob("*")]
    assert [r["owner"] for r in left] == ["ep1.txt"]  # only the new one is committed
    state = WorkspaceState.load(tmp_path / ".ghost")
    assert state.month_spend() == pytest.approx(report["spent_usd"], abs=1e-5)


def test_a_symlinked_episode_keeps_its_own_name(standin: StandIn, tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]')
    (tmp_path / "elsewhere").mkdir()
    real = write_episode(tmp_path / "elsewhere" / "real.txt", "FACT-LINK")
    (tmp_path / "episodes" / "link.txt").symlink_to(real)
    result = ghost_run(config, "--json")
    assert json.loads(result.stdout)["processed"] == {"ep1.txt": "done", "link.txt": "done"}
    assert (tmp_path / "out" / "link.summary.md").exists()


def test_a_nan_budget_is_refused(tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["summary"]', extra="[budget]\nper_month = nan\n")
    result = ghost_run(config)
    assert result.exit_code == 2
    assert "[budget] per_month must be a positive amount" in result.stderr


def test_a_provider_hiccup_while_collecting_removed_episodes_batches_is_not_fatal(
        tmp_path: Path, slow_batches: StandIn) -> None:
    config = workspace(tmp_path, make='["summary"]')
    write_episode(tmp_path / "episodes" / "ep2.txt", "FACT-EP2")
    server = slow_batches
    ghost_run(config, "--batch", "--json")
    (tmp_path / "episodes" / "ep2.txt").unlink()
    server.fail_next(529, count=3)  # the sweep's status poll fails; nothing retries it
    result = ghost_run(config, "--batch", "--json")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.stderr
    assert "the next run asks again" in result.stderr
    assert json.loads(result.stdout)["processed"] == {"ep1.txt": "waiting"}
    assert len(list((tmp_path / "cache" / "batches").glob("*.json"))) == 2  # kept for later


def test_a_run_without_batch_still_collects_the_batch_it_sent(
        tmp_path: Path, slow_batches: StandIn) -> None:
    config = workspace(tmp_path, make='["summary"]')
    assert json.loads(ghost_run(config, "--batch", "--json").stdout)["processed"] == \
        {"ep1.txt": "waiting"}
    still = json.loads(ghost_run(config, "--json").stdout)  # not finished: keep waiting
    assert still["processed"] == {"ep1.txt": "waiting"}
    assert slow_batches.calls(path="/v1/messages") == 0  # nothing paid for twice
    slow_batches.finish_batches()
    done = json.loads(ghost_run(config, "--json").stdout)
    assert done["processed"] == {"ep1.txt": "done"}
    assert slow_batches.calls(path="/v1/messages") == 1  # the reduce call alone
    assert not list((tmp_path / "cache" / "batches").glob("*.json"))
