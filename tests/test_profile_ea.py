"""ghost profile for an executive assistant, against the stand-in: forwarded mail reaches the
map model with its original sender and date; every note the reduce model reads is dated and
attributed; triage replies go through the shared classifier's reader; the profile collapse
template condenses; the queries stage has its own model."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, run_cli

from standin import StandIn
from test_profile_e2e import OWNER, message

MAP_SYSTEM = "From one email thread you extract"
TRIAGE_SYSTEM = "Answer with exactly one letter"
REDUCE_SYSTEM = "first morning"
COLLAPSE_SYSTEM = "You condense the notes taken on many email threads"
_ID = re.compile(r"^▏Message-ID: <([^>]+)>", re.M)
_STAMPED = re.compile(r"^- \d{4}-\d\d-\d\d · [^:]+?\S: \S")

FORWARD = """FYI, see below. Please book it.

---------- Forwarded message ---------
From: Air Travel <bookings@air.example>
Date: Mon, Jan 20, 2025 at 10:00 AM
Subject: Your itinerary
To: Sam <sam@acme.example>

Flight TP123 Lisbon 11 March 08:05, seat 3C. FACT-FLIGHT"""


def text_of(value: Any) -> str:
    """The text of a system prompt or message content, either wire form."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(text_of(v.get("text", "")) if isinstance(v, dict) else str(v)
                         for v in value)
    return ""


def system_of(body: dict[str, Any]) -> str:
    if "system" in body:
        return text_of(body["system"])
    return "\n".join(text_of(m["content"]) for m in body["messages"] if m["role"] == "system")


def user_of(body: dict[str, Any]) -> str:
    return "\n".join(text_of(m["content"]) for m in body["messages"] if m["role"] == "user")


def like_a_model(triage: Callable[[str], str] = lambda user: "R",
                 bullets: int = 1) -> Callable[[str, dict[str, Any]], str | None]:
    """A responder that answers triage with a letter and map calls with bullets that cite the
    thread's first message, like a model following the prompt (other calls: the default)."""
    def respond(provider: str, body: dict[str, Any]) -> str | None:
        system, user = system_of(body), user_of(body)
        if TRIAGE_SYSTEM in system:
            return triage(user)
        if MAP_SYSTEM in system:
            ids = _ID.findall(user)
            facts = [x for x in re.findall(r"FACT-[A-Z]+", user)] or ["FACT-NONE"]
            return "\n".join(f"- **project:** {facts[n % len(facts)]} item {n} is planned "
                             f"for the week [<{ids[0]}>]" for n in range(bullets))
        if COLLAPSE_SYSTEM in system:
            ids = re.findall(r"\[<([^>]+)>\]", user)
            return f"### Project: offsite\n- **project:** FACT-CONDENSED [<{ids[0]}>]"
        return None
    return respond


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., StandIn]]:
    """A stand-in with a responder of the test's choosing; the environment points at it."""
    servers: list[StandIn] = []

    def start(responder: Callable[[str, dict[str, Any]], str | None]) -> StandIn:
        server = StandIn(responder=responder).start()
        servers.append(server)
        for name, value in server.env(TEST_KEY).items():
            monkeypatch.setenv(name, value)
        return server

    yield start
    for server in servers:
        server.stop()


def mailbox(path: Path) -> Path:
    msgs = [
        message("t1@acme.example", "Sam Ortiz <sam@acme.example>", "Fwd: Your itinerary",
                FORWARD, "Wed, 05 Feb 2025 09:00:00 +0000"),
        message("o1@acme.example", "Sam Ortiz <sam@acme.example>", "Board offsite",
                "FACT-OFFSITE Can we meet next Tuesday to plan it?",
                "Mon, 03 Feb 2025 09:00:00 +0000"),
        message("o2@acme.example", OWNER, "Re: Board offsite",
                "FACT-AISLE I prefer aisle seats.", "Mon, 03 Feb 2025 10:00:00 +0000",
                reply_to="o1@acme.example"),
        message("b1@acme.example", "Lee Park <lee@acme.example>", "Budget",
                "FACT-BUDGET The Q1 invoice is attached.", "Thu, 06 Feb 2025 08:00:00 +0000"),
    ]
    path.write_text("".join(msgs))
    return path


def profile(tmp_path: Path, *args: str):
    return run_cli("profile", "--mbox", mailbox(tmp_path / "inbox.mbox"), "--owner", OWNER,
                   "--cache-dir", tmp_path / "cache", "--json", *args)


def bodies(server: StandIn, marker: str) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.status == 200 and marker in system_of(r.body)]


def notes_of(reduce_body: dict[str, Any]) -> list[str]:
    user = user_of(reduce_body)
    inside = user[user.index("<<<NOTES"):user.index("<<<END NOTES")]
    return [line for line in inside.splitlines() if line.startswith("- ")]


