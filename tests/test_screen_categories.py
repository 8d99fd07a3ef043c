"""Screen categories: reading the classifier's one-letter replies, the default categories and
their actions, and categories files that are wrong."""

from __future__ import annotations

import pytest

from ghost.errors import ConfigError
from ghost.screen import categories as cats
from ghost.templates import Templates


def default_categories() -> cats.Categories:
    return cats.load_categories(Templates())


@pytest.mark.parametrize("raw, letter, noted", [
    ("A", "A", False), (" b. ", "B", False), ("**C**", "C", False), ('"c"', "C", False),
    ("C\n", "C", False), ("Answer: C", "C", True), ("I would say A", "A", True),
    ("A or C", "B", True), ("", "B", True), ("D", "B", True), ("7", "B", True),
    ("I'm sorry, I can't help with that.", "B", True), ("ok", "B", True),
])
def test_parse_reply(raw: str, letter: str, noted: bool) -> None:
    reading = cats.parse_reply(raw, default_categories())
    assert reading.category.letter == letter
    assert (reading.note is not None) == noted
    if letter == "B" and noted:
        assert "treated as B (borderline)" in (reading.note or "")


def test_default_categories_and_actions() -> None:
    cats = default_categories()
    assert [(c.letter, c.label, c.action) for c in cats.items] == [
        ("A", "ok", "pass"), ("B", "borderline", "caution"), ("C", "refuse", "cancel")]
    assert cats.fallback.letter == "B"


@pytest.mark.parametrize("text, message", [
    ("A | ok | pass | fine\nB | bad | explode | no", "action must be one of"),
    ("A | ok | pass | fine\nC | no | cancel | no", "needs a caution category"),
    ("A | ok | pass | fine\nA | again | caution | x", "used twice"),
    ("A ok pass", "expected"),
])
def test_bad_categories_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cats.parse_categories(text)
