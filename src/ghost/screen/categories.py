"""Screening categories (the `screen` template's categories.md) and reading the one-letter reply."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from ghost.errors import ConfigError
from ghost.templates import Templates

log = logging.getLogger(__name__)

TEMPLATE = "screen"
ACTIONS = ("pass", "caution", "cancel")
Action = Literal["pass", "caution", "cancel"]
SEVERITY = {a: i for i, a in enumerate(ACTIONS)}
_LINE = re.compile(r"^([A-Za-z])\s*\|\s*([^|]+?)\s*\|\s*([a-z]+)\s*\|\s*(.+?)\s*$")
_LETTER_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])")
_DECORATION = " \t\r\n.,:;!?*_`'\"()[]{}<>-"

# ------------------------------------------------------------------ categories


@dataclass(frozen=True)
class Category:
    letter: str
    label: str
    action: Action
    description: str


@dataclass(frozen=True)
class Categories:
    items: tuple[Category, ...]

    @property
    def letters(self) -> list[str]:
        return [c.letter for c in self.items]

    def get(self, letter: str) -> Category | None:
        return next((c for c in self.items if c.letter == letter), None)

    @property
    def fallback(self) -> Category:
        """What an unclear reply counts as: the first caution category."""
        return next(c for c in self.items if c.action == "caution")


def parse_categories(text: str, source: str = "screen/categories.md") -> Categories:
    """`LETTER | label | action | meaning` lines; `#` lines and blank lines are skipped."""
    items: list[Category] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line.strip())
        if not m:
            raise ConfigError(f"template {source} line {n}: expected "
                              "'LETTER | label | action | meaning'")
        letter, label, action, description = m.groups()
        letter = letter.upper()
        if action not in ACTIONS:
            raise ConfigError(f"template {source} line {n}: action must be one of "
                              f"{', '.join(ACTIONS)}, not {action!r}")
        if any(c.letter == letter for c in items):
            raise ConfigError(f"template {source} line {n}: letter {letter} is used twice")
        items.append(Category(letter, label, action, description))  # type: ignore[arg-type]
    if len(items) < 2:
        raise ConfigError(f"template {source}: needs at least two categories")
    if not any(c.action == "caution" for c in items):
        raise ConfigError(f"template {source}: needs a caution category, which unclear "
                          "replies count as")
    return Categories(tuple(items))


def load_categories(templates: Templates) -> Categories:
    return parse_categories(templates.file(TEMPLATE, "categories", {}))


# ------------------------------------------------------------------ replies


@dataclass(frozen=True)
class Reading:
    """One reply read against the categories."""

    category: Category
    raw: str
    note: str | None = None  # set when the reply was not a clean single letter


def parse_reply(raw: str, categories: Categories) -> Reading:
    """The category a reply names; an unclear reply counts as the fallback (caution) category.

    A clean reply is one letter, perhaps with a full stop, quotes or markdown around it (any
    case). Otherwise the standalone capital letters in the reply are read: exactly one category
    letter among them is taken (noted); none, or several different ones, is unclear.
    """
    stripped = raw.strip(_DECORATION)
    if len(stripped) == 1 and stripped.isalpha():
        found = categories.get(stripped.upper())
        if found is not None:
            return Reading(found, raw)
        return _unclear(raw, categories, f"reply {stripped!r} is not a category letter")
    named = list(dict.fromkeys(t for t in _LETTER_TOKEN.findall(raw)
                               if categories.get(t) is not None))
    if len(named) == 1:
        return Reading(categories.get(named[0]), raw,  # type: ignore[arg-type]
                       "reply was more than one letter; took the category letter in it")
    if not raw.strip():
        return _unclear(raw, categories, "empty reply")
    if named:
        return _unclear(raw, categories, f"reply names several categories ({', '.join(named)})")
    return _unclear(raw, categories, "reply names no category letter")


def _unclear(raw: str, categories: Categories, why: str) -> Reading:
    fb = categories.fallback
    return Reading(fb, raw, f"{why}; treated as {fb.letter} ({fb.label})")


