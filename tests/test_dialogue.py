"""ghost dialogue: two models talk through the real SDKs against the loopback stand-in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_path

from ghost.models.runner import Runner
from ghost.write.dialogue_format import (
    Speaker,
    TranscriptTurn,
    family_speakers,
    generic_speakers,
    parse_dialogue,
    render_dialogue,
)
from standin import StandIn

CLAUDE = "anthropic:claude-opus-4-6"
GPT = "openai:gpt-4o"
PROMPT = "Hi Claude. Please introduce yourself to ChatGPT. FACT-OPEN"
SEED = ("data", "dialogue", "claude-gpt-dialogue.txt")


def invoke(*args: Any) -> Any:
    """`ghost dialogue ARGS` through the root CLI once it is registered, else the command."""
    import typer
    from typer.testing import CliRunner

    from ghost.cli import app as root
    from ghost.cli.dialogue import app as command

    group = typer.main.get_command(root)
    registered = "dialogue" in getattr(group, "commands", {})
    argv = (["dialogue"] if registered else []) + [str(a) for a in args]
    return CliRunner().invoke(root if registered else command, argv)


def talk(cache: Path, *extra: Any, a: str = CLAUDE, b: str = GPT, turns: int = 4) -> Any:
    return invoke("--a", a, "--b", b, "--turns", turns, "--prompt", PROMPT,
                  "--cache-dir", cache, *extra)


def texts(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content)


def model_calls(standin: StandIn, provider: str) -> list[dict[str, Any]]:
    return [r.body for r in standin.requests
            if r.provider == provider and r.status == 200 and "messages" in r.body]


# --- the format: the seed transcript itself ---------------------------------------------------


def test_seed_transcript_parses_and_renders_back_byte_for_byte() -> None:
    raw = shared_path(*SEED).read_text(encoding="utf-8")
    parsed = parse_dialogue(raw)
    assert list(parsed.fields) == ["Timestamp", "GPT Model", "Claude Model"]
    assert parsed.timestamp == "202408291810"
    assert parsed.models == {"GPT": "gpt-4", "Claude": "claude-3-sonnet-20240229"}
    assert parsed.prompt.startswith("Hi Claude. I've built a python script")  # space removed
    assert parsed.speakers == ["Claude", "GPT", "Claude", "GPT", "Claude"]
    assert parsed.turns[0].text.startswith("Hello ChatGPT! I'm Claude")
    assert "\n\nI look forward to our chat!" in parsed.turns[0].text  # paragraphs kept
    assert "avoid potential harms. \n" in parsed.turns[2].text  # trailing spaces kept
    assert parsed.turns[-1].text.endswith("conversations like these are invaluable.")
    speakers = family_speakers("Claude", parsed.models["Claude"], "GPT", parsed.models["GPT"])
    again = render_dialogue(parsed.timestamp, speakers, parsed.prompt, parsed.turns)
    assert again == raw


def test_format_round_trip_generic_labels_and_tricky_text() -> None:
    speakers = generic_speakers("anthropic:claude-haiku-4-5", "anthropic:claude-opus-4-5")
    turns = [TranscriptTurn("A", "First line\n\nA: not a turn\nB:\nstill A's (no blank before)"),
             TranscriptTurn("B", "  indented reply\nwith Claude: inside"),
             TranscriptTurn("A", "short")]
    text = render_dialogue("202501020304", speakers, "line one\nline two", turns)
    assert text.startswith("Timestamp: 202501020304\nModel A: anthropic:claude-haiku-4-5\n"
                           "Model B: anthropic:claude-opus-4-5\n\nPrompt:\n line one\n")
    parsed = parse_dialogue(text)
    assert parsed.models == {"A": "anthropic:claude-haiku-4-5", "B": "anthropic:claude-opus-4-5"}
    assert parsed.prompt == "line one\nline two"
    assert parsed.turns == turns
    assert parse_dialogue(text.replace("\n", "\r\n").rstrip()).turns == turns


def test_parse_rejects_text_without_a_prompt() -> None:
    with pytest.raises(ValueError, match="Prompt"):
        parse_dialogue("Timestamp: 1\n\nhello\n")


def test_gpt_first_keeps_the_seed_header_order() -> None:
    speakers = family_speakers("GPT", "gpt-4o", "Claude", "claude-opus-4-5")
    text = render_dialogue("202501020304", speakers, "hi", [TranscriptTurn("GPT", "hello")])
    assert text.splitlines()[1:3] == ["GPT Model: gpt-4o", "Claude Model: claude-opus-4-5"]
    assert parse_dialogue(text).speakers == ["GPT"]


# --- the command against the stand-in ---------------------------------------------------------


def test_transcript_matches_the_seed_format(standin: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "chat.txt"
    result = talk(tmp_path / "cache", "-o", out, turns=5)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert re.fullmatch(r"Timestamp: \d{12}", lines[0])
    assert lines[1:6] == ["GPT Model: gpt-4o", "Claude Model: claude-opus-4-6", "",
                          "Prompt:", f" {PROMPT}"]
    assert lines[6:8] == ["", "Claude:"] and text.endswith("\n\n")
    parsed = parse_dialogue(text)
    assert parsed.speakers == ["Claude", "GPT", "Claude", "GPT", "Claude"]
    assert parsed.prompt == PROMPT
    replies = [r.reply for r in standin.requests if r.reply is not None]
    assert [t.text for t in parsed.turns] == [r.strip() for r in replies]
    assert "FACT-OPEN" in parsed.turns[-1].text  # each reply really was fed to the other side
    assert "Claude:\n" in result.stderr and "GPT:\n" in result.stderr  # turns echoed as they came
    assert "dialogue-a" in result.stderr and "dialogue-b" in result.stderr  # the ledger


def test_header_shape_matches_the_seed_file(standin: StandIn, tmp_path: Path) -> None:
    seed = parse_dialogue(shared_path(*SEED).read_text(encoding="utf-8"))
    result = talk(tmp_path / "cache", "-o", tmp_path / "chat.txt", turns=5)
    assert result.exit_code == 0, result.output
    ours = parse_dialogue((tmp_path / "chat.txt").read_text(encoding="utf-8"))
    assert list(ours.fields) == list(seed.fields)
    assert ours.speakers == seed.speakers
    assert len(ours.timestamp) == len(seed.timestamp)


def test_each_model_keeps_its_own_side_of_the_history(standin: StandIn, tmp_path: Path) -> None:
    result = talk(tmp_path / "cache", "--system-a", "You are A.", "--system-b", "You are B.",
                  turns=5)
    assert result.exit_code == 0, result.output
    turns = parse_dialogue(result.stdout).turns  # without -o the transcript is stdout
    replies = [t.text for t in turns]
    claude, gpt = model_calls(standin, "anthropic"), model_calls(standin, "openai")
    assert len(claude) == 3 and len(gpt) == 2
    for k, body in enumerate(claude):  # A: prompt, A1, B1, A2, B2 ...
        messages = body["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"] * k + ["user"]
        assert [texts(m) for m in messages] == [PROMPT, *replies[: 2 * k]]
        assert texts({"content": body["system"]}) == "You are A."
    for k, body in enumerate(gpt):  # B: A1, B1, A2 ... after its own system message
        system, *messages = body["messages"]
        assert system == {"role": "system", "content": "You are B."}
        assert [m["role"] for m in messages] == ["user", "assistant"] * k + ["user"]
        assert [texts(m) for m in messages] == replies[: 2 * k + 1]
        assert PROMPT not in [texts(m) for m in messages]  # B is never sent the prompt


def test_rerun_makes_zero_calls(standin: StandIn, tmp_path: Path) -> None:
    first = talk(tmp_path / "cache", "-o", tmp_path / "a.txt")
    assert first.exit_code == 0, first.output
    calls = standin.calls(status=None)
    assert calls == 4
    second = talk(tmp_path / "cache", "-o", tmp_path / "b.txt", "--json")
    assert second.exit_code == 0, second.output
    assert standin.calls(status=None) == calls
    report = json.loads(second.stdout)
    assert set(report["ledger"]["stages"]) == {"dialogue-a", "dialogue-b"}
    assert all(s["calls"] == 0 and s["cached"] == 2 for s in report["ledger"]["stages"].values())
    assert report["turns_cached"] == 4 and report["ledger"]["total_cost_usd"] == 0
    body = lambda p: p.read_text().split("\n", 1)[1]  # noqa: E731 - all but the timestamp
    assert body(tmp_path / "a.txt") == body(tmp_path / "b.txt")
    plan = talk(tmp_path / "cache", "--dry-run", "--json")
    stages = json.loads(plan.stdout)["plan"]["stages"]
    assert [s["cached_calls"] for s in stages] == [2, 2]
    assert json.loads(plan.stdout)["plan"]["estimated_cost_usd"] == 0


@pytest.fixture
def interrupt_on_call(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Ctrl-C during the N-th model call (N = the list's one element)."""
    at = [3]
    seen = [0]
    original = Runner.call

    def call(self: Runner, *args: Any, **kwargs: Any) -> Any:
        seen[0] += 1
        if seen[0] == at[0]:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "call", call)
    yield at


