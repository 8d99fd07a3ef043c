"""The profile's pieces on their own: relative dates, note stamps, triage categories and
topics, the queries role and its ghost.toml setting."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghost.errors import ConfigError
from ghost.ingest.mail import relative_dates
from ghost.ingest.mail.relative_dates import resolve_relative
from ghost.jobs.profile_notes import stamp_notes
from ghost.jobs.profile_triage import load_topics, load_triage_categories, read_triage
from ghost.narrow.results import StoredMessage
from ghost.options import RunOptions
from ghost.session import Session
from ghost.templates import Templates
from ghost.workspace.config import load_config

MONDAY = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)


def stored(mid: str, sender: str, name: str, body: str, when: datetime | None) -> StoredMessage:
    return StoredMessage(mid, 1, when, "Offsite", sender, name, [], [], None, [], body, [],
                         False, False, "inbox", None, 0)


def test_relative_dates_doctest_and_edges() -> None:
    assert doctest.testmod(relative_dates).failed == 0
    text = "Done yesterday; the day after tomorrow works.\n> tomorrow is quoted\nnext week?"
    assert resolve_relative(text, MONDAY) == (
        "Done yesterday [2025-02-02]; the day after tomorrow [2025-02-05] works.\n"
        "> tomorrow is quoted\nnext week [week of 2025-02-10]?")
    assert resolve_relative("see you tomorrow", None) == "see you tomorrow"  # undated mail
    forwarded = ("Book it tomorrow.\n\n[Forwarded message from Air <a@x.example>, dated "
                 "2025-01-20 10:00]\nDeparts tomorrow.\n[End of forwarded message]")
    assert resolve_relative(forwarded, MONDAY) == forwarded.replace(
        "it tomorrow", "it tomorrow [2025-02-04]").replace(
        "Departs tomorrow", "Departs tomorrow [2025-01-21]")  # the forward's own date


def test_stamps_come_from_the_cited_message_and_mark_the_owner() -> None:
    thread = {m.message_id: m for m in (
        stored("a@x", "sam@acme.example", "Sam Ortiz", "The offsite is in Lisbon.", MONDAY),
        stored("b@x", "dana@acme.example", "Dana Reyes", "I prefer aisle seats.", None))}
    notes = ("- **project:** offsite in Lisbon [<a@x>]\n"
             "  continued on a second line\n"
             "- **preference (owner's words):** aisle seats please\n"
             "- **person:** nobody said this\n"
             "### Project: offsite\n"
             "- 2025-01-01 · Kim: already stamped [<a@x>]")
    text, report = stamp_notes(notes, thread, ["dana@acme.example"])
    assert text.splitlines() == [
        "- 2025-02-03 · Sam Ortiz <sam@acme.example>: **project:** offsite in Lisbon [<a@x>]",
        "  continued on a second line",
        "- undated · Dana Reyes <dana@acme.example> (the owner): **preference (owner's "
        "words):** aisle seats please [<b@x>]",
        "### Project: offsite",
        "- 2025-01-01 · Kim: already stamped [<a@x>]"]
    assert (report.by_wording, report.dropped) == (1, 1)
    again, report = stamp_notes("- **x:** lost its stamp [<a@x>]\n- no citation", thread, [],
                                by_wording=False)
    assert again == "- 2025-02-03 · Sam Ortiz <sam@acme.example>: **x:** lost its stamp [<a@x>]"
    assert report.dropped == 1


def test_triage_categories_and_sensitive_topics_are_templates(tmp_path: Path) -> None:
    templates = Templates()
    categories = load_triage_categories(templates)
    assert [(c.letter, c.action) for c in categories.items] == [
        ("R", "pass"), ("S", "caution"), ("N", "cancel")]
    assert [t.label for t in load_topics(templates)] == [
        "health", "family", "legal", "personal finance", "credentials"]
    decided = read_triage(["R", "s.", "`N`", "", "R or N"], categories)
    assert decided.keep == [True, True, False, True, True]
    assert decided.sensitive == [False, True, False, True, True]
    assert decided.unclear == 2
    (tmp_path / "profile-sensitive").mkdir()
    (tmp_path / "profile-sensitive" / "topics.md").write_text("# only a comment\nhealth\n")
    with pytest.raises(ConfigError, match=r"topics.md line 2: expected 'label \| what"):
        load_topics(Templates(tmp_path))


def test_the_queries_role_falls_back_to_the_reduce_model(tmp_path: Path) -> None:
    session = Session("profile", RunOptions(cache_dir=tmp_path, dry_run=True,
                                            reduce_model="anthropic:claude-sonnet-4-6"))
    assert session.info("queries").spec == "anthropic:claude-sonnet-4-6"
    own = Session("profile", RunOptions(cache_dir=tmp_path, dry_run=True,
                                        queries_model="openai:gpt-4o"))
    assert own.info("queries").spec == "openai:gpt-4o"
    assert own.info("reduce").spec != "openai:gpt-4o"


def test_ghost_toml_takes_a_queries_model(tmp_path: Path) -> None:
    for folder in ("episodes", "essays"):
        (tmp_path / folder).mkdir()
    config = tmp_path / "ghost.toml"
    config.write_text('[episodes]\ninbox = "episodes"\n[samples]\nfolder = "essays"\n'
                      '[models]\nqueries = "openai:gpt-4o"\n')
    assert load_config(config).queries_model == "openai:gpt-4o"
    config.write_text(config.read_text().replace('"openai:gpt-4o"', "4"))
    with pytest.raises(ConfigError, match=r"queries"):
        load_config(config)