def test_forwards_reach_the_map_model_and_every_note_is_dated_and_attributed(
        scripted: Callable[..., StandIn], tmp_path: Path) -> None:
    server = scripted(like_a_model())
    result = profile(tmp_path)
    assert result.exit_code == 0, result.output
    maps = [user_of(b) for b in bodies(server, MAP_SYSTEM)]
    forwarded = next(u for u in maps if "FACT-FLIGHT" in u)
    assert ('[Forwarded message from Air Travel <bookings@air.example>, dated 2025-01-20 '
            '10:00, subject "Your itinerary"]') in forwarded
    assert "▏Flight TP123 Lisbon 11 March 08:05, seat 3C. FACT-FLIGHT" in forwarded
    offsite = next(u for u in maps if "FACT-OFFSITE" in u)
    assert "Date: 2025-0203" not in offsite and "Date: 2025-02-03 09:00 UTC (Monday)" in offsite
    assert "next Tuesday [2025-02-04 or 2025-02-11]" in offsite  # resolved, ambiguity shown
    assert "From: Dana Reyes <dana@acme.example> (the owner)" in offsite
    assert "Last message: 2025-02-03 from the owner." in offsite
    assert "unanswered by the owner" in next(u for u in maps if "FACT-BUDGET" in u)
    [reduce] = bodies(server, REDUCE_SYSTEM)
    notes = notes_of(reduce)
    assert len(notes) == 3 and all(_STAMPED.match(n) for n in notes), notes
    assert any(n.startswith("- 2025-02-05 · Sam Ortiz <sam@acme.example>: ") and
               "FACT-FLIGHT" in n for n in notes)
    assert "Act on this first" in system_of(reduce) and '"unknown"' in system_of(reduce)


def test_uncited_notes_are_attributed_by_wording_or_dropped(
        standin: StandIn, tmp_path: Path) -> None:
    # The stand-in's default reply: "STANDIN <digest>" and the mail's FACT lines, uncited.
    result = profile(tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    reduce = next(r.body for r in standin.requests if REDUCE_SYSTEM in system_of(r.body))
    notes = notes_of(reduce)
    aisle = next(n for n in notes if "FACT-AISLE" in n)
    assert aisle.startswith("- 2025-02-03 · Dana Reyes <dana@acme.example> (the owner): ")
    assert aisle.endswith("[<o2@acme.example>]")  # the message it shares its words with
    assert all(_STAMPED.match(n) for n in notes) and not any("STANDIN" in n for n in notes)
    assert report["notes_attributed_by_wording"] >= 3
    assert report["notes_unattributed_dropped"] >= 3  # the STANDIN lines


def test_triage_replies_go_through_the_shared_classifier(
        scripted: Callable[..., StandIn], tmp_path: Path) -> None:
    replies = {"FACT-BUDGET": "**R**.", "FACT-OFFSITE": "A", "FACT-FLIGHT": "Category: N"}
    server = scripted(like_a_model(
        triage=lambda user: next(v for k, v in replies.items() if k in user)))
    result = profile(tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # "A" is no category letter: the shared reader's fallback, the caution category (S).
    assert report["triage"] == {"relevant": 1, "sensitive": 1, "not relevant": 1}
    assert report["triage_unclear"] == 1
    maps = [user_of(b) + system_of(b) for b in bodies(server, MAP_SYSTEM)]
    assert not any("FACT-FLIGHT" in m for m in maps)  # N: not read further
    offsite = next(m for m in maps if "FACT-OFFSITE" in m)
    assert "screened as sensitive" in offsite
    assert "screened as sensitive" not in next(m for m in maps if "FACT-BUDGET" in m)
    triage = system_of(bodies(server, TRIAGE_SYSTEM)[0])
    assert "personal finance" in triage and "Business money" in triage  # narrow sensitive
    assert "invoices" in triage.split("S  sensitive")[0]  # budgets and invoices are R


def test_the_profile_collapse_template_condenses_profile_notes(
        scripted: Callable[..., StandIn], tmp_path: Path) -> None:
    models = tmp_path / "models.toml"
    models.write_text('[models."anthropic:claude-tiny"]\ncontext = 4000\nmax_output = 2000\n'
                      'input = 5.0\noutput = 25.0\n')
    server = scripted(like_a_model(bullets=40))
    result = profile(tmp_path, "--reduce-model", "anthropic:claude-tiny", "--models-file",
                     str(models), "--words", "300")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["collapse_rounds"] >= 1
    collapses = [r.body for r in server.requests if "max_tokens" in r.body
                 and "condense" in system_of(r.body)]
    assert collapses and all(COLLAPSE_SYSTEM in system_of(b) for b in collapses)
    assert not any("consecutive parts of a long source" in system_of(b) for b in collapses)
    [reduce] = bodies(server, REDUCE_SYSTEM)
    notes = notes_of(reduce)
    assert notes and all(_STAMPED.match(n) for n in notes)  # stamped again after condensing
    assert "### Project: offsite" in user_of(reduce)


def test_the_queries_stage_uses_its_own_model(scripted: Callable[..., StandIn],
                                              tmp_path: Path) -> None:
    def respond(provider: str, body: dict[str, Any]) -> str | None:
        if "You plan searches" in system_of(body):
            return "subject:offsite" if provider == "openai" else "subject:budget"
        return like_a_model()(provider, body)

    server = scripted(respond)
    result = profile(tmp_path, "--auto-queries", "--queries-model", "openai:gpt-4o")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queries"] == ["subject:offsite"]
    assert report["ledger"]["stages"]["queries"]["model"] == "openai:gpt-4o"
    asked = [r for r in server.requests if "You plan searches" in system_of(r.body)]
    assert [r.provider for r in asked] == ["openai"]
    assert report["ledger"]["stages"]["reduce"]["model"].startswith("anthropic:")
    (tmp_path / "again").mkdir()
    plain = profile(tmp_path / "again", "--auto-queries")  # no --queries-model: the reduce one
    assert plain.exit_code == 0, plain.output
    stages = json.loads(plain.stdout)["ledger"]["stages"]
    assert stages["queries"]["model"] == stages["reduce"]["model"]