def test_ctrl_c_keeps_the_finished_turns(standin: StandIn, tmp_path: Path,
                                         interrupt_on_call: list[int]) -> None:
    out = tmp_path / "chat.txt"
    result = talk(tmp_path / "cache", "-o", out, turns=6)
    assert result.exit_code == 130
    notes = [line for line in result.stderr.splitlines() if line.startswith("ghost:")]
    assert notes == [f"ghost: interrupted after 2 of 6 turns; wrote them to {out}"]
    assert "Traceback" not in result.output
    parsed = parse_dialogue(out.read_text(encoding="utf-8"))
    assert parsed.speakers == ["Claude", "GPT"] and parsed.prompt == PROMPT
    assert standin.calls(status=None) == 2
    manifest = json.loads(next((tmp_path / "cache" / "runs").glob("*.json")).read_text())
    assert manifest["status"] == "interrupted" and len(manifest["calls"]) == 2


def test_ctrl_c_on_stdout_keeps_what_was_printed_and_rerun_resumes(
        standin: StandIn, tmp_path: Path, interrupt_on_call: list[int]) -> None:
    result = talk(tmp_path / "cache", turns=6)
    assert result.exit_code == 130
    assert parse_dialogue(result.stdout).speakers == ["Claude", "GPT"]
    assert "interrupted after 2 of 6 turns; the transcript above has them" in result.stderr
    interrupt_on_call[0] = 0  # no more Ctrl-C
    again = talk(tmp_path / "cache", turns=6)
    assert again.exit_code == 0, again.output
    assert parse_dialogue(again.stdout).speakers == ["Claude", "GPT"] * 3
    assert standin.calls(status=None) == 6  # the first two turns came from the cache


