"""ghost summarize end to end: the CLI, the real SDKs, the loopback stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TEST_KEY, run_cli

from standin import StandIn


def planted_text(paragraphs: int = 40) -> str:
    """A long text with facts planted at the start, middle and end."""
    parts = []
    for i in range(paragraphs):
        body = " ".join(f"Sentence {j} of paragraph {i} talks about ordinary matters."
                        for j in range(12))
        if i in (0, paragraphs // 2, paragraphs - 1):
            body += f" The committee recorded FACT-P{i} in the minutes."
        parts.append(body)
    return "\n\n".join(parts) + "\n"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "minutes.txt"
    path.write_text(planted_text())
    return path


def summarize(source: Path, cache: Path, *extra: str):
    return run_cli("summarize", source, "--cache-dir", cache, "--chunk-tokens", "600", *extra)


def test_summary_carries_planted_facts_and_citations(standin: StandIn, source: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "summary.md"
    result = summarize(source, tmp_path / "cache", "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    for fact in ("FACT-P0", "FACT-P20", "FACT-P39"):
        assert fact in text
    assert text.startswith("---\n") and "cost_usd" in text
    maps = standin.calls("anthropic", path="/v1/messages")
    assert maps >= 4  # several map calls and one reduce
    assert "map" in result.stderr and "reduce" in result.stderr and "total" in result.stderr
    reduce_request = standin.requests[-1]
    assert reduce_request.stream  # long outputs stream (SSE)
    assert "FACT-P20" in json.dumps(reduce_request.body)


def test_rerun_makes_zero_calls(standin: StandIn, source: Path, tmp_path: Path) -> None:
    first = summarize(source, tmp_path / "cache", "-o", tmp_path / "a.md")
    assert first.exit_code == 0, first.output
    calls = standin.calls(status=None)
    second = summarize(source, tmp_path / "cache", "-o", tmp_path / "b.md", "--json")
    assert second.exit_code == 0, second.output
    assert standin.calls(status=None) == calls
    report = json.loads(second.stdout)
    assert report["ledger"]["total_cost_usd"] == 0
    assert all(s["calls"] == 0 for s in report["ledger"]["stages"].values())
    body = lambda p: p.read_text().split("---\n", 2)[2]  # noqa: E731
    assert body(tmp_path / "a.md") == body(tmp_path / "b.md")


def test_faults_every_third_call_give_the_same_output(standin: StandIn, source: Path,
                                                      tmp_path: Path) -> None:
    clean = summarize(source, tmp_path / "c1", "-o", tmp_path / "clean.md")
    assert clean.exit_code == 0, clean.output
    standin.reset()
    standin.fail_every(3, statuses=(429, 529), retry_after=0.01)
    faulty = summarize(source, tmp_path / "c2", "-o", tmp_path / "faulty.md")
    assert faulty.exit_code == 0, faulty.output
    assert standin.calls(status=429) >= 1 and standin.calls(status=529) >= 1
    body = lambda p: p.read_text().split("---\n", 2)[2]  # noqa: E731
    assert body(tmp_path / "clean.md") == body(tmp_path / "faulty.md")


def test_openai_faults_500_and_429_are_retried(standin: StandIn, source: Path,
                                               tmp_path: Path) -> None:
    standin.fail_every(2, statuses=(500, 429), retry_after=0.01)
    result = summarize(source, tmp_path / "c", "--map-model", "openai:gpt-4o-mini",
                       "--reduce-model", "openai:gpt-4o", "-o", tmp_path / "s.md")
    assert result.exit_code == 0, result.output
    assert "FACT-P20" in (tmp_path / "s.md").read_text()
    assert standin.calls("openai", status=500) >= 1


def test_mixed_providers_map_on_gpt_reduce_on_claude(standin: StandIn, source: Path,
                                                     tmp_path: Path) -> None:
    result = summarize(source, tmp_path / "c", "--map-model", "openai:gpt-4o-mini",
                       "--reduce-model", "anthropic:claude-opus-4-6", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ledger"]["stages"]["map"]["model"] == "openai:gpt-4o-mini"
    assert report["ledger"]["stages"]["reduce"]["model"] == "anthropic:claude-opus-4-6"
    assert standin.calls("openai") >= 4 and standin.calls("anthropic") == 1
    assert "FACT-P39" in report["text"]


def test_key_never_reaches_manifest_logs_or_cache(standin: StandIn, source: Path,
                                                  tmp_path: Path) -> None:
    standin.fail_every(4, statuses=(429,), retry_after=0.01)
    result = summarize(source, tmp_path / "cache", "-vvv", "-o", tmp_path / "s.md")
    assert result.exit_code == 0, result.output
    assert TEST_KEY not in result.output + result.stderr
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in files)  # a manifest was written
    for path in files:
        assert TEST_KEY.encode() not in path.read_bytes(), path
    manifest = json.loads(next((tmp_path / "cache" / "runs").glob("*.json")).read_text())
    assert manifest["status"] == "ok" and manifest["calls"]
    call = manifest["calls"][0]
    assert call["endpoint"].startswith("http://127.0.0.1") and len(call["request_sha256"]) == 64
    assert "FACT-P0" not in json.dumps(manifest)  # sizes and hashes, never content


def test_dry_run_makes_no_call(standin: StandIn, source: Path, tmp_path: Path) -> None:
    result = summarize(source, tmp_path / "cache", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "map" in result.stdout and "est. cost" in result.stdout
    assert standin.calls(status=None) == 0


def test_dry_run_needs_no_key(monkeypatch, source: Path, tmp_path: Path) -> None:
    result = summarize(source, tmp_path / "cache", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert plan["stages"][0]["calls"] >= 4 and plan["estimated_cost_usd"] > 0


def test_budget_too_small_exits_2_before_any_call(standin: StandIn, source: Path,
                                                  tmp_path: Path) -> None:
    result = summarize(source, tmp_path / "cache", "--budget", "0.0001")
    assert result.exit_code == 2
    assert "exceeds --budget" in result.stderr and "Traceback" not in result.output
    assert standin.calls(status=None) == 0
    assert not (tmp_path / "out.md").exists()


def test_missing_key_says_what_to_set(source: Path, tmp_path: Path) -> None:
    result = summarize(source, tmp_path / "cache")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "ANTHROPIC_API_KEY" in line and "--base-url" in line and "\n" not in line


def test_bad_input_one_line_exit_2_no_output(tmp_path: Path, standin: StandIn) -> None:
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    out = tmp_path / "out.md"
    for target in (binary, tmp_path / "missing.txt"):
        result = run_cli("summarize", target, "-o", out, "--cache-dir", tmp_path / "c")
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists()
    assert standin.calls(status=None) == 0


def test_transcript_summary_keeps_real_timestamps(standin: StandIn, tmp_path: Path) -> None:
    lines = []
    for i in range(60):
        stamp = f"00:{i // 2:02d}:{(i % 2) * 30:02d}"
        text = f"We talked about topic {i} at some length. " * 8
        if i == 30:
            text += "The launch was tagged FACT-LAUNCH internally."
        lines.append(f"{stamp}\n{text}\n")
    path = tmp_path / "episode.txt"
    path.write_text("\n".join(lines))
    standin.enqueue("- The host opened with a joke [00:00:00]\n- A bogus claim [00:99:00]",
                    provider="anthropic")
    result = run_cli("summarize", "--transcript", path, "--cache-dir", tmp_path / "c",
                     "--chunk-tokens", "500", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["map_citations"]["unknown"] == ["00:99:00"]
    assert "[00:15:00]" in report["text"] and "FACT-LAUNCH" in report["text"]
    assert "00:99:00" not in report["text"]


def test_a_run_that_fails_after_paying_still_shows_its_ledger(standin: StandIn,
                                                             source: Path) -> None:
    def respond(provider: str, body: dict) -> str | None:
        system = body.get("system") or body["messages"][0].get("content")
        if "expert editor" in json.dumps(system):
            raise RuntimeError("the reduce call breaks")  # the stand-in answers 500
        return None

    standin.responder = respond
    result = run_cli("summarize", source, "--patience", "0", "--cache-dir",
                     source.parent / "cache")
    assert result.exit_code == 1
    assert "map" in result.stderr and "total" in result.stderr  # the ledger table
    assert result.stderr.strip().splitlines()[-1].startswith("ghost: error:")