def test_ctrl_c_before_the_first_reply_writes_nothing(standin: StandIn, tmp_path: Path,
                                                      interrupt_on_call: list[int]) -> None:
    interrupt_on_call[0] = 1
    out = tmp_path / "chat.txt"
    out.write_text("an older transcript\n")
    result = talk(tmp_path / "cache", "-o", out)
    assert result.exit_code == 130
    assert "interrupted before the first reply; nothing written" in result.stderr
    assert out.read_text() == "an older transcript\n"


def test_core_interrupt_hook_leaves_the_finished_turns(standin: StandIn, tmp_path: Path) -> None:
    from ghost.jobs.dialogue import DialogueSetup, continue_dialogue, prepare_dialogue
    from ghost.options import RunOptions
    from ghost.session import Session

    session = Session("dialogue", RunOptions(cache_dir=tmp_path / "cache"))
    result = prepare_dialogue(session, DialogueSetup(CLAUDE, GPT, PROMPT, turns=6))

    def stop_after_three(turn: Any) -> None:
        if turn.number == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        continue_dialogue(session, result, on_turn=stop_after_three)
    assert [t.side for t in result.turns] == ["a", "b", "a"] and not result.complete
    assert parse_dialogue(result.text).speakers == ["Claude", "GPT", "Claude"]
    continue_dialogue(session, result)  # picks up where it stopped
    assert result.complete and standin.calls(status=None) == 6
    session.close("ok")


def test_failure_mid_run_keeps_the_finished_turns(standin: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "chat.txt"
    standin.enqueue("Hello from Claude.", provider="anthropic")
    standin.fail_next(400, provider="openai")  # not retryable
    result = talk(tmp_path / "cache", "-o", out)
    assert result.exit_code == 1
    assert "stopped after 1 of 4 turns" in result.stderr and "ghost: error:" in result.stderr
    assert parse_dialogue(out.read_text()).turns == [TranscriptTurn("Claude", "Hello from Claude.")]


def test_other_pairs_get_generic_labels(standin: StandIn, tmp_path: Path) -> None:
    result = talk(tmp_path / "cache", a="anthropic:claude-haiku-4-5", b=CLAUDE, turns=3)
    assert result.exit_code == 0, result.output
    parsed = parse_dialogue(result.stdout)
    assert parsed.models == {"A": "anthropic:claude-haiku-4-5", "B": CLAUDE}
    assert parsed.speakers == ["A", "B", "A"]
    gpt_first = talk(tmp_path / "cache", a=GPT, b=CLAUDE, turns=2)
    parsed = parse_dialogue(gpt_first.stdout)
    assert list(parsed.fields)[1:] == ["GPT Model", "Claude Model"]
    assert parsed.speakers == ["GPT", "Claude"]


def test_prompt_file_and_quiet(standin: StandIn, tmp_path: Path) -> None:
    prompt = tmp_path / "opening.txt"
    prompt.write_text(f"\n{PROMPT}\n\n", encoding="utf-8")
    out = tmp_path / "chat.txt"
    result = invoke("--a", CLAUDE, "--b", GPT, "--turns", 2, "--prompt-file", prompt,
                    "--cache-dir", tmp_path / "cache", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    assert parse_dialogue(out.read_text()).prompt == PROMPT


@pytest.mark.parametrize("args, message", [
    ((), "--prompt TEXT or --prompt-file"),
    (("--prompt", "x", "--prompt-file", "p.txt"), "not both"),
    (("--prompt", "   "), "empty"),
    (("--prompt", "hi", "--turns", "0"), "--turns"),
    (("--prompt-file", "missing.txt"), "no such file"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...],
                                      message: str) -> None:
    result = invoke("--a", CLAUDE, "--b", GPT, "--cache-dir", tmp_path / "c", *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_dry_run_makes_no_call(standin: StandIn, tmp_path: Path) -> None:
    result = talk(tmp_path / "cache", "--dry-run", turns=6)
    assert result.exit_code == 0, result.output
    assert standin.calls(status=None) == 0
    out = result.stdout
    assert "dialogue-a" in out and "dialogue-b" in out and "est. cost" in out
    assert "turns: 6 (3 by A, 3 by B)" in out and "input tokens per turn:" in out
    assert not (tmp_path / "cache").exists()


def test_dry_run_needs_no_key_and_input_grows_with_history(tmp_path: Path) -> None:
    result = talk(tmp_path / "cache", "--dry-run", "--json", turns=8)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    a, b = plan["stages"]
    assert (a["calls"], b["calls"]) == (4, 4)
    assert a["output_tokens"] == 4 * 400 and plan["estimated_cost_usd"] > 0
    growth = [int(t.replace(",", "")) for t in
              re.findall(r"[\d,]+", plan["source"]["input tokens per turn"])]
    assert growth == sorted(growth) and growth[-1] > 7 * 400
    # Input is quadratic in turns: twice the turns costs well over twice as much.
    longer = json.loads(talk(tmp_path / "cache", "--dry-run", "--json",
                             turns=16).stdout)["plan"]["estimated_cost_usd"]
    assert longer > 2.5 * plan["estimated_cost_usd"]


def test_budget_too_small_exits_2_before_any_call(standin: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "chat.txt"
    result = talk(tmp_path / "cache", "--budget", "0.0001", "-o", out)
    assert result.exit_code == 2
    assert "exceeds --budget" in result.stderr and "Traceback" not in result.output
    assert standin.calls(status=None) == 0 and not out.exists()
    assert result.stdout == ""


def test_missing_key_fails_before_anything_is_shown(tmp_path: Path) -> None:
    result = talk(tmp_path / "cache")
    assert result.exit_code == 2
    assert result.stdout == "" and "ANTHROPIC_API_KEY" in result.stderr


def test_speaker_labels_follow_the_catalog() -> None:
    from ghost.jobs.dialogue import speakers_for
    from ghost.models.catalog import load_catalog

    catalog = load_catalog()
    label = lambda a, b: [s.label for s in speakers_for(  # noqa: E731
        catalog, catalog.resolve(a), catalog.resolve(b))]
    assert label(CLAUDE, GPT) == ["Claude", "GPT"]
    assert label(GPT, CLAUDE) == ["GPT", "Claude"]
    assert label(GPT, "openai:gpt-4o-mini") == ["A", "B"]
    assert label(CLAUDE, "openai:llama3.1") == ["A", "B"]  # a local model is no GPT
    assert speakers_for(catalog, catalog.resolve(CLAUDE), catalog.resolve(GPT))[0] == Speaker(
        "Claude", "Claude Model", "claude-opus-4-6")


def test_long_histories_use_anthropic_prompt_caching(standin: StandIn, tmp_path: Path) -> None:
    standin.responder = lambda provider, body: " ".join(f"w{i}" for i in range(900))
    result = talk(tmp_path / "cache", "--max-tokens", "2000", "--json", "-o",
                  tmp_path / "chat.txt", turns=5)
    assert result.exit_code == 0, result.output
    a = json.loads(result.stdout)["ledger"]["stages"]["dialogue-a"]
    assert a["cache_write_tokens"] > 0 and a["cache_read_tokens"] > 0
    last = model_calls(standin, "anthropic")[-1]["messages"]
    marks = ["cache_control" in m["content"][0] for m in last]
    assert marks == [False, False, True, False, True]  # where turn 3 ended, and the end
    longer = talk(tmp_path / "cache", "--max-tokens", "2000", "-o", tmp_path / "more.txt",
                  turns=7)
    assert longer.exit_code == 0, longer.output
    assert standin.calls(status=None) == 7  # the first five turns replayed from ghost's cache
